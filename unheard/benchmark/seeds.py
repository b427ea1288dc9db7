"""The benchmark over training seeds: where each seed's runs live, each metric's mean ± sd over
seeds, and systems compared by a paired bootstrap over seeds and utterances.

One recipe trained with another ``run.seed`` moved seen ST by 7.1 BLEU (docs/benchmark.md, round
6): a single run per system cannot tell a difference of that size from seed luck, and a bootstrap
over test utterances alone does not see it. With ``--seeds 0 1 2`` every system is trained,
decoded and scored once per seed (`seed_folder`), its scores are summarised as mean ± sd over
seeds (`summarize_seeds`), and it is compared with its baseline by
`unheard.evaluation.bootstrap.hierarchical_bootstrap` on the same test utterances of every seed
(`compare_over_seeds`).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unheard.decoding.hypotheses import Hypothesis, read_hypotheses
from unheard.evaluation.bootstrap import (
    N_SAMPLES,
    corpus_scores,
    hierarchical_bootstrap,
    sentence_statistics,
)
from unheard.evaluation.metrics import bleu_tokenizer
from unheard.evaluation.normalizers import normalize

# the metrics summarised over seeds, as the benchmark's tables and results.json name them
# per: the phone error rate of the phones ASR went through (bridge systems), or absent
METRICS = ("bleu", "chrf", "st_exact", "wer", "cer", "asr_exact", "language_accuracy", "per")
GROUPS = ("seen", "unseen")
# compared over seeds, per task: (name, resampled metric, text normalised for words?, or None: raw)
# Output-language accuracy is not: it needs the language identifier's verdict per hypothesis
COMPARED = {
    "st": (("bleu", "bleu", None), ("chrf", "chrf", None), ("st_exact", "exact", True)),
    "asr": (("wer", "wer", True), ("cer", "cer", False), ("asr_exact", "exact", True)),
}


def seed_folder(system_dir: Path, seed: int, base_seed: int) -> Path:
    """Where a system's runs with one training seed live.

    The base seed's (``--seed``, 0 by default) stay where a one-seed benchmark has always put
    them, ``systems/<name>/``, so that a rerun with more seeds reuses them; each other seed's
    are in ``systems/<name>/seed-<S>/``.

    Args:
        system_dir: ``systems/<name>``.
        seed: the training seed.
        base_seed: the benchmark's ``--seed``.

    Returns:
        The folder holding the seed's stages, hypotheses and scores.
    """
    return system_dir if seed == base_seed else system_dir / f"seed-{seed}"


def seed_name(name: str, seed: int, base_seed: int) -> str:
    """A system's name for one seed's run (its text probe): ``main``, ``main (seed 1)``."""
    return name if seed == base_seed else f"{name} (seed {seed})"


def spread(values: Sequence[float | None]) -> dict[str, Any] | None:
    """``{"mean", "sd", "values"}`` of one metric over seeds: sd is the sample standard
    deviation (None for one seed); None when no seed has the metric.

    Raises:
        ValueError: when some seeds have the metric and others not.
    """
    if all(v is None for v in values):
        return None
    if any(v is None for v in values):
        raise ValueError(f"a metric is missing in some seeds only: {list(values)}")
    mean = statistics.fmean(values)  # type: ignore[arg-type]
    sd = statistics.stdev(values) if len(values) > 1 else None  # type: ignore[arg-type]
    return {"mean": mean, "sd": sd, "values": list(values)}


def summarize_seeds(per_seed: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    """One system's scores over seeds, shaped as its ``metrics.json``: each metric of each
    language (``by_language``), of the seen and unseen groups (pooled, and ``macro``: the mean
    over their languages) becomes a `spread`.

    Args:
        per_seed: ``{seed: metrics.json}`` of one system, the same languages in each.

    Returns:
        ``{"seeds", "by_language", "seen", "unseen"}`` (a group absent from the metrics is left
        out).

    Raises:
        ValueError: for no seeds, or seeds that scored other languages.
    """
    if not per_seed:
        raise ValueError("no seeds to summarise")
    runs = [per_seed[s] for s in sorted(per_seed)]
    languages = sorted(runs[0]["by_language"])
    for seed, metrics in zip(sorted(per_seed), runs, strict=True):
        if sorted(metrics["by_language"]) != languages:
            raise ValueError(
                f"seed {seed} scored languages {sorted(metrics['by_language'])}, another seed "
                f"{languages}"
            )

    def over_seeds(scores: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return {k: spread([s.get(k) for s in scores]) for k in METRICS}

    out: dict[str, Any] = {
        "seeds": sorted(per_seed),
        "by_language": {
            lang: over_seeds([m["by_language"][lang] for m in runs]) for lang in languages
        },
    }
    for group in GROUPS:
        if runs[0].get(group) is None:
            continue
        out[group] = over_seeds([m[group] for m in runs])
        out[group]["macro"] = over_seeds([m[group]["macro"] for m in runs])
    return out


def compare_over_seeds(
    system: Mapping[int, Sequence[Path]],
    baseline: Mapping[int, Sequence[Path]],
    seen: Sequence[str],
    unseen: Sequence[str],
    n_samples: int = N_SAMPLES,
) -> dict[str, Any]:
    """A system against its baseline, by paired bootstrap over seeds and utterances
    (`hierarchical_bootstrap`), on the seen and unseen groups and per language.

    Seeds are paired by index when both systems ran the same seeds (seed 1 of one with seed 1
    of the other: the same data order and initialisation of the shared parts), else resampled
    each on its own. Only utterances that every seed of both systems decoded are compared.

    Args:
        system: ``{seed: hypothesis files}`` of the system (each file of one task and language).
        baseline: the same of the baseline.
        seen, unseen: the language groups.
        n_samples: bootstrap resamples.

    Returns:
        ``{"seeds", "baseline_seeds", "paired_seeds", "seen", "unseen", "by_language"}``, each
        group ``{metric: comparison dict}`` for ST BLEU, chrF and exact, ASR WER, CER and exact
        (a metric without utterances, or BLEU over targets that need different tokenizers, is
        left out).

    Raises:
        ValueError: for no seeds on either side, or no utterance in common.
    """
    if not system or not baseline:
        raise ValueError("both systems need at least one seed of hypotheses")
    paired = sorted(system) == sorted(baseline)
    runs = [_read(system[s]) for s in sorted(system)]
    base_runs = [_read(baseline[s]) for s in sorted(baseline)]
    common = set.intersection(*(set(run) for run in (*runs, *base_runs)))
    if not common:
        raise ValueError("the system and its baseline decoded no utterance in common")
    first = runs[0]
    groups = {"seen": set(seen), "unseen": set(unseen)}
    groups.update({lang: {lang} for lang in sorted({first[k].language for k in common})})
    out: dict[str, Any] = {
        "seeds": sorted(system), "baseline_seeds": sorted(baseline), "paired_seeds": paired,
        "by_language": {},
    }  # fmt: skip
    for name, languages in groups.items():
        keys = sorted(k for k in common if first[k].language in languages and first[k].reference)
        tests = {}
        for task, metrics in COMPARED.items():
            task_keys = [k for k in keys if k[1] == task]
            for metric, resampled, for_words in metrics:
                pairs = _statistics(resampled, for_words, task_keys, runs, base_runs)
                if pairs is None:
                    continue
                base, sys = pairs
                tests[metric] = hierarchical_bootstrap(
                    metric, base, sys, paired_seeds=paired, n_samples=n_samples,
                    score=lambda summed, r=resampled: corpus_scores(r, summed),
                ).to_dict()  # fmt: skip
        if name in GROUPS:
            out[name] = tests if keys else None
        else:
            out["by_language"][name] = tests
    return out


def _read(files: Sequence[Path]) -> dict[tuple[str, str], Hypothesis]:
    return {h.key: h for path in files for h in read_hypotheses(path)}


def _statistics(
    metric: str,
    for_words: bool | None,
    keys: Sequence[tuple[str, str]],
    runs: Sequence[Mapping[tuple[str, str], Hypothesis]],
    base_runs: Sequence[Mapping[tuple[str, str], Hypothesis]],
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(baseline, system)`` statistics ``(seeds, utterances, k)`` of one metric over ``keys``,
    text normalised as the scores are (`unheard.evaluation.scoring`); None when nothing is left
    to compare or BLEU would need two tokenizers."""
    first = runs[0]
    targets = {k: first[k].target_language for k in keys}

    def text(value: str, key: tuple[str, str]) -> str:
        return value if for_words is None else normalize(value, targets[key], for_words)

    kept = [k for k in keys if text(first[k].reference or "", k)]  # as scoring leaves them out
    if not kept:
        return None
    tokenizers = {bleu_tokenizer(targets[k])[0] for k in kept}
    if metric == "bleu" and len(tokenizers) > 1:
        return None
    refs = [text(first[k].reference or "", k) for k in kept]

    def stack(side: Sequence[Mapping[tuple[str, str], Hypothesis]]) -> np.ndarray:
        return np.stack([
            sentence_statistics(metric, refs, [text(run[k].hypothesis, k) for k in kept],
                                tokenize=next(iter(tokenizers)))
            for run in side
        ])  # fmt: skip

    return stack(base_runs), stack(runs)


def summarize_systems(
    per_seed: Mapping[int, Mapping[str, Mapping[str, Any]]],
    baselines: Mapping[str, str],
    hypotheses: Callable[[str, int], Sequence[Path]],
    seen: Sequence[str],
    unseen: Sequence[str],
    timed: Callable[[str, Callable[[], Any]], Any] = lambda _, work: work(),
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Every system of a benchmark over seeds: its `summarize_seeds` summary, and for each
    system with a baseline its `compare_over_seeds` comparison (under ``comparison``, the
    baseline's name under ``baseline``).

    Args:
        per_seed: ``{seed: {system: metrics.json}}``, the same systems for every seed.
        baselines: ``{system: its baseline}`` for the systems compared.
        hypotheses: ``(system, seed)`` → its hypothesis files.
        seen, unseen: the language groups.
        timed: runs and times each comparison (``(name, work) → work()``).

    Returns:
        The summaries by system, and what ``results.json`` adds for several seeds: ``seeds``,
        ``per_seed`` (each system's headline per seed) and ``comparisons``.
    """
    seeds = sorted(per_seed)
    names = list(per_seed[seeds[0]])
    results = {n: summarize_seeds({s: per_seed[s][n] for s in seeds}) for n in names}
    for name, base in baselines.items():
        results[name]["baseline"] = base
        results[name]["comparison"] = timed(
            f"{name}/compare-over-seeds",
            lambda n=name, b=base: compare_over_seeds(
                {s: hypotheses(n, s) for s in seeds}, {s: hypotheses(b, s) for s in seeds},
                seen, unseen,
            ),
        )  # fmt: skip
    extra = {
        "seeds": seeds,
        "per_seed": {n: {str(s): headline(per_seed[s][n]) for s in seeds} for n in names},
        "comparisons": {n: results[n]["comparison"] for n in baselines},
    }
    return results, extra


def headline(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The scores ``results.json`` lists of a system: its seen and unseen groups (pooled) and
    each language, for one run's ``metrics.json`` or a `summarize_seeds` summary alike."""
    return {
        group: {k: metrics[group].get(k) for k in METRICS}
        for group in GROUPS
        if metrics.get(group) is not None
    } | {
        lang: {k: scores.get(k) for k in METRICS} for lang, scores in metrics["by_language"].items()
    }
