"""Batched decoding of examples with ``SpeechLLM.generate``: greedy or beam search, a length limit
tied to each utterance's duration, optional repetition guards.

The length limit: an utterance of ``s`` seconds may get at most
``min(max_new_tokens, ceil(length_base + tokens_per_second * s))`` answer tokens. People speak
2-4 words a second and subword tokenizers spend 1-3 tokens a word, so the default 8 tokens/s
plus 16 leaves room for any real answer while a decoder stuck in a loop stops after a few
seconds' worth of text instead of the global cap.

A batch is generated up to its longest utterance's limit, and each hypothesis is then cut to its
own utterance's limit. Greedy search is prefix-consistent (the first ``k`` tokens do not depend on
how many come after), so greedy hypotheses are the same whatever batch an utterance lands in (up
to float rounding, which batched matrix products do in another order: it can flip a near-tie
between two tokens, as happens with random test models, rarely with trained ones).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from transformers import LogitsProcessor, LogitsProcessorList, PreTrainedTokenizerBase

from unheard.data.batch import Batch
from unheard.data.collate import Example, SpeechCollator, TextExample
from unheard.data.prompts import Prompts
from unheard.decoding.batching import duration_batches
from unheard.device import device_of
from unheard.encoders import SAMPLE_RATE
from unheard.model.speech_llm import SpeechLLM


@dataclass(frozen=True)
class DecodeOptions:
    """How to decode."""

    batch_size: int = 16  # most utterances per generate() call
    max_batch_seconds: float | None = None  # most padded audio seconds per call; None: no limit
    num_beams: int = 1  # 1 is greedy search
    max_new_tokens: int = 256  # hard cap on answer tokens, whatever the duration
    length_base: float = 16.0  # answer tokens any utterance may have...
    tokens_per_second: float = 8.0  # ...plus this many per second of audio
    # repetition guards, off by default: the length limit already bounds a loop, and both change
    # answers that legitimately repeat ("ninety-nine", "no, no, no")
    no_repeat_ngram_size: int = 0  # >0: never repeat an n-gram of this many tokens
    repetition_penalty: float = 1.0  # >1 discourages tokens already written (CTRL-style)
    length_penalty: float = 1.0  # beam search only: >1 favours longer answers

    def __post_init__(self) -> None:
        """Validate once, naming the bad value.

        Raises:
            ValueError: for a value out of range.
        """
        for name in ("batch_size", "num_beams", "max_new_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_batch_seconds is not None and self.max_batch_seconds <= 0:
            raise ValueError(f"max_batch_seconds must be > 0 or None, got {self.max_batch_seconds}")
        if self.length_base < 1 or self.tokens_per_second < 0:
            raise ValueError(
                f"length_base must be >= 1 and tokens_per_second >= 0, got {self.length_base} "
                f"and {self.tokens_per_second}"
            )
        if self.no_repeat_ngram_size < 0:
            raise ValueError(f"no_repeat_ngram_size must be >= 0, got {self.no_repeat_ngram_size}")
        if self.repetition_penalty <= 0 or self.length_penalty <= 0:
            raise ValueError(
                f"repetition_penalty and length_penalty must be > 0, got "
                f"{self.repetition_penalty} and {self.length_penalty}"
            )

    def token_limit(self, seconds: float) -> int:
        """Most answer tokens for an utterance of ``seconds`` (see the module docstring)."""
        return min(
            self.max_new_tokens, math.ceil(self.length_base + self.tokens_per_second * seconds)
        )


class AnswerLengthLimit(LogitsProcessor):
    """Force EOS once an answer has its limit of tokens, each row its own limit.

    Args:
        limits: the most answer tokens of each example (`DecodeOptions.token_limit`).
        eos: the EOS token id.
        num_beams: rows per example (transformers keeps an example's beams adjacent).
    """

    def __init__(self, limits: Sequence[int], eos: int, num_beams: int = 1) -> None:
        self.limits = torch.tensor(limits).repeat_interleave(num_beams)  # (batch * beams,)
        self.eos = eos
        self.start: int | None = None  # length of the ids before the first answer token

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        """Scores with every token but EOS masked on the rows at their limit."""
        if self.start is None:
            self.start = input_ids.shape[1]
        done = (input_ids.shape[1] - self.start) >= self.limits.to(scores.device)  # (rows,)
        if done.any():
            forced = torch.full_like(scores[0], -math.inf)
            forced[self.eos] = 0.0
            scores = torch.where(done[:, None], forced, scores)
        return scores


def with_language_named(collator: SpeechCollator, named: bool) -> SpeechCollator:
    """The collator whose test prompts name the spoken language, or do not, whatever training did.

    A checkpoint's collator names the language as its training did (`load_decoder`); a user who
    knows the language may name it to a model trained without (the fixed prompts of
    `Prompts.naming_source`), or leave it out for one trained with it (`Prompts`' defaults).

    Args:
        collator: the checkpoint's collator.
        named: name the spoken language in every prompt that can.

    Returns:
        ``collator`` itself when it already does as asked, else a copy with the other prompts
        (a prompt of a task the other set lacks is kept).
    """
    if collator.name_source_language == named:
        return collator
    other = Prompts.naming_source() if named else Prompts()
    return SpeechCollator(
        collator.tokenizer,
        collator.feature_extractor,
        collator.is_encoder_decoder,
        prompts=Prompts({**collator.prompts.templates, **other.templates}),
        name_source_language=named,
    )


def decode_batch(
    model: SpeechLLM,
    collator: SpeechCollator,
    tokenizer: PreTrainedTokenizerBase,
    examples: Sequence[Example],
    options: DecodeOptions,
) -> list[str]:
    """Write the answers of one batch with a single ``generate`` call.

    Args:
        model: the model, in eval mode.
        collator: builds the batch (its prompts are the test prompts).
        tokenizer: decodes token ids.
        examples: the batch; targets, if any, are ignored.
        options: search settings and length limit.

    Returns:
        One hypothesis per example, in order, stripped of outer whitespace.
    """
    limits = [options.token_limit(len(e.audio) / SAMPLE_RATE) for e in examples]
    batch = collator([replace(e, target=None) for e in examples]).to(device_of(model))
    with warnings.catch_warnings():
        # n-gram blocking over the answer only, never the prompt, is what we want: not news
        warnings.filterwarnings("ignore", message=".*n-gram constraints only to newly generated")
        try:
            return _generate_answers(model, tokenizer, batch, limits, **_search_kwargs(options))
        except torch.OutOfMemoryError as e:
            raise RuntimeError(_out_of_memory(model, batch, options)) from e


def _generate_answers(
    model: SpeechLLM,
    tokenizer: PreTrainedTokenizerBase,
    batch: Batch,
    limits: Sequence[int],
    **search: Any,
) -> list[str]:
    """One ``generate`` call on a batch already on the model's device; each answer's text, cut at
    EOS and stripped. Each answer ends at its own token limit inside the search: cutting a batch's
    answers after a search to the longest limit made beam search's answers depend on the rest of
    the batch."""
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    limit = AnswerLengthLimit(limits, eos, search.get("num_beams", 1))
    ids = model.generate(
        **batch,
        max_new_tokens=max(limits) + 1,  # room for the EOS forced at the limit
        pad_token_id=pad,
        eos_token_id=eos,
        logits_processor=LogitsProcessorList([limit]),
        **search,
    )  # (batch, new_tokens) answer ids, padded after EOS
    rows = [row[: row.index(eos)] if eos in row else row for row in ids.tolist()]
    return [tokenizer.decode(row, skip_special_tokens=True).strip() for row in rows]


def decode(
    model: SpeechLLM,
    collator: SpeechCollator,
    tokenizer: PreTrainedTokenizerBase,
    examples: Sequence[Example],
    options: DecodeOptions | None = None,
    on_batch: Callable[[list[int], list[str]], None] | None = None,
) -> list[str]:
    """Write the answer of each example, in batches of similar duration.

    Args:
        model: the trained model (put in eval mode here).
        collator: builds the batches (its prompts are the test prompts).
        tokenizer: decodes token ids.
        examples: what to decode; targets, if any, are ignored.
        options: batching, search settings and length limit.
        on_batch: called after each batch with the indices of its examples and their hypotheses
            (progress bars, incremental writing).

    Returns:
        One hypothesis per example, in the order of ``examples``.
    """
    options = options or DecodeOptions()
    model.eval()
    durations = [len(e.audio) / SAMPLE_RATE for e in examples]
    hypotheses: list[str | None] = [None] * len(examples)
    for indices in duration_batches(durations, options.batch_size, options.max_batch_seconds):
        texts = decode_batch(model, collator, tokenizer, [examples[i] for i in indices], options)
        for i, text in zip(indices, texts, strict=True):
            hypotheses[i] = text
        if on_batch is not None:
            on_batch(indices, texts)
    assert all(h is not None for h in hypotheses), "every example is in exactly one batch"
    return [h for h in hypotheses if h is not None]


@torch.no_grad()
def decode_text(
    model: SpeechLLM,
    collator: SpeechCollator,
    tokenizer: PreTrainedTokenizerBase,
    examples: Sequence[TextExample],
    batch_size: int = 16,
) -> list[str]:
    """Greedy answers of text-only examples (the LLM reads the source text's embeddings where
    audio would be), each capped at twice its own source's tokens plus 16.

    The cap is each example's own, not its batch's: an answer does not depend on what it is
    batched with (a resumed decode, one utterance a batch, writes what an unbroken run wrote).

    Returns:
        One answer per example, in order; targets, if any, are ignored.
    """
    model.eval()
    device = device_of(model)
    answers = []
    for start in range(0, len(examples), batch_size):
        chunk = [replace(e, target=None) for e in examples[start : start + batch_size]]
        batch = collator(chunk)
        limits = [16 + 2 * int(n) for n in batch.text_mask.sum(1)]  # on the host, before the copy
        answers += _generate_answers(model, tokenizer, batch.to(device), limits)
    return answers


def _out_of_memory(model: SpeechLLM, batch: Batch, options: DecodeOptions) -> str:
    weights = sum(p.numel() * p.element_size() for p in model.parameters()) / 1024**3
    beams = f" x {options.num_beams} beams" if options.num_beams > 1 else ""
    return (
        f"out of memory while decoding a batch of {batch.size} item(s){beams}, the longest "
        f"{batch.longest_audio_s:.1f} s ({batch.size * batch.longest_audio_s:.1f} padded audio "
        f"seconds; ids {', '.join(batch.ids[:3])}{', ...' if batch.size > 3 else ''}), with "
        f"--batch-size {options.batch_size} and --max-batch-seconds {options.max_batch_seconds}; "
        f"the model's weights alone take {weights:.1f} GiB. Lower --batch-size or set "
        "--max-batch-seconds (e.g. 60), or fewer --beam"
    )


def _search_kwargs(options: DecodeOptions) -> dict[str, Any]:
    # pass only what differs from plain search: transformers warns about flags that do nothing
    kwargs: dict[str, Any] = {"num_beams": options.num_beams, "do_sample": False}
    if options.no_repeat_ngram_size > 0:
        kwargs["no_repeat_ngram_size"] = options.no_repeat_ngram_size
    if options.repetition_penalty != 1.0:
        kwargs["repetition_penalty"] = options.repetition_penalty
    if options.num_beams > 1:
        kwargs["length_penalty"] = options.length_penalty
    return kwargs
