"""``report.md``: the evaluation as a person reads it (tables, pictures, how it was measured)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from unheard.evaluation.degenerate import ECHO_WORDS, MIN_REPEATS
from unheard.evaluation.evaluate import Evaluation

SCORE_COLUMNS = (
    ("bleu", "BLEU"),
    ("chrf", "chrF"),
    ("st_exact", "ST exact"),
    ("wer", "WER"),
    ("cer", "CER"),
    ("asr_exact", "ASR exact"),
    ("per", "PER"),
    ("wer_raw", "WER raw"),
    ("cer_raw", "CER raw"),
    ("language_accuracy", "right language"),
)


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    right = ["---:" if i else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(right) + " |"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _score_cells(scores: dict[str, Any]) -> list[str]:
    degenerate = scores["degenerate"]
    return [
        str(scores["utterances"]),
        *(_num(scores[key]) for key, _ in SCORE_COLUMNS),
        f"{degenerate['any']} ({100 * degenerate['any'] / max(degenerate['total'], 1):.0f}%)",
    ]


def render_report(
    evaluation: Evaluation,
    inputs: Sequence[str],
    plots: dict[str, str],
    layer_weights: Sequence[float] | None = None,
    compare_with: str | None = None,
) -> str:
    """The Markdown report.

    Args:
        evaluation: what `evaluate` returned.
        inputs: the hypothesis files evaluated.
        plots: picture file names (relative to the report) by kind: ``scores``, ``confusion``,
            ``layers``.
        layer_weights: the checkpoint's layer weights, when given.
        compare_with: the baseline's hypothesis file, when compared.

    Returns:
        The report's text.
    """
    m = evaluation.metrics
    header = ["group", "utterances", *(name for _, name in SCORE_COLUMNS), "degenerate"]
    overall = m["overall"]
    lines = [
        "# unheard evaluation",
        "",
        f"Hypotheses: {', '.join(f'`{p}`' for p in inputs)}: {overall['utterances']} utterances "
        f"({overall['asr']} ASR, {overall['st']} ST, {overall['phon']} phones) in "
        f"{len(m['by_language'])} spoken languages.",
        f"Seen languages: {', '.join(m['seen_languages']) or '–'}. "
        f"Unseen (zero-resource) languages: {', '.join(m['unseen_languages']) or '–'}.",
        "",
        "BLEU and chrF score the ST hypotheses, WER and CER the ASR ones, all in %. WER and CER "
        "are after Whisper-style normalisation, *raw* on the text as written. PER (phone error "
        "rate) scores the phone answers: phon hypotheses, and the first pass of ASR decoded "
        "through phones, against the G2P of the transcript. *Right language*: the share of "
        "hypotheses (phones aside) a language identifier finds in the language they should be in.",
        "",
        "## Summary",
        "",
    ]
    rows = []
    for group in ("overall", "seen", "unseen"):
        scores = m[group]
        if scores is None:
            continue
        rows.append([f"**{group}** ({', '.join(scores['languages'])})", *_score_cells(scores)])
        macro = scores["macro"]
        if len(scores["languages"]) > 1:
            rows.append(
                [f"{group}: mean of languages", "", *(_num(macro[k]) for k, _ in SCORE_COLUMNS), ""]
            )
    lines += _table(header, rows)
    lines += ["", "## Per language", ""]
    if "scores" in plots:
        lines += [f"![per-language scores]({plots['scores']})", ""]
    rows = [
        [f"{lang} ({s['split'] or '–'})", *_score_cells(s)] for lang, s in m["by_language"].items()
    ]
    lines += _table(["language", *header[1:]], rows)
    lines += ["", "## Output language", ""]
    if "confusion" in plots:
        lines += [f"![language confusion]({plots['confusion']})", ""]
    confusion = evaluation.confusion
    rows = [
        [e, *(str(n) if n else "·" for n in row)]
        for e, row in zip(confusion.expected, confusion.counts, strict=True)
    ]
    lines += _table(["expected \\ detected", *confusion.detected], rows)
    lines += [
        "",
        "Rows: the language each hypothesis should be in (ASR: the spoken language; ST: the "
        "target). Columns: what the offline identifier (langid.py's model, through py3langid) "
        "found; `empty`: nothing to identify, `und`: below the confidence threshold. It is "
        "reliable on sentences and guesses on one or two words.",
        "",
        "## Degenerate outputs",
        "",
    ]
    rows = []
    for name, scores in [
        *((g, m[g]) for g in ("overall", "seen", "unseen") if m[g]),
        *m["by_language"].items(),
    ]:
        d = scores["degenerate"]
        rows.append([name, str(d["total"]), str(d["empty"]), str(d["looping"]), str(d["prompt_echo"]), str(d["any"])])  # fmt: skip
    lines += _table(["group", "hypotheses", "empty", "looping", "prompt echo", "any"], rows)
    lines += [
        "",
        "*Empty*: only whitespace. *Looping*: a unit of 2-50 characters repeated "
        f"{MIN_REPEATS}+ times running, after basic normalisation, that the reference does not "
        f"repeat. *Prompt echo*: {ECHO_WORDS} consecutive words of a task prompt that the "
        "reference does not contain.",
    ]
    if "comparison" in m:
        lines += ["", *_comparison(m["comparison"], inputs, compare_with)]
    if layer_weights is not None:
        best = max(range(len(layer_weights)), key=lambda i: layer_weights[i])
        lines += [
            "",
            "## Learned layer weights",
            "",
            f"![layer weights]({plots['layers']})" if "layers" in plots else "",
            "",
            f"{len(layer_weights)} hidden states (the embedding output and "
            f"{len(layer_weights) - 1} layers); the most weight, {layer_weights[best]:.3f}, is on "
            f"{'the embedding output' if best == 0 else f'layer {best}'} (uniform: "
            f"{1 / len(layer_weights):.3f}).",
        ]
    lines += ["", *_how_measured(m)]
    return "\n".join(lines) + "\n"


def _comparison(c: dict[str, Any], inputs: Sequence[str], baseline: str | None) -> list[str]:
    lines = [
        "## Comparison (paired bootstrap, 1000 resamples)",
        "",
        f"System: {', '.join(f'`{p}`' for p in inputs)}; baseline: `{baseline}`. "
        f"{c['unpaired']} system hypotheses have no baseline counterpart and are left out. "
        "Δ = system − baseline (BLEU, chrF: higher is better; WER: lower is better). Intervals "
        "are 95% bootstrap intervals; * marks p < 0.05. WER is compared after normalisation.",
        "",
    ]
    rows = []
    groups = [(g, c[g]) for g in ("overall", "seen", "unseen") if c.get(g)]
    for name, tests in [*groups, *c["by_language"].items()]:
        for metric in ("bleu", "chrf", "wer"):
            t = tests.get(metric)
            if t is None:
                continue
            star = "*" if t["p_value"] < 0.05 else ""
            rows.append([
                name, metric.upper() if metric != "chrf" else "chrF", str(t["n"]),
                f"{t['baseline']:.1f} [{t['baseline_ci'][0]:.1f}, {t['baseline_ci'][1]:.1f}]",
                f"{t['system']:.1f} [{t['system_ci'][0]:.1f}, {t['system_ci'][1]:.1f}]",
                f"{t['difference']:+.1f}", f"{t['p_value']:.4f}{star}",
            ])  # fmt: skip
    header = ["group", "metric", "n", "baseline", "system", "Δ", "p"]
    return lines + _table(header, rows)


def _how_measured(m: dict[str, Any]) -> list[str]:
    sig = m["signatures"]
    lines = ["## How it was measured", ""]
    for target, signature in sig["bleu"].items():
        lines.append(f"- sacreBLEU BLEU into `{target}`: `{signature}`")
    if sig["chrf"]:
        lines.append(f"- sacreBLEU chrF: `{sig['chrf']}`")
    lines += [f"- note: {note}" for note in sig["notes"]]
    lines += [
        "- WER/CER: jiwer, corpus level (all edits over all reference words or characters). "
        "Normalisation: Whisper's English normaliser for English, its basic normaliser "
        "otherwise; languages written without spaces are scored per character for WER.",
        "- PER: jiwer over phone tokens (word boundaries `|` dropped), corpus level; references "
        "are gruut's G2P of the transcript (`unheard.data.phonemes`), not espeak-ng's.",
        "- Language identification: langid.py's naive Bayes model (py3langid), offline.",
    ]
    return lines
