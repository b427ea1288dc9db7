"""Duration-bucketed batching: batches bounded by padded seconds, not by count.

Why our own and not lhotse's ``DynamicBucketingSampler``: unheard's examples are (utterance, task)
pairs with mixing weights, not lhotse Cuts, and resuming must be exact and O(1): the whole
epoch's batch plan is a pure function of (seed, epoch), so a resumed run recomputes it and starts
at the next unconsumed batch. ``benchmarks/data.py`` measures the padding efficiency.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SamplerOptions:
    """How to batch."""

    max_duration_s: float = 120.0  # padded audio seconds per batch: size x longest item
    num_buckets: int = 30  # equal-count duration buckets; more buckets, less padding
    max_batch_size: int | None = None  # optional cap on items per batch
    shuffle: bool = True  # shuffle within buckets and the order of batches
    # with the epoch, fixes every batch; None: 0, or in a training run the run's seed
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.max_duration_s <= 0:
            raise ValueError(f"sampler.max_duration_s must be positive, got {self.max_duration_s}")
        if self.num_buckets < 1:
            raise ValueError(f"sampler.num_buckets must be >= 1, got {self.num_buckets}")
        if self.max_batch_size is not None and self.max_batch_size < 1:
            raise ValueError(
                f"sampler.max_batch_size must be >= 1 or null (no cap), got {self.max_batch_size}"
            )
        if self.seed is not None and not 0 <= self.seed < 2**32:
            raise ValueError(f"sampler.seed must be in [0, 2**32) or null, got {self.seed}")


class DurationBucketSampler:
    """Yields lists of example indices whose padded duration fits ``max_duration_s``.

    Each epoch: draw the epoch's examples (all of them, or by group weights), sort them into
    equal-count duration buckets, shuffle within each bucket, cut batches greedily, shuffle the
    batches, and give rank ``r`` of ``world_size`` every ``world_size``-th batch (the last
    incomplete round is dropped so that all ranks take the same number of steps).

    Args:
        durations: seconds of each example.
        options: batching options.
        groups: optional group id per example (e.g. corpus/task/language); with
            ``group_weights``, each epoch draws ``len(durations)`` examples with group ``g``'s
            share proportional to ``group_weights[g]`` (cycling through a group's examples in
            random order when it is drawn more often than it has examples).
        group_weights: weight of each group id.
        world_size: number of distributed ranks.
        rank: this rank.
        epoch_size: examples drawn per epoch with group weights (None: ``len(durations)``).
    """

    def __init__(
        self,
        durations: Sequence[float],
        options: SamplerOptions | None = None,
        groups: Sequence[int] | None = None,
        group_weights: Sequence[float] | None = None,
        world_size: int = 1,
        rank: int = 0,
        epoch_size: int | None = None,
    ) -> None:
        if len(durations) == 0:
            raise ValueError("cannot sample batches from zero examples")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
        if (groups is None) != (group_weights is None):
            raise ValueError("groups and group_weights go together")
        if epoch_size is not None and (groups is None or epoch_size < 1):
            raise ValueError(f"epoch_size ({epoch_size}) must be >= 1 and needs group weights")
        self.epoch_size = epoch_size
        self.durations = np.asarray(durations, dtype=np.float64)
        self.options = options or SamplerOptions()
        self.seed = 0 if self.options.seed is None else self.options.seed
        self.groups = None if groups is None else np.asarray(groups)
        self.group_weights = None if group_weights is None else np.asarray(group_weights, float)
        if self.group_weights is not None and (self.group_weights < 0).any():
            raise ValueError("group weights must be non-negative")
        self.world_size = world_size
        self.rank = rank
        self.epoch = 0
        self.batches_done = 0  # batches of this epoch already consumed on this rank

    def set_epoch(self, epoch: int) -> None:
        """Start epoch ``epoch`` from its first batch."""
        self.epoch = epoch
        self.batches_done = 0

    def state_dict(self, batches_done: int | None = None) -> dict[str, int]:
        """The position to resume from.

        Args:
            batches_done: batches of the current epoch the training loop has consumed (a
                ``DataLoader`` with workers prefetches ahead of the loop, so the loop's count, not
                the sampler's, is the truth). Defaults to the sampler's own count.
        """
        done = self.batches_done if batches_done is None else batches_done
        return {"epoch": self.epoch, "batches_done": done, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Resume at a position from `state_dict`.

        Raises:
            ValueError: if the state was saved with another seed.
        """
        if state["seed"] != self.seed:
            raise ValueError(f"sampler state has seed {state['seed']}, options have {self.seed}")
        self.epoch = state["epoch"]
        self.batches_done = state["batches_done"]

    def __iter__(self) -> Iterator[list[int]]:
        batches = self.epoch_batches(self.epoch)
        while self.batches_done < len(batches):
            batch = batches[self.batches_done]
            self.batches_done += 1
            yield batch

    def __len__(self) -> int:
        return len(self.epoch_batches(self.epoch))

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """This rank's batches of an epoch: a pure function of (seed, epoch, rank)."""
        rng = np.random.default_rng([self.seed, epoch])
        indices = self._draw(rng)
        batches = self._batches(indices, rng)
        if self.options.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        usable = len(batches) - len(batches) % self.world_size
        if usable == 0:
            raise ValueError(
                f"{len(batches)} batches cannot feed {self.world_size} ranks: lower max_duration_s"
            )
        return batches[self.rank : usable : self.world_size]

    def _draw(self, rng: np.random.Generator) -> np.ndarray:
        if self.groups is None:
            return np.arange(len(self.durations))
        n = self.epoch_size or len(self.durations)
        ids = np.unique(self.groups)
        weights = np.array([self.group_weights[g] for g in ids], dtype=float)
        if weights.sum() <= 0:
            raise ValueError("all group weights are zero")
        counts = np.floor(n * weights / weights.sum()).astype(int)
        # hand the rounding remainder to the groups with the largest fractional parts
        fractions = n * weights / weights.sum() - counts
        counts[np.argsort(-fractions)[: n - counts.sum()]] += 1
        drawn = []
        for g, count in zip(ids, counts, strict=True):
            members = np.flatnonzero(self.groups == g)
            cycles = -(-count // len(members))  # ceil
            pool = np.concatenate([rng.permutation(members) for _ in range(max(cycles, 0))] or [[]])
            drawn.append(pool[:count].astype(int))
        return np.concatenate(drawn)

    def _batches(self, indices: np.ndarray, rng: np.random.Generator) -> list[list[int]]:
        opts = self.options
        # sort by duration (random tie-break), then cut into equal-count buckets
        keys = self.durations[indices] + (rng.random(len(indices)) * 1e-9 if opts.shuffle else 0)
        ordered = indices[np.argsort(keys, kind="stable")]
        batches: list[list[int]] = []
        for bucket in np.array_split(ordered, min(opts.num_buckets, len(ordered))):
            if opts.shuffle:
                bucket = rng.permutation(bucket)
            batch: list[int] = []
            longest = 0.0
            for i in bucket.tolist():
                d = float(self.durations[i])
                full = opts.max_batch_size is not None and len(batch) >= opts.max_batch_size
                if batch and (full or (len(batch) + 1) * max(longest, d) > opts.max_duration_s):
                    batches.append(batch)
                    batch, longest = [], 0.0
                batch.append(i)
                longest = max(longest, d)
            if batch:
                batches.append(batch)
        return batches


def padding_efficiency(batches: Sequence[Sequence[int]], durations: Sequence[float]) -> float:
    """Real audio over padded audio: sum of durations / sum of (batch size x longest)."""
    d = np.asarray(durations)
    real = sum(float(d[b].sum()) for b in batches)
    padded = sum(len(b) * float(d[b].max()) for b in batches)
    return real / padded
