"""Data benchmark: padding efficiency of the duration-bucketed sampler vs random batches, and
loader throughput (audio-seconds per second) with 0, 1 and 2 workers, side by side in one run.

    .venv/bin/python benchmarks/data.py [--clips 240] [--format mp3]

Durations follow a CoVoST-2-like distribution (log-normal, median 4.5 s, clipped to 0.8-20 s).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from unheard.data.collate import SpeechCollator
from unheard.data.dataset import SpeechDataset, example_refs, make_loader, set_epoch
from unheard.data.features import feature_extractor_for
from unheard.data.manifest import Utterance
from unheard.data.sampler import DurationBucketSampler, SamplerOptions, padding_efficiency
from unheard.tiny import encoder_config, train_tokenizer


def covost_like(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.lognormal(np.log(4.5), 0.45, n), 0.8, 20.0)


def padding(n: int = 20000, max_duration: float = 120.0) -> None:
    d = covost_like(n)
    print(f"padding efficiency (real / padded audio), {n} CoVoST-like durations, "
          f"max_duration_s={max_duration:g}:")  # fmt: skip
    for buckets in (1, 10, 30, 60):
        sampler = DurationBucketSampler(d, SamplerOptions(max_duration, num_buckets=buckets))
        batches = sampler.epoch_batches(0)
        print(f"  bucketed, {buckets:>2} buckets: {padding_efficiency(batches, d):6.1%}  "
              f"({len(batches)} batches, mean {np.mean([len(b) for b in batches]):.1f} items)")  # fmt: skip
    default = DurationBucketSampler(d, SamplerOptions(max_duration)).epoch_batches(0)
    size = round(np.mean([len(b) for b in default]))
    order = np.random.default_rng(1).permutation(n)
    random_batches = [order[i : i + size].tolist() for i in range(0, n, size)]
    eff_b, eff_r = padding_efficiency(default, d), padding_efficiency(random_batches, d)
    print(f"  random batches of {size}:   {eff_r:6.1%}")
    print(f"  ratio bucketed(30) / random: {eff_b / eff_r:.2f}x  (target: bucketed >= 90%)")


def loader(clips: int, fmt: str, repeats: int = 2) -> None:
    durations = covost_like(clips, seed=2)
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        utts = []
        for i, seconds in enumerate(durations):
            path = Path(tmp) / f"{i}.{fmt}"
            audio = 0.1 * rng.standard_normal(int(seconds * 48000)).astype(np.float32)
            sf.write(path, audio, 48000)  # 48 kHz as Common Voice mp3s: decode + resample
            utts.append(Utterance(id=str(i), audio=str(path), duration=float(seconds),
                                  language="es", text="hola mundo", translation="hello world",
                                  translation_language="en"))  # fmt: skip
        tok = train_tokenizer(["hola mundo", "hello world"] * 20, Path(tmp) / "tok", 40)
        collator = SpeechCollator(tok, feature_extractor_for(encoder_config("w2v-bert")), True)
        dataset = SpeechDataset(utts, example_refs(utts, ("asr", "st")), sample_prompts=True)
        total = sum(dataset.durations())
        print(f"loader throughput: {len(dataset)} examples, {total / 60:.1f} min of 48 kHz {fmt}, "
              f"w2v-BERT features, torch threads {torch.get_num_threads()}:")  # fmt: skip
        best = {}
        for rep in range(repeats):  # interleaved repetitions; best of each
            for workers in (0, 1, 2):
                loader_, sampler = make_loader(
                    dataset, collator, SamplerOptions(60.0), num_workers=workers
                )
                set_epoch(dataset, sampler, rep)
                started = time.perf_counter()
                seconds = sum(b.audio_seconds for b in loader_)
                rate = seconds / (time.perf_counter() - started)
                best[workers] = max(best.get(workers, 0.0), rate)
        for workers, rate in best.items():
            print(f"  {workers} workers: {rate:8.0f} audio-s/s  ({rate / best[0]:.2f}x of 0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=240)
    parser.add_argument("--format", default="mp3", choices=["mp3", "flac", "wav", "ogg"])
    args = parser.parse_args()
    padding()
    loader(args.clips, args.format)


if __name__ == "__main__":
    main()
