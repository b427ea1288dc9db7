"""Validation during training: dev loss, and greedy BLEU (ST) / WER (ASR) / phone error rate
(phon) per language; with text-only dev examples, their loss too, BLEU of text translation and WER
of denoising and of phones → text (p2g)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import torch

from unheard.data.collate import Example, SpeechCollator, TextExample
from unheard.data.dataset import SpeechDataset, example_refs
from unheard.data.loading import AudioLimits
from unheard.data.manifest import Utterance
from unheard.data.prompts import split_phones_and_text
from unheard.decoding.decode import DecodeOptions, decode, decode_text
from unheard.device import device_of
from unheard.evaluation.metrics import bleu, phone_error_rate, wer
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
    text: Sequence[TextExample] = (),
) -> dict[str, Any]:
    """Dev loss (teacher forced) and greedy-decoding scores on a per-language dev subset.

    Args:
        text: text-only dev examples; the first ``per_language`` of each task and language are
            scored with the speech ones (their loss enters ``dev_loss``, token-weighted).

    Returns:
        ``{"dev_loss": float, "examples": n, "<task>/<language>": {"bleu"|"wer"|"per": float}}``;
        ``bleu`` for ``st`` and ``translate``, ``per`` for ``phon``, ``per`` and ``wer`` for
        ``phon+asr``, ``wer`` for the others.
    """
    subset = dev_subset(dev, per_language)
    dataset = SpeechDataset(subset, example_refs(subset, tasks), limits)
    speech = [x for x in (dataset[i] for i in range(len(dataset))) if isinstance(x, Example)]
    taken: dict[tuple[str, str], int] = defaultdict(int)
    texts = []
    for e in text:
        taken[e.task, e.language] += 1
        if taken[e.task, e.language] <= per_language:
            texts.append(e)
    examples = [*speech, *texts]
    was_training = model.training
    device = device_of(model)
    model.eval()
    try:
        losses, tokens = 0.0, 0
        for start in range(0, len(examples), batch_size):
            batch = collator(examples[start : start + batch_size])
            n = batch.answer_tokens  # counted on the host, before the copy
            losses += model(**batch.to(device)).loss.item() * n
            tokens += n
        metrics: dict[str, Any] = {"dev_loss": losses / max(tokens, 1), "examples": len(examples)}
        options = DecodeOptions(batch_size=batch_size)
        hyps = decode(model, collator, tokenizer, speech, options) if speech else []
        hyps += decode_text(model, collator, tokenizer, texts, batch_size) if texts else []
    finally:
        model.train(was_training)
    groups: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for e, h in zip(examples, hyps, strict=True):
        groups[(e.task, e.language)].append((e.target, h))
    for (task, language), pairs in sorted(groups.items()):
        refs, hs = [r for r, _ in pairs], [h for _, h in pairs]
        if task in ("st", "translate"):
            metrics[f"{task}/{language}"] = {"bleu": bleu(refs, hs)}
        elif task == "phon":
            metrics[f"{task}/{language}"] = {"per": phone_error_rate(refs, hs)}
        elif task == "phon+asr":  # "<phones> => <text>": the phones by PER, the text by WER
            ref_parts = [split_phones_and_text(r) for r in refs]
            hyp_parts = [split_phones_and_text(h) for h in hs]
            metrics[f"{task}/{language}"] = {
                "per": phone_error_rate([p for p, _ in ref_parts], [p for p, _ in hyp_parts]),
                "wer": wer([t for _, t in ref_parts], [t for _, t in hyp_parts]),
            }
        else:
            metrics[f"{task}/{language}"] = {"wer": wer(refs, hs)}
    return metrics
