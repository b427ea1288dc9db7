"""Feature benchmark: unheard's torch front-ends vs transformers' feature extractors, side by side.

    .venv/bin/python benchmarks/features.py [--clips 64] [--batch-size 16] [--threads 1]

For each encoder family, the same seeded clips (espeak-ng sentences cut to 2-12 s) go through
``extract_features`` with both extractors, repetitions interleaved (transformers, ours,
transformers, ...) so that load from other processes hits both alike. Prints throughput in
audio-seconds per second (best and median of the repetitions), the speed-up (median and range of
the per-repetition ratios, and best vs best), and the largest difference of the features on
valid frames.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch
import transformers
from transformers import PretrainedConfig, Wav2Vec2BertConfig, Wav2Vec2Config, WhisperConfig

from unheard.data.espeak import synthesize
from unheard.data.features import (
    SAMPLE_RATE,
    extract_features,
    feature_extractor_for,
    transformers_extractor_for,
)

FAMILIES: dict[str, PretrainedConfig] = {
    "whisper (80 mels, 30 s)": WhisperConfig(num_mel_bins=80),
    "whisper (128 mels, 30 s)": WhisperConfig(num_mel_bins=128),
    "w2v-bert 2.0": Wav2Vec2BertConfig(),
    "wav2vec2": Wav2Vec2Config(),
}
SENTENCES = [
    ("the quick brown fox jumps over the lazy dog", "en"),
    ("uno dos tres cuatro cinco seis siete ocho nueve diez", "es"),
    ("un deux trois quatre cinq six sept huit neuf dix", "fr"),
    ("ein zwei drei vier fünf sechs sieben acht neun zehn", "de"),
    ("speech recognition and translation without transcribed data", "en"),
]


def make_clips(count: int, min_s: float, max_s: float, seed: int) -> list[np.ndarray]:
    """Seeded clips of espeak-ng speech, each cut from a shuffled run of the sentences."""
    rng = np.random.default_rng(seed)
    speech = [synthesize(text, voice) for text, voice in SENTENCES]
    clips = []
    for _ in range(count):
        samples = int(rng.uniform(min_s, max_s) * SAMPLE_RATE)
        run = np.concatenate([speech[i] for i in rng.permutation(len(speech))] * 3)
        start = int(rng.integers(0, len(run) - samples))
        clips.append(run[start : start + samples])
    return clips


def max_difference(
    ours: tuple[torch.Tensor, torch.Tensor], reference: tuple[torch.Tensor, torch.Tensor]
) -> float:
    """Largest |ours - reference| on valid frames; masks and shapes must match."""
    (features, mask), (ref_features, ref_mask) = ours, reference
    assert features.shape == ref_features.shape and torch.equal(mask, ref_mask)
    valid = mask.bool()
    if features.dim() == 3 and features.shape[2] == mask.shape[1]:  # Whisper: frames last
        valid = valid[:, None, :].expand_as(features)
    elif features.dim() == 3:
        valid = valid[..., None].expand_as(features)
    return (features - ref_features)[valid].abs().max().item()


def run(name: str, config: PretrainedConfig, batches: list[list[np.ndarray]], repeats: int) -> None:
    ours, reference = feature_extractor_for(config), transformers_extractor_for(config)
    seconds = sum(len(c) for b in batches for c in b) / SAMPLE_RATE
    times: dict[str, list[float]] = {"transformers": [], "unheard": []}
    difference = 0.0
    for _ in range(repeats):
        for label, extractor in (("transformers", reference), ("unheard", ours)):
            start = time.perf_counter()
            outputs = [extract_features(extractor, batch) for batch in batches]
            times[label].append(time.perf_counter() - start)
            if label == "transformers":
                reference_outputs = outputs
        difference = max(
            max_difference(o, r) for o, r in zip(outputs, reference_outputs, strict=True)
        )
    best = {label: min(t) for label, t in times.items()}
    print(f"{name}: {seconds:.0f} audio-s, max |diff| {difference:.2e}")
    for label, t in times.items():
        print(
            f"  {label:<12} best {seconds / best[label]:8.0f} audio-s/s   "
            f"median {seconds / statistics.median(t):8.0f} audio-s/s"
        )
    # Each repetition's pair ran back to back, under the same load from other processes.
    paired = [r / o for r, o in zip(times["transformers"], times["unheard"], strict=True)]
    print(
        f"  speed-up: {statistics.median(paired):.1f}x median of the {repeats} pairs "
        f"({min(paired):.1f}-{max(paired):.1f}x), "
        f"{best['transformers'] / best['unheard']:.1f}x best vs best"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=64)
    parser.add_argument("--min-s", type=float, default=2.0)
    parser.add_argument("--max-s", type=float, default=12.0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (both sides)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_error()
    clips = make_clips(args.clips, args.min_s, args.max_s, args.seed)
    batches = [clips[i : i + args.batch_size] for i in range(0, len(clips), args.batch_size)]
    print(
        f"{len(clips)} clips of {args.min_s:g}-{args.max_s:g} s in batches of "
        f"{args.batch_size}, best and median of {args.repeats} interleaved repetitions; "
        f"torch {torch.__version__} with {torch.get_num_threads()} thread(s), transformers "
        f"{transformers.__version__}, numpy {np.__version__}, {os.cpu_count()} CPU(s)"
    )
    for name, config in FAMILIES.items():
        run(name, config, batches, args.repeats)


if __name__ == "__main__":
    main()
