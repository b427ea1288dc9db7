"""``unheard export``: a checkpoint as a folder to publish on the Hugging Face Hub.

Heavy imports happen inside the handler, so ``unheard --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Add ``export`` to the ``unheard`` subcommands.

    Args:
        subparsers: the object ``ArgumentParser.add_subparsers`` returned.
    """
    p = subparsers.add_parser(
        "export",
        help="a checkpoint as a self-contained folder for the Hugging Face Hub (with model card)",
        description="Write CHECKPOINT into --out as a folder laid out for the Hugging Face Hub: "
        "trained.safetensors, unheard.json, a model card README.md (the Hub's metadata, usage, "
        "the scores of --metrics) and metrics.json. A frozen encoder or LLM named by a local "
        "path is copied in (./encoder, ./llm) when small, else must be named by hub id. "
        "Publish with `hf upload USER/NAME DIR`, then load with `unheard transcribe USER/NAME "
        "FILE` or unheard.load('USER/NAME').",
    )
    p.add_argument("checkpoint", help="checkpoint folder (unheard train's checkpoints/step-N)")
    p.add_argument("--out", required=True, help="the folder to write (new or empty)")
    p.add_argument("--metrics", help="an `unheard evaluate` metrics.json: scores in the card")
    p.add_argument(
        "--repo-id", help="USER/NAME it will be published as, for the card (default USER/<out>)"
    )
    p.add_argument(
        "--seen", nargs="+",
        help="languages with paired audio in training (default: as the checkpoint, its run or "
        "--metrics record them)",
    )  # fmt: skip
    p.add_argument("--unseen", nargs="+", help="zero-resource languages (default: as recorded)")
    p.add_argument(
        "--license", default="apache-2.0",
        help="licence of the trained weights (default apache-2.0; the base models keep theirs)",
    )  # fmt: skip
    p.add_argument("--datasets", nargs="+", default=[], help="hub ids of the training data")
    p.add_argument(
        "--eval-dataset", help="hub id of the data --metrics was computed on (default: the "
        "first of --datasets)",
    )  # fmt: skip
    for key, what in (("encoder", "encoder"), ("llm", "LLM")):
        p.add_argument(
            f"--{key}", metavar="HUB_ID",
            help=f"name the frozen {what} by this hub id instead of the checkpoint's local path "
            "(it is a copy of that model)",
        )  # fmt: skip
    p.add_argument(
        "--max-copy-mb", type=float, default=1024.0,
        help="largest local encoder/LLM folder copied into the export (1024)",
    )  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    p.set_defaults(run=_export)


def _export(args: argparse.Namespace) -> int:
    from unheard.evaluation.commands import language_list
    from unheard.publish.export import ExportOptions, export_checkpoint

    options = ExportOptions(
        seen=language_list(args.seen), unseen=language_list(args.unseen), license=args.license,
        datasets=tuple(args.datasets), eval_dataset=args.eval_dataset, repo_id=args.repo_id,
        encoder=args.encoder, llm=args.llm, max_copy_mb=args.max_copy_mb,
        overwrite=args.overwrite,
    )  # fmt: skip
    result = export_checkpoint(args.checkpoint, args.out, metrics=args.metrics, options=options)
    for warning in result.warnings:
        print(f"unheard export: warning: {warning}", file=sys.stderr)
    for side in ("seen", "unseen"):
        codes = ", ".join(getattr(result, side)) or "-"
        print(f"{side} languages: {codes} ({result.sources[side]})")
    print(f"exported {args.checkpoint} → {result.folder}: {', '.join(result.files)}")
    return 0
