"""``unheard benchmark``: the offline zero-resource benchmark, one track at a time."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from unheard.benchmark.options import BenchmarkOptions
from unheard.benchmark.systems import ABLATIONS
from unheard.benchmark.tracks import TRACKS
from unheard.data.commands import language_codes


def add_parser(subparsers: Any) -> None:
    """Add ``benchmark`` to the ``unheard`` subcommands."""
    p = subparsers.add_parser(
        "benchmark",
        help="the offline zero-resource benchmark (synthetic corpus, seen vs unseen languages)",
        description="Synthesize the corpus, (mini) pretrain the small mT5 on its text, train "
        "stage 1 and 2 on the seen languages es fr it pt de en, decode ASR and ST of every "
        "language including the unseen ca and nl, and score against the chance baseline. Every "
        "step resumes; a rerun rebuilds only what is missing.",
    )
    p.add_argument("track", choices=TRACKS, help="mini: the small mT5; real-llm: "
                   "Gemma 3 270M + LoRA")  # fmt: skip
    p.add_argument("overrides", nargs="*", help="key=value overrides for every training run")
    p.add_argument("--out", help="output folder (default runs/benchmark/TRACK)")
    p.add_argument(
        "--per-language",
        type=int,
        help=f"training utterances per language (default {BenchmarkOptions.per_language})",
    )
    p.add_argument(
        "--kinds",
        type=language_codes,
        help="comma-separated item kinds of the corpus (default cardinal,year; 'all': all nine)",
    )
    # unset numbers are the recipe's (BenchmarkOptions): the mini LLM's (mini_llm.MINI_LLM) and
    # the track's configs' (configs/<track>/*.yaml), named here only in the help
    p.add_argument(
        "--text-steps", type=int, help="mini: mT5 text pretraining steps (default: the recipe's)"
    )
    p.add_argument(
        "--instruct-steps",
        type=int,
        help="mini: then instruction-tuning steps, for a recipe that has them (default: the "
        "recipe's, unheard/benchmark/mini_llm.py: none)",
    )
    p.add_argument(
        "--mt5",
        help="mini: use this mT5 instead of pretraining one (a folder, or unheard:mini-mt5: the "
        "shipped one)",
    )
    p.add_argument(
        "--llm-languages",
        type=language_codes,
        help="mini: comma-separated languages whose text the mT5 learns (default all 8; e.g. "
        "es,fr,it,pt,de,en for an LLM that barely knows the unseen ca and nl)",
    )
    p.add_argument("--stage1-steps", type=int, help="default: configs/TRACK/stage1.yaml's")
    p.add_argument("--stage2-steps", type=int, help="default: configs/TRACK/stage2.yaml's")
    p.add_argument(
        "--text-stage-steps",
        type=int,
        help="text-unseen: steps of its text-only LoRA stage before stage 2 (0: none, the text "
        "only mixed into stage 2; default: configs/TRACK/text-stage.yaml's)",
    )
    p.add_argument(
        "--text-stage-lr",
        type=float,
        help="text-unseen: its text stage's peak lr (default: text-stage.yaml's)",
    )
    p.add_argument(
        "--text-replay",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="text-unseen: read the seen languages' text too, in the text stage and stage 2, "
        "against forgetting (--no-text-replay: ca and nl text only)",
    )
    p.add_argument(
        "--ablations", nargs="*", default=[], choices=ABLATIONS,
        help="ablation systems to train too",
    )  # fmt: skip
    p.add_argument("--no-encoder-cache", action="store_true", help="recompute the encoder")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--seed", type=int, default=0,
        help="the corpus's and the mini LLM's seed, and the training seed without --seeds",
    )  # fmt: skip
    p.add_argument(
        "--seeds", type=int, nargs="+", metavar="S",
        help="training seeds (run.seed): each system is trained, decoded and scored per seed, "
        "reported as mean ± sd and compared by a bootstrap over seeds and utterances (default: "
        "--seed alone; its runs stay in systems/NAME/, each other seed's in systems/NAME/seed-S/)",
    )  # fmt: skip
    p.set_defaults(run=_benchmark)


def _benchmark(args: argparse.Namespace) -> int:
    from unheard.benchmark.run import run_benchmark
    from unheard.benchmark.table import comparison_table, language_table, systems_table
    from unheard.benchmark.text_probe import text_probe_table

    # --kinds all: every kind; no --kinds: the default (numbers and years)
    kinds = {} if args.kinds is None else {"kinds": None if args.kinds == ("all",) else args.kinds}
    # options not given keep BenchmarkOptions' defaults
    given = {"per_language": args.per_language} if args.per_language is not None else {}
    options = BenchmarkOptions(
        track=args.track, text_steps=args.text_steps, instruct_steps=args.instruct_steps,
        llm_languages=args.llm_languages,
        mt5=args.mt5, stage1_steps=args.stage1_steps, stage2_steps=args.stage2_steps,
        text_stage_steps=args.text_stage_steps, text_stage_lr=args.text_stage_lr,
        text_replay=args.text_replay,
        ablations=tuple(args.ablations), encoder_cache=not args.no_encoder_cache,
        seed=args.seed, seeds=None if args.seeds is None else tuple(args.seeds),
        overrides=tuple(args.overrides), progress=not args.no_progress,
        **kinds, **given,
    )  # fmt: skip
    out = Path(args.out or f"runs/benchmark/{args.track}")
    bench, results = run_benchmark(out, options)
    seeds = options.seeds
    over = f" over seeds {', '.join(map(str, seeds))} (mean ± sd)" if len(seeds) > 1 else ""
    bootstrap = "seeds and utterances, 95% interval" if over else "same utterances"
    tables = [
        f"# unheard benchmark — {args.track} track\n",
        f"Main system per language{over}, each cell `score [chance]`:\n",
        language_table(results["main"], results["chance"], bench.seen, bench.unseen),
        f"\nSystems (mean over languages){over}:\n",
        systems_table(results),
        f"\nMain against chance and each ablation against main (paired bootstrap, {bootstrap}; "
        "bold: p < 0.05):\n",
        comparison_table(results),
        "\nThe LLM's own text translation into English, then its copy of the text under the "
        "transcribe prompt (text where the audio goes; BLEU / exact % / copy exact %, 50 test "
        "sentences per language):\n",
        text_probe_table(bench.text_probes, bench.seen, bench.unseen),
        *(
            [
                "\nThe same LLM few-shot, in plain text (4 worked examples from the training text, "
                "then the item; BLEU / exact % / copy exact %, 50 test sentences per language):\n",
                text_probe_table(bench.few_shot_probes, bench.seen, bench.unseen),
            ]
            if bench.few_shot_probes
            else []
        ),
        f"\nWall time per step (s): {bench.timings}\n",
    ]
    text = "\n".join(tables)
    (out / "results.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0
