"""From examples (waveform or source text, task, answer) to the tensors ``SpeechLLM`` takes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from unheard.data.batch import Batch
from unheard.data.features import extract_features
from unheard.data.manifest import Utterance
from unheard.data.prompts import Prompts
from unheard.encoders import SAMPLE_RATE


@dataclass(frozen=True)
class Example:
    """One training or test example: audio and what the model should write."""

    id: str
    audio: np.ndarray  # (samples,) float32 mono 16 kHz
    task: str  # "asr", "st", "phon" or "phon+asr" (`unheard.data.prompts.TASKS`)
    language: str  # language of the speech
    target_language: str  # language of the answer
    target: str | None  # the answer (transcript, translation, phones or both); None at test
    prompt: str | None = None  # a sampled prompt template (training); None: the fixed one


@dataclass(frozen=True)
class TextExample:
    """One text-only example: the LLM reads ``source``'s token embeddings where a speech example's
    audio embeddings would be (see `unheard.data.text`)."""

    id: str
    source: str  # the text the LLM reads (with words dropped for denoising; phones for p2g)
    task: str  # "translate", "denoise" or "p2g" (`unheard.data.prompts.TEXT_TASKS`)
    language: str  # language of the source text
    target_language: str  # language of the answer
    target: str | None  # the answer (the English translation, or the whole text); None at test
    prompt: str | None = None  # a sampled prompt template (training); None: the fixed one


def token_ids(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    """The tokens of one prompt piece, source or answer, without special tokens (none for blank
    text): how the collator tokenizes each piece on its own."""
    return tokenizer(text, add_special_tokens=False).input_ids if text.strip() else []


def examples_from(utterance: Utterance, audio: np.ndarray, tasks: Sequence[str]) -> list[Example]:
    """The examples one utterance gives: ASR if it has a transcript, ST if a translation.

    Args:
        utterance: the manifest record.
        audio: its decoded waveform.
        tasks: the tasks wanted.

    Returns:
        One example per wanted task the utterance has text for.
    """
    out = []
    if "asr" in tasks and utterance.text is not None:
        out.append(
            Example(
                utterance.id, audio, "asr", utterance.language, utterance.language, utterance.text
            )
        )
    if "st" in tasks and utterance.translation is not None:
        target = utterance.translation_language or "en"
        out.append(
            Example(utterance.id, audio, "st", utterance.language, target, utterance.translation)
        )
    return out


class SpeechCollator:
    """Turns a list of examples into a `Batch` for ``SpeechLLM.forward`` / ``generate``.

    Prompt tokens are split around the audio. Encoder-decoder LLMs get EOS at the end of their
    encoder input (as T5 was trained); decoder-only LLMs get BOS first when their tokenizer has
    one. Answers end in EOS. A batch may mix `Example` and `TextExample` items: features are
    extracted for the speech items only (``speech_rows`` names their rows when the batch mixes),
    and ``text_ids``/``text_mask`` hold the text items' source tokens (empty on speech rows).

    Args:
        tokenizer: the LLM's tokenizer.
        feature_extractor: the encoder's feature extractor (``unheard.data.features``).
        is_encoder_decoder: the LLM's kind.
        prompts: the prompt of each task.
        name_source_language: name the spoken language in the prompts (`Prompts.naming_source`
            unless ``prompts`` is given; its ``{source}``); every speech example then needs its
            language.
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        feature_extractor: Any,
        is_encoder_decoder: bool,
        prompts: Prompts | None = None,
        name_source_language: bool = False,
    ) -> None:
        if tokenizer.eos_token_id is None:
            raise ValueError("the LLM's tokenizer has no EOS token; answers could not end")
        self.tokenizer = tokenizer
        self.feature_extractor = feature_extractor
        self.is_encoder_decoder = is_encoder_decoder
        # the prompts that name the spoken language when asked to (and none were given)
        self.prompts = prompts or (Prompts.naming_source() if name_source_language else Prompts())
        self.name_source_language = name_source_language

    def __call__(self, examples: Sequence[Example | TextExample]) -> Batch:
        """Collate examples into a CPU `Batch`; ``target_ids``/``target_mask`` are set when every
        example has a target."""
        if not examples:
            raise ValueError("cannot collate an empty batch")
        speech = [i for i, e in enumerate(examples) if isinstance(e, Example)]
        batch: dict[str, torch.Tensor] = {}
        if speech:  # text items need no audio and no encoder
            features, feature_mask = extract_features(
                self.feature_extractor, [examples[i].audio for i in speech]
            )
            batch = {"features": features, "feature_mask": feature_mask}
        if len(speech) < len(examples):
            if speech:
                batch["speech_rows"] = torch.tensor(speech, dtype=torch.long)
            sources = [[] if isinstance(e, Example) else self._ids(e.source) for e in examples]
            batch["text_ids"], batch["text_mask"] = self._pad(sources)
        prefixes, suffixes = [], []
        for e in examples:
            source = e.language if self.name_source_language else None
            prefix, suffix = self.prompts.render(e.task, source, e.target_language, e.prompt)
            prefixes.append(self._ids(prefix, bos=not self.is_encoder_decoder))
            suffixes.append(self._ids(suffix, eos=self.is_encoder_decoder))
        batch["prefix_ids"], batch["prefix_mask"] = self._pad(prefixes)
        batch["suffix_ids"], batch["suffix_mask"] = self._pad(suffixes)
        if all(e.target is not None for e in examples):
            targets = [self._ids(e.target, eos=True) for e in examples]
            batch["target_ids"], batch["target_mask"] = self._pad(targets)
        samples = [len(examples[i].audio) for i in speech] or [0]
        return Batch(
            **batch,
            ids=tuple(e.id for e in examples),
            audio_seconds=sum(samples) / SAMPLE_RATE,
            longest_audio_s=max(samples) / SAMPLE_RATE,
        )

    def _ids(self, text: str, bos: bool = False, eos: bool = False) -> list[int]:
        ids = token_ids(self.tokenizer, text)
        if bos and self.tokenizer.bos_token_id is not None:
            ids = [self.tokenizer.bos_token_id, *ids]
        if eos:
            ids = [*ids, self.tokenizer.eos_token_id]
        return ids

    def _pad(self, sequences: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(1, max(len(s) for s in sequences))  # a zero-width tensor breaks embedding
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.full((len(sequences), width), pad, dtype=torch.long)
        mask = torch.zeros((len(sequences), width), dtype=torch.long)
        for i, s in enumerate(sequences):
            ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
            mask[i, : len(s)] = 1
        return ids, mask
