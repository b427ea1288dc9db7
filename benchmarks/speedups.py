"""The real-LLM track's CPU speed-ups, measured side by side in one run on real weights:
Whisper base → adapter → Gemma 3 270M (the packaged copies when there is no hub), one training
step (forward + backward + AdamW) of the stage-2 model (LoRA on) on a batch of 8 espeak-ng
clips of the synthetic corpus.

Cumulative variants, each timed over the same batches:

1. baseline: float32, the encoder run every step, logits at every position;
2. + encoder cache: the frozen Whisper outputs read from the cache (warm);
3. + answer-only LM head: logits only where the loss reads them (Gemma's vocabulary is 262k);
4. + bf16: the frozen Whisper and Gemma weights in bfloat16 (LoRA, adapter and layer mix stay
   float32), under bf16 autocast.

    .venv/bin/python benchmarks/speedups.py [--steps 4] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import torch
from transformers.utils import logging as hf_logging

from unheard.build import build_speech_llm, load_tokenizer
from unheard.config import ModelConfig
from unheard.data.collate import Example, SpeechCollator
from unheard.data.espeak import synthesize
from unheard.data.features import feature_extractor_for
from unheard.encoder_cache import EncoderCacheOptions, cache_encoder

hf_logging.disable_progress_bar()

SENTENCES = [
    ("es", "tres mil cuatrocientos doce", "three thousand, four hundred and twelve"),
    ("fr", "le vingt et un mars deux mille neuf", "the twenty-first of March, two thousand nine"),
    ("it", "novantasette euro e dieci centesimi", "ninety-seven euro, ten cents"),
    ("pt", "mil novecentos e oitenta e quatro", "nineteen eighty-four"),
    ("de", "zweihundertdreiundvierzig Kilogramm", "two hundred and forty-three kilograms"),
    ("en", "Saturday, the fifth of June", "Saturday, the fifth of June"),
    ("es", "el segundo", "the second"),
    ("fr", "sept virgule cinq", "seven point five"),
]


def examples() -> list[Example]:
    """Eight clips, ASR and ST alternating (about 2 s each, as in the corpus)."""
    return [
        Example(f"u{i}", synthesize(text, lang), task, lang, lang if task == "asr" else "en",
                text if task == "asr" else english)
        for i, ((lang, text, english), task) in enumerate(
            zip(SENTENCES, ["asr", "st"] * 4, strict=True)
        )
    ]  # fmt: skip


def step_seconds(config: ModelConfig, variant: str, batch_examples, steps: int) -> float:
    """Mean seconds of one optimizer step after one warm-up step."""
    torch.manual_seed(0)
    model = build_speech_llm(config)
    model.train()
    collator = SpeechCollator(
        load_tokenizer(config), feature_extractor_for(model.encoder.model.config),
        model.is_encoder_decoder,
    )  # fmt: skip
    if variant != "baseline":
        cache_encoder(model, EncoderCacheOptions())  # in memory, float16
    model.answer_logits_only = variant in ("answer-only", "bf16")
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    batch = collator(batch_examples)
    times = []
    for i in range(steps + 1):
        started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=variant == "bf16"):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if i:  # the first step fills the cache and warms up
            times.append(time.perf_counter() - started)
    return sum(times) / len(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4, help="timed steps per variant")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    fp32 = ModelConfig(
        encoder="openai/whisper-base", llm="google/gemma-3-270m", whisper_real_length=True,
        adapter_stride=4,
    )  # fmt: skip
    batch = examples()
    audio = sum(len(e.audio) for e in batch) / 16000
    results = {}
    for variant, config in (
        ("baseline", fp32),
        ("encoder-cache", fp32),
        ("answer-only", fp32),
        ("bf16", replace(fp32, dtype="bfloat16")),
    ):
        results[variant] = step_seconds(config, variant, batch, args.steps)
        print(f"{variant:>14}: {results[variant]:.2f} s/step", flush=True)
    base = results["baseline"]
    print(json.dumps({
        "batch": {"utterances": len(batch), "audio_seconds": round(audio, 1)},
        "seconds_per_step": {k: round(v, 3) for k, v in results.items()},
        "speedup_vs_baseline": {k: round(base / v, 2) for k, v in results.items()},
        "threads": torch.get_num_threads(),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
