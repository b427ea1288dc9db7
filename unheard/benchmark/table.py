"""The benchmark's tables in Markdown: per language (seen, then unseen) against chance, and the
systems (main, ablations, chance) side by side on the seen and unseen groups.

A score is one run's number, or over several seeds its `unheard.benchmark.seeds.spread`,
shown as ``mean ± sd`` (chance, in brackets, as its mean)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

COLUMNS = (
    ("bleu", "ST BLEU"),
    ("st_exact", "ST exact %"),
    ("wer", "ASR WER %"),
    ("asr_exact", "ASR exact %"),
    ("language_accuracy", "right language %"),
)


def _num(value: float | Mapping[str, Any] | None) -> str:
    """A score, or ``mean ± sd`` of a spread over seeds."""
    if isinstance(value, Mapping):
        sd = value["sd"]
        return f"{value['mean']:.1f}" + ("" if sd is None else f" ± {sd:.1f}")
    return "–" if value is None else f"{value:.1f}"


def _mean(value: float | Mapping[str, Any] | None) -> str:
    """A score, or the mean of a spread over seeds."""
    return _num(value["mean"] if isinstance(value, Mapping) else value)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _header(names: Sequence[str]) -> list[str]:
    return [_row(names), _row(["---", *("---:" for _ in names[1:])])]


def language_table(
    system: Mapping[str, Any],
    chance: Mapping[str, Any],
    seen: Sequence[str],
    unseen: Sequence[str],
) -> str:
    """One system per language, each cell ``score [chance]`` (over seeds ``mean ± sd
    [chance's mean]``), with the seen and unseen means.

    Args:
        system, chance: ``metrics.json`` of the system and of the chance baseline, or their
            `unheard.benchmark.seeds.summarize_seeds` summaries.
        seen, unseen: the language groups, in display order.
    """
    lines = _header(["language", *(name for _, name in COLUMNS)])
    rows = [(f"{lang} (seen)", system["by_language"][lang], chance["by_language"][lang])
            for lang in seen]  # fmt: skip
    rows += [(f"**{lang} (unseen)**", system["by_language"][lang], chance["by_language"][lang])
             for lang in unseen]  # fmt: skip
    rows += [
        (f"mean of {group}", system[group]["macro"], chance[group]["macro"])
        for group in ("seen", "unseen")
        if group in system
    ]
    for name, scores, base in rows:
        lines.append(
            _row([name, *(f"{_num(scores.get(k))} [{_mean(base.get(k))}]" for k, _ in COLUMNS)])
        )
    return "\n".join(lines)


def systems_table(systems: Mapping[str, Mapping[str, Any]]) -> str:
    """Systems side by side: each metric's mean over the seen and over the unseen languages."""
    names = ["system"]
    for _, name in COLUMNS:
        names += [f"{name} seen", f"{name} unseen"]
    lines = _header(names)
    for system, metrics in systems.items():
        cells = [system]
        for key, _ in COLUMNS:
            cells += [_num(metrics[g]["macro"].get(key)) if g in metrics else "–"
                      for g in ("seen", "unseen")]  # fmt: skip
        lines.append(_row(cells))
    return "\n".join(lines)


def comparison_table(systems: Mapping[str, Mapping[str, Any]]) -> str:
    """Each system that was compared against a baseline (main against chance, an ablation
    against main), by paired bootstrap: pooled ST BLEU and ASR WER on the seen and unseen
    languages, ``system − baseline (p)``, p < 0.05 in bold; over several seeds (the bootstrap over
    seeds and utterances) ``system − baseline [95% interval] (p)``."""
    names = ["system"]
    for group in ("seen", "unseen"):
        names += [f"ST BLEU Δ {group}", f"ASR WER Δ {group}"]
    lines = _header(names)
    for system, metrics in systems.items():
        comparison = metrics.get("comparison")
        if not comparison:
            continue
        # one run's metrics.json names the baseline's hypotheses only:
        # systems/<baseline>/all-hyps.jsonl (Benchmark.evaluate_system)
        baseline = metrics.get("baseline") or Path(metrics["compare_with"]).parent.name
        cells = [f"{system} vs {baseline}"]
        for group in ("seen", "unseen"):
            for metric in ("bleu", "wer"):
                test = (comparison.get(group) or {}).get(metric)
                if test is None:
                    cells.append("–")
                    continue
                text = f"{test['difference']:+.1f}"
                if max(test.get("seeds", 1), test.get("baseline_seeds", 1)) > 1:
                    low, high = test["difference_ci"]
                    text += f" [{low:+.1f}, {high:+.1f}]"
                text += f" (p {test['p_value']:.3f})"
                cells.append(f"**{text}**" if test["p_value"] < 0.05 else text)
        lines.append(_row(cells))
    return "\n".join(lines)
