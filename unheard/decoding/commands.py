"""``unheard decode``: a checkpoint and a manifest in, a hypothesis file out.

Heavy imports (torch, transformers) happen inside the handler, so ``unheard --help`` stays fast.
"""

from __future__ import annotations

import argparse
from typing import Any

from unheard.data.prompts import BRIDGES as BRIDGE_CHOICES

# `decode_manifest.DECODE_TASKS`, spelt out here: importing it would import torch before --help
TASK_CHOICES = ("asr", "st", "phon")

DEFAULTS_NOTE = (
    "Length limit: an utterance of s seconds gets at most "
    "min(--max-new-tokens, ceil(--length-base + --tokens-per-second * s)) answer tokens. "
    "Repetition guards (--no-repeat-ngram-size, --repetition-penalty) are off by default. "
    "Rerunning with the same --out skips the utterances it already holds."
)


def add_parser(subparsers: Any) -> None:
    """Add ``decode`` to the ``unheard`` subcommands.

    Args:
        subparsers: the object ``ArgumentParser.add_subparsers`` returned.
    """
    p = subparsers.add_parser(
        "decode",
        help="decode a manifest with a checkpoint into a hypothesis file (JSON Lines)",
        description="Decode every utterance of MANIFEST with CHECKPOINT and append one JSON line "
        "per utterance to --out: id, task, language, target_language, hypothesis, reference "
        "(and phonemes, with --via-phonemes). " + DEFAULTS_NOTE,
    )
    p.add_argument(
        "checkpoint", help="checkpoint folder (checkpoints/step-N) or hub id (USER/NAME)"
    )
    p.add_argument("manifest", help="manifest of the utterances to decode (.jsonl or .jsonl.gz)")
    p.add_argument(
        "--task", required=True, choices=TASK_CHOICES,
        help="asr: transcribe; st: translate; phon: write the phones (reference: the G2P of the "
        "transcript)",
    )  # fmt: skip
    p.add_argument(
        "--via-phonemes", nargs="?", const="two-pass", choices=BRIDGE_CHOICES, default=None,
        help="ASR through phones: two-pass (the default: audio → phones by the phon task, then "
        "phones → text by p2g) or one-pass (one answer 'phones => text' by phon+asr); each line "
        "keeps the phones in 'phonemes'",
    )  # fmt: skip
    p.add_argument(
        "--language-named", action=argparse.BooleanOptionalAction, default=None,
        help="name each record's spoken language in the prompts (--language-named) or not "
        "(--no-language-named); default: as the checkpoint was trained "
        "(data.name_source_language)",
    )  # fmt: skip
    p.add_argument("--out", required=True, help="hypothesis file to write or resume")
    p.add_argument("--beam", type=int, default=1, help="beam size; 1 is greedy (default 1)")
    p.add_argument("--batch-size", type=int, default=16, help="most utterances per batch (16)")
    p.add_argument(
        "--max-batch-seconds", type=float, default=None,
        help="most padded audio seconds per batch (default: no limit)",
    )  # fmt: skip
    p.add_argument(
        "--max-new-tokens", type=int, default=256, help="hard cap on answer tokens (256)"
    )
    p.add_argument(
        "--length-base", type=float, default=16.0, help="answer tokens any utterance may have (16)"
    )
    p.add_argument(
        "--tokens-per-second", type=float, default=8.0,
        help="more answer tokens allowed per second of audio (8)",
    )  # fmt: skip
    p.add_argument(
        "--no-repeat-ngram-size", type=int, default=0,
        help="forbid repeating any n-gram of this many tokens (default 0: off)",
    )  # fmt: skip
    p.add_argument(
        "--repetition-penalty", type=float, default=1.0,
        help="penalise tokens already written, e.g. 1.2 (default 1.0: off)",
    )  # fmt: skip
    p.add_argument(
        "--length-penalty", type=float, default=1.0, help="beam search length penalty (1.0)"
    )
    p.add_argument(
        "--target-language", default=None,
        help="ST: language to translate into (default: each record's translation_language, "
        "else en)",
    )  # fmt: skip
    p.add_argument(
        "--device",
        default=None,
        help="cpu, cuda, cuda:1, mps, ... (default: CUDA, then another accelerator, then the CPU)",
    )
    p.add_argument(
        "--encoder-cache", default=None, metavar="DIR",
        help="read (and fill) the encoder-output cache of a training run (its run.encoder_cache): "
        "the frozen encoder then runs only on utterances it has not seen",
    )  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=_decode)


def _decode(args: argparse.Namespace) -> int:
    import logging

    from transformers.utils import logging as hf_logging

    from unheard.checkpoint import load_decoder
    from unheard.decoding.decode import DecodeOptions, with_language_named
    from unheard.decoding.decode_manifest import decode_manifest, summary_line
    from unheard.device import select_device
    from unheard.encoder_cache import EncoderCacheOptions, cache_encoder

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    hf_logging.disable_progress_bar()
    options = DecodeOptions(
        batch_size=args.batch_size,
        max_batch_seconds=args.max_batch_seconds,
        num_beams=args.beam,
        max_new_tokens=args.max_new_tokens,
        length_base=args.length_base,
        tokens_per_second=args.tokens_per_second,
        no_repeat_ngram_size=args.no_repeat_ngram_size,
        repetition_penalty=args.repetition_penalty,
        length_penalty=args.length_penalty,
    )  # validated before the model loads
    device = select_device(args.device)  # one-line failure on `--device cuda` without CUDA
    if args.via_phonemes and args.task != "asr":
        raise ValueError(f"--via-phonemes decodes ASR; got --task {args.task}")
    model, collator, tokenizer = load_decoder(args.checkpoint, device=device)
    if args.encoder_cache:  # in the dtype the training run wrote it in; another encoder: refused
        cache_encoder(model, EncoderCacheOptions.for_directory(args.encoder_cache))
    if args.language_named is not None:
        collator = with_language_named(collator, args.language_named)
    summary = decode_manifest(
        model, collator, tokenizer, args.manifest, args.task, args.out, options,
        target_language=args.target_language, progress=not args.no_progress,
        via_phonemes=args.via_phonemes,
    )  # fmt: skip
    print(summary_line(summary, args.out))
    return 0
