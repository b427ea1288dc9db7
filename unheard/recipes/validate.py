"""Validation during training: dev loss, and greedy BLEU (ST) / WER (ASR) per language."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import torch

from unheard.data.collate import Example, SpeechCollator
from unheard.data.dataset import SpeechDataset, example_refs
from unheard.data.loading import AudioLimits
from unheard.data.manifest import Utterance
from unheard.decoding.decode import DecodeOptions, decode
from unheard.evaluation.metrics import bleu, wer
from unheard.model.speech_llm import SpeechLLM


def dev_subset(utterances: Sequence[Utterance], per_language: int) -> list[Utterance]:
    """The first ``per_language`` dev utterances of each language (stable across validations)."""
    taken: dict[str, int] = defaultdict(int)
    subset = []
    for u in utterances:
        if taken[u.language] < per_language:
            taken[u.language] += 1
            subset.append(u)
    return subset


@torch.no_grad()
def validate(
    model: SpeechLLM,
    collator: SpeechCollator,
    tokenizer: Any,
    dev: Sequence[Utterance],
    tasks: Sequence[str],
    per_language: int,
    limits: AudioLimits,
    batch_size: int = 8,
) -> dict[str, Any]:
    """Dev loss (teacher forced) and greedy-decoding scores on a per-language dev subset.

    Returns:
        ``{"dev_loss": float, "examples": n, "<task>/<language>": {"bleu"|"wer": float}}``.
    """
    subset = dev_subset(dev, per_language)
    dataset = SpeechDataset(subset, example_refs(subset, tasks), limits)
    examples = [x for x in (dataset[i] for i in range(len(dataset))) if isinstance(x, Example)]
    was_training = model.training
    model.eval()
    try:
        losses, tokens = 0.0, 0
        for start in range(0, len(examples), batch_size):
            batch = collator(examples[start : start + batch_size])
            n = int(batch["target_mask"].sum())
            losses += model(**batch).loss.item() * n
            tokens += n
        metrics: dict[str, Any] = {"dev_loss": losses / max(tokens, 1), "examples": len(examples)}
        hyps = decode(model, collator, tokenizer, examples, DecodeOptions(batch_size=batch_size))
    finally:
        model.train(was_training)
    groups: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for e, h in zip(examples, hyps, strict=True):
        groups[(e.task, e.language)].append((e.target, h))
    for (task, language), pairs in sorted(groups.items()):
        refs, hs = [r for r, _ in pairs], [h for _, h in pairs]
        score = {"bleu": bleu(refs, hs)} if task == "st" else {"wer": wer(refs, hs)}
        metrics[f"{task}/{language}"] = score
    return metrics
