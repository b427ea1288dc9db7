"""The text tasks of `unheard.recipes.pretrain_text`: T5 span corruption, instruction examples
in the speech tasks' prompts, and the held-out probes that score the LLM on them."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import torch
from transformers import MT5ForConditionalGeneration, PreTrainedTokenizerBase

from unheard.data.collate import token_ids
from unheard.data.prompts import Prompts

TRANSLATE = "translate to English: "
SENTINELS = 32  # <extra_id_0..31>
# instruction tasks: the speech tasks' prompts with the text where the audio goes ("asr" → the
# text itself, "st" → its English) and the text-only translate prompts (→ its English)
INSTRUCTION_TASKS = ("asr", "st", "translate")


def span_corrupt(
    ids: list[int], sentinels: list[int], rng: random.Random, density: float, mean_span: float
) -> tuple[list[int], list[int]]:
    """T5 span corruption of one token sequence.

    Returns:
        ``(input_ids, target_ids)``: the input with each masked span replaced by a sentinel, and
        the target listing each sentinel followed by the tokens it replaced, then a final
        sentinel (no EOS; the caller adds it).
    """
    n = len(ids)
    masked = max(1, round(n * density))
    spans = max(1, min(len(sentinels) - 1, round(masked / mean_span), masked))
    # split `masked` tokens into `spans` spans and the rest into spans + 1 gaps, at random
    lengths = _partition(masked, spans, rng)
    gaps = _partition(n - masked, spans + 1, rng, allow_zero=True)
    inputs, targets, pos = [], [], 0
    for i in range(spans):
        inputs += ids[pos : pos + gaps[i]]
        pos += gaps[i]
        inputs.append(sentinels[i])
        targets += [sentinels[i], *ids[pos : pos + lengths[i]]]
        pos += lengths[i]
    inputs += ids[pos:]
    targets.append(sentinels[spans])
    return inputs, targets


def _partition(total: int, parts: int, rng: random.Random, allow_zero: bool = False) -> list[int]:
    if allow_zero:
        cuts = sorted(rng.randint(0, total) for _ in range(parts - 1))
        return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
    if total < parts:
        return [1] * total + [0] * (parts - total)
    cuts = sorted(rng.sample(range(1, total), parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


class Instructions:
    """Instruction examples tokenized as the speech collator tokenizes a prompt around its source
    (`unheard.data.collate`): prefix, source, suffix + EOS, each piece on its own, so the LLM
    learns the very token sequence the speech model will show it, with the audio in the source's
    place."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase) -> None:
        self.tokenizer, self.prompts, self.cache = tokenizer, Prompts(), {}

    def pair(
        self, task: str, template: str, source: list[int], answer: list[int]
    ) -> tuple[list[int], list[int]]:
        """``(input_ids, target_ids)`` of one example: ``template`` (a speech task's, with
        ``<audio>``) around the ``source`` tokens, and the ``answer`` tokens + EOS."""
        if (task, template) not in self.cache:
            prefix, suffix = self.prompts.render(task, None, "en", template)
            self.cache[task, template] = (
                token_ids(self.tokenizer, prefix),
                [*token_ids(self.tokenizer, suffix), self.tokenizer.eos_token_id],
            )
        prefix, suffix = self.cache[task, template]
        return [*prefix, *source, *suffix], [*answer, self.tokenizer.eos_token_id]


@torch.no_grad()
def translation_probe(
    model: MT5ForConditionalGeneration,
    tokenizer: PreTrainedTokenizerBase,
    records: Sequence[dict[str, Any]],
    per_language: int = 50,
    batch_size: int = 32,
    task: str = "prefix",
) -> dict[str, float]:
    """Exact-match accuracy of greedy ``translate to English:`` (``task`` "prefix") per language,
    or of an instruction task's test prompt (`INSTRUCTION_TASKS`: the speech tasks' with the text
    where the audio goes, or the text-only translate prompt): the text itself for "asr", its
    English otherwise.

    Returns:
        ``{language: share of items answered exactly}``.
    """
    if task not in ("prefix", *INSTRUCTION_TASKS):
        raise ValueError(f"task must be prefix or one of {INSTRUCTION_TASKS}, got {task!r}")
    instruct = Instructions(tokenizer)
    model.eval()
    by_language: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if len(by_language[r["language"]]) < per_language:
            by_language[r["language"]].append(r)
    scores = {}
    for language, items in sorted(by_language.items()):
        right = 0
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            if task == "prefix":
                inputs = [tokenizer(TRANSLATE + r["text"]).input_ids for r in chunk]
            else:
                template = Prompts().templates[task]
                inputs = [instruct.pair(task, template, token_ids(tokenizer, r["text"]), [])[0]
                          for r in chunk]  # fmt: skip
            enc = pad_pairs([(ids, [0]) for ids in inputs], tokenizer.pad_token_id)
            out = model.generate(
                input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                max_new_tokens=48, do_sample=False,
            )  # fmt: skip
            hyps = tokenizer.batch_decode(out, skip_special_tokens=True)
            key = "text" if task == "asr" else "translation"
            right += sum(h.strip() == r[key].strip() for h, r in zip(hyps, chunk, strict=True))
        scores[language] = round(right / len(items), 3)
    return scores


def pad_pairs(pairs: list[tuple[list[int], list[int]]], pad: int) -> dict[str, torch.Tensor]:
    """Right-padded encoder inputs, mask and labels (-100 on padding) of ``(input, target)``."""
    width_in = max(len(a) for a, _ in pairs)
    width_out = max(len(b) for _, b in pairs)
    ids = torch.full((len(pairs), width_in), pad)
    mask = torch.zeros((len(pairs), width_in), dtype=torch.long)
    labels = torch.full((len(pairs), width_out), -100)
    for i, (a, b) in enumerate(pairs):
        ids[i, : len(a)] = torch.tensor(a)
        mask[i, : len(a)] = 1
        labels[i, : len(b)] = torch.tensor(b)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}
