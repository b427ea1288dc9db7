"""``unheard evaluate``: hypothesis files in, ``metrics.json``, ``report.md`` and plots out.

Heavy imports (matplotlib, sacreBLEU, the language identifier) happen inside the handler, so
``unheard --help`` stays fast.
"""

from __future__ import annotations

import argparse
from typing import Any


def language_list(values: list[str] | None) -> tuple[str, ...]:
    """Language codes from a command-line list: ``--seen es fr``, ``--seen es,fr`` and
    ``--seen "es, fr"`` alike."""
    return tuple(c.strip() for value in values or [] for c in value.split(",") if c.strip())


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
        "(sacreBLEU) score ST, WER/CER (jiwer, raw and Whisper-normalised) score ASR, PER (phone "
        "error rate) scores phon hypotheses and the phones of ASR decoded --via-phonemes; every "
        "hypothesis's language (phones aside) is identified offline (language confusion).",
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
    from unheard.evaluation.files import evaluate_files

    evaluate_files(
        args.hypotheses, args.out, seen=language_list(args.seen), unseen=language_list(args.unseen),
        compare=args.compare, checkpoint=args.checkpoint,
        lid_languages=language_list(args.lid_languages) or None,
        lid_min_confidence=args.lid_min_confidence,
    )  # fmt: skip
    return 0
