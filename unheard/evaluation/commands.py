"""``unheard evaluate``: hypothesis files in, ``metrics.json``, ``report.md`` and plots out.

Heavy imports (matplotlib, sacreBLEU, the language identifier) happen inside the handler, so
``unheard --help`` stays fast.
"""

from __future__ import annotations

import argparse
from typing import Any


def _languages(values: list[str] | None) -> tuple[str, ...]:
    # accept "--seen es fr" and "--seen es,fr" alike
    return tuple(code for value in values or [] for code in value.split(",") if code.strip())


def add_parser(subparsers: Any) -> None:
    """Add ``evaluate`` to the ``unheard`` subcommands.

    Args:
        subparsers: the object ``ArgumentParser.add_subparsers`` returned.
    """
    p = subparsers.add_parser(
        "evaluate",
        help="score hypothesis files: BLEU, chrF, WER, CER, output language, seen vs unseen",
        description="Score hypothesis files written by unheard decode and write metrics.json "
        "(overall, seen, unseen, by_language), report.md and PNG plots into --out. BLEU/chrF "
        "(sacreBLEU) score ST, WER/CER (jiwer, raw and Whisper-normalised) score ASR; every "
        "hypothesis's language is identified offline (language confusion).",
    )
    p.add_argument("hypotheses", nargs="+", metavar="HYPS.jsonl", help="hypothesis files")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--seen", nargs="+", help="languages with paired audio in training")
    p.add_argument("--unseen", nargs="+", help="zero-resource languages (no paired audio)")
    p.add_argument(
        "--compare", metavar="OTHER.jsonl",
        help="a baseline system's hypotheses of the same utterances: paired bootstrap tests",
    )  # fmt: skip
    p.add_argument(
        "--checkpoint", help="the checkpoint that decoded: plots its learned layer weights and "
        "counts echoes of its prompts",
    )  # fmt: skip
    p.add_argument(
        "--lid-languages", nargs="+",
        help="restrict the language identifier to these languages (default: all 140 it knows)",
    )  # fmt: skip
    p.add_argument(
        "--lid-min-confidence", type=float, default=0.0,
        help="below this probability a language is 'und' (default 0: always name one)",
    )  # fmt: skip
    p.set_defaults(run=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from unheard.data.prompts import Prompts
    from unheard.decoding.hypotheses import read_hypotheses
    from unheard.evaluation.evaluate import EvaluationOptions, evaluate
    from unheard.evaluation.language_id import LanguageIdOptions
    from unheard.evaluation.layer_weights import layer_weights
    from unheard.evaluation.plots import (
        plot_language_confusion,
        plot_layer_weights,
        plot_scores_by_language,
    )
    from unheard.evaluation.report import render_report

    records = []
    seen_keys: dict[tuple[str, str], str] = {}
    for path in args.hypotheses:
        for record in read_hypotheses(path):
            if record.key in seen_keys:
                raise ValueError(
                    f"{record.task} of {record.id!r} is in both {seen_keys[record.key]} and {path}"
                )
            seen_keys[record.key] = path
            records.append(record)
    baseline = read_hypotheses(args.compare) if args.compare else None
    prompts: tuple[Prompts, ...] = ()
    weights = None
    if args.checkpoint:
        from unheard.checkpoint import read_checkpoint_config

        _, extra = read_checkpoint_config(args.checkpoint)
        if extra.get("prompts"):
            prompts = (Prompts(dict(extra["prompts"])),)
        weights = layer_weights(args.checkpoint)
    lid_languages = _languages(args.lid_languages) or None
    options = EvaluationOptions(
        seen=_languages(args.seen),
        unseen=_languages(args.unseen),
        language_id=LanguageIdOptions(lid_languages, args.lid_min_confidence),
        prompts=prompts,
    )
    evaluation = evaluate(records, options, baseline=baseline)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    metrics = {
        **evaluation.metrics,
        "inputs": list(args.hypotheses),
        "compare_with": args.compare,
        "layer_weights": weights,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    plots = {"confusion": plot_language_confusion(evaluation.confusion, out / "language_confusion.png").name}  # fmt: skip
    scores = plot_scores_by_language(evaluation.metrics, out / "scores_by_language.png")
    if scores is not None:
        plots["scores"] = scores.name
    if weights is not None:
        plots["layers"] = plot_layer_weights(weights, out / "layer_weights.png").name
    report = render_report(evaluation, args.hypotheses, plots, weights, args.compare)
    (out / "report.md").write_text(report, encoding="utf-8")
    overall = evaluation.metrics["overall"]
    shown = ", ".join(
        f"{name} {overall[key]:.1f}"
        for key, name in (("bleu", "BLEU"), ("chrf", "chrF"), ("wer", "WER"), ("cer", "CER"))
        if overall[key] is not None
    )
    accuracy = overall["language_accuracy"]
    print(
        f"{overall['utterances']} hypotheses: {shown or 'no references'}; right language "
        f"{accuracy:.1f}%; wrote {out / 'metrics.json'}, {out / 'report.md'} and "
        f"{len(plots)} plot(s)"
    )
    return 0
