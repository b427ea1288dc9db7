"""DurationBucketSampler: bounded padded duration, determinism, resume, ranks, mixing."""

from __future__ import annotations

import numpy as np
import pytest

from unheard.data.sampler import DurationBucketSampler, SamplerOptions, padding_efficiency


def _covost_like(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(rng.lognormal(np.log(4.5), 0.45, n), 0.8, 20.0)


def test_batches_respect_max_duration_and_cover_the_epoch_once():
    d = _covost_like()
    sampler = DurationBucketSampler(d, SamplerOptions(max_duration_s=60.0))
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(len(d)))
    assert all(len(b) * d[b].max() <= 60.0 for b in batches)
    assert padding_efficiency(batches, d) > 0.9  # vs ~0.42 for random batches (benchmark)


def test_deterministic_per_seed_and_epoch_and_different_across_epochs():
    d = _covost_like()
    a = DurationBucketSampler(d, SamplerOptions(seed=3))
    b = DurationBucketSampler(d, SamplerOptions(seed=3))
    assert a.epoch_batches(0) == b.epoch_batches(0)
    assert a.epoch_batches(0) != a.epoch_batches(1)
    assert a.epoch_batches(0) != DurationBucketSampler(d, SamplerOptions(seed=4)).epoch_batches(0)


def test_resume_mid_epoch_continues_exactly():
    d = _covost_like()
    full = DurationBucketSampler(d, SamplerOptions(seed=1))
    full.set_epoch(2)
    expected = list(full)
    first = DurationBucketSampler(d, SamplerOptions(seed=1))
    first.set_epoch(2)
    it = iter(first)
    seen = [next(it) for _ in range(7)]
    state = first.state_dict()
    resumed = DurationBucketSampler(d, SamplerOptions(seed=1))
    resumed.load_state_dict(state)
    assert seen + list(resumed) == expected
    with pytest.raises(ValueError, match="seed"):
        DurationBucketSampler(d, SamplerOptions(seed=2)).load_state_dict(state)


def test_each_rank_gets_its_own_batches_and_the_same_count():
    d = _covost_like(1001)
    ranks = [DurationBucketSampler(d, world_size=3, rank=r).epoch_batches(0) for r in range(3)]
    assert len({len(r) for r in ranks}) == 1
    flat = [i for r in ranks for b in r for i in b]
    assert len(flat) == len(set(flat))  # disjoint
    single = DurationBucketSampler(d).epoch_batches(0)
    assert len(flat) >= sum(len(b) for b in single) - 2 * max(len(b) for b in single)


def test_group_weights_set_each_groups_share():
    d = np.full(400, 3.0)
    groups = [0] * 300 + [1] * 100  # e.g. ASR vs ST
    sampler = DurationBucketSampler(
        d, SamplerOptions(max_duration_s=30), groups=groups, group_weights=[1.0, 3.0]
    )
    drawn = [i for b in sampler.epoch_batches(0) for i in b]
    assert len(drawn) == 400
    share = sum(i >= 300 for i in drawn) / len(drawn)
    assert share == pytest.approx(0.75)  # 3:1 by weight, although 1:3 by count
    assert len(set(i for i in drawn if i >= 300)) == 100  # every member of the upsampled group


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="max_duration_s must be positive"):
        SamplerOptions(max_duration_s=0)
    with pytest.raises(ValueError, match="rank must be in"):
        DurationBucketSampler([1.0], world_size=2, rank=2)
