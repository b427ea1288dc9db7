"""Paired bootstrap significance between two systems on the same utterances.

BLEU and chrF go through sacreBLEU's own paired bootstrap (``PairedTest``, Koehn 2004 as in
Moses' script): 1,000 resamples, seeded by ``SACREBLEU_SEED`` (default 12345). WER has no
sacreBLEU implementation, so `paired_bootstrap_wer` does the same test by hand over the
sufficient statistics of corpus WER (word edits and reference words of each utterance):

1. draw ``n_samples`` resamples of the utterances with replacement (one seeded RNG, the same
   resamples for both systems: that is what makes the test *paired*);
2. score both systems on each resample and take the absolute difference;
3. centre those differences on zero (the null hypothesis: no difference) and count how often a
   centred difference reaches the observed one: ``p = (count + 1) / (n_samples + 1)``.

sacreBLEU counts only differences that *exceed* the observed one, so a system compared with
itself (every difference 0) gets p = 1/1001 there; here ties count, and for BLEU/chrF an
observed difference of exactly 0 is reported as p = 1. Confidence intervals are 95% bootstrap
percentile intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

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
    stats = np.array(
        [
            (*word_errors(r, b), word_errors(r, s)[0])
            for r, b, s in zip(references, baseline, system, strict=True)
        ],
        dtype=np.float64,
    )  # (utterances, 3): baseline edits, reference words, system edits
    if (stats[:, 1] == 0).any():
        raise ValueError("a reference has no words; WER needs words to count errors against")
    edits_base, words, edits_sys = stats.T
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(references), size=(n_samples, len(references)))
    sample_words = words[idx].sum(1)  # (n_samples,)
    base_samples = 100 * edits_base[idx].sum(1) / sample_words
    sys_samples = 100 * edits_sys[idx].sum(1) / sample_words
    base_score = 100 * edits_base.sum() / words.sum()
    sys_score = 100 * edits_sys.sum() / words.sum()
    differences = np.abs(sys_samples - base_samples)
    centred = differences - differences.mean()
    observed = abs(sys_score - base_score)
    # a small tolerance: the same edits summed in another order may differ in the last bit
    count = int((centred >= observed - 1e-9).sum())
    return PairedComparison(
        metric="wer",
        n=len(references),
        baseline=float(base_score),
        system=float(sys_score),
        baseline_ci=_interval(base_samples),
        system_ci=_interval(sys_samples),
        p_value=(count + 1) / (n_samples + 1),
    )


def _interval(samples: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(samples, [2.5, 97.5])
    return float(low), float(high)
