"""Paired bootstrap: small p for a clearly better system, large for identical ones; over seeds,
small for a constant offset and large for differences of seed luck."""

from __future__ import annotations

import random

import numpy as np
import pytest

from unheard.evaluation.bootstrap import (
    corpus_scores,
    hierarchical_bootstrap,
    paired_bootstrap_sacrebleu,
    paired_bootstrap_wer,
    sentence_statistics,
)

WORDS = "the a cat dog sat ran on under mat rug today yesterday one two three four five".split()


def _systems(seed: int = 0, n: int = 60) -> tuple[list[str], list[str], list[str]]:
    rng = random.Random(seed)
    refs = [" ".join(rng.choice(WORDS) for _ in range(8)) for _ in range(n)]
    # good: one word wrong in every fifth sentence; bad: ~40% of the words replaced
    good = [r if i % 5 else "x " + r.split(" ", 1)[1] for i, r in enumerate(refs)]
    bad = [
        " ".join(w if rng.random() < 0.6 else rng.choice(WORDS) for w in r.split()) for r in refs
    ]
    return refs, good, bad


def test_wer_clearly_better_system_is_significant():
    refs, good, bad = _systems()
    result = paired_bootstrap_wer(refs, bad, good)
    assert result.p_value < 0.01
    assert result.system == pytest.approx(100 * 12 / 480)  # 12 substitutions in 480 words
    assert result.difference < -20
    low, high = result.system_ci
    assert low <= result.system <= high and high < result.baseline_ci[0]  # intervals apart
    assert result.n == 60


def test_identical_systems_are_not_significant():
    refs, good, _ = _systems()
    assert paired_bootstrap_wer(refs, good, list(good)).p_value == 1.0
    for test in paired_bootstrap_sacrebleu(refs, good, list(good)).values():
        assert test.p_value == 1.0 and test.difference == 0.0


def test_bleu_and_chrf_clearly_better_system_is_significant():
    refs, good, bad = _systems()
    tests = paired_bootstrap_sacrebleu(refs, bad, good)
    assert set(tests) == {"bleu", "chrf"}
    for test in tests.values():
        assert test.p_value < 0.01 and test.difference > 20
        assert test.system_ci[0] <= test.system <= test.system_ci[1]


def test_two_equally_good_systems_differing_by_chance_are_not_significant():
    refs, good, _ = _systems(n=200)
    # the same one-word error, in different sentences: equally good, not identical
    other = [r if (i + 2) % 5 else "x " + r.split(" ", 1)[1] for i, r in enumerate(refs)]
    result = paired_bootstrap_wer(refs, good, other)
    assert result.difference == pytest.approx(0.0) and result.p_value > 0.2
    assert paired_bootstrap_wer(refs, good, other).p_value == result.p_value  # seeded


def test_lengths_must_match():
    with pytest.raises(ValueError, match="equal lengths"):
        paired_bootstrap_wer(["a b"], ["a b"], [])


# -- over seeds and utterances ----------------------------------------------------------------


def _wer_stats(edits: list[list[int]], words: int = 5) -> np.ndarray:
    """(seeds, utterances, 2): each seed's word edits per utterance, ``words`` words each."""
    e = np.array(edits, dtype=np.float64)
    return np.stack([e, np.full_like(e, words)], -1)


def test_sentence_statistics_sum_to_the_corpus_scores():
    from unheard.evaluation.metrics import bleu, cer, chrf, wer

    refs, good, bad = _systems(n=40)
    for metric, scored in (("bleu", bleu), ("chrf", chrf), ("wer", wer), ("cer", cer)):
        stats = sentence_statistics(metric, refs, bad)
        expected = scored(refs, bad) * (100 if metric in ("wer", "cer") else 1)
        assert corpus_scores(metric, stats.sum(0)) == pytest.approx(expected), metric
    exact = sentence_statistics("exact", refs, good)
    assert corpus_scores("exact", exact.sum(0)) == pytest.approx(100 * 32 / 40)  # 8 of 40 wrong
    with pytest.raises(ValueError, match="has no words"):
        sentence_statistics("wer", [" "], ["a"])
    with pytest.raises(ValueError, match="metric must be one of"):
        sentence_statistics("meteor", ["a"], ["a"])


def test_one_seed_is_the_one_run_test_draw_for_draw():
    # paired_bootstrap_wer is the hierarchical test with one seed: the numbers it gave before
    # the seeds level existed (pinned), and the same from its statistics
    refs, good, bad = _systems(n=200)
    one = paired_bootstrap_wer(refs, bad, good)
    assert (one.baseline, one.system, one.p_value) == (38.0625, 2.5, 1 / 1001)
    assert one.baseline_ci == (35.8109375, 40.3125) and one.system_ci == (1.8734375, 3.25)
    assert one.difference_ci == (-37.9375, -33.0) and one.seeds == one.baseline_seeds == 1
    base = sentence_statistics("wer", refs, bad)[None]
    assert hierarchical_bootstrap("wer", base, sentence_statistics("wer", refs, good)[None]) == one


def test_a_constant_offset_over_seeds_is_significant_and_its_interval_is_the_offset():
    rng = np.random.default_rng(0)
    edits = rng.integers(0, 3, (3, 100)).tolist()
    baseline = _wer_stats(edits)
    system = _wer_stats([[e + 1 for e in seed] for seed in edits])  # one more edit everywhere
    result = hierarchical_bootstrap("wer", baseline, system)
    assert result.difference == pytest.approx(20.0)  # 1 edit in 5 words, every utterance
    assert result.difference_ci == pytest.approx((20.0, 20.0))
    assert result.p_value == 1 / 1001 and result.paired_seeds and result.seeds == 3
    assert result.baseline == pytest.approx(100 * baseline[..., 0].sum() / 1500)


def test_seed_luck_is_not_a_difference_over_seeds():
    # two systems equally good up to seed noise: each seed shifts every utterance's edits by its
    # own amount (0, 1 or 2), in another order for each system, over utterance noise of its own.
    # On the first seed alone the system looks 2 edits per utterance better; over the three
    # seeds paired by index, not
    rng = np.random.default_rng(0)
    noise_base, noise_sys = rng.integers(0, 2, (2, 3, 60))
    baseline = _wer_stats([n + s for n, s in zip(noise_base, (2, 0, 1), strict=True)], 10)
    system = _wer_stats([n + s for n, s in zip(noise_sys, (0, 2, 1), strict=True)], 10)
    first_seed = hierarchical_bootstrap("wer", baseline[:1], system[:1])
    assert first_seed.difference == pytest.approx(-20.1667, abs=1e-4)
    assert first_seed.p_value == 1 / 1001
    over_seeds = hierarchical_bootstrap("wer", baseline, system)
    assert over_seeds.difference == pytest.approx(-0.1667, abs=1e-4)
    # the Koehn rule (module docstring) gives a tie p ~0.3-0.6, not 1: far from significant
    assert over_seeds.p_value == pytest.approx(0.3307, abs=1e-4)  # seeded: pinned
    low, high = over_seeds.difference_ci
    assert low < -19 and high > 19  # the seeds' spread, not the utterances', sets the interval
    assert hierarchical_bootstrap("wer", baseline, system, seed=7).p_value > 0.2


def test_seeds_are_paired_only_between_systems_of_as_many_seeds():
    baseline = _wer_stats([[1] * 20, [2] * 20, [1] * 20])
    system = _wer_stats([[0] * 20, [1] * 20])
    result = hierarchical_bootstrap("wer", baseline, system)
    assert not result.paired_seeds and (result.seeds, result.baseline_seeds) == (2, 3)
    assert result.difference == pytest.approx(100 * (0.5 / 5 - (4 / 3) / 5))
    with pytest.raises(ValueError, match="as many on both sides, got 3 and 2"):
        hierarchical_bootstrap("wer", baseline, system, paired_seeds=True)
    with pytest.raises(ValueError, match="same utterances"):
        hierarchical_bootstrap("wer", baseline, system[:, :10])
