"""Paired bootstrap significance between two systems on the same utterances, and over seeds.

BLEU and chrF of one run each go through sacreBLEU's own paired bootstrap (``PairedTest``, Koehn
2004 as in Moses' script): 1,000 resamples, seeded by ``SACREBLEU_SEED`` (default 12345).
Everything else resamples per-utterance sufficient statistics (`sentence_statistics`: word edits
and reference words for WER, sacreBLEU's n-gram counts for BLEU, ...) in `hierarchical_bootstrap`,
which also resamples training seeds when a system was trained more than once:

1. draw ``n_samples`` resamples of the utterances with replacement (one seeded RNG, the same
   resamples for both systems: that is what makes the test *paired*), then of each system's
   seeds with replacement (the same seed indices for both when they ran the same seeds:
   paired over seeds; else each its own);
2. score each system on each resample, as the mean over its drawn seeds of the corpus score of
   the drawn utterances, and take the absolute difference;
3. centre those differences on zero (the null hypothesis: no difference) and count how often a
   centred difference reaches the observed one: ``p = (count + 1) / (n_samples + 1)``.

Seeds and utterances are crossed, not nested: every seed decodes the same test utterances, so one
utterance draw serves every drawn seed of a resample. Drawing utterances anew per seed would
shrink the test set's own sampling error by the number of seeds, as if each seed had been tested
on other utterances. With one seed each, the test is `paired_bootstrap_wer`'s, draw for draw.

sacreBLEU counts only differences that *exceed* the observed one, so a system compared with
itself (every difference 0) gets p = 1/1001 there; here ties count, and for BLEU/chrF an
observed difference of exactly 0 is reported as p = 1. The rule measures the observed absolute
difference against the spread of the resampled ones, so two equally good systems that differ by
noise get p of about 0.3-0.6, not 1. Confidence intervals, of each score and of the difference,
are 95% bootstrap percentile intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import jiwer
import numpy as np
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.significance import PairedTest

from unheard.evaluation.metrics import word_errors

N_SAMPLES = 1000
SEED = 12345  # sacreBLEU's default seed: every number of a report reproduces


@dataclass(frozen=True)
class PairedComparison:
    """A system against a baseline on one metric over the same utterances."""

    metric: str  # "bleu", "chrf" or "wer"
    n: int  # utterances paired
    baseline: float  # the baseline's corpus score (BLEU/chrF 0-100, WER in %)
    system: float  # the system's corpus score
    baseline_ci: tuple[float, float]  # 95% bootstrap interval of the baseline's score
    system_ci: tuple[float, float]  # 95% bootstrap interval of the system's score
    p_value: float  # chance of a difference this large if the systems were equally good
    # 95% bootstrap interval of system − baseline (None: sacreBLEU's test, which gives none)
    difference_ci: tuple[float, float] | None = None
    seeds: int = 1  # the system's training seeds (its score: their mean)
    baseline_seeds: int = 1
    paired_seeds: bool = True  # seeds resampled by index for both (both ran the same seeds)

    @property
    def difference(self) -> float:
        """System minus baseline (positive: higher score, i.e. better BLEU, worse WER)."""
        return self.system - self.baseline

    def to_dict(self) -> dict[str, object]:
        """The comparison as plain JSON values."""
        out: dict[str, object] = asdict(self)
        out["difference"] = self.difference
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


def _check(references: Sequence[str], baseline: Sequence[str], system: Sequence[str]) -> None:
    if not len(references) == len(baseline) == len(system):
        raise ValueError(
            f"paired test needs equal lengths: {len(references)} references, "
            f"{len(baseline)} baseline and {len(system)} system hypotheses"
        )
    if not references:
        raise ValueError("no utterances to compare")


def paired_bootstrap_sacrebleu(
    references: Sequence[str],
    baseline: Sequence[str],
    system: Sequence[str],
    tokenize: str = "13a",
    n_samples: int = N_SAMPLES,
) -> dict[str, PairedComparison]:
    """sacreBLEU's paired bootstrap test of BLEU and chrF.

    Args:
        references: one reference per utterance.
        baseline: the baseline's hypotheses, aligned with ``references``.
        system: the system's hypotheses, aligned with ``references``.
        tokenize: sacreBLEU's BLEU tokenizer.
        n_samples: bootstrap resamples.

    Returns:
        ``{"bleu": ..., "chrf": ...}``.

    Raises:
        ValueError: for sequences of different lengths or none at all.
    """
    _check(references, baseline, system)
    metrics = {"bleu": BLEU(tokenize=tokenize), "chrf": CHRF()}
    test = PairedTest(
        [("baseline", list(baseline)), ("system", list(system))],
        metrics,
        [list(references)],
        test_type="bs",
        n_samples=n_samples,
    )
    _, results = test()
    out = {}
    # PairedTest renames metrics by their score names ("BLEU", "chrF2"), in the order given
    for name, column in zip(metrics, [k for k in results if k != "System"], strict=True):
        base, sys = results[column]
        p = 1.0 if sys.score == base.score else float(sys.p_value)  # see the module docstring
        out[name] = PairedComparison(
            metric=name,
            n=len(references),
            baseline=float(base.score),
            system=float(sys.score),
            baseline_ci=(float(base.mean - base.ci), float(base.mean + base.ci)),
            system_ci=(float(sys.mean - sys.ci), float(sys.mean + sys.ci)),
            p_value=p,
        )
    return out


def paired_bootstrap_wer(
    references: Sequence[str],
    baseline: Sequence[str],
    system: Sequence[str],
    n_samples: int = N_SAMPLES,
    seed: int = SEED,
) -> PairedComparison:
    """Paired bootstrap test of corpus WER (see the module docstring).

    Args:
        references: one non-empty reference per utterance (normalise first if wanted).
        baseline: the baseline's hypotheses.
        system: the system's hypotheses.
        n_samples: bootstrap resamples.
        seed: the RNG seed.

    Returns:
        The comparison, WER in percent.

    Raises:
        ValueError: for sequences of different lengths, none at all, or a reference of no words.
    """
    _check(references, baseline, system)
    base = sentence_statistics("wer", references, baseline)  # (utterances, 2)
    sys = sentence_statistics("wer", references, system)
    return hierarchical_bootstrap("wer", base[None], sys[None], n_samples=n_samples, seed=seed)


# the metrics `hierarchical_bootstrap` resamples, each from per-utterance sufficient statistics
RESAMPLED = ("bleu", "chrf", "wer", "cer", "exact")


def sentence_statistics(
    metric: str, references: Sequence[str], hypotheses: Sequence[str], tokenize: str = "13a"
) -> np.ndarray:
    """Per-utterance sufficient statistics of a corpus metric: their sum over any set of
    utterances gives its corpus score (`corpus_scores`).

    Args:
        metric: one of `RESAMPLED`: ``bleu`` (sacreBLEU's lengths and n-gram counts), ``chrf``
            (its character and word n-gram counts), ``wer`` / ``cer`` (edits and reference words
            or characters), ``exact`` (a match and a count; whitespace at the ends ignored).
        references: one reference per utterance (normalised first where wanted).
        hypotheses: aligned with ``references``.
        tokenize: sacreBLEU's BLEU tokenizer.

    Returns:
        ``(utterances, statistics)`` as float64.

    Raises:
        ValueError: for an unknown metric, unequal lengths, or a WER/CER reference with nothing
            to count errors against.
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    if metric in ("bleu", "chrf"):
        # the sentence statistics sacreBLEU's own paired test (significance.py) resamples
        scorer = BLEU(tokenize=tokenize) if metric == "bleu" else CHRF()
        stats = scorer._extract_corpus_statistics(list(hypotheses), [list(references)])
        return np.array(stats, dtype=np.float64).reshape(len(references), -1)
    if metric == "exact":
        return np.array(
            [(r.strip() == h.strip(), 1) for r, h in zip(references, hypotheses, strict=True)],
            dtype=np.float64,
        ).reshape(-1, 2)
    if metric not in ("wer", "cer"):
        raise ValueError(f"metric must be one of {RESAMPLED}, got {metric!r}")
    unit = "words" if metric == "wer" else "characters"
    rows = [
        word_errors(r, h) if metric == "wer" else _character_errors(r, h)
        for r, h in zip(references, hypotheses, strict=True)
    ]
    for (_, counted), r in zip(rows, references, strict=True):
        if not counted:
            raise ValueError(f"reference {r!r} has no {unit}; {metric.upper()} needs some")
    return np.array(rows, dtype=np.float64).reshape(-1, 2)


def corpus_scores(metric: str, summed: np.ndarray) -> np.ndarray:
    """Corpus scores (0-100) from summed `sentence_statistics`.

    Args:
        metric: one of `RESAMPLED`.
        summed: ``(..., statistics)``, each row the statistics summed over some utterances.

    Returns:
        ``summed.shape[:-1]`` scores.
    """
    if metric in ("wer", "cer", "exact"):
        return 100 * summed[..., 0] / summed[..., 1]
    scorer = BLEU() if metric == "bleu" else CHRF()
    flat = summed.reshape(-1, summed.shape[-1])
    if metric == "bleu":  # sacreBLEU reads lengths as ints; sums of counts are whole numbers
        scores = [scorer._compute_score_from_stats(list(row.round())).score for row in flat]
    else:
        scores = [scorer._compute_score_from_stats(list(row)).score for row in flat]
    return np.array(scores, dtype=np.float64).reshape(summed.shape[:-1])


def hierarchical_bootstrap(
    metric: str,
    baseline: np.ndarray,
    system: np.ndarray,
    paired_seeds: bool | None = None,
    n_samples: int = N_SAMPLES,
    seed: int = SEED,
    score: Callable[[np.ndarray], np.ndarray] | None = None,
) -> PairedComparison:
    """Paired bootstrap over seeds and utterances of a system against a baseline (see the module
    docstring): each system's score is the mean over its seeds of its corpus score.

    Args:
        metric: the metric's name; one of `RESAMPLED` unless ``score`` is given.
        baseline: ``(seeds, utterances, statistics)``: the baseline's `sentence_statistics` of
            each of its seeds, utterances in one order for every seed and both systems.
        system: ``(seeds, utterances, statistics)`` of the system, the same utterances.
        paired_seeds: resample seeds by index for both systems (seed ``i`` of one with seed
            ``i`` of the other); None: when both ran as many seeds (the same seeds, in order).
        n_samples: bootstrap resamples.
        seed: the RNG seed.
        score: summed statistics ``(..., statistics)`` → scores (None: `corpus_scores`).

    Returns:
        The comparison: each system's mean over seeds, its interval, the difference's interval
        and the p-value.

    Raises:
        ValueError: for arrays of other shapes, no seed or utterance, or seeds paired between
            systems of different seed counts.
    """
    if baseline.ndim != 3 or system.ndim != 3 or baseline.shape[1:] != system.shape[1:]:
        raise ValueError(
            "baseline and system need (seeds, utterances, statistics) statistics of the same "
            f"utterances, got shapes {baseline.shape} and {system.shape}"
        )
    (n_base, n, _), n_sys = baseline.shape, len(system)
    if not min(n_base, n_sys, n):
        raise ValueError(
            f"no seeds or utterances to compare: shapes {baseline.shape}, {system.shape}"
        )
    if paired_seeds is None:
        paired_seeds = n_base == n_sys
    elif paired_seeds and n_base != n_sys:
        raise ValueError(
            f"seeds paired by index need as many on both sides, got {n_base} and {n_sys}"
        )
    score = score or (lambda summed: corpus_scores(metric, summed))
    rng = np.random.default_rng(seed)
    # utterances first: with one seed each, the draws of the one-run test, number for number
    idx = rng.integers(0, n, size=(n_samples, n))
    counts = np.zeros((n_samples, n))
    np.add.at(counts, (np.arange(n_samples)[:, None], idx), 1)  # times each utterance is drawn
    base_draw = rng.integers(0, n_base, size=(n_samples, n_base))
    sys_draw = base_draw if paired_seeds else rng.integers(0, n_sys, size=(n_samples, n_sys))
    rows = np.arange(n_samples)[:, None]

    def resampled(stats: np.ndarray, draw: np.ndarray) -> np.ndarray:
        per_seed = np.stack([score(counts @ s) for s in stats])  # (seeds, samples)
        return per_seed[draw, rows].mean(1)  # (samples,): the mean over the drawn seeds

    base_samples, sys_samples = resampled(baseline, base_draw), resampled(system, sys_draw)
    base_score = float(score(baseline.sum(1)).mean())
    sys_score = float(score(system.sum(1)).mean())
    differences = np.abs(sys_samples - base_samples)
    centred = differences - differences.mean()
    observed = abs(sys_score - base_score)
    # a small tolerance: the same edits summed in another order may differ in the last bit
    count = int((centred >= observed - 1e-9).sum())
    return PairedComparison(
        metric=metric,
        n=n,
        baseline=base_score,
        system=sys_score,
        baseline_ci=_interval(base_samples),
        system_ci=_interval(sys_samples),
        p_value=(count + 1) / (n_samples + 1),
        difference_ci=_interval(sys_samples - base_samples),
        seeds=n_sys,
        baseline_seeds=n_base,
        paired_seeds=paired_seeds,
    )


def _character_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """Character edits and reference characters of one pair (as `word_errors` for words)."""
    out = jiwer.process_characters(reference, hypothesis)
    return (
        out.substitutions + out.deletions + out.insertions,
        out.hits + out.substitutions + out.deletions,
    )


def _interval(samples: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(samples, [2.5, 97.5])
    return float(low), float(high)
