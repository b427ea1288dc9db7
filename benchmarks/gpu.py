"""GPU acceptance (issue 18): the recipe, paper-shaped training, decoding and serving on one GPU.

    python benchmarks/gpu.py [--device cuda] [--quick] [--out FILE.json] [--parts a,b,c,d,e]

Parts (about 5 minutes on one H100; each prints its table as it ends):

  a. ``configs/tiny.yaml`` trains 30 steps through the real recipe (``unheard train`` in a
     subprocess) on a corpus of tone "speech" made here (digits as tones, number-word
     transcripts and English translations, in unheard's manifest format: no espeak-ng needed).
     The loss must fall; a second run is SIGKILLed after step 15 and resumed from its step-10
     checkpoint, and its final trained weights must match the uninterrupted run's (max abs
     difference, beside the size of the last 10 steps' updates). Both runs set
     ``torch.use_deterministic_algorithms`` so that a difference is the resume's, not the GPU's.
  b. w2v-BERT 2.0 -> adapter (18,878,464) -> mT0-xl + LoRA (9,437,184), random weights built
     from configs, bf16: a training step with gradient checkpointing off and on — step time,
     audio-seconds/s, answer tokens/s, model FLOPs utilisation (formula in gpu_shapes.py) and
     peak memory (``torch.cuda.max_memory_allocated``) against ``unheard plan``'s estimate.
  c. the same for mT0-xxl (adapter 62,922,752, LoRA 18,874,368) and the decoder-only
     ``configs/paper/gemma3-1b-stage2.yaml``, each at the largest batch that fits: from
     ``--batch`` (32 utterances x 15 s) halving on out-of-memory.
  d. greedy decoding with the mT0-xl-shaped model, 16 utterances in one batch against one at a
     time (utterances/s).
  e. ``unheard serve``'s app on that model under 16 concurrent clients, batching on (up to 16
     requests, 20 ms) and off: requests/s, p50/p95 latency (``benchmarks/serve.py``'s load, with
     a standard-library HTTP client).

``--quick`` runs every code path with small models of the same families (a CPU dry run);
measurements that need CUDA (peak memory, MFU) print n/a. The JSON (``--out``) is rewritten
after every part and every model of b and c, so a command cut short keeps what it measured.
Exits 1 when a part fails or a check does not hold.

The GPU machine has torch, transformers, peft, accelerate, sacrebleu, tensorboard but no package
registry; what this script imports beyond those travels as wheels in ``benchmarks/wheels/``
(git-ignored; 18 wheels for CPython 3.12 on manylinux x86_64, 18.5 MiB), fetched here with:

    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \\
      --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \\
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d benchmarks/wheels \\
      soundfile==0.14.0 cffi==2.1.1 pycparser==3.12 soxr==1.1.0 num2words==0.5.14 \\
      babel==2.19.0 jiwer==4.0.0 rapidfuzz==3.14.6 fastapi==0.165.0 starlette==1.10.0 \\
      pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 \\
      typing-extensions==4.16.0 opentelemetry-api==1.45.3 uvicorn==0.55.0 python-multipart==0.0.34

Why each: soundfile (+ cffi, pycparser) and soxr, audio I/O (``unheard.data.audio``); num2words,
the ``tiny:`` tokenizer's text; babel, imported by the recipe through ``unheard.data.text`` ->
``unheard.data.synth`` (10.5 MiB of CLDR data, most of the total); jiwer (+ rapidfuzz),
validation's WER; fastapi (+ starlette, pydantic, pydantic-core, annotated-types,
typing-inspection, opentelemetry-api), uvicorn and python-multipart, the server; typing-extensions,
because pydantic-core 2.50 needs >= 4.16. num2words' docopt serves only its command line, so
``--no-deps`` leaves it out. The command for the GPU machine is in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import wave
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no hub there: fail at once instead of retrying

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from gpu_shapes import (  # noqa: E402
    DIGITS,
    PEAK_TFLOPS,
    SHAPE_HEADER,
    measure_shape,
    paper_shapes,
    shape_table,
    tone_audio,
)
from safetensors.torch import load_file  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

from unheard.build import build_speech_llm  # noqa: E402
from unheard.checkpoint import WEIGHTS_NAME  # noqa: E402
from unheard.data.collate import Example, SpeechCollator  # noqa: E402
from unheard.data.features import feature_extractor_for  # noqa: E402
from unheard.data.manifest import Utterance, write_manifest  # noqa: E402
from unheard.decoding.decode import DecodeOptions, decode  # noqa: E402
from unheard.device import select_device  # noqa: E402
from unheard.encoders import SAMPLE_RATE  # noqa: E402
from unheard.tiny import perturb_trained, resolve_tiny  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PARTS = "abcde"
TRAIN_STEPS, KILL_AFTER = 30, 15  # part a: checkpoints every 10 steps; killed between 10 and 20
# part a's recipe: `unheard train`, deterministic kernels so that two runs can be compared exactly
RECIPE = (
    "import sys, torch; torch.use_deterministic_algorithms(True, warn_only=True); "
    "from unheard.cli import main; sys.exit(main(sys.argv[1:]))"
)


class Results:
    """The JSON table: measurements, checks and errors, rewritten atomically by `save`."""

    def __init__(self, path: Path, meta: dict) -> None:
        self.path = path
        self.data: dict[str, Any] = {"meta": meta, "parts": {}, "checks": {}, "errors": {}}
        path.parent.mkdir(parents=True, exist_ok=True)

    def save(self) -> None:
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps(self.data, indent=1, default=str))
        os.replace(tmp, self.path)

    def check(self, name: str, ok: bool) -> None:
        self.data["checks"][name] = bool(ok)
        print(f"  check {name}: {'ok' if ok else 'FAILED'}", flush=True)


# --- part a: the recipe on a tone corpus, killed and resumed -----------------------------------


def wav_bytes(audio: np.ndarray) -> bytes:
    """16-bit PCM WAV of a 16 kHz waveform (the standard library writes it: no soundfile)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def write_tone_corpus(folder: Path, per_language: int = 8, dev: int = 2) -> tuple[Path, Path]:
    """Train and dev manifests of 2-4 digit utterances in en/es/de/fr (one tone timbre each)."""
    rng = np.random.default_rng(0)
    records: dict[str, list[Utterance]] = {"train": [], "dev": []}
    for voice, (language, words) in enumerate(DIGITS.items()):
        for i in range(per_language + dev):
            split = "train" if i < per_language else "dev"
            digits = [int(d) for d in rng.integers(0, 10, size=int(rng.integers(2, 5)))]
            audio = tone_audio(digits, voice, rng)
            path = folder / "audio" / f"{language}-{i:03d}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(wav_bytes(audio))
            records[split].append(Utterance(
                id=f"{language}-{i:03d}", audio=str(path), duration=len(audio) / SAMPLE_RATE,
                sample_rate=SAMPLE_RATE, language=language,
                text=" ".join(words[d] for d in digits),
                translation=" ".join(DIGITS["en"][d] for d in digits), translation_language="en",
                speaker=f"tone-{voice}", corpus="gpu-tones", split=split,
            ))  # fmt: skip
    for split, utterances in records.items():
        write_manifest(folder / f"{split}.jsonl", utterances)
    return folder / "train.jsonl", folder / "dev.jsonl"


def start_recipe(run_dir: Path, overrides: list[str]) -> subprocess.Popen:
    """``unheard train configs/tiny.yaml`` into ``run_dir``, output to ``run_dir``.log."""
    env = {**os.environ, "CUBLAS_WORKSPACE_CONFIG": ":4096:8", "PYTHONUNBUFFERED": "1"}
    if "run.device=cpu" in overrides:
        env["OMP_NUM_THREADS"] = "1"  # a dry run on a small shared machine
    log = run_dir.with_suffix(".log").open("a")
    command = [sys.executable, "-c", RECIPE, "train", "configs/tiny.yaml",
               f"run.output_dir={run_dir}", *overrides]  # fmt: skip
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def finish(process: subprocess.Popen, run_dir: Path, timeout: float = 480) -> None:
    if process.wait(timeout=timeout) != 0:
        tail = run_dir.with_suffix(".log").read_text()[-3000:]
        raise RuntimeError(f"the recipe exited with {process.returncode}:\n{tail}")


def train_records(run_dir: Path) -> list[dict]:
    """The training lines of ``log.jsonl`` that are whole (a killed run may leave half a line)."""
    records = []
    path = run_dir / "log.jsonl"
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("kind") == "train":
            records.append(record)
    return records


def trained_weights(run_dir: Path, step: int) -> dict[str, torch.Tensor]:
    return load_file(str(run_dir / "checkpoints" / f"step-{step}" / WEIGHTS_NAME))


def max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    if a.keys() != b.keys():
        raise RuntimeError(f"different tensors: {sorted(a.keys() ^ b.keys())[:5]}")
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a)


def part_train_resume(ctx: SimpleNamespace) -> dict:
    work = ctx.work / "a"
    train, dev = write_tone_corpus(work / "corpus")
    overrides = [f"data.train=[{train}]", f"data.dev=[{dev}]", f"run.max_steps={TRAIN_STEPS}",
                 "run.save_every=10", "run.keep_last=3", "run.log_every=1", "run.validate_every=0",
                 "run.progress=false", f"run.device={ctx.device.type}"]  # fmt: skip
    straight, killed = work / "straight", work / "killed"
    started = time.perf_counter()
    finish(start_recipe(straight, overrides), straight)
    straight_s = time.perf_counter() - started
    records = train_records(straight)
    losses = [r["loss"] for r in records]
    rates = [r["audio_seconds_per_s"] for r in records[5:]]  # after the first steps' warm-up

    process = start_recipe(killed, overrides)
    deadline = time.monotonic() + 480
    while process.poll() is None and time.monotonic() < deadline:
        done = train_records(killed)
        if done and done[-1]["step"] >= KILL_AFTER:
            break
        time.sleep(0.005)
    interrupted = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = max((r["step"] for r in train_records(killed)), default=0)
    saved = sorted(int(p.name.split("-")[1]) for p in (killed / "checkpoints").glob("step-*"))
    finish(start_recipe(killed, overrides), killed)
    lines = killed.with_suffix(".log").read_text().splitlines()
    resumed = bool(saved) and any(
        x.startswith("resumed from") and x.endswith(f"at step {saved[-1]}") for x in lines
    )
    # ops with no deterministic CUDA kernel warn (warn_only) and may leave rounding differences
    nondeterministic = sum("does not have a deterministic implementation" in x for x in lines)

    final = trained_weights(straight, TRAIN_STEPS)
    diff = max_difference(final, trained_weights(killed, TRAIN_STEPS))
    update = max_difference(final, trained_weights(straight, TRAIN_STEPS - 10))
    result = {
        "steps": TRAIN_STEPS, "straight_wall_s": straight_s, "losses": losses,
        "loss_first": losses[0], "loss_last5": float(np.mean(losses[-5:])),
        "audio_s_per_s": float(np.mean(rates)) if rates else None,
        "killed_at_step": killed_at, "interrupted": interrupted,
        "checkpoints_at_kill": saved, "resumed_from_checkpoint": resumed,
        "max_abs_diff": diff, "last_10_steps_update": update,
        "nondeterministic_op_warnings": nondeterministic,
    }  # fmt: skip
    print(f"  30 steps in {straight_s:.1f} s wall (process start included), "
          f"{result['audio_s_per_s'] or 0:.1f} audio-s/s; loss {losses[0]:.3f} -> "
          f"{result['loss_last5']:.3f} (mean of the last 5)")  # fmt: skip
    print(f"  killed (SIGKILL) after step {killed_at}, checkpoints {saved}; resumed: {resumed}; "
          f"final weights vs uninterrupted: max |diff| {diff:.3g} (last 10 steps moved them "
          f"by up to {update:.3g}); {nondeterministic} nondeterministic-op warning(s)")  # fmt: skip
    ctx.results.check("a.loss_falls", result["loss_last5"] < losses[0])
    ctx.results.check("a.killed_mid_run", interrupted and bool(saved) and killed_at < TRAIN_STEPS)
    # a resume that lost state (data order, optimizer moments, RNG) differs by about an update
    ctx.results.check("a.resume_matches", resumed and diff <= 1e-4 * update)
    return result


# --- parts b and c: paper-shaped training steps ------------------------------------------------


def part_shapes(ctx: SimpleNamespace, names: list[str], part: str) -> dict:
    shapes = paper_shapes(ctx.args.quick, ctx.args.batch)
    out: dict[str, Any] = {}
    print(SHAPE_HEADER)
    for name in names:
        shape = shapes[name]
        opts = SimpleNamespace(
            steps=ctx.args.steps, warmup=2, peak_tflops=ctx.peak_tflops,
            # --quick: the xxl family's first batch fails as out of memory, to run the halving
            simulate_oom_above=shape.batch // 2 if ctx.args.quick and name == "mt0-xxl" else 0,
        )  # fmt: skip
        out[name] = measure_shape(shape, ctx.tokenizer, ctx.device, opts)
        for line in shape_table(name, out[name]):
            print(line, flush=True)
        if "paper_counts_match" in out[name]:
            ctx.results.check(f"{part}.{name}.paper_param_counts", out[name]["paper_counts_match"])
        ctx.results.check(f"{part}.{name}.finite_loss", all(r["finite"] for r in out[name]["rows"]))
        ctx.results.data["parts"][part] = out  # this model's rows survive a cut
        ctx.results.save()
    return out


# --- parts d and e: decoding and serving --------------------------------------------------------


def decoder_model(ctx: SimpleNamespace) -> tuple[Any, SpeechCollator]:
    """The mT0-xl-shaped model (``--quick``: its small sibling) for decoding, built once."""
    if ctx.decoder is None:
        config = paper_shapes(ctx.args.quick, 1)["mt0-xl"].config
        if ctx.device.type != "cuda":
            config = replace(config, dtype="float32")  # no fast bf16 on this kind of CPU
        torch.manual_seed(0)
        model = build_speech_llm(config, weights=False, device=ctx.device)
        perturb_trained(model)  # a random adapter's output is near zero: make it say something
        collator = SpeechCollator(
            ctx.tokenizer, feature_extractor_for(model.encoder.model.config), True
        )
        ctx.decoder = (model.eval(), collator)
    return ctx.decoder


def utterances(n: int, seconds: tuple[float, float], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    lengths = rng.uniform(*seconds, size=n)
    return [tone_audio([int(d) for d in rng.integers(0, 10, size=max(1, round(s / 0.3)))], i % 4, rng)
            for i, s in enumerate(lengths)]  # fmt: skip


def part_decode(ctx: SimpleNamespace) -> dict:
    model, collator = decoder_model(ctx)
    languages = list(DIGITS)
    audio = utterances(16, (2.0, 5.0), seed=1)
    examples = [Example(f"d{i}", a, "asr", languages[i % 4], languages[i % 4], None)
                for i, a in enumerate(audio)]  # fmt: skip
    seconds = sum(len(a) for a in audio) / SAMPLE_RATE
    options = lambda b: DecodeOptions(batch_size=b, max_new_tokens=ctx.max_new_tokens)  # noqa: E731
    run = lambda b, items: decode(model, collator, ctx.tokenizer, items, options(b))  # noqa: E731
    run(1, examples[:1]), run(4, examples[:4])  # warm-up: kernels, allocator
    result: dict[str, Any] = {"utterances": len(examples), "audio_s": seconds,
                              "max_new_tokens": ctx.max_new_tokens}  # fmt: skip
    hypotheses = {}
    for name, size in (("one_at_a_time", 1), ("batched_16", 16)):
        started = time.perf_counter()
        hypotheses[name] = run(size, examples)
        wall = time.perf_counter() - started
        result[name] = {"seconds": wall, "utt_per_s": len(examples) / wall}
        print(f"  {name:>14}: {wall:6.2f} s = {len(examples) / wall:6.1f} utt/s, "
              f"{seconds / wall:6.1f}x real time", flush=True)  # fmt: skip
    result["speedup"] = result["one_at_a_time"]["seconds"] / result["batched_16"]["seconds"]
    same = sum(a == b for a, b in zip(*hypotheses.values(), strict=True))
    result["identical_hypotheses"] = same
    print(f"  batched vs one at a time: {result['speedup']:.1f}x; identical hypotheses "
          f"{same}/{len(examples)} (a random model's near-ties may flip under bf16)")  # fmt: skip
    ctx.results.check("d.batched_faster", result["speedup"] > 1)
    return result


def part_serve(ctx: SimpleNamespace) -> dict:
    from serve import measure, stdlib_client  # fastapi and uvicorn: imported for this part only

    from unheard.serving.api import SpeechToText
    from unheard.serving.batcher import BatchOptions

    model, collator = decoder_model(ctx)
    options = DecodeOptions(batch_size=16, max_new_tokens=ctx.max_new_tokens)
    stt = SpeechToText(model, collator, ctx.tokenizer, options, name="gpu-acceptance")
    audio = utterances(16, (1.0, 2.0), seed=2)
    clips = [wav_bytes(a) for a in audio]
    audio_s = float(np.mean([len(a) for a in audio])) / SAMPLE_RATE
    load = SimpleNamespace(clients=16, seconds=ctx.args.serve_seconds)
    settings = {"batching on": BatchOptions(16, 0.02), "batching off": BatchOptions(1, 0.0)}
    rows: dict[str, Any] = {}
    print(f"  16 clients x {load.seconds:g} s per setting, {len(clips)} clips of {audio_s:.2f} s mean")  # fmt: skip
    print(f"  {'':14}{'requests':>9}{'5xx':>5}{'err':>5}{'p50 s':>8}{'p95 s':>8}{'req/s':>8}{'batch':>7}")  # fmt: skip
    for name, batch in settings.items():
        rows[name] = r = measure(stt, clips, audio_s, batch, load, client=stdlib_client)
        print(f"  {name:14}{r['requests']:>9}{r['5xx']:>5}{r['errors']:>5}{r['p50_s']:>8.2f}"
              f"{r['p95_s']:>8.2f}{r['req_per_s']:>8.2f}{r['mean_batch']:>7.1f}", flush=True)  # fmt: skip
    on, off = rows["batching on"], rows["batching off"]
    rows["throughput_ratio"] = on["req_per_s"] / off["req_per_s"] if off["req_per_s"] else None
    print(f"  batching on vs off: {rows['throughput_ratio'] or 0:.2f}x requests/s, p50 "
          f"{on['p50_s'] / off['p50_s']:.2f}x, p95 {on['p95_s'] / off['p95_s']:.2f}x")  # fmt: skip
    failed = sum(r["4xx"] + r["5xx"] + r["errors"] for r in (on, off))
    ctx.results.check("e.no_failed_requests", failed == 0)
    return rows


# --- the run ----------------------------------------------------------------------------------


def peak_tflops(device: torch.device, given: float | None) -> float | None:
    if given or device.type != "cuda":
        return given
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_TFLOPS.items() if k in name), None)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("The GPU machine has")[0],  # title, usage, parts
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--device", default="cuda", help="cuda (default), cpu, ...")
    parser.add_argument(
        "--quick", action="store_true", help="small models: a dry run of every path"
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "runs" / "gpu" / "gpu.json",
        help="the JSON table, rewritten after every part (runs/gpu/gpu.json)",
    )  # fmt: skip
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated, of a,b,c,d,e")
    parser.add_argument("--batch", type=int, help="b/c: utterances tried first (32; quick 4)")
    parser.add_argument("--steps", type=int, default=10, help="b/c: timed steps after 2 warm-up")
    parser.add_argument("--serve-seconds", type=float, help="e: seconds per setting (15; quick 3)")
    parser.add_argument("--peak-tflops", type=float, help="for MFU (default: H100/H200 989.4)")
    args = parser.parse_args()
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if not parts or set(parts) - set(PARTS):
        parser.error(f"--parts must name some of {','.join(PARTS)}, got {args.parts!r}")
    args.batch = args.batch or (4 if args.quick else 32)
    args.serve_seconds = args.serve_seconds or (3.0 if args.quick else 15.0)
    try:
        device = select_device(args.device)
    except ValueError as e:
        parser.error(str(e))
    if device.type == "cpu":
        torch.set_num_threads(1)  # a dry run: keep a small shared machine usable
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    # transformers >= 5.2x renames it activation_checkpointing_enable; the recipe still calls it
    warnings.filterwarnings("ignore", ".*gradient_checkpointing_enable.* is deprecated")

    began = time.perf_counter()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    meta = {"device": name, "torch": torch.__version__, "cuda": torch.version.cuda,
            "transformers": transformers.__version__, "quick": args.quick,
            "parts": parts, "argv": sys.argv[1:]}  # fmt: skip
    results = Results(args.out, meta)
    ctx = SimpleNamespace(
        args=args, device=device, results=results, decoder=None,
        peak_tflops=peak_tflops(device, args.peak_tflops), max_new_tokens=32,
        tokenizer=AutoTokenizer.from_pretrained(resolve_tiny("tiny:mt5")),
    )  # fmt: skip
    print(f"unheard GPU acceptance on {name}: torch {torch.__version__} (CUDA "
          f"{torch.version.cuda}), transformers {transformers.__version__}; "
          f"{'quick (small models)' if args.quick else 'paper shapes'}; peak for MFU: "
          f"{ctx.peak_tflops or 'n/a'} TFLOP/s", flush=True)  # fmt: skip
    runs: dict[str, tuple[str, Callable[[], dict]]] = {
        "a": ("configs/tiny.yaml through the recipe; SIGKILL and resume", lambda: part_train_resume(ctx)),
        "b": ("mT0-xl shape: training step", lambda: part_shapes(ctx, ["mt0-xl"], "b")),
        "c": ("mT0-xxl and Gemma 3 1B shapes: training step", lambda: part_shapes(ctx, ["mt0-xxl", "gemma3-1b"], "c")),
        "d": ("greedy decoding: batched vs one at a time", lambda: part_decode(ctx)),
        "e": ("server under 16 clients: batching on vs off", lambda: part_serve(ctx)),
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="unheard-gpu-") as tmp:
        ctx.work = Path(tmp)
        for part in parts:
            title, run = runs[part]
            print(f"\n({part}) {title}", flush=True)
            started = time.perf_counter()
            try:
                results.data["parts"][part] = run()
            except Exception as e:  # one part's failure must not lose the others
                traceback.print_exc()
                results.data["errors"][part] = f"{type(e).__name__}: {e}"
                if device.type == "cuda":
                    torch.cuda.empty_cache()
            spent = time.perf_counter() - started
            results.data["meta"].setdefault("part_s", {})[part] = spent
            results.data["meta"]["elapsed_s"] = time.perf_counter() - began
            results.save()
            print(f"  ({part} took {spent:.1f} s)", flush=True)
    failed = [k for k, ok in results.data["checks"].items() if not ok]
    print(f"\nchecks: {len(results.data['checks']) - len(failed)}/{len(results.data['checks'])} "
          f"ok{'; FAILED: ' + ', '.join(failed) if failed else ''}; errors in parts: "
          f"{', '.join(results.data['errors']) or 'none'}; {time.perf_counter() - began:.0f} s "
          f"in all; wrote {args.out}")  # fmt: skip
    return 1 if failed or results.data["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
