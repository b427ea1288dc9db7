"""Decoding batches by duration: similar lengths together, so little of a batch is padding.

Unlike training batches (shuffled buckets), decoding batches are deterministic: utterances are
sorted longest first, so the slowest batches run while the progress bar's estimate is fresh and
an out-of-memory error shows up in the first batch rather than after an hour.
"""

from __future__ import annotations

from collections.abc import Sequence


def duration_batches(
    durations: Sequence[float],
    batch_size: int,
    max_batch_seconds: float | None = None,
) -> list[list[int]]:
    """Group utterance indices into batches of similar duration, longest first.

    A batch is padded to its longest utterance, so its cost is ``len(batch) * longest``; a batch
    is closed when adding the next utterance would exceed ``batch_size`` utterances or
    ``max_batch_seconds`` of padded audio. An utterance longer than ``max_batch_seconds`` on its
    own still gets a batch of one.

    Args:
        durations: seconds of audio of each utterance.
        batch_size: most utterances in one batch.
        max_batch_seconds: most padded seconds in one batch; ``None`` for no limit.

    Returns:
        Lists of indices into ``durations``; every index appears exactly once. Ties keep their
        input order, so the batching is the same on every run.

    Raises:
        ValueError: if ``batch_size`` < 1, ``max_batch_seconds`` <= 0 or a duration is negative.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if max_batch_seconds is not None and max_batch_seconds <= 0:
        raise ValueError(f"max_batch_seconds must be > 0 or None, got {max_batch_seconds}")
    if any(d < 0 for d in durations):
        raise ValueError("durations must be >= 0 seconds")
    order = sorted(range(len(durations)), key=lambda i: -durations[i])  # stable: ties in order
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        # sorted longest first: the batch's first utterance sets its padded length
        longest = durations[current[0]] if current else durations[i]
        too_many = len(current) >= batch_size
        too_long = (
            max_batch_seconds is not None and (len(current) + 1) * longest > max_batch_seconds
        )
        if current and (too_many or too_long):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches
