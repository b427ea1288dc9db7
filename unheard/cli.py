"""The ``unheard`` command line. Each subcommand exits 0 on success and 1 with a one-line reason."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from unheard.config import ModelConfig, apply_overrides, from_dict, load_yaml, to_dict

# Modules that add their own subcommands: each has add_parser(subparsers) and keeps its heavy
# imports inside its handlers, so `unheard --help` stays fast.
COMMAND_MODULES: tuple[str, ...] = (
    "unheard.data.commands",
    "unheard.recipes.commands",
    "unheard.decoding.commands",
    "unheard.evaluation.commands",
    "unheard.serving.commands",
    "unheard.publish.commands",
    "unheard.benchmark.commands",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 1
    try:
        return args.run(args) or 0
    except (ValueError, FileNotFoundError, OSError, RuntimeError) as e:
        print(f"unheard {args.command}: error: {e}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="unheard",
        description="Speech-LLMs for zero-resource speech translation and recognition.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    plan = sub.add_parser(
        "plan",
        help="parameter counts and memory estimate, built on the meta device",
        description="Build the model on the meta device (no weights, no download) and print "
        "parameter counts per part, the trainable share and a per-device memory estimate.",
    )
    plan.add_argument("config", help="a preset name (paper-mt0-xl, paper-mt0-xxl) or a YAML file")
    plan.add_argument("overrides", nargs="*", help="key=value overrides, e.g. model.lora.r=8")
    plan.add_argument("--json", action="store_true", help="print JSON")
    plan.add_argument(
        "--batch-size", type=int, default=8, help="utterances per device (a training config's "
        "sampler settings take precedence)",
    )  # fmt: skip
    plan.add_argument("--audio-seconds", type=float, default=15.0, help="longest utterance")
    plan.add_argument(
        "--devices", type=int, default=1,
        help="devices training together: memory per device under DDP and FSDP "
        "(configs/accelerate/ddp.yaml, fsdp.yaml)",
    )  # fmt: skip
    plan.set_defaults(run=_plan)

    demo = sub.add_parser(
        "demo",
        help="the offline benchmark's mini track end to end on CPU (or --tiny: configs/tiny.yaml)",
        description="Whisper base → adapter → a small mT5 unheard pretrained on text: synthesize "
        "the corpus, decode every test set with the shipped checkpoint, score seen vs unseen "
        "languages against chance, train a short run beside it, and show sample clips. A rerun "
        "reuses what is in --out.",
    )
    demo.add_argument("--out", default=None, help="output directory (default runs/demo)")
    demo.add_argument(
        "--train-steps", type=int, default=60, help="steps of the short run beside (0: none)"
    )
    demo.add_argument("--samples", type=int, default=2, help="sample clips per language")
    demo.add_argument(
        "--corpus-size", type=int, default=300,
        help="training utterances per language (test sets are a tenth; smaller is faster)",
    )  # fmt: skip
    demo.add_argument("--no-progress", action="store_true", help="no progress bars")
    demo.add_argument(
        "--export", metavar="BENCHMARK_DIR",
        help="copy the main system of an `unheard benchmark mini` run into the shipped assets",
    )  # fmt: skip
    demo.add_argument(
        "--tiny", action="store_true",
        help="instead: train configs/tiny.yaml (tiny random w2v-BERT + mT5) through the training "
        "recipe on an espeak-ng corpus and score it on held-out test utterances",
    )  # fmt: skip
    demo.add_argument(
        "--steps", type=int, default=None, help="--tiny: training steps (default: the config's)"
    )
    demo.add_argument(
        "--per-language", type=int, default=8, help="--tiny: training utterances per language"
    )
    demo.set_defaults(run=_demo)

    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def _plan_target(name: str, overrides: list[str]) -> tuple[ModelConfig, dict[str, float]]:
    """The model config to plan and the batch shape its config implies (if any).

    A preset name, a YAML with only a ``model`` section, or a training config (whose stage and
    sampler settings decide LoRA and the batch).
    """
    from unheard.presets import PRESETS

    if name in PRESETS:
        data = apply_overrides({"model": to_dict(PRESETS[name])}, overrides)
        return from_dict(ModelConfig, data["model"]), {}
    if not (Path(name).suffix in (".yaml", ".yml") or Path(name).is_file()):
        raise ValueError(f"{name!r} is neither a preset ({', '.join(PRESETS)}) nor a YAML file")
    raw = load_yaml(name)
    if "data" in raw:
        from unheard.recipes.train import stage_model_config
        from unheard.recipes.train_config import load_train_config

        config = load_train_config(name, overrides)
        # worst case of a duration-bounded batch: items as long as allowed, as many as fit
        seconds = min(config.data.max_utterance_s, config.data.sampler.max_duration_s)
        batch = max(1, int(config.data.sampler.max_duration_s // seconds))
        return stage_model_config(config), {"batch_size": batch, "audio_seconds": seconds}
    if "model" not in raw:
        raise ValueError(f"{name}: no 'model' section")
    from unheard.recipes.train_config import expand_preset

    data = apply_overrides({"model": expand_preset(raw["model"])}, overrides)
    return from_dict(ModelConfig, data["model"]), {}


def _plan(args: argparse.Namespace) -> int:
    from unheard.build import build_speech_llm
    from unheard.plan import BatchShape, plan

    started = time.perf_counter()
    config, shape = _plan_target(args.config, args.overrides)
    shape = {"batch_size": args.batch_size, "audio_seconds": args.audio_seconds, **shape}
    model = build_speech_llm(config, weights=False, device="meta")
    report = plan(model, config, BatchShape(**shape), devices=args.devices)
    report["seconds"] = round(time.perf_counter() - started, 2)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{args.config}: {config.encoder} → adapter → {config.llm} ({config.dtype})")
    for part, n in report["params"].items():
        print(f"  {part:<10} {n:>16,}  ({n / 1e6:,.1f}M)")
    print(f"  trainable share {100 * report['trainable_share']:.3f}%")
    b = report["batch"]
    print(
        f"memory per device, batch {b['batch_size']} x {b['audio_seconds']} s "
        f"({b['audio_tokens']} audio tokens) on each of {report['devices']} device(s), GiB:"
    )
    ddp, fsdp = report["memory_gib_by_strategy"]["ddp"], report["memory_gib_by_strategy"]["fsdp"]
    print(f"  {'':<16} {'DDP':>8} {'FSDP':>8}")
    for part in fsdp:
        shown = f"{ddp[part]:8.2f}" if part in ddp else f"{'-':>8}"
        print(f"  {part:<16} {shown} {fsdp[part]:8.2f}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if args.export:
        from unheard.benchmark.demo import export_assets

        print(f"exported {args.export} → {export_assets(args.export)}")
        return 0
    from unheard.benchmark.demo import ASSETS, run_demo

    shipped = (ASSETS / "checkpoint" / "unheard.json").is_file()
    if not args.tiny and not shipped:
        print(
            f"unheard demo: no mini-track checkpoint in {ASSETS} (`unheard benchmark mini`, then "
            "`unheard demo --export runs/benchmark/mini`, puts one there). Running the tiny demo "
            "(--tiny) instead."
        )
    if not args.tiny and shipped:
        run_demo(
            args.out or "runs/demo", train_steps=args.train_steps, samples=args.samples,
            per_language=args.corpus_size, progress=not args.no_progress,
        )  # fmt: skip
        return 0
    from unheard.benchmark.demo import run_tiny_demo

    started = time.perf_counter()
    print("unheard demo: configs/tiny.yaml through the training recipe (tiny random models, CPU)")
    result = run_tiny_demo(
        args.out or "runs/demo-tiny", steps=args.steps, per_language=args.per_language,
        progress=not args.no_progress,
    )  # fmt: skip
    test = result["test"]
    print(
        f"done in {time.perf_counter() - started:.0f}s, {result['steps']} steps, final training "
        f"loss {result['final_loss']:.3f}. On {test['utterances']} held-out test utterances "
        f"(never trained on; random tiny models do not generalise, this shows the plumbing): "
        f"ASR WER {test['asr_wer']:.1f}% (exact {test['asr_exact']:.0f}%), ST chrF "
        f"{test['st_chrf']:.1f} BLEU {test['st_bleu']:.1f} (exact {test['st_exact']:.0f}%)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
