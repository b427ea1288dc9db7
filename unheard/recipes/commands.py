"""``unheard train``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import TYPE_CHECKING

from unheard.data.commands import language_codes

if TYPE_CHECKING:  # imported when a command runs: `unheard --help` stays fast
    from unheard.recipes.pretrain_text import TextPretrainOptions


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

    text = sub.add_parser(
        "pretrain-text",
        help="pretrain a small mT5 on parallel text (translation into English + denoising)",
        description="Text-only pretraining of a small MT5ForConditionalGeneration with its own "
        "SentencePiece vocabulary, saved with save_pretrained (usable as a SpeechLLM's llm).",
    )
    text.add_argument("--train", nargs="+", required=True, help="text JSONL files or globs")
    text.add_argument("--dev", nargs="*", default=[], help="held-out text for the probe")
    text.add_argument("--out", required=True, help="output folder (model/ + metrics.json)")
    text.add_argument("--steps", type=int, default=3000)
    text.add_argument("--batch-size", type=int, default=64)
    text.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    text.add_argument(
        "--optimizer", choices=("adamw", "adafactor"), default="adamw",
        help="adafactor: T5's own (updates relative to each weight's scale; lr ~1e-2)",
    )  # fmt: skip
    text.add_argument("--d-model", type=int, default=256)
    text.add_argument("--layers", type=int, default=4)
    text.add_argument(
        "--tie-head", action="store_true",
        help="the output head is the token embedding (T5's output rescaling), not its own matrix",
    )  # fmt: skip
    text.add_argument("--vocab-size", type=int, default=2000)
    text.add_argument(
        "--max-piece-length", type=int, default=16,
        help="the longest SentencePiece piece in characters (8: compound number words split into "
        "their parts)",
    )  # fmt: skip
    text.add_argument(
        "--denoise-share", type=float, default=0.4, help="share of denoising examples"
    )
    text.add_argument(
        "--instruct-share",
        type=float,
        default=0.0,
        help="share of instruction examples in the speech tasks' prompts (transcribe → the text, "
        "translate → English), the text where the audio goes",
    )
    text.add_argument(
        "--instruct-weights",
        type=_task_weights,
        help="relative weights of the instruction tasks, e.g. asr=2,st=1,translate=1 (asr: the "
        "transcribe prompt → the text itself), with --phonemes also p2g and phon, e.g. "
        "asr=2,st=1,translate=1,p2g=1,phon=1; default equal",
    )
    text.add_argument(
        "--phonemes",
        action="store_true",
        help="the phoneme bridge's text half: instruction tasks p2g (a text's IPA phones → the "
        "text) and phon (the text → its phones), and a tokenizer that also learns the phones "
        "(needs --instruct-share > 0 and the phonemes extra)",
    )
    text.add_argument(
        "--phoneme-sample",
        type=int,
        default=2000,
        help="records per language whose phones the new tokenizer learns (G2P ~1,000 records/s, "
        "Dutch ~180/s)",
    )
    text.add_argument(
        "--languages",
        type=language_codes,
        help="comma-separated: train the model on these languages' text only (the tokenizer "
        "reads all); default all",
    )
    text.add_argument(
        "--balance-lengths",
        action="store_true",
        help="draw records evenly across their English word counts (short items as often as "
        "long ones) instead of as the corpus holds them",
    )
    text.add_argument(
        "--init", help="start from this saved model and its tokenizer (e.g. instruction tuning)"
    )
    text.add_argument("--warmup-steps", type=int, default=200)
    text.add_argument("--save-every", type=int, default=250, help="steps between checkpoints")
    text.add_argument("--probe-every", type=int, default=500, help="steps between probes (0: off)")
    text.add_argument("--seed", type=int, default=0)
    text.set_defaults(run=_pretrain_text)


def _task_weights(value: str) -> dict[str, float]:
    """``asr=2,st=1`` → ``{"asr": 2.0, "st": 1.0}`` (argparse type)."""
    weights = {}
    for part in value.split(","):
        task, sep, weight = part.partition("=")
        try:
            weights[task.strip()] = float(weight)
        except ValueError:
            sep = ""
        if not sep or not task.strip():
            raise argparse.ArgumentTypeError(f"expected task=weight, got {part!r} in {value!r}")
    return weights


def text_pretrain_options(args: argparse.Namespace) -> TextPretrainOptions:
    """The options an ``unheard pretrain-text`` command line stands for.

    Args:
        args: its parsed arguments.

    Returns:
        The options `pretrain_text` runs with.

    Raises:
        ValueError: for a value `TextPretrainOptions` refuses.
    """
    from unheard.recipes.pretrain_text import TextPretrainOptions

    return TextPretrainOptions(
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
        d_model=args.d_model, d_ff=4 * args.d_model, layers=args.layers, tie_head=args.tie_head,
        vocab_size=args.vocab_size, seed=args.seed,
        denoise_share=args.denoise_share, instruct_share=args.instruct_share, init=args.init,
        warmup_steps=args.warmup_steps, save_every=args.save_every, probe_every=args.probe_every,
        languages=args.languages, instruct_weights=args.instruct_weights,
        balance_lengths=args.balance_lengths, phonemes=args.phonemes,
        phoneme_sample=args.phoneme_sample, max_piece_length=args.max_piece_length,
    )  # fmt: skip


def _pretrain_text(args: argparse.Namespace) -> int:
    from unheard.recipes.pretrain_text import pretrain_text

    metrics = pretrain_text(args.train, args.dev, args.out, text_pretrain_options(args))
    print(json.dumps(metrics.get("translation_exact_match", {})))
    return 0


def _train(args: argparse.Namespace) -> int:
    from transformers.utils import logging as hf_logging

    from unheard.recipes.train import train
    from unheard.recipes.train_config import load_train_config

    hf_logging.disable_progress_bar()
    config = load_train_config(args.config, args.overrides)
    summary = train(config)
    if int(os.environ.get("RANK", "0")) == 0:  # one summary, not one per process
        print(json.dumps(summary, indent=2))
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # One of several processes, done: every file is written and the process group destroyed.
        # Leave without the interpreter's finalisation, where gloo's worker threads may still hold
        # tensors and abort the process (SIGABRT, "terminate called without an active
        # exception"; seen 2 times in ~45 two-process FSDP runs here; pytorch/pytorch#179291).
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0
