"""Two-pass decoding through phones, for a language with no paired audio: the same model writes the
audio's phones (task ``phon``, learnt on the seen languages' speech), then reads them back as text
(task ``p2g``, learnt from text alone, unseen languages included)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from transformers import PreTrainedTokenizerBase

from unheard.data.collate import Example, SpeechCollator, TextExample
from unheard.decoding.decode import DecodeOptions, decode, decode_text
from unheard.model.speech_llm import SpeechLLM


@dataclass(frozen=True)
class BridgedAnswer:
    """Both passes' answers for one example."""

    phonemes: str  # the first pass: phones separated by spaces, words by "|"
    text: str  # the second pass: the phones written as text


def decode_via_phonemes(
    model: SpeechLLM,
    collator: SpeechCollator,
    tokenizer: PreTrainedTokenizerBase,
    examples: Sequence[Example],
    options: DecodeOptions | None = None,
) -> list[BridgedAnswer]:
    """Transcribe speech in two passes: audio → phones (``phon``), then phones → text (``p2g``).

    Args:
        model, collator, tokenizer: from `load_decoder`, trained with the ``phon`` and ``p2g``
            tasks (its collator's prompts must have both).
        examples: the speech to transcribe (their task and target are ignored); each one's
            ``language`` is named in the prompts when the collator names the source language.
        options: batching and search of the first pass; the second uses its batch size.

    Returns:
        One `BridgedAnswer` per example, in order.

    Raises:
        ValueError: when the collator's prompts have no ``phon`` or ``p2g`` prompt.
    """
    options = options or DecodeOptions()
    missing = [t for t in ("phon", "p2g") if t not in collator.prompts.templates]
    if missing:
        raise ValueError(
            f"decoding via phonemes needs prompts for the phon and p2g tasks; the checkpoint's "
            f"prompts lack {missing} (train with data.tasks=[..., phon] and "
            "data.text_tasks=[..., p2g])"
        )
    first = [
        replace(e, task="phon", target_language=e.language, target=None, prompt=None)
        for e in examples
    ]
    phonemes = decode(model, collator, tokenizer, first, options)
    second = [
        TextExample(e.id, p, "p2g", e.language, e.language, None)
        for e, p in zip(examples, phonemes, strict=True)
    ]
    texts = decode_text(model, collator, tokenizer, second, options.batch_size)
    return [BridgedAnswer(p, t) for p, t in zip(phonemes, texts, strict=True)]
