"""The phoneme bridge's tasks: ``phon`` (seen-language audio → phones) and ``p2g`` (phones → text,
every language's text): their examples, prompts, config, and the split and unseen-audio rules."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from unheard.data.collate import Example, TextExample
from unheard.data.dataset import SpeechDataset, example_refs
from unheard.data.loading import SkipLog
from unheard.data.manifest import read_manifest
from unheard.data.phonemes import phonemize
from unheard.data.prompts import NAMED_SOURCE_POOLS, PROMPT_POOLS, TEXT_PROMPT_POOLS, Prompts
from unheard.data.synth import SynthOptions, build_synth_corpus, read_parallel_text
from unheard.data.text import TextDataset, read_text_records, text_refs
from unheard.recipes.run_data import load_run_data
from unheard.recipes.train_config import DataConfig
from unheard.tiny import train_tokenizer

LANGUAGES = ("en", "es", "ca", "de")
SEEN = ("en", "es", "de")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    options = SynthOptions(languages=LANGUAGES, per_language=6, text_per_language=40, min_eval=4)
    return build_synth_corpus(tmp_path_factory.mktemp("synth"), options)


def _texts(corpus):
    return [
        (r.text, r.language) for path in corpus.texts.values() for r in read_parallel_text(path)
    ]


@pytest.fixture(scope="module")
def tokenizer(corpus, tmp_path_factory):
    """An LLM tokenizer that reads and writes the corpus's phones (as pretrain-text --phonemes)."""
    texts = [text for text, _ in _texts(corpus)]
    phones = [phonemize(*t) for t in _texts(corpus)]
    return train_tokenizer((texts + phones) * 3, tmp_path_factory.mktemp("tok"), vocab_size=300)


def test_phon_examples_answer_with_the_transcripts_phones(corpus):
    utts = read_manifest(corpus.manifests["es", "train"])
    refs = example_refs(utts, ("asr", "phon"))
    assert Counter(r.task for r in refs) == {"asr": 6, "phon": 6}
    dataset = SpeechDataset(utts, refs, sample_prompts=True, seed=1)
    phon = [dataset[i] for i, r in enumerate(refs) if r.task == "phon"]
    for e in phon:
        u = next(u for u in utts if u.id == e.id)
        assert isinstance(e, Example) and e.target == phonemize(u.text, "es") != u.text
        assert (e.language, e.target_language) == ("es", "es")
    assert {e.prompt for e in phon} <= set(PROMPT_POOLS["phon"]) and len(PROMPT_POOLS["phon"]) == 12
    # a language without a G2P gives no phoneme example (its ASR ones stay)
    japanese = [replace(u, language="ja") for u in utts]
    assert {r.task for r in example_refs(japanese, ("asr", "phon"))} == {"asr"}
    assert Prompts().render("phon", None, "es") == (
        "Write the sounds of the audio as phonemes. ",
        "",
    )


def test_p2g_examples_read_phones_and_answer_with_the_text(corpus):
    records = read_text_records([str(corpus.texts["ca", "train"])])
    refs = text_refs(records, ("p2g",))
    assert len(refs) == 40
    train = TextDataset(records, refs, [1] * len(records), sample_prompts=True, seed=0)
    examples = [train[i] for i in range(len(train))]
    for e, r in zip(examples, records, strict=True):
        assert isinstance(e, TextExample) and e.task == "p2g"
        assert (e.source, e.target) == (phonemize(r.text, "ca"), r.text)
        assert e.target_language == e.language == "ca"
    assert {e.prompt for e in examples} <= set(TEXT_PROMPT_POOLS["p2g"])
    # cost: the text's letters (phones are not computed to batch)
    assert train.durations()[0] == pytest.approx(0.08 * len(records[0].text.replace(" ", "")))
    # with data.name_source_language the prompts name the text's language
    named = TextDataset(records, refs, [1] * 40, sample_prompts=True, seed=0, name_source=True)
    assert all(named[i].prompt in NAMED_SOURCE_POOLS["p2g"] for i in range(40))
    assert Prompts.naming_source().render("p2g", "ca", "ca") == (
        "Write these sounds as Catalan text: ",
        "",
    )
    assert Prompts().render("p2g", None, "ca") == ("Write these sounds as text: ", "")
    japanese = [replace(r, language="ja") for r in records]
    with pytest.raises(ValueError, match=r"p2g, but there is no G2P for the text's languages \['ja'\]"):  # fmt: skip
        text_refs(japanese, ("translate", "p2g"))


def test_config_names_the_new_tasks():
    config = DataConfig(train=("x",), text=("y",), tasks=("asr", "phon"), text_tasks=("p2g",))
    assert config.tasks == ("asr", "phon") and config.text_tasks == ("p2g",)
    with pytest.raises(ValueError, match="subset of asr, st, phon, phon\\+asr; got \\['phones'\\]"):
        DataConfig(train=("x",), tasks=("phones",))
    with pytest.raises(ValueError, match="subset of translate, denoise, p2g; got \\['g2p'\\]"):
        DataConfig(text=("y",), text_tasks=("g2p",))


def _item(example_id: str) -> str:
    return example_id.split("-", 1)[1]  # "<language>-<item>"


def test_no_phoneme_or_text_example_holds_a_dev_or_test_item_and_unseen_audio_never_reaches_phon(
    corpus, tokenizer
):
    config = DataConfig(
        train=tuple(str(corpus.manifests[lang, "train"]) for lang in SEEN),
        dev=tuple(str(corpus.manifests[lang, "dev"]) for lang in LANGUAGES),
        test=(str(corpus.out_dir / "unheard-synth_*_test.jsonl.gz"),),
        tasks=("asr", "st", "phon"),
        text=(str(corpus.out_dir / "text" / "*_train.jsonl"),),
        text_dev=(str(corpus.out_dir / "text" / "*_dev.jsonl"),),
        text_tasks=("translate", "p2g"),
        unseen_languages=("ca",),
    )
    data = load_run_data(config, tokenizer, 0, SkipLog())
    examples = [data.dataset[i] for i in range(len(data.dataset))]
    held_out = set()
    for split in ("dev", "test"):
        for lang in LANGUAGES:
            held_out |= {_item(u.id) for u in read_manifest(corpus.manifests[lang, split])}
            held_out |= {r.item for r in read_parallel_text(corpus.texts[lang, split])}
    assert len(held_out) >= 8
    by_task = Counter((e.task, e.language) for e in examples)
    # phon: audio of the seen languages only; p2g: text of every language, unseen Catalan too
    assert {lang for task, lang in by_task if task == "phon"} == set(SEEN)
    assert {lang for task, lang in by_task if task == "p2g"} == set(LANGUAGES)
    assert by_task["p2g", "ca"] == 40 and data.unseen_text == {"ca": 40}
    assert not {_item(e.id) for e in examples} & held_out
    # the dev text gives held-out p2g examples, in the fixed prompt
    assert {e.task for e in data.text_dev} == {"translate", "p2g"}
    assert all(e.prompt is None for e in data.text_dev)
    # Catalan audio in training is refused, whatever the tasks
    with_ca = replace(config, train=(*config.train, str(corpus.manifests["ca", "train"])))
    with pytest.raises(ValueError, match="paired audio in unseen language.*ca: 6"):
        load_run_data(with_ca, tokenizer, 0, SkipLog())
    # p2g text holding a test sentence is refused like any training text
    leaking = replace(config, text=(*config.text, str(corpus.texts["ca", "test"])))
    with pytest.raises(ValueError, match="holds sentences of the dev/test data — ca"):
        load_run_data(leaking, tokenizer, 0, SkipLog())


def test_phoneme_tasks_refuse_an_llm_tokenizer_that_cannot_write_phones(corpus, tmp_path):
    """A tokenizer trained on spelling alone reads IPA symbols as <unk>: an LLM on it would be
    trained to write <unk>, so the run is refused, for phon and p2g alike, naming the fix."""
    spelling = train_tokenizer([t for t, _ in _texts(corpus)] * 3, tmp_path, vocab_size=300)
    config = DataConfig(
        train=tuple(str(corpus.manifests[lang, "train"]) for lang in SEEN),
        tasks=("asr", "phon"),
    )
    with pytest.raises(ValueError, match=r"of model.llm cannot write phones: \d+ of 18 .*"
                       r"data.tasks has a phoneme task: use an LLM pretrained with"):  # fmt: skip
        load_run_data(config, spelling, 0, SkipLog())
    text_only = DataConfig(
        text=(str(corpus.out_dir / "text" / "*_train.jsonl"),), text_tasks=("translate", "p2g")
    )
    with pytest.raises(ValueError, match="data.text_tasks has a phoneme task"):
        load_run_data(text_only, spelling, 0, SkipLog())
    assert load_run_data(replace(text_only, text_tasks=("translate",)), spelling, 0, SkipLog())
