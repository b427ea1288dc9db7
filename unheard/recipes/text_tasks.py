"""The text tasks of `unheard.recipes.pretrain_text`: T5 span corruption, instruction examples
in the speech tasks' prompts, their mix into training batches, and the held-out probes that
score the LLM on them.

With the phoneme tasks (`PHONEME_TASKS`) the instructions also teach the two halves of the
phoneme bridge in text: ``p2g`` (the p2g prompts with a text's phones → the text) and ``phon``
(the phon prompts with the *text* where the audio goes → its phones: the LLM learns to write
phones, which the adapter's audio output asks of it at speech time). Phones are computed lazily,
when a record is drawn for one of them (`unheard.data.phonemes.phonemize` caches them): a record
costs its G2P once, ~1-6 ms (Dutch the slowest), not minutes for the whole corpus up front."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence

import torch
from transformers import MT5ForConditionalGeneration, PreTrainedTokenizerBase

from unheard.data.collate import token_ids
from unheard.data.phonemes import phonemize
from unheard.data.prompts import PROMPT_POOLS, TEXT_PROMPT_POOLS, Prompts
from unheard.data.synth.parallel_text import ParallelText
from unheard.evaluation.metrics import exact_match, phone_error_rate

TRANSLATE = "translate to English: "
SENTINELS = 32  # <extra_id_0..31>
# instruction tasks: the speech tasks' prompts with the text where the audio goes ("asr" → the
# text itself, "st" → its English) and the text-only translate prompts (→ its English)
INSTRUCTION_TASKS = ("asr", "st", "translate")
# the phoneme bridge's instruction tasks, on with the phoneme option: "p2g" (a text's phones → the
# text) and "phon" (the text where the audio goes → its phones)
PHONEME_TASKS = ("p2g", "phon")


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


class TextTaskMix:
    """Training batches of the text tasks, each example drawn at random: span corruption
    (``denoise_share``), instruction examples (``instruct_share``, a task by
    ``instruct_weights``, a paraphrase of its prompt pool) and ``translate to English:`` for
    the rest. ``drawn`` counts the examples of each kind ("denoise", "prefix" and the
    instruction tasks).

    Args:
        records: the training text.
        tokenizer: the LLM's.
        rng: the run's random generator (its state is checkpointed with the run).
        denoise_share: share of span-corruption examples.
        instruct_share: share of instruction examples.
        instruct_weights: relative weight of each instruction task (`INSTRUCTION_TASKS`, and
            `PHONEME_TASKS` with ``phonemes``); None: equal.
        noise_density: share of tokens span corruption masks.
        mean_span: mean masked span length in tokens.
        balance_lengths: draw records evenly across English word counts (`record_sampler`).
        phonemes: add the phoneme tasks (`PHONEME_TASKS`) to the instruction tasks.

    Raises:
        ValueError: for weights of tasks that are not instruction tasks here.
    """

    def __init__(
        self,
        records: Sequence[ParallelText],
        tokenizer: PreTrainedTokenizerBase,
        rng: random.Random,
        denoise_share: float,
        instruct_share: float,
        instruct_weights: Mapping[str, float] | None = None,
        noise_density: float = 0.15,
        mean_span: float = 3.0,
        balance_lengths: bool = False,
        phonemes: bool = False,
    ) -> None:
        self.tokenizer, self.rng, self.records = tokenizer, rng, records
        self.denoise_share, self.instruct_share = denoise_share, instruct_share
        self.noise_density, self.mean_span = noise_density, mean_span
        self.sentinels = tokenizer.convert_tokens_to_ids(
            [f"<extra_id_{i}>" for i in range(SENTINELS)]
        )
        # per record: translation input and target, then the text and its English, bare
        self.encoded = [
            (tokenizer(TRANSLATE + r.text).input_ids, tokenizer(r.translation).input_ids,
             token_ids(tokenizer, r.text), token_ids(tokenizer, r.translation))
            for r in records
        ]  # fmt: skip
        self.draw_record = record_sampler(records, rng, balance_lengths)
        self.instruct = Instructions(tokenizer)
        available = INSTRUCTION_TASKS + (PHONEME_TASKS if phonemes else ())
        weights = instruct_weights or dict.fromkeys(available, 1.0)
        if unknown := sorted(set(weights) - set(available)):
            raise ValueError(f"instruct_weights name {unknown}; instruction tasks: {available}")
        self.tasks = [task for task in available if weights.get(task, 0) > 0]
        self.task_weights = [weights[task] for task in self.tasks]
        # the prompt paraphrases of each instruction task
        self.pools = {**PROMPT_POOLS, **TEXT_PROMPT_POOLS}
        self.drawn: Counter[str] = Counter()

    def batch(self, size: int) -> dict[str, torch.Tensor]:
        """``size`` examples, padded (`pad_pairs`)."""
        eos, pairs = self.tokenizer.eos_token_id, []
        for _ in range(size):
            index = self.draw_record()
            src, tgt, plain, english = self.encoded[index]
            draw = self.rng.random()
            if draw < self.denoise_share and len(plain) >= 2:
                corrupted, spans = span_corrupt(
                    plain, self.sentinels, self.rng, self.noise_density, self.mean_span
                )
                pairs.append(([*corrupted, eos], [*spans, eos]))
                self.drawn["denoise"] += 1
            elif draw < self.denoise_share + self.instruct_share:
                task = self.rng.choices(self.tasks, self.task_weights)[0]
                template = self.rng.choice(self.pools[task])
                source, answer = plain, english
                if task == "asr":
                    answer = plain
                elif task in PHONEME_TASKS:
                    r = self.records[index]  # phonemize caches: a record's G2P runs once
                    phones = token_ids(self.tokenizer, phonemize(r.text, r.language))
                    source, answer = (phones, plain) if task == "p2g" else (plain, phones)
                pairs.append(self.instruct.pair(task, template, source, answer))
                self.drawn[task] += 1
            else:
                pairs.append((src, tgt))
                self.drawn["prefix"] += 1
        return pad_pairs(pairs, self.tokenizer.pad_token_id)


def record_sampler(
    records: Sequence[ParallelText], rng: random.Random, balance_lengths: bool
) -> Callable[[], int]:
    """A draw of one record's index: uniform, or (``balance_lengths``) a uniform English word
    count among those present, then a uniform record of that count."""
    if not balance_lengths:
        return lambda: rng.randrange(len(records))
    by_length: dict[int, list[int]] = {}
    for i, r in enumerate(records):
        by_length.setdefault(len(r.translation.split()), []).append(i)
    groups = [by_length[n] for n in sorted(by_length)]
    return lambda: rng.choice(rng.choice(groups))


PROBE_TASKS = ("prefix", *INSTRUCTION_TASKS, *PHONEME_TASKS)


def translation_probe(
    model: MT5ForConditionalGeneration,
    tokenizer: PreTrainedTokenizerBase,
    records: Sequence[ParallelText],
    per_language: int = 50,
    batch_size: int = 32,
    task: str = "prefix",
) -> dict[str, float]:
    """Exact-match accuracy of greedy ``translate to English:`` (``task`` "prefix") per language,
    or of an instruction task's test prompt (`PROBE_TASKS`), as `probe_answers` sets them.

    Returns:
        ``{language: share of items answered exactly}``.

    Raises:
        ValueError: for an unknown task, or a phoneme task on a language without a G2P.
    """
    answers = probe_answers(model, tokenizer, records, per_language, batch_size, task)
    return {
        language: round(exact_match(refs, hyps), 3) for language, (hyps, refs) in answers.items()
    }


def phone_probe(
    model: MT5ForConditionalGeneration,
    tokenizer: PreTrainedTokenizerBase,
    records: Sequence[ParallelText],
    per_language: int = 50,
    batch_size: int = 32,
) -> dict[str, dict[str, float]]:
    """The ``phon`` task's test prompt with the text where the audio goes, scored against the
    text's G2P: exact match and phone error rate (`unheard.evaluation.metrics.phone_error_rate`).

    Returns:
        ``{language: {"exact": share exactly right, "per": phone error rate}}``.

    Raises:
        ValueError: for a language without a G2P.
    """
    answers = probe_answers(model, tokenizer, records, per_language, batch_size, "phon")
    return {
        language: {
            "exact": round(exact_match(refs, hyps), 3),
            "per": round(phone_error_rate(refs, hyps), 4),
        }
        for language, (hyps, refs) in answers.items()
    }


def instruction_probes(
    model: MT5ForConditionalGeneration,
    tokenizer: PreTrainedTokenizerBase,
    records: Sequence[ParallelText],
    per_language: int,
    tasks: Sequence[str],
) -> dict[str, dict[str, float]]:
    """The probes of instruction tasks, keyed as ``metrics.json`` holds them.

    Returns:
        ``{"<task>_prompt_exact_match": {language: share}}`` for each task, and for "phon" also
        ``{"phon_prompt_per": {language: phone error rate}}``.
    """
    metrics = {}
    for task in tasks:
        if task == "phon":
            scores = phone_probe(model, tokenizer, records, per_language)
            metrics["phon_prompt_exact_match"] = {k: v["exact"] for k, v in scores.items()}
            metrics["phon_prompt_per"] = {k: v["per"] for k, v in scores.items()}
        else:
            metrics[f"{task}_prompt_exact_match"] = translation_probe(
                model, tokenizer, records, per_language, task=task
            )
    return metrics


@torch.no_grad()
def probe_answers(
    model: MT5ForConditionalGeneration,
    tokenizer: PreTrainedTokenizerBase,
    records: Sequence[ParallelText],
    per_language: int = 50,
    batch_size: int = 32,
    task: str = "prefix",
) -> dict[str, tuple[list[str], list[str]]]:
    """Greedy answers to the first ``per_language`` records of each language, and what each
    should be: ``translate to English:`` + the text → its English ("prefix"); or a task's test
    prompt (`unheard.data.prompts.Prompts`) around the text ("asr" → the text, "st" and
    "translate" → its English, "phon" → its phones) or around its phones ("p2g" → the text).

    Returns:
        ``{language: (hypotheses, references)}``, stripped.

    Raises:
        ValueError: for a task not in `PROBE_TASKS`, or a phoneme task on a language without a
            G2P.
    """
    if task not in PROBE_TASKS:
        raise ValueError(f"task must be one of {PROBE_TASKS}, got {task!r}")
    instruct, template = Instructions(tokenizer), Prompts().templates.get(task, "")
    model.eval()
    by_language: dict[str, list[ParallelText]] = defaultdict(list)
    for r in records:
        if len(by_language[r.language]) < per_language:
            by_language[r.language].append(r)
    answers = {}
    for language, items in sorted(by_language.items()):
        if task in PHONEME_TASKS:
            phones = [phonemize(r.text, language) for r in items]
        hyps, refs = [], []
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            if task == "prefix":
                inputs = [tokenizer(TRANSLATE + r.text).input_ids for r in chunk]
            else:
                sources = phones[start : start + len(chunk)] if task == "p2g" else [
                    r.text for r in chunk]  # fmt: skip
                inputs = [instruct.pair(task, template, token_ids(tokenizer, s), [])[0]
                          for s in sources]  # fmt: skip
            enc = pad_pairs([(ids, [0]) for ids in inputs], tokenizer.pad_token_id)
            budget = 48  # tokens; phones take about one a phone, so room for the longest
            if task == "phon":
                longest = max(len(token_ids(tokenizer, p)) for p in phones[start:][: len(chunk)])
                budget = max(budget, longest + 8)
            out = model.generate(
                input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                max_new_tokens=budget, do_sample=False,
            )  # fmt: skip
            hyps += [h.strip() for h in tokenizer.batch_decode(out, skip_special_tokens=True)]
            if task == "phon":
                refs += phones[start : start + len(chunk)]
            else:
                refs += [r.text if task in ("asr", "p2g") else r.translation for r in chunk]
        answers[language] = hyps, [r.strip() for r in refs]
    return answers


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
