"""Paired bootstrap: small p for a clearly better system, large for identical ones."""

from __future__ import annotations

import random

import pytest

from unheard.evaluation.bootstrap import paired_bootstrap_sacrebleu, paired_bootstrap_wer

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
