"""Text-only examples: the corpus split, the loader's split check, tasks, prompts, noise,
mixing with speech, and the leakage guard's report of unseen-language text."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from unheard.data.dataset import SpeechDataset, example_refs
from unheard.data.loading import SkipLog
from unheard.data.manifest import read_manifest
from unheard.data.prompts import NAMED_SOURCE_POOLS, TEXT_PROMPT_POOLS, Prompts
from unheard.data.sampler import DurationBucketSampler
from unheard.data.synth import SynthOptions, build_synth_corpus, read_parallel_text
from unheard.data.synth.selection import normalize
from unheard.data.text import (
    SpeechTextDataset,
    TextDataset,
    check_text_split,
    drop_words,
    read_text_records,
    text_refs,
)
from unheard.recipes.run_data import load_run_data
from unheard.recipes.train_config import DataConfig
from unheard.tiny import train_tokenizer

LANGUAGES = ("en", "es", "ca", "de")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    options = SynthOptions(languages=LANGUAGES, per_language=6, text_per_language=80, min_eval=4)
    return build_synth_corpus(tmp_path_factory.mktemp("synth"), options)


@pytest.fixture(scope="module")
def tokenizer(corpus, tmp_path_factory):
    texts = [r.text for path in corpus.texts.values() for r in read_parallel_text(path)]
    return train_tokenizer(texts * 3, tmp_path_factory.mktemp("tok"), vocab_size=300)


def _item(utterance_id: str) -> str:
    return utterance_id.split("-", 1)[1]  # "<language>-<item>"


def test_no_test_sentence_or_item_is_in_any_training_text_or_manifest(corpus):
    held_out = {"test": set(), "dev": set()}
    held_out_items = {"test": set(), "dev": set()}
    for (_, split), path in corpus.texts.items():
        if split in held_out:
            for r in read_parallel_text(path):
                held_out[split] |= {normalize(r.text), normalize(r.translation)}
                held_out_items[split].add(r.item)
    for (_, split), path in corpus.manifests.items():
        if split in held_out:
            for u in read_manifest(path):
                held_out[split] |= {normalize(u.text), normalize(u.translation)}
                held_out_items[split].add(_item(u.id))
    # parallel: the same 8 test items in every language, in 4 languages + English
    assert len(held_out_items["test"]) == 8 and len(held_out["test"]) > 3 * 8
    training_sentences, training_items = set(), set()
    for (_, split), path in corpus.texts.items():
        if split == "train":
            rows = read_parallel_text(path)
            assert len(rows) == 80
            training_sentences |= {normalize(s) for r in rows for s in (r.text, r.translation)}
            training_items |= {r.item for r in rows}
    for (_, split), path in corpus.manifests.items():
        if split == "train":
            for u in read_manifest(path):
                training_sentences |= {normalize(u.text), normalize(u.translation)}
                training_items.add(_item(u.id))
    for split in ("test", "dev"):
        assert not training_sentences & held_out[split], split
        assert not training_items & held_out_items[split], split
    # and the loader's own check agrees: the training text passes against dev and test
    records = read_text_records([str(corpus.out_dir / "text" / "*_train.jsonl")])
    assert len(records) == 4 * 80
    dev_test = [
        u for (_, s), p in corpus.manifests.items() if s != "train" for u in read_manifest(p)
    ]
    check_text_split(
        records, dev_test, read_text_records([str(corpus.out_dir / "text/*_test.jsonl")])
    )


def test_loader_refuses_training_text_holding_a_dev_or_test_sentence(corpus, tokenizer, tmp_path):
    test_utterance = read_manifest(corpus.manifests["ca", "test"])[0]
    dev_text = read_parallel_text(corpus.texts["es", "dev"])[2]
    leaked = tmp_path / "leaky_train.jsonl"
    rows = read_parallel_text(corpus.texts["ca", "train"])[:5]
    rows += [  # a test transcript under a new id and item, and a dev item in another wording
        replace(rows[0], id="ca-x", item="x", text=test_utterance.text.upper() + "!"),
        replace(rows[1], id="ca-y", item=dev_text.item, text="otra cosa", translation="other"),
    ]
    leaked.write_text("".join(json.dumps(r.__dict__, ensure_ascii=False) + "\n" for r in rows))
    config = DataConfig(
        text=(str(leaked),),
        text_dev=(str(corpus.texts["es", "dev"]),),
        test=(str(corpus.out_dir / "unheard-synth_*_test.jsonl.gz"),),
    )
    with pytest.raises(ValueError, match=r"holds sentences of the dev/test data — ca: 2 \(e\.g\. ca-x, ca-y\)"):  # fmt: skip
        load_run_data(config, tokenizer, 0, SkipLog())
    # without the two leaking lines the same files load
    leaked.write_text("".join(json.dumps(r.__dict__, ensure_ascii=False) + "\n" for r in rows[:5]))
    assert load_run_data(config, tokenizer, 0, SkipLog()).text_examples == 10


def test_text_tasks_prompts_and_word_dropout(corpus, tokenizer):
    records = read_text_records(
        [str(corpus.texts["en", "train"]), str(corpus.texts["ca", "train"])]
    )
    refs = text_refs(records, ("translate", "denoise"))
    tasks = Counter((records[r.record].language, r.task) for r in refs)
    # English text is its own translation: denoising only
    assert tasks == {("en", "denoise"): 80, ("ca", "translate"): 80, ("ca", "denoise"): 80}
    with pytest.raises(ValueError, match="text tasks must be among"):
        text_refs(records, ("asr",))
    counts = [len(tokenizer(r.text, add_special_tokens=False).input_ids) for r in records]
    train = TextDataset(records, refs, counts, noise=0.5, sample_prompts=True, seed=3)
    assert train.durations() == pytest.approx([counts[r.record] * 0.08 for r in refs])
    examples = [train[i] for i in range(len(train))]
    for pool in TEXT_PROMPT_POOLS.values():
        assert len(set(pool)) == 12 and all(p.count("<text>") == 1 for p in pool)
    for task in ("translate", "denoise"):
        used = {e.prompt for e in examples if e.task == task}
        assert len(used) >= 8 and used <= set(TEXT_PROMPT_POOLS[task])
    translated = next(e for e in examples if e.task == "translate")
    record = next(r for r in records if r.id == translated.id and r.language == "ca")
    assert (translated.source, translated.target, translated.target_language) == (
        record.text, record.translation, "en"
    )  # fmt: skip
    # denoising: the answer is the whole text, the source the text with about half its words
    denoised = [e for e in examples if e.task == "denoise"]
    kept = sum(len(e.source.split()) for e in denoised) / sum(
        len(e.target.split()) for e in denoised
    )
    assert 0.4 < kept < 0.75  # at least one word is always kept
    for e in denoised:
        assert e.target_language == e.language and set(e.source.split()) <= set(e.target.split())
    assert train[5] == TextDataset(records, refs, counts, noise=0.5, sample_prompts=True, seed=3)[5]
    train.epoch = 1  # a new epoch draws new prompts and noise
    assert [train[i] for i in range(len(train))] != examples
    fixed = TextDataset(records, refs, counts)
    assert {fixed[i].prompt for i in range(len(fixed))} == {None}
    # data.name_source_language: the paraphrases that name the text's language
    named = TextDataset(records, refs, counts, sample_prompts=True, seed=3, name_source=True)
    assert all(
        named[i].prompt in NAMED_SOURCE_POOLS[named[i].task] for i in range(0, len(named), 7)
    )
    assert Prompts().render("translate", None, "en") == ("Translate the text into English. ", "")
    rng = np.random.default_rng(0)
    assert drop_words("a b c d", 0.0, rng) == "a b c d" and len(drop_words("a b", 0.99, rng)) == 1


def test_an_epoch_draws_each_speech_example_once_and_the_text_share_on_top(tmp_path, corpus):
    speech_utts = [
        u for lang in ("es", "de") for u in read_manifest(corpus.manifests[lang, "train"])
    ]
    speech = SpeechDataset(speech_utts, example_refs(speech_utts, ("asr", "st")))
    records = read_text_records([str(corpus.out_dir / "text" / "*_train.jsonl")])
    refs = text_refs(records, ("translate", "denoise"))
    text = TextDataset(records, refs, [10] * len(records))
    mixed = SpeechTextDataset(speech, text, text_weight=0.3)
    assert len(speech) == 24 and len(mixed) == 24 + len(refs) == 24 + 4 * 80 + 3 * 80
    groups, weights = mixed.sampling_groups(None)
    sampler = DurationBucketSampler(
        mixed.durations(), None, groups, weights, epoch_size=mixed.epoch_size
    )
    drawn = [i for batch in sampler.epoch_batches(0) for i in batch]
    assert len(drawn) == mixed.epoch_size == round(24 / 0.7) == 34
    assert sorted(i for i in drawn if i < 24) == list(range(24))  # every speech example, once
    assert sum(i >= 24 for i in drawn) == 10  # 10 / 34: the 0.3 share, rounded
    mixed.epoch = 2
    assert speech.epoch == text.epoch == 2
    assert isinstance(mixed[0].audio, np.ndarray) and mixed[24].task in ("translate", "denoise")


def test_leakage_guard_refuses_unseen_audio_but_accepts_and_counts_unseen_text(corpus, tokenizer):
    text = (str(corpus.out_dir / "text" / "*_train.jsonl"),)
    seen_audio = tuple(str(corpus.manifests[lang, "train"]) for lang in ("en", "es", "de"))
    config = DataConfig(train=seen_audio, text=text, unseen_languages=("ca", "nl"))
    data = load_run_data(config, tokenizer, 0, SkipLog())
    assert data.unseen_text == {"ca": 80}  # text in ca is allowed and reported; nl has none
    assert data.speech_examples == 36 and data.text_examples == 4 * 80 + 3 * 80
    with_ca_audio = replace(config, train=(*seen_audio, str(corpus.manifests["ca", "train"])))
    with pytest.raises(ValueError, match="paired audio in unseen language.*ca: 6"):
        load_run_data(with_ca_audio, tokenizer, 0, SkipLog())
    text_only = DataConfig(text=text, text_languages=("ca",), unseen_languages=("ca",))
    data = load_run_data(text_only, tokenizer, 0, SkipLog())
    assert (data.speech_examples, data.text_examples, data.unseen_text) == (0, 160, {"ca": 80})
    assert isinstance(data.dataset, SpeechTextDataset) and data.dataset.speech is None


def test_a_text_glob_matching_nothing_is_named_as_text(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no text file matches '.*nothing_\*\.jsonl'"):
        read_text_records([str(tmp_path / "nothing_*.jsonl")])
