"""`unheard demo` on a shipped-style mini-track bundle (an mT5 beside an adapter checkpoint that
names it ``../mt5``): the corpus, decoding, the seen/unseen table against chance, samples, a
short training run beside it, and a rerun that reuses everything."""

from __future__ import annotations

import json

import pytest
from num2words import num2words

from unheard.benchmark.demo import run_demo
from unheard.build import build_speech_llm
from unheard.checkpoint import CONFIG_NAME, read_checkpoint_config, save_checkpoint
from unheard.config import ModelConfig
from unheard.data.manifest import read_manifest
from unheard.recipes.pretrain_text import TextPretrainOptions, pretrain_text


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A small mT5 and an (untrained) adapter + LoRA checkpoint on real Whisper base."""
    root = tmp_path_factory.mktemp("bundle")
    text = root / "text.jsonl"
    with text.open("w") as f:
        for n in range(0, 2000, 7):
            for lang in ("es", "fr", "it", "pt", "de", "en", "ca", "nl"):
                record = {"language": lang, "text": num2words(n, lang=lang),
                          "translation": num2words(n, lang="en")}  # fmt: skip
                f.write(json.dumps(record) + "\n")
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


@pytest.mark.slow
def test_demo_prints_the_table_and_samples_and_a_rerun_reuses_everything(bundle, tmp_path):
    config, _ = read_checkpoint_config(bundle / "checkpoint")
    assert config.llm == str((bundle / "mt5").resolve())
    lines: list[str] = []
    first = run_demo(
        tmp_path, train_steps=2, samples=1, per_language=10, assets=bundle, progress=False,
        log=lines.append,
    )  # fmt: skip
    shipped, chance = first["metrics"]["shipped"], first["metrics"]["chance"]
    assert set(shipped["by_language"]) == set(chance["by_language"]) == {
        "es", "fr", "it", "pt", "de", "en", "ca", "nl"
    }  # fmt: skip
    assert shipped["seen"]["utterances"] == 6 * 2 * 5 and shipped["unseen"]["utterances"] == 20
    text = "\n".join(lines)
    assert "| **ca (unseen)** |" in text and "| mean of unseen |" in text
    assert "Samples in es (seen):" in text and "Samples in ca (unseen):" in text
    assert text.count("translated:") == 2 and text.count("transcribed:") == 2
    assert first["short_run"]["steps"] == 2
    for split in ("train", "test"):  # the corpus of the kinds the checkpoint was trained on
        ids = [
            u.id for u in read_manifest(tmp_path / "corpus" / f"unheard-synth_es_{split}.jsonl.gz")
        ]
        assert ids and {i.split("-")[1] for i in ids} <= {"cardinal", "year"}
    assert {"shipped/decode", "short-run/stage1"} <= set(first["timings"])

    again = run_demo(
        tmp_path, train_steps=2, samples=1, per_language=10, assets=bundle, progress=False,
        log=lines.append,
    )  # fmt: skip
    assert "shipped/decode" not in again["timings"] and "short-run/stage1" not in again["timings"]
    assert again["metrics"]["shipped"]["by_language"] == shipped["by_language"]

    # a checkpoint re-exported to the same path is decoded again, not scored from old hypotheses
    meta_path = bundle / "checkpoint" / CONFIG_NAME
    meta = json.loads(meta_path.read_text())
    meta["extra"]["exported_from"] = "another run"
    meta_path.write_text(json.dumps(meta))
    third = run_demo(
        tmp_path, train_steps=2, samples=1, per_language=10, assets=bundle, progress=False,
        log=lines.append,
    )  # fmt: skip
    assert "shipped/decode" in third["timings"]

    # a demo folder of another corpus size (or an older shipped checkpoint's kinds) is rebuilt
    fourth = run_demo(
        tmp_path, train_steps=0, samples=1, per_language=12, assets=bundle, progress=False,
        log=lines.append,
    )  # fmt: skip
    assert any("older demo's corpus" in line for line in lines)
    assert fourth["metrics"]["shipped"]["seen"]["utterances"] == 6 * 2 * 5


def test_demo_without_a_shipped_checkpoint_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="unheard benchmark mini"):
        run_demo(tmp_path, assets=tmp_path / "none", progress=False)
