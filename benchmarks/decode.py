"""Throughput of batched decoding against one utterance at a time, on the same model and audio.

    .venv/bin/python benchmarks/decode.py [--utterances 32] [--batch-size 16] [--repeats 3] [--threads 1]

The model is small but not trivial: a w2v-BERT-shaped encoder (256 wide, 4 layers) and an
mT5-shaped encoder-decoder LLM (256 wide, 4+4 layers, 8 heads), random weights with the trained
parts perturbed so that it writes long, looping answers that run to the length limit (the
worst case for a decoder).
The audio is the espeak-ng number corpus. Both settings run on the same examples, interleaved,
`--repeats` times after a warm-up; the best times are compared (on a shared machine, the runs
least slowed by other processes), and the hypotheses of the two settings must be identical
(greedy search), in float32 or, for near-tied logits that float32 rounding flips, in float64.
Exits 1 if they are not.

One torch thread by default: on a small machine shared with other work, two OpenMP threads
waiting on each other made timings vary 5x from run to run (and both settings slower); one thread
gives steady numbers. ``--threads 0`` uses torch's default.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from transformers import AutoModel, AutoModelForSeq2SeqLM
from transformers.utils import logging as hf_logging

from unheard.build import build_speech_llm, load_tokenizer
from unheard.config import LoraOptions, ModelConfig
from unheard.data.audio import load_audio
from unheard.data.collate import Example, SpeechCollator, examples_from
from unheard.data.espeak import make_number_corpus
from unheard.data.features import feature_extractor_for
from unheard.data.manifest import read_manifest
from unheard.decoding.decode import DecodeOptions, decode
from unheard.encoders import SAMPLE_RATE
from unheard.tiny import encoder_config, llm_config, perturb_trained, train_tokenizer

WIDTH, LAYERS = 256, 4
TARGET = 3.0  # the target speed-up at batch 16


def load_examples(manifest: Path, tasks: tuple[str, ...]) -> list[Example]:
    """Read a manifest and its audio into examples of the given tasks."""
    examples = []
    for utt in read_manifest(manifest):
        audio = load_audio(utt.audio, offset=utt.offset, duration=utt.duration)
        examples.extend(examples_from(utt, audio, tasks))
    return examples


def build(directory: Path, texts: list[str]) -> ModelConfig:
    """Save a small w2v-BERT-shaped encoder and mT5-shaped LLM; return their config."""
    torch.manual_seed(0)
    tokenizer = train_tokenizer(texts, directory / "llm", vocab_size=512)
    AutoModel.from_config(encoder_config("w2v-bert", WIDTH, LAYERS)).save_pretrained(
        str(directory / "encoder")
    )
    cfg = llm_config("mt5", vocab_size=len(tokenizer), width=WIDTH, layers=LAYERS)
    cfg.num_heads, cfg.d_kv = 8, 32
    AutoModelForSeq2SeqLM.from_config(cfg).save_pretrained(str(directory / "llm"))
    return ModelConfig(
        encoder=str(directory / "encoder"), llm=str(directory / "llm"), lora=LoraOptions(r=8)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=32, help="utterances (multiple of 4)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each setting")
    parser.add_argument(
        "--threads", type=int, default=1,
        help="torch threads (default 1; 0: torch's choice, all cores)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()

    with tempfile.TemporaryDirectory() as tmp:
        languages = ("en", "es", "de", "fr")
        manifest = make_number_corpus(
            Path(tmp) / "corpus", languages, args.utterances // len(languages), seed=0
        )
        examples = load_examples(manifest, ("asr",))
        config = build(Path(tmp) / "models", [e.target or "" for e in examples] * 8)
        model = build_speech_llm(config)
        torch.manual_seed(1)
        perturb_trained(model)  # so that the model writes something
        model.eval()
        tokenizer = load_tokenizer(config)
        collator = SpeechCollator(
            tokenizer, feature_extractor_for(model.encoder.model.config), True
        )
        seconds = sum(len(e.audio) for e in examples) / SAMPLE_RATE
        params = sum(p.numel() for p in model.parameters())
        print(
            f"unheard decode benchmark: w2v-BERT-shaped encoder + mT5-shaped LLM "
            f"({WIDTH} wide, {LAYERS} layers, {params / 1e6:.1f}M params), {len(examples)} "
            f"utterances ({seconds:.1f} s of audio), greedy, torch {torch.__version__}, "
            f"torch threads: {torch.get_num_threads()}"
        )
        settings = {"one at a time": 1, f"batch {args.batch_size}": args.batch_size}
        decode(
            model,
            collator,
            tokenizer,
            examples[: args.batch_size],
            DecodeOptions(batch_size=args.batch_size),
        )  # fmt: skip — warm-up
        times: dict[str, list[float]] = {name: [] for name in settings}
        hypotheses: dict[str, list[str]] = {}
        for _ in range(args.repeats):
            for name, batch_size in settings.items():  # interleaved: same load on both
                started = time.perf_counter()
                hypotheses[name] = decode(
                    model, collator, tokenizer, examples, DecodeOptions(batch_size=batch_size)
                )
                times[name].append(time.perf_counter() - started)
        # the best of the runs: on a shared machine, the run least slowed by other processes
        for name, runs in times.items():
            t = min(runs)
            print(
                f"  {name:>14}: {t:6.2f} s best of {len(runs)} "
                f"({', '.join(f'{r:.2f}' for r in runs)}) = {len(examples) / t:5.1f} utt/s, "
                f"{seconds / t:5.1f}x real time"
            )
        single, batched = (min(times[name]) for name in settings)
        one, many = hypotheses.values()
        differ = [i for i, (a, b) in enumerate(zip(one, many, strict=True)) if a != b]
        ratio = single / batched
        print(
            f"speed-up of batch {args.batch_size}: {ratio:.1f}x (target >= {TARGET:.0f}x: "
            f"{'met' if ratio >= TARGET else 'NOT met'}); identical hypotheses: "
            f"{len(examples) - len(differ)}/{len(examples)}"
        )
        if not differ:
            return 0
        # A random model's logits have near-ties that float32 rounding (batched matmuls sum in
        # another order) can flip; a trained model's rarely do. In float64 the rounding is ~1e-13:
        # if the differing ones agree there, the difference was rounding, not batching.
        model.double()
        subset = [examples[i] for i in differ]
        one64 = decode(model, collator, tokenizer, subset, DecodeOptions(batch_size=1))
        many64 = decode(model, collator, tokenizer, subset, DecodeOptions(batch_size=16))
        agree = sum(a == b for a, b in zip(one64, many64, strict=True))
        print(
            f"  the {len(differ)} that differ in float32 (near-tied logits of a random model) "
            f"are identical in float64: {agree}/{len(differ)}"
        )
        return 0 if agree == len(differ) else 1


if __name__ == "__main__":
    sys.exit(main())
