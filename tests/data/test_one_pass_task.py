"""The one-pass phoneme task ``phon+asr``: seen-language audio → "<phones> => <transcript>", its
prompts, its separator, and the split and unseen-audio rules of the other speech tasks."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from unheard.data.collate import Example
from unheard.data.dataset import SpeechDataset, example_refs
from unheard.data.loading import SkipLog
from unheard.data.manifest import read_manifest
from unheard.data.phonemes import phonemize
from unheard.data.prompts import (
    NAMED_SOURCE_POOLS,
    PROMPT_POOLS,
    Prompts,
    join_phones_and_text,
    split_phones_and_text,
)
from unheard.data.synth import SynthOptions, build_synth_corpus, read_parallel_text
from unheard.recipes.run_data import load_run_data
from unheard.recipes.train_config import DataConfig
from unheard.tiny import train_tokenizer

LANGUAGES = ("en", "es", "ca")
SEEN = ("en", "es")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    options = SynthOptions(languages=LANGUAGES, per_language=5, text_per_language=10, min_eval=4)
    return build_synth_corpus(tmp_path_factory.mktemp("synth"), options)


def test_phon_asr_examples_answer_phones_then_the_transcript(corpus):
    utts = read_manifest(corpus.manifests["es", "train"])
    refs = example_refs(utts, ("asr", "phon+asr"))
    assert Counter(r.task for r in refs) == {"asr": 5, "phon+asr": 5}
    dataset = SpeechDataset(utts, refs, sample_prompts=True, seed=3)
    both = [dataset[i] for i, r in enumerate(refs) if r.task == "phon+asr"]
    for e in both:
        u = next(u for u in utts if u.id == e.id)
        assert isinstance(e, Example) and (e.language, e.target_language) == ("es", "es")
        assert e.target == f"{phonemize(u.text, 'es')} => {u.text}"
        assert split_phones_and_text(e.target) == (phonemize(u.text, "es"), u.text)
    assert {e.prompt for e in both} <= set(PROMPT_POOLS["phon+asr"])
    assert len(PROMPT_POOLS["phon+asr"]) == len(NAMED_SOURCE_POOLS["phon+asr"]) == 12
    # every prompt spells the separator out (a tokenizer trained on the prompts can write it)
    pools = (*PROMPT_POOLS["phon+asr"], *NAMED_SOURCE_POOLS["phon+asr"])
    assert all("=>" in p for p in pools)
    assert all("{source}" in n for n in NAMED_SOURCE_POOLS["phon+asr"])
    assert Prompts().render("phon+asr", None, "es")[0].startswith("Write the phonemes of the audio")
    assert Prompts.naming_source().render("phon+asr", "ca", "ca")[0] == (
        "Write the phonemes of the Catalan audio, then => and the transcript. "
    )
    # a language without a G2P gives no phoneme example
    japanese = [replace(u, language="ja") for u in utts]
    assert {r.task for r in example_refs(japanese, ("asr", "phon+asr"))} == {"asr"}


def test_the_separator_splits_at_its_first_occurrence_and_never_comes_from_phones():
    assert join_phones_and_text("u n o", "uno") == "u n o => uno"
    # text may hold "=>"; phones never do, so the first one is the separator
    assert split_phones_and_text("a | b => x => y") == ("a | b", "x => y")
    assert split_phones_and_text("u n o") == ("u n o", "")  # cut before the text: no words
    assert split_phones_and_text("=>uno") == ("", "uno")
    with pytest.raises(ValueError, match="phones must not contain '=>'"):
        join_phones_and_text("a => b", "x")


def test_phon_asr_trains_on_seen_audio_only_and_holds_no_dev_or_test_item(corpus, tmp_path):
    records = [r for path in corpus.texts.values() for r in read_parallel_text(path)]
    phones = [phonemize(r.text, r.language) for r in records]  # a tokenizer that writes phones
    tokenizer = train_tokenizer([r.text for r in records] * 3 + phones, tmp_path / "tok", 200)
    config = DataConfig(
        train=tuple(str(corpus.manifests[lang, "train"]) for lang in SEEN),
        dev=tuple(str(corpus.manifests[lang, "dev"]) for lang in LANGUAGES),
        test=(str(corpus.out_dir / "unheard-synth_*_test.jsonl.gz"),),
        tasks=("asr", "phon+asr"),
        unseen_languages=("ca",),
    )
    data = load_run_data(config, tokenizer, 0, SkipLog())
    examples = [data.dataset[i] for i in range(len(data.dataset))]
    assert Counter((e.task, e.language) for e in examples) == {
        ("asr", "en"): 5, ("asr", "es"): 5, ("phon+asr", "en"): 5, ("phon+asr", "es"): 5,
    }  # fmt: skip
    held_out = {
        u.id.split("-", 1)[1]
        for split in ("dev", "test")
        for lang in LANGUAGES
        for u in read_manifest(corpus.manifests[lang, split])
    }
    assert held_out and not {e.id.split("-", 1)[1] for e in examples} & held_out
    with_ca = replace(config, train=(*config.train, str(corpus.manifests["ca", "train"])))
    with pytest.raises(ValueError, match="paired audio in unseen language.*ca: 5"):
        load_run_data(with_ca, tokenizer, 0, SkipLog())
