"""``unheard train``."""

from __future__ import annotations

import argparse
import json
import os


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``unheard train``."""
    train = sub.add_parser(
        "train",
        help="train a SpeechLLM from a YAML config (resumes from output_dir)",
        description="Run the paper's recipe (stage 1 or 2) on HF Accelerate. Launch on several "
        "processes with `accelerate launch -m unheard train CONFIG`. Resumes from the newest "
        "checkpoint in run.output_dir when one exists.",
    )
    train.add_argument("config", help="a YAML training config (see configs/)")
    train.add_argument("overrides", nargs="*", help="key=value overrides, e.g. run.max_steps=10")
    train.set_defaults(run=_train)


def _train(args: argparse.Namespace) -> int:
    from transformers.utils import logging as hf_logging

    from unheard.recipes.train import train
    from unheard.recipes.train_config import load_train_config

    hf_logging.disable_progress_bar()
    config = load_train_config(args.config, args.overrides)
    summary = train(config)
    if int(os.environ.get("RANK", "0")) == 0:  # one summary, not one per process
        print(json.dumps(summary, indent=2))
    return 0
