"""Training with text-only examples: a text-only stage (LoRA only, no audio) learns, carries the
layer mix and adapter through unchanged, validates, resumes exactly and reports unseen-language
text; a mixed run still refuses unseen-language audio."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from unheard.data.synth import SynthOptions, build_synth_corpus
from unheard.recipes.train import train
from unheard.recipes.train_config import load_train_config

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    options = SynthOptions(languages=("en", "es", "ca"), per_language=6, text_per_language=60)
    return build_synth_corpus(tmp_path_factory.mktemp("synth"), options).out_dir


def _text_only(corpus, out, *extra):
    return load_train_config(
        REPO / "configs/tiny.yaml",
        [
            "data.train=[]",
            "data.dev=[]",
            f"data.text=[{corpus}/text/*_train.jsonl]",
            f"data.text_dev=[{corpus}/text/*_dev.jsonl]",
            f"data.test=[{corpus}/unheard-synth_*_test.jsonl.gz]",
            "data.unseen_languages=[ca]",
            "model.llm_trainable=[]",  # LoRA (and the unused speech path) only
            "optim.lr=1.0e-2",
            "optim.warmup_steps=0",
            "optim.schedule=constant",
            f"run.output_dir={out}",
            "run.progress=false",
            "run.log_every=5",
            "run.save_every=10",
            "run.keep_last=5",
            *extra,
        ],
    )


def _weights(out, step):
    return load_file(str(Path(out) / "checkpoints" / f"step-{step}" / "trained.safetensors"))


def test_a_text_only_stage_trains_lora_alone_and_lowers_its_text_loss(corpus, tmp_path, capsys):
    out = tmp_path / "text"
    summary = train(_text_only(corpus, out, "run.max_steps=20", "run.validate_every=10"))
    started = capsys.readouterr().out
    assert "0 utterances, 0 examples (asr, st), 300 text examples (translate, denoise)" in started
    assert "unseen-language text (allowed, no audio): {'ca': 60}" in started
    assert summary["steps"] == 20 and summary["unseen_text"] == {"ca": 60}
    assert summary["text_records"] == {"ca": 60, "en": 60, "es": 60}  # English: denoising only
    assert json.loads((out / "summary.json").read_text())["unseen_text"] == {"ca": 60}
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    losses = [x["loss"] for x in log if x["kind"] == "train"]
    assert len(losses) == 4 and losses[-1] < 0.75 * losses[0], losses
    dev = [x for x in log if x["kind"] == "validation"]
    assert [x["step"] for x in dev] == [10, 20]
    assert dev[-1]["dev_loss"] < dev[0]["dev_loss"]
    assert {"translate/ca", "translate/es", "denoise/ca", "denoise/en"} <= set(dev[-1])
    assert summary["best"]["step"] == 20
    # no audio, no gradient to the speech path: layer mix and adapter as built; LoRA moved
    first, last = _weights(out, 10), _weights(out, 20)
    speech_path = [n for n in last if n.startswith(("layer_mix.", "adapter."))]
    lora = [n for n in last if "lora_" in n]
    assert speech_path and lora and set(last) == {*speech_path, *lora}
    for name in speech_path:
        torch.testing.assert_close(last[name], first[name], atol=0, rtol=0)
    assert max((last[n] - first[n]).abs().max().item() for n in lora) > 1e-3
    assert summary["layer_weights"] == [0.3333, 0.3333, 0.3333]


@pytest.mark.slow
def test_a_text_only_run_resumes_exactly(corpus, tmp_path):
    train(_text_only(corpus, tmp_path / "a", "run.max_steps=20", "run.validate_every=0"))
    train(_text_only(corpus, tmp_path / "b", "run.max_steps=10", "run.validate_every=0"))
    resumed = train(_text_only(corpus, tmp_path / "b", "run.max_steps=20", "run.validate_every=0"))
    assert resumed["steps"] == 20
    a, b = _weights(tmp_path / "a", 20), _weights(tmp_path / "b", 20)
    for name in a:
        torch.testing.assert_close(b[name], a[name], atol=1e-6, rtol=0)
    moved = max((a[n] - _weights(tmp_path / "b", 10)[n]).abs().max().item() for n in a)
    assert moved > 1e-3  # the 10 steps after the checkpoint really trained


def test_a_mixed_run_reports_unseen_text_and_still_refuses_unseen_audio(corpus, tmp_path):
    seen = [f"{corpus}/unheard-synth_{lang}_train.jsonl.gz" for lang in ("en", "es")]
    mixed = [
        f"data.train=[{','.join(seen)}]",
        f"data.text=[{corpus}/text/*_train.jsonl]",
        "data.unseen_languages=[ca]",
        "data.dev=[]",
        f"run.output_dir={tmp_path / 'mixed'}",
        "run.progress=false",
        "run.max_steps=4",
        "run.validate_every=0",
    ]
    summary = train(load_train_config(REPO / "configs/tiny.yaml", mixed))
    assert summary["steps"] == 4 and summary["unseen_text"] == {"ca": 60}
    assert summary["layer_weights"] != [0.3333, 0.3333, 0.3333]  # speech trained too
    leaking = [*mixed[1:], f"data.train=[{','.join([*seen, seen[0].replace('_en_', '_ca_')])}]"]
    with pytest.raises(ValueError, match="paired audio in unseen language.*ca: 6"):
        train(load_train_config(REPO / "configs/tiny.yaml", leaking))
    with pytest.raises(
        ValueError,
        match="data.text trains LoRA, which run.stage=1 with model.lora.enabled=true turns off",
    ):
        load_train_config(
            REPO / "configs/tiny.yaml", [*mixed, "run.stage=1", "model.llm_trainable=[]"]
        )


def _tiny_mt5_writing_phones(folder: Path) -> Path:
    """A tiny mT5 like ``tiny:mt5`` whose tokenizer also learnt the 8 languages' phones (the
    phoneme tasks refuse one that cannot write them)."""
    from transformers import AutoModelForSeq2SeqLM

    from unheard.data.phonemes import G2P_LANGUAGES, WORD_BOUNDARY, phone_inventory
    from unheard.tiny import llm_config, tiny_text, train_tokenizer

    inventories = [" ".join((*phone_inventory(lang), WORD_BOUNDARY)) for lang in G2P_LANGUAGES]
    tokenizer = train_tokenizer(tiny_text() + inventories * 3, folder, vocab_size=512)
    torch.manual_seed(0)
    AutoModelForSeq2SeqLM.from_config(llm_config("mt5", len(tokenizer))).save_pretrained(folder)
    return folder


def test_the_phoneme_tasks_train_and_validate_end_to_end(corpus, tmp_path):
    """``data.tasks=[asr,st,phon]`` + ``data.text_tasks=[translate,p2g]`` on configs/tiny.yaml: the
    run trains, its validation scores phon by phone error rate and p2g by WER, unseen Catalan
    included (dev audio and text only)."""
    seen = [f"{corpus}/unheard-synth_{lang}_train.jsonl.gz" for lang in ("en", "es")]
    config = load_train_config(
        REPO / "configs/tiny.yaml",
        [
            f"model.llm={_tiny_mt5_writing_phones(tmp_path / 'llm')}",
            f"data.train=[{','.join(seen)}]",
            f"data.dev=[{corpus}/unheard-synth_*_dev.jsonl.gz]",
            f"data.test=[{corpus}/unheard-synth_*_test.jsonl.gz]",
            "data.tasks=[asr,st,phon,phon+asr]",
            f"data.text=[{corpus}/text/*_train.jsonl]",
            f"data.text_dev=[{corpus}/text/*_dev.jsonl]",
            "data.text_tasks=[translate,p2g]",
            "data.unseen_languages=[ca]",
            f"run.output_dir={tmp_path / 'phon'}",
            "run.progress=false",
            "run.max_steps=4",
            "run.validate_every=0",
            "run.log_every=2",
            "run.log_with=[]",
        ],
    )
    summary = train(config)
    assert summary["steps"] == 4 and summary["unseen_text"] == {"ca": 60}
    lines = (tmp_path / "phon" / "log.jsonl").read_text().splitlines()
    validation = [json.loads(line) for line in lines if '"validation"' in line][-1]
    for language in ("en", "es", "ca"):
        assert set(validation[f"phon/{language}"]) == {"per"}
        assert validation[f"phon/{language}"]["per"] >= 0
        # the one-pass answer "<phones> => <text>": its phones by PER, its text by WER
        assert set(validation[f"phon+asr/{language}"]) == {"per", "wer"}
        assert set(validation[f"p2g/{language}"]) == {"wer"}
