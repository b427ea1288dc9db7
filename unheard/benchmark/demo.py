"""``unheard demo``: the offline benchmark's mini track, shown end to end on a CPU.

Whisper base (real weights) → layer mix + CNN adapter → a 10M-parameter mT5 that unheard
pretrained on the corpus text, trained on es, fr, it, pt, de, en speech and tested on those and
on the unseen ca and nl. Training it to a result worth showing takes longer than a demo should
(see the benchmark docs), so the demo ships the small checkpoints unheard trained from scratch
(``unheard/assets/mini``: the mT5 and the adapter + LoRA; no third-party-derived LLM weights) and:

1. synthesizes the corpus (espeak-ng; kept wavs are reused);
2. decodes every test set, ASR and ST, with the shipped checkpoint;
3. scores it against the chance baseline: the seen/unseen table;
4. trains a short stage-1 run from the same mT5 beside it, to show the training pipeline;
5. prints sample clips of a seen and an unseen language: what it heard, transcribed, translated.

Every step's result is kept in ``OUT``; a rerun reuses them and takes well under a minute.

``unheard demo --tiny`` (`run_tiny_demo`) needs no shipped checkpoint: it trains
``configs/tiny.yaml`` (tiny random models) through the training recipe and scores it on held-out
test utterances, to show the plumbing end to end.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from unheard.benchmark.run import Benchmark, BenchmarkOptions
from unheard.benchmark.table import language_table
from unheard.benchmark.tracks import configs_dir
from unheard.checkpoint import CONFIG_NAME, WEIGHTS_NAME
from unheard.decoding.hypotheses import read_hypotheses

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "mini"


def run_demo(
    out: str | Path = "runs/demo",
    train_steps: int = 60,
    samples: int = 2,
    per_language: int = 300,
    assets: str | Path = ASSETS,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the demo (see the module docstring).

    Args:
        out: where the corpus, hypotheses, scores and the short run go.
        train_steps: steps of the short stage-1 run (0: none).
        samples: sample clips shown per language (one seen, one unseen).
        per_language: training utterances per language of the corpus (its test sets are a
            tenth; the shipped model was trained on the 300 of the default — any size keeps
            its test items out of that training data, the split being by item).
        assets: the shipped mT5 (``mt5/``) and checkpoint (``checkpoint/``).
        progress: progress bars.
        log: where lines go.

    Returns:
        ``{"metrics": {"shipped": …, "chance": …}, "short_run": {…}, "seconds": …,
        "timings": {step: seconds}}`` (``timings`` lists only the steps that ran: a rerun skips
        decoding and training).

    Raises:
        FileNotFoundError: if the shipped checkpoint is missing.
    """
    started = time.perf_counter()
    assets = Path(assets)
    checkpoint = assets / "checkpoint"
    if not (checkpoint / CONFIG_NAME).is_file():
        raise FileNotFoundError(
            f"no demo checkpoint in {assets}; train one with `unheard benchmark mini` and copy it "
            "with `unheard demo --export runs/benchmark/mini`"
        )
    # the corpus kinds the shipped system was trained on (all nine when the export names none)
    kinds = json.loads((checkpoint / CONFIG_NAME).read_text())["extra"].get("corpus_kinds")
    options = BenchmarkOptions(
        track="mini", per_language=per_language, kinds=tuple(kinds) if kinds else None,
        mt5=str(assets / "mt5"), progress=progress,
    )  # fmt: skip
    bench = Benchmark(Path(out), options, log)
    bench.out.mkdir(parents=True, exist_ok=True)
    if bench.corpus_differences():
        # the demo's own scratch folder, made for another shipped checkpoint or size
        log(f"{bench.out} holds an older demo's corpus: rebuilding it")
        for stale in ("corpus", "systems"):
            shutil.rmtree(bench.out / stale, ignore_errors=True)
    what = ", ".join(kinds) if kinds else "numbers, dates, amounts, units, names"
    log(f"[1/5] the corpus ({what}): espeak-ng speech in es fr it pt de en (seen), ca nl (unseen)")
    bench.build_corpus()
    log("[2/5] decoding every test set (ASR and ST) with the shipped checkpoint")
    files = bench.decode_system("shipped", checkpoint)
    log("[3/5] scoring against the chance baseline")
    metrics = {
        "shipped": bench.evaluate_system("shipped", files, checkpoint),
        "chance": bench.chance(),
    }
    short: dict[str, Any] = {}
    if train_steps:
        log(f"[4/5] a short stage-1 run beside it ({train_steps} steps from the shipped mT5)")
        stage = bench.system_dir("short-run") / "stage1"
        bench.train_stage("stage1", stage, train_steps, [])
        short = _losses(stage)
        log(f"      loss {short['first_loss']:.2f} → {short['last_loss']:.2f} in "
            f"{short['steps']} steps: {stage}")  # fmt: skip
    log("[5/5] results\n")
    log("Shipped checkpoint, test sets, each cell `score [chance]`:\n")
    log(language_table(metrics["shipped"], metrics["chance"], bench.seen, bench.unseen))
    log("")
    for language in ("es", "ca"):
        log(f"Samples in {language} ({'seen' if language in bench.seen else 'unseen'}):")
        for line in sample_lines(bench, "shipped", language, samples):
            log(line)
    seconds = time.perf_counter() - started
    log(f"\ndone in {seconds:.0f} s; everything is in {bench.out}")
    return {"metrics": metrics, "short_run": short, "seconds": seconds, "timings": bench.timings}


TINY_LANGUAGES = ("en", "es", "de", "fr")  # configs/tiny.yaml's corpus (its header)


def run_tiny_demo(
    out: str | Path = "runs/demo-tiny",
    steps: int | None = None,
    per_language: int = 8,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train ``configs/tiny.yaml`` through the recipe on a small espeak-ng corpus and score the
    final checkpoint on the corpus's held-out test utterances, ASR and ST.

    The tiny encoder and LLM are random (no pretrained weights): the run shows the pipeline
    end to end — synthesis, training, checkpoint, decoding, scoring — not transfer; expect high
    error rates on utterances it never heard. A rerun reuses the corpus and the finished run.

    Args:
        out: ``corpus/``, the run (``run/``) and the hypotheses (``hyps/``) go here.
        steps: training steps (None: the config's ``run.max_steps``).
        per_language: training utterances per language (dev and test: at least 5 each).
        progress: progress bars.
        log: where lines go.

    Returns:
        ``{"test": {"asr_wer", "asr_exact", "st_bleu", "st_chrf", "st_exact", "utterances"},
        "final_loss", "dev_loss", "steps", "checkpoint"}``; scores in %, on the test split.

    Raises:
        FileNotFoundError: if ``configs/`` is not there (run from a clone of unheard).
    """
    from unheard.checkpoint import load_decoder
    from unheard.data.synth import SynthOptions, build_synth_corpus
    from unheard.decoding.decode_manifest import decode_manifest
    from unheard.evaluation.evaluate import EvaluationOptions, evaluate
    from unheard.recipes.train import train
    from unheard.recipes.train_config import load_train_config

    out = Path(out)
    corpus = build_synth_corpus(
        out / "corpus", SynthOptions(languages=TINY_LANGUAGES, per_language=per_language)
    )
    log(f"corpus: {corpus.out_dir}, {corpus.utterances} utterances in {', '.join(TINY_LANGUAGES)}")
    overrides = [
        f"data.{key}=[{corpus.out_dir}/unheard-synth_*_{split}.jsonl.gz]"
        for key, split in (("train", "train"), ("dev", "dev"))
    ] + [f"run.output_dir={out / 'run'}", f"run.progress={str(progress).lower()}"]
    if steps is not None:
        overrides.append(f"run.max_steps={steps}")
    summary = train(load_train_config(configs_dir() / "tiny.yaml", overrides))
    checkpoint = Path(summary["final_checkpoint"])
    model, collator, tokenizer = load_decoder(checkpoint)
    records, samples = [], []
    for language in TINY_LANGUAGES:  # held out: no test item is in the training data
        for task in ("asr", "st"):
            hyps = out / "hyps" / f"{task}_{language}.jsonl"
            hyps.unlink(missing_ok=True)  # decoded by this run's checkpoint, not a reused file
            manifest = corpus.manifests[language, "test"]
            decode_manifest(model, collator, tokenizer, manifest, task, hyps, progress=progress)
            decoded = read_hypotheses(hyps)
            records += decoded
            samples += decoded[:1]
    scores = evaluate(records, EvaluationOptions(seen=TINY_LANGUAGES)).metrics["overall"]
    train_log = _losses(out / "run")
    result = {
        "test": {
            "asr_wer": scores["wer"], "asr_exact": scores["asr_exact"],
            "st_bleu": scores["bleu"], "st_chrf": scores["chrf"], "st_exact": scores["st_exact"],
            "utterances": scores["asr"],
        },
        "final_loss": train_log["last_loss"],
        "dev_loss": (summary["best"] or {}).get("dev_loss"),
        "steps": summary["steps"],
        "checkpoint": str(checkpoint),
    }  # fmt: skip
    for r in samples:  # the first test utterance of each language and task
        log(f"  [{r.task} {r.language}→{r.target_language}] ref {r.reference!r}  "
            f"hyp {r.hypothesis!r}")  # fmt: skip
    return result


def sample_lines(bench: Benchmark, system: str, language: str, count: int) -> list[str]:
    """What a system wrote for the first ``count`` test clips of a language, both tasks."""
    from unheard.data.manifest import read_manifest

    hyps = bench.system_dir(system) / "hyps"
    asr = {h.id: h for h in read_hypotheses(hyps / f"asr_{language}.jsonl")}
    st = {h.id: h for h in read_hypotheses(hyps / f"st_{language}.jsonl")}
    manifest = bench.corpus / f"unheard-synth_{language}_test.jsonl.gz"
    lines = []
    for u in read_manifest(manifest)[:count]:
        lines += [
            f"  {bench.corpus / u.audio}",
            f"    said:        {u.text}",
            f"    transcribed: {asr[u.id].hypothesis}",
            f"    translated:  {st[u.id].hypothesis}   (reference: {u.translation})",
        ]
    return lines


def _losses(stage: Path) -> dict[str, Any]:
    lines = [json.loads(x) for x in (stage / "log.jsonl").read_text().splitlines() if x.strip()]
    losses = [(r["step"], r["loss"]) for r in lines if r.get("kind") == "train"]
    return {
        "steps": losses[-1][0],
        "first_loss": losses[0][1],
        "last_loss": losses[-1][1],
        "checkpoint": str(stage),
    }


def export_assets(
    benchmark_dir: str | Path,
    system: str = "main",
    assets: str | Path = ASSETS,
    dtype: str = "bfloat16",
) -> Path:
    """Copy a mini-track system (its mT5 and final stage-2 checkpoint) into the demo's assets.

    Args:
        benchmark_dir: an ``unheard benchmark mini`` output folder.
        system: which system's checkpoint.
        assets: the destination (replaced).
        dtype: the mT5's stored dtype (``bfloat16`` halves the files; the demo's scores are
            measured with it).

    Returns:
        The assets folder.
    """
    import torch
    from transformers import AutoTokenizer, MT5ForConditionalGeneration

    from unheard.data.synth.corpus import read_synth_options

    source = Path(benchmark_dir)
    corpus = read_synth_options(source / "corpus")
    if corpus is None:
        raise FileNotFoundError(f"{source / 'corpus'} holds no corpus: export a finished run")
    summary = json.loads((source / "systems" / system / "stage2" / "summary.json").read_text())
    checkpoint = Path(summary["final_checkpoint"])
    meta = json.loads((checkpoint / CONFIG_NAME).read_text())
    mt5 = Path(meta["model"]["llm"])
    target = Path(assets)
    if target.exists():
        shutil.rmtree(target)
    (target / "checkpoint").mkdir(parents=True)
    model = MT5ForConditionalGeneration.from_pretrained(mt5, dtype=getattr(torch, dtype))
    model.save_pretrained(target / "mt5")
    AutoTokenizer.from_pretrained(mt5).save_pretrained(target / "mt5")
    shutil.copy(checkpoint / WEIGHTS_NAME, target / "checkpoint" / WEIGHTS_NAME)
    meta["model"]["llm"] = "../mt5"
    meta["extra"]["exported_from"] = str(checkpoint)
    meta["extra"]["corpus_kinds"] = corpus.get("kinds")  # the demo's corpus follows
    (target / "checkpoint" / CONFIG_NAME).write_text(json.dumps(meta, indent=2) + "\n")
    return target
