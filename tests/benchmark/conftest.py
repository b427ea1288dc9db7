"""A shipped-style mini-track bundle: a small mT5 beside an adapter checkpoint that names it
``../mt5``, for the demo and the benchmark's end-to-end runs; and a small mT5 that writes phones,
for the phoneme-bridge systems."""

from __future__ import annotations

import json

import pytest
from num2words import num2words

from unheard.build import build_speech_llm
from unheard.checkpoint import CONFIG_NAME, save_checkpoint
from unheard.config import ModelConfig
from unheard.data.synth.parallel_text import ParallelText, write_parallel_text
from unheard.recipes.pretrain_text import TextPretrainOptions, pretrain_text


def _numbers_text(path, every, start=0):
    """Every ``every``-th number from ``start`` below 2,000 in the benchmark's 8 languages, as
    parallel text."""
    languages = ("es", "fr", "it", "pt", "de", "en", "ca", "nl")
    write_parallel_text(path, [
        ParallelText(f"{lang}-n{n}", f"n{n}", lang, num2words(n, lang=lang),
                     num2words(n, lang="en"), "cardinal")
        for n in range(start, 2000, every) for lang in languages
    ])  # fmt: skip
    return path


@pytest.fixture
def numbers_corpus(tmp_path):
    """A corpus folder whose ``text/`` holds every 41st number's training text and others' dev
    text, 8 languages."""
    text = tmp_path / "corpus" / "text"
    text.mkdir(parents=True)
    _numbers_text(text / "all_train.jsonl", 41)
    _numbers_text(text / "all_dev.jsonl", 401, start=1)
    return tmp_path / "corpus"


@pytest.fixture(scope="module")
def phone_mt5(tmp_path_factory):
    """A small mT5 whose tokenizer reads and writes phones (``pretrain-text --phonemes``)."""
    root = tmp_path_factory.mktemp("phone-mt5")
    options = TextPretrainOptions(
        steps=1, batch_size=4, d_model=32, d_ff=64, layers=1, heads=2, vocab_size=400,
        warmup_steps=1, probe_every=0, instruct_share=0.5, phonemes=True, phoneme_sample=20,
    )  # fmt: skip
    text = _numbers_text(root / "text.jsonl", 37)
    pretrain_text([str(text)], [], root / "run", options, log=print)
    return root / "run" / "model"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A small mT5 and an (untrained) adapter + LoRA checkpoint on real Whisper base."""
    root = tmp_path_factory.mktemp("bundle")
    text = _numbers_text(root / "text.jsonl", 7)
    options = TextPretrainOptions(steps=2, batch_size=8, d_model=64, d_ff=128, layers=1,
                                  vocab_size=400, warmup_steps=1, probe_every=0)  # fmt: skip
    pretrain_text([str(text)], [], root / "text-run", options, log=print)
    (root / "text-run" / "model").rename(root / "mt5")
    config = ModelConfig(
        encoder="openai/whisper-base", llm=str(root / "mt5"), whisper_real_length=True,
        adapter_stride=4,
    )  # fmt: skip
    model = build_speech_llm(config)
    save_checkpoint(model, ModelConfig(**{**config.__dict__, "llm": "../mt5"}), root / "checkpoint")
    # as `export_assets` names the corpus kinds the shipped system was trained on
    meta_path = root / "checkpoint" / CONFIG_NAME
    meta = json.loads(meta_path.read_text())
    meta["extra"]["corpus_kinds"] = ["cardinal", "year"]
    meta_path.write_text(json.dumps(meta))
    return root
