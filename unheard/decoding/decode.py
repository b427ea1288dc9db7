"""Batched decoding of examples with ``SpeechLLM.generate``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase

from unheard.data.collate import Example, SpeechCollator
from unheard.model.speech_llm import SpeechLLM


@dataclass(frozen=True)
class DecodeOptions:
    """How to decode."""

    batch_size: int = 8  # examples per generate() call
    num_beams: int = 1  # 1 is greedy search
    max_new_tokens: int = 64  # hard cap on answer length

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.num_beams < 1 or self.max_new_tokens < 1:
            raise ValueError(f"batch_size, num_beams and max_new_tokens must be >= 1: {self}")


def decode(
    model: SpeechLLM,
    collator: SpeechCollator,
    tokenizer: PreTrainedTokenizerBase,
    examples: Sequence[Example],
    options: DecodeOptions | None = None,
) -> list[str]:
    """Write the answer of each example.

    Args:
        model: the trained model (put in eval mode here).
        collator: builds the batches (its prompts are the test prompts).
        tokenizer: decodes token ids.
        examples: what to decode; targets, if any, are ignored.
        options: batch size and search settings.

    Returns:
        One hypothesis per example, in order.
    """
    options = options or DecodeOptions()
    model.eval()
    hypotheses: list[str] = []
    for start in range(0, len(examples), options.batch_size):
        chunk = [
            Example(e.id, e.audio, e.task, e.language, e.target_language, None)
            for e in examples[start : start + options.batch_size]
        ]
        batch = collator(chunk)
        with torch.no_grad():
            ids = model.generate(
                **batch,
                num_beams=options.num_beams,
                max_new_tokens=options.max_new_tokens,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
        hypotheses.extend(t.strip() for t in tokenizer.batch_decode(ids, skip_special_tokens=True))
    return hypotheses
