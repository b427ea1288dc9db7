"""A training run's data: speech manifests and parallel text files, checked, as one dataset.

The checks of the zero-resource protocol: paired audio in an unseen language is refused
(`check_no_unseen_audio`); text alone in one is allowed, counted and reported (``unseen_text``);
training text holding a sentence of the dev or test data is refused (`check_text_split`).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from unheard.data.collate import TextExample
from unheard.data.dataset import SpeechDataset, example_refs
from unheard.data.leakage import check_no_unseen_audio, count_unseen_text
from unheard.data.loading import AudioLimits, SkipLog, read_data
from unheard.data.manifest import Utterance
from unheard.data.phonemes import G2P_LANGUAGES, check_round_trip, phonemize
from unheard.data.text import (
    SpeechTextDataset,
    TextDataset,
    check_text_split,
    count_tokens,
    read_text_records,
    text_refs,
)
from unheard.recipes.train_config import DataConfig


@dataclass
class RunData:
    """What `load_run_data` read."""

    dataset: SpeechDataset | SpeechTextDataset  # the training examples, for `make_loader`
    utterances: int  # training utterances read
    speech_examples: int  # (utterance, task) pairs
    text_examples: int  # (text record, task) pairs
    dev: list[Utterance] = field(default_factory=list)
    text_dev: list[TextExample] = field(default_factory=list)  # fixed prompts, fixed noise
    unseen_text: dict[str, int] = field(default_factory=dict)  # text records per unseen language
    text_records: dict[str, int] = field(default_factory=dict)  # text records per language (all)
    seen_languages: tuple[str, ...] = ()  # spoken languages with paired audio in training


def check_writes_phones(
    tokenizer: Any, texts: Sequence[tuple[str | None, str]], option: str, per_language: int = 20
) -> None:
    """Refuse an LLM tokenizer that cannot read and write the phones of the run's phoneme tasks:
    trained on them, the LLM would learn ``<unk>`` for every phone it lacks (a real LLM's or an mT5
    pretrained without ``--phonemes`` lacks most IPA symbols).

    Args:
        tokenizer: the LLM's.
        texts: ``(text, language)`` of the run's transcripts or text; the first ``per_language``
            of each language with a G2P are phonemized.
        option: what asked for the phoneme task (an option, a system), for the message.

    Raises:
        ValueError: naming how many phone strings failed and one of them.
    """
    phones, taken = [], Counter()
    for text, language in texts:
        if text and language in G2P_LANGUAGES and taken[language] < per_language:
            taken[language] += 1
            phones.append(phonemize(text, language))
    check_round_trip(
        tokenizer, phones, "of model.llm", f"{option} has a phoneme task: use an LLM pretrained "
        "with `unheard pretrain-text --phonemes` (its tokenizer learns the phones)",
    )  # fmt: skip


def load_run_data(config: DataConfig, tokenizer: Any, seed: int, skipped: SkipLog) -> RunData:
    """Read, check and assemble the training and validation data of a run.

    Args:
        config: the run's data section.
        tokenizer: the LLM's tokenizer (text examples' cost in the sampler is their token count).
        seed: the run's seed (prompt, noise and augmentation draws).
        skipped: where bad manifest lines are counted.

    Returns:
        The dataset, the dev data and the counts the run reports.

    Raises:
        ValueError: for paired audio in an unseen language, training text holding a dev or test
            sentence, no training examples at all, or phoneme tasks with a tokenizer that cannot
            write phones (`check_writes_phones`).
        FileNotFoundError: for a manifest or text file that does not exist.
    """
    train = read_data(config.train, config.languages, skipped)
    check_no_unseen_audio(train, config.unseen_languages)
    dev = read_data(config.dev, None, skipped)
    refs = example_refs(train, config.tasks)
    if {"phon", "phon+asr"} & set(config.tasks) and (
        lacking := sorted({u.language for u in train} - set(G2P_LANGUAGES))
    ):
        warnings.warn(
            f"data.tasks has a phoneme task, but there is no G2P for {lacking}: their audio gives no "
            f"phoneme examples (G2P: {', '.join(sorted(G2P_LANGUAGES))})",
            stacklevel=2,
        )
    if config.train and not refs:
        raise ValueError(f"no training examples for tasks {config.tasks} in {config.train}")
    if {"phon", "phon+asr"} & set(config.tasks):
        check_writes_phones(tokenizer, [(u.text, u.language) for u in train], "data.tasks")
    limits = AudioLimits(max_duration_s=config.max_utterance_s)
    speech = SpeechDataset(
        train, refs, limits, config.augmentation, config.sample_prompts, seed,
        name_source=config.name_source_language,
    )  # fmt: skip
    seen = tuple(sorted({train[r.utterance].language for r in refs}))
    if not config.text:
        return RunData(speech, len(train), len(refs), 0, dev, seen_languages=seen)

    records = read_text_records(config.text, config.text_languages)
    dev_records = read_text_records(config.text_dev, config.text_languages)
    test = read_data(config.test, None, SkipLog())  # read for the check only
    check_text_split(records, [*dev, *test], dev_records)
    if "p2g" in config.text_tasks:
        check_writes_phones(tokenizer, [(r.text, r.language) for r in records], "data.text_tasks")
    t_refs = text_refs(records, config.text_tasks)
    if not t_refs:
        raise ValueError(f"no text examples for tasks {config.text_tasks} in {config.text}")
    text = TextDataset(
        records, t_refs, count_tokens(records, tokenizer), config.text_seconds_per_token,
        config.text_noise, config.sample_prompts, seed, name_source=config.name_source_language,
    )  # fmt: skip
    held_out = TextDataset(
        dev_records, text_refs(dev_records, config.text_tasks), [0] * len(dev_records),
        noise=config.text_noise, seed=seed,
    )  # fmt: skip
    return RunData(
        dataset=SpeechTextDataset(speech, text, config.text_weight),
        utterances=len(train),
        speech_examples=len(refs),
        text_examples=len(t_refs),
        dev=dev,
        text_dev=[held_out[i] for i in range(len(held_out))],
        unseen_text=count_unseen_text((r.language for r in records), config.unseen_languages),
        text_records=dict(sorted(Counter(r.language for r in records).items())),
        seen_languages=seen,
    )
