"""Loading an utterance's audio with every check a training run needs, so that a bad record is
skipped and counted, never a crash: missing, empty, corrupt, silent-length, NaN, absurdly long."""

from __future__ import annotations

import glob
import logging
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from unheard.data.audio import load_audio
from unheard.data.manifest import BadRecord, Utterance, read_manifest_lenient
from unheard.encoders import SAMPLE_RATE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AudioLimits:
    """Which clips are usable."""

    min_duration_s: float = 0.05  # shorter clips hold no speech (and break some front-ends)
    max_duration_s: float = 60.0  # longer ones are a segmentation error or an OOM waiting
    sample_rate: int = SAMPLE_RATE  # everything is resampled to this

    def __post_init__(self) -> None:
        if not 0 <= self.min_duration_s < self.max_duration_s:
            raise ValueError(
                f"need 0 <= min_duration_s < max_duration_s, got {self.min_duration_s}, "
                f"{self.max_duration_s}"
            )


class BadAudio(ValueError):
    """An utterance whose audio cannot be used; the message is the reason."""


def load_checked(utterance: Utterance, limits: AudioLimits | None = None) -> np.ndarray:
    """Load an utterance's audio (mono, resampled) and check it is usable.

    Args:
        utterance: the record.
        limits: duration limits and target rate.

    Returns:
        ``(samples,)`` float32 at ``limits.sample_rate``.

    Raises:
        BadAudio: naming the reason (missing, empty, undecodable, too short, too long, NaN).
    """
    limits = limits or AudioLimits()
    if utterance.duration > limits.max_duration_s:
        # checked before decoding: a 10-minute clip is not worth reading
        raise BadAudio(
            f"too long: {utterance.duration:.1f} s > max_duration_s {limits.max_duration_s:g}"
        )
    if not os.path.exists(utterance.audio):
        raise BadAudio(f"audio file missing: {utterance.audio}")
    if os.path.getsize(utterance.audio) == 0:
        raise BadAudio(f"audio file is empty (0 bytes): {utterance.audio}")
    try:
        audio = load_audio(
            utterance.audio,
            offset=utterance.offset,
            duration=utterance.duration if utterance.duration > 0 else None,
            sample_rate=limits.sample_rate,
        )
    except (ValueError, OSError, RuntimeError) as e:
        raise BadAudio(f"cannot decode: {e}") from e
    seconds = len(audio) / limits.sample_rate
    if seconds < limits.min_duration_s:
        raise BadAudio(f"too short: {seconds:.3f} s < min_duration_s {limits.min_duration_s:g}")
    if seconds > limits.max_duration_s:
        raise BadAudio(f"too long: {seconds:.1f} s > max_duration_s {limits.max_duration_s:g}")
    if not np.isfinite(audio).all():
        raise BadAudio(f"{int((~np.isfinite(audio)).sum())} NaN or infinite samples")
    return audio


@dataclass
class SkipLog:
    """Skipped records: each logged once with its reason, and counted by reason."""

    records: list[BadRecord] = field(default_factory=list)

    def add(self, record: BadRecord) -> None:
        """Record and log one skipped record."""
        self.records.append(record)
        log.warning("skipped %s (%s): %s", record.id or "<no id>", record.source, record.reason)

    def extend(self, records: Iterable[BadRecord]) -> None:
        """Add several."""
        for r in records:
            self.add(r)

    @property
    def count(self) -> int:
        """How many records were skipped."""
        return len(self.records)

    def by_reason(self) -> dict[str, int]:
        """Counts by the reason's kind (the text before the first colon)."""
        return dict(Counter(r.reason.split(":")[0] for r in self.records))


@dataclass(frozen=True)
class CheckReport:
    """What `check_manifests` found."""

    good: int  # records whose audio loaded and passed every check
    bad: list[BadRecord]  # the others
    seconds: float  # audio seconds of the good records


def check_manifests(paths: Sequence[str | Path], limits: AudioLimits | None = None) -> CheckReport:
    """Read every record of the manifests and load its audio.

    Args:
        paths: manifests.
        limits: duration limits.

    Returns:
        Counts of good records and each bad one with its reason.

    Raises:
        FileNotFoundError: if a manifest does not exist.
    """
    good, seconds, skipped = 0, 0.0, SkipLog()
    for path in paths:
        utterances, bad = read_manifest_lenient(path)
        skipped.extend(bad)
        for utt in utterances:
            try:
                audio = load_checked(utt, limits)
            except BadAudio as e:
                skipped.add(BadRecord(utt.id, utt.audio, str(e)))
                continue
            good += 1
            seconds += len(audio) / (limits or AudioLimits()).sample_rate
    return CheckReport(good, skipped.records, seconds)


def read_data(
    paths: tuple[str, ...], languages: tuple[str, ...] | None, skipped: SkipLog
) -> list[Utterance]:
    """Read manifests leniently (bad lines skipped and counted) and keep the wanted languages."""
    utterances = []
    for path in expand_paths(paths):
        good, bad = read_manifest_lenient(path)
        skipped.extend(bad)
        utterances.extend(u for u in good if languages is None or u.language in languages)
    return utterances


def expand_paths(patterns: tuple[str, ...], what: str = "manifest") -> list[Path]:
    """Paths, with shell-style globs (``data/covost2_*_train.jsonl.gz``) expanded.

    Args:
        patterns: paths or globs.
        what: the kind of file, named in the error (``manifest``, ``text file``).

    Raises:
        FileNotFoundError: for a pattern that matches nothing.
    """
    paths = []
    for pattern in patterns:
        if not glob.has_magic(pattern):
            paths.append(Path(pattern))
            continue
        matches = sorted(glob.glob(pattern))
        if not matches:
            raise FileNotFoundError(f"no {what} matches {pattern!r}")
        paths.extend(Path(m) for m in matches)
    return paths
