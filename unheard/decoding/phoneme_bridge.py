"""Decoding through phones, for a language with no paired audio, in one of two ways:

- ``two-pass``: the model writes the audio's phones (task ``phon``, learnt on the seen languages'
  speech), then reads them back as text (task ``p2g``, learnt from text alone, unseen languages
  included);
- ``one-pass``: the model writes both in one answer, ``"<phones> => <text>"`` (task ``phon+asr``,
  learnt on the seen languages' speech), which is split at its first ``=>``
  (`unheard.data.prompts.PHONES_TEXT_SEPARATOR`).

The issue's question is which is better; both answer with the same `BridgedAnswer`, so a
hypothesis file holds the phones and the text either way and the two are scored alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from transformers import PreTrainedTokenizerBase

from unheard.data.collate import Example, SpeechCollator, TextExample
from unheard.data.prompts import BRIDGE_TASKS, BRIDGES, ONE_PASS, TWO_PASS, split_phones_and_text
from unheard.decoding.decode import DecodeOptions, decode, decode_text
from unheard.model.speech_llm import SpeechLLM

__all__ = [
    "BRIDGES",
    "BRIDGE_TASKS",
    "ONE_PASS",
    "TWO_PASS",
    "BridgedAnswer",
    "decode_via_phonemes",
]


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
    bridge: str = TWO_PASS,
) -> list[BridgedAnswer]:
    """Transcribe speech through phones: audio → phones (``phon``), then phones → text
    (``p2g``); or, with ``bridge="one-pass"``, audio → "phones => text" (``phon+asr``).

    Args:
        model, collator, tokenizer: from `load_decoder`, trained with the bridge's tasks (its
            collator's prompts must have them: `BRIDGE_TASKS`).
        examples: the speech to transcribe (their task and target are ignored); each one's
            ``language`` is named in the prompts when the collator names the source language.
        options: batching, search and length limit of the speech pass. The one-pass answer
            holds the phones and the text, so its length limit is twice the options' (still
            capped by ``max_new_tokens``); the two-pass text pass uses the options' batch size.
        bridge: ``two-pass`` (default) or ``one-pass`` (`BRIDGES`).

    Returns:
        One `BridgedAnswer` per example, in order.

    Raises:
        ValueError: for an unknown bridge, or when the collator's prompts lack its tasks.
    """
    if bridge not in BRIDGES:
        raise ValueError(f"bridge must be one of {BRIDGES}, got {bridge!r}")
    options = options or DecodeOptions()
    missing = [t for t in BRIDGE_TASKS[bridge] if t not in collator.prompts.templates]
    if missing:
        training = (
            "data.tasks=[..., phon] and data.text_tasks=[..., p2g]"
            if bridge == TWO_PASS
            else "data.tasks=[..., phon+asr]"
        )
        tasks = " and ".join(BRIDGE_TASKS[bridge])
        raise ValueError(
            f"decoding via phonemes ({bridge}) needs prompts for the {tasks} task(s); the "
            f"checkpoint's prompts lack {missing} (train with {training})"
        )
    if bridge == ONE_PASS:
        both = [_as_task(e, "phon+asr") for e in examples]
        longer = replace(
            options,
            length_base=2 * options.length_base,
            tokens_per_second=2 * options.tokens_per_second,
        )
        answers = decode(model, collator, tokenizer, both, longer)
        return [BridgedAnswer(*split_phones_and_text(a)) for a in answers]
    phonemes = decode(model, collator, tokenizer, [_as_task(e, "phon") for e in examples], options)
    second = [
        TextExample(e.id, p, "p2g", e.language, e.language, None)
        for e, p in zip(examples, phonemes, strict=True)
    ]
    texts = decode_text(model, collator, tokenizer, second, options.batch_size)
    return [BridgedAnswer(p, t) for p, t in zip(phonemes, texts, strict=True)]


def _as_task(example: Example, task: str) -> Example:
    # the spoken language's own answer, in the task's fixed test prompt
    return replace(example, task=task, target_language=example.language, target=None, prompt=None)
