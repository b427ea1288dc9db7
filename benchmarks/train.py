"""Training benchmarks, each measured side by side in one run:

1. peak memory of a training step with the encoder frozen (the paper) vs the same step with
   encoder gradients;
2. the SpeechLLM wrapper's overhead against the bare LLM forward+backward on the same sequence
   lengths (target <= 10%);
3. training throughput (audio-seconds per second) of configs/tiny.yaml through the recipe.

    .venv/bin/python benchmarks/train.py
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import psutil
import torch
from transformers.utils import logging as hf_logging

from unheard.build import build_speech_llm, load_tokenizer
from unheard.data.collate import Example, SpeechCollator
from unheard.data.features import feature_extractor_for
from unheard.tiny import make_tiny_models

REPO = Path(__file__).resolve().parents[1]
hf_logging.disable_progress_bar()


def medium_models(directory: Path, trainable_encoder: bool = False, llm_layers: int = 4):
    """A Whisper-shaped encoder (6 x 384, 30 s window) and a Qwen2 LLM (layers x 512), random."""
    from transformers import AutoModel, AutoModelForCausalLM

    from unheard.tiny import llm_config, train_tokenizer

    config = make_tiny_models(directory, ["hello world"] * 20, "whisper", "qwen2")
    enc = AutoModel.from_config(_whisper(384, 6))
    enc.save_pretrained(config.encoder)
    tok = train_tokenizer([f"word {i} and more words {i * 7}" for i in range(400)], config.llm, 512)
    llm = AutoModelForCausalLM.from_config(
        llm_config("qwen2", len(tok), width=512, layers=llm_layers)
    )
    llm.save_pretrained(config.llm)
    return replace(config, encoder_trainable=trainable_encoder)


def _whisper(width: int, layers: int):
    from transformers import WhisperConfig

    return WhisperConfig(
        num_mel_bins=80, d_model=width, encoder_layers=layers, encoder_attention_heads=6,
        encoder_ffn_dim=4 * width, decoder_layers=1, decoder_attention_heads=6,
        decoder_ffn_dim=4 * width, max_source_positions=1500, vocab_size=64,
        pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=1,
    )  # fmt: skip


def batch_for(model, config, n: int = 8, seconds: float = 10.0):
    rng = np.random.default_rng(0)
    tokenizer = load_tokenizer(config)
    collator = SpeechCollator(
        tokenizer, feature_extractor_for(model.encoder.model.config), model.is_encoder_decoder
    )
    examples = [
        Example(str(i), (0.1 * rng.standard_normal(int(16000 * seconds))).astype(np.float32),
                "asr", "en", "en", " ".join(f"word {j}" for j in range(12)))
        for i in range(n)
    ]  # fmt: skip
    return collator(examples)


def memory_child(trainable: bool) -> None:
    """Run in a fresh process: peak RSS growth of one training step."""
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        config = medium_models(Path(tmp), trainable)
        model = build_speech_llm(config).train()
        batch = batch_for(model, config)
        with torch.no_grad():
            model(**batch)  # warm up allocator and kernels outside the measured step
        before = psutil.Process().memory_info().rss
        model(**batch).loss.backward()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(json.dumps({"step_peak_growth_mb": (peak - before) / 2**20}))


def memory() -> None:
    results = {}
    for trainable in (False, True):
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(int(trainable))],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        results[trainable] = json.loads(out.stdout.strip().splitlines()[-1])["step_peak_growth_mb"]
    print("1. peak memory growth of one training step (batch 8 x 10 s, Whisper-shaped 6x384 "
          "encoder on its 30 s window, 4x512 Qwen2 LLM):")  # fmt: skip
    print(f"   encoder frozen (no_grad):  {results[False]:8.0f} MB")
    print(f"   encoder with gradients:    {results[True]:8.0f} MB")
    print(f"   ratio frozen / trained:    {results[False] / results[True]:.2f}")


def overhead(repeats: int = 7) -> None:
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        # a small encoder, so that the LLM dominates as it does at paper scale (3.7B vs 18.9M)
        # and an LLM of 8 layers: real ones have 24+, the adapter is always 2 convs
        config = replace(medium_models(Path(tmp), llm_layers=8), encoder="tiny:w2v-bert")
        model = build_speech_llm(config).train()
        batch = batch_for(model, config)
        with torch.no_grad():
            enc = model.encoder(batch["features"], batch["feature_mask"])
        out = model(**batch)
        shape = out.logits.shape[:2]  # (batch, packed sequence)
        embeds = torch.randn(*shape, model.llm.config.hidden_size)
        mask = torch.ones(shape, dtype=torch.long)
        labels = out.labels
        times = {"speech_llm": [], "encoder": [], "bare_llm": []}
        for _ in range(repeats):  # interleaved, best of each
            t = time.perf_counter()
            model(**batch).loss.backward()
            times["speech_llm"].append(time.perf_counter() - t)
            t = time.perf_counter()
            with torch.no_grad():
                model.encoder(batch["features"], batch["feature_mask"])
            times["encoder"].append(time.perf_counter() - t)
            t = time.perf_counter()
            logits = model.llm(inputs_embeds=embeds, attention_mask=mask).logits
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten())
            loss.backward()
            times["bare_llm"].append(time.perf_counter() - t)
            model.zero_grad(set_to_none=True)
        best = {k: min(v) for k, v in times.items()}
        wrapper = best["speech_llm"] - best["encoder"] - best["bare_llm"]
        adapter = sum(p.numel() for p in model.adapter.parameters())
        llm = sum(p.numel() for p in model.llm.parameters())
        print(f"2. SpeechLLM step vs bare LLM forward+backward on the same {tuple(shape)} "
              f"sequence (best of {repeats}; encoder frames {int(enc.lengths.max())}; tiny "
              f"w2v-BERT encoder, 8x512 Qwen2 LLM; adapter {adapter / 1e6:.2f}M = "
              f"{100 * adapter / llm:.1f}% of the LLM's parameters, 0.5% for mT0-xl):")  # fmt: skip
        print(f"   SpeechLLM forward+backward: {best['speech_llm'] * 1000:8.1f} ms")
        print(f"   of which frozen encoder:    {best['encoder'] * 1000:8.1f} ms")
        print(f"   bare LLM forward+backward:  {best['bare_llm'] * 1000:8.1f} ms")
        print(f"   wrapper overhead (layer mix, adapter, packing): {wrapper * 1000:.1f} ms = "
              f"{100 * wrapper / best['bare_llm']:.1f}% of the bare LLM step (target <= 10%)")  # fmt: skip


def throughput(steps: int = 40) -> None:
    from unheard.data.espeak import make_number_corpus
    from unheard.recipes.train import train
    from unheard.recipes.train_config import load_train_config

    with tempfile.TemporaryDirectory() as tmp:
        corpus = make_number_corpus(Path(tmp) / "corpus", ("en", "es", "de", "fr"), 8)
        config = load_train_config(
            REPO / "configs" / "tiny.yaml",
            [f"data.train=[{corpus}]", "data.dev=[]", f"run.output_dir={tmp}/run",
             f"run.max_steps={steps}", "run.log_every=10", "run.progress=false",
             "run.save_every=1000"],
        )  # fmt: skip
        started = time.perf_counter()
        train(config)
        wall = time.perf_counter() - started
        log = [json.loads(x) for x in (Path(tmp) / "run" / "log.jsonl").read_text().splitlines()]
        rates = [r["audio_seconds_per_s"] for r in log if r["kind"] == "train"][1:]
        print(f"3. configs/tiny.yaml through the recipe: {steps} steps in {wall:.1f} s wall; "
              f"{np.mean(rates):.1f} audio-seconds/s after the first window "
              f"(torch threads {torch.get_num_threads()})")  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--memory-child":
        memory_child(bool(int(sys.argv[2])))
    else:
        memory()
        overhead()
        throughput()
