"""``unheard decode --via-phonemes`` (two-pass and one-pass), ``--task phon`` and
``--language-named`` end to end on a tiny checkpoint and an espeak-ng number corpus; hypothesis
files with and without ``phonemes``."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from unheard.build import build_speech_llm
from unheard.checkpoint import load_decoder, save_checkpoint
from unheard.cli import main
from unheard.data.audio import load_audio
from unheard.data.collate import Example
from unheard.data.espeak import make_number_corpus
from unheard.data.manifest import read_manifest
from unheard.data.phonemes import phonemize
from unheard.data.prompts import PROMPT_POOLS, TEXT_PROMPT_POOLS
from unheard.decoding import commands
from unheard.decoding.decode import DecodeOptions, decode, with_language_named
from unheard.decoding.decode_manifest import DECODE_TASKS
from unheard.decoding.hypotheses import FIELDS, Hypothesis, append_hypotheses, read_hypotheses
from unheard.decoding.phoneme_bridge import BRIDGES, decode_via_phonemes
from unheard.tiny import make_tiny_models, perturb_trained

LIMITS = ("--length-base", "6", "--tokens-per-second", "3")
OPTIONS = DecodeOptions(length_base=6, tokens_per_second=3)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("via-phonemes")
    manifest = make_number_corpus(root / "corpus", ("es", "fr"), 2, seed=1)
    utterances = read_manifest(manifest)
    phones = [phonemize(u.text, u.language) for u in utterances]
    prompts = [*PROMPT_POOLS["phon+asr"], *TEXT_PROMPT_POOLS["p2g"], *PROMPT_POOLS["phon"]]
    texts = [u.text for u in utterances] + phones + prompts
    config = make_tiny_models(root / "models", texts * 4, "whisper")
    model = build_speech_llm(config)
    torch.manual_seed(2)
    perturb_trained(model)  # perturb the trained parts so that the model writes something
    checkpoint = save_checkpoint(model, config, root / "checkpoint")
    return checkpoint, manifest, utterances


def _decode(checkpoint, manifest, out, *extra: str) -> int:
    args = ["decode", str(checkpoint), str(manifest), "--out", str(out), "--no-progress"]
    return main([*args, *LIMITS, *extra])


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _examples(utterances):
    return [
        Example(
            u.id, load_audio(u.audio, u.offset, u.duration), "asr", u.language, u.language, None
        )
        for u in utterances
    ]


def test_the_clis_choices_are_the_librarys():
    assert commands.TASK_CHOICES == DECODE_TASKS == ("asr", "st", "phon")
    assert commands.BRIDGE_CHOICES == BRIDGES == ("two-pass", "one-pass")


@pytest.mark.parametrize("bridge", BRIDGES)
def test_via_phonemes_writes_phones_and_text_in_order_and_resumes(setup, tmp_path, capsys, bridge):
    checkpoint, manifest, utterances = setup
    out = tmp_path / f"{bridge}.jsonl"
    assert _decode(checkpoint, manifest, out, "--task", "asr", "--via-phonemes", bridge) == 0
    assert "decoded 4, skipped 0" in capsys.readouterr().out
    lines = _lines(out)
    assert [r["id"] for r in lines] == [u.id for u in utterances]  # manifest order
    assert all(tuple(r) == (*FIELDS, "phonemes") and r["task"] == "asr" for r in lines)
    assert [r["reference"] for r in lines] == [u.text for u in utterances]
    # the CLI writes what the bridge answers, utterance by utterance
    model, collator, tokenizer = load_decoder(checkpoint)
    answers = decode_via_phonemes(
        model, collator, tokenizer, _examples(utterances), OPTIONS, bridge
    )
    assert [(r["phonemes"], r["hypothesis"]) for r in lines] == [
        (a.phonemes, a.text) for a in answers
    ]
    assert len({r["phonemes"] for r in lines}) >= 2  # the perturbed model writes varied phones

    first = out.read_bytes()
    assert _decode(checkpoint, manifest, out, "--task", "asr", "--via-phonemes", bridge) == 0
    assert "decoded 0, skipped 4" in capsys.readouterr().out and out.read_bytes() == first
    # killed mid-write: the rerun decodes what is missing, one utterance a batch, to the same file
    out.write_bytes(b"".join(first.splitlines(keepends=True)[:2]) + b'{"id": "fr-')
    extra = ("--task", "asr", "--via-phonemes", bridge, "--batch-size", "1")
    assert _decode(checkpoint, manifest, out, *extra) == 0
    assert "decoded 2, skipped 2" in capsys.readouterr().out and out.read_bytes() == first


def test_one_pass_splits_one_answer_and_two_pass_is_the_default(setup, tmp_path):
    checkpoint, manifest, utterances = setup
    two, one = tmp_path / "two.jsonl", tmp_path / "one.jsonl"
    assert _decode(checkpoint, manifest, two, "--task", "asr", "--via-phonemes") == 0
    assert _decode(checkpoint, manifest, one, "--task", "asr", "--via-phonemes", "one-pass") == 0
    model, collator, tokenizer = load_decoder(checkpoint)
    examples = [replace(e, task="phon+asr") for e in _examples(utterances)]
    # one answer per utterance, with twice the length limit (it holds phones and text)
    longer = DecodeOptions(length_base=12, tokens_per_second=6)
    raw = decode(model, collator, tokenizer, examples, longer)
    for line, answer in zip(_lines(one), raw, strict=True):
        phones, _, text = answer.partition("=>")
        assert (line["phonemes"], line["hypothesis"]) == (phones.strip(), text.strip())
    two_pass = decode_via_phonemes(model, collator, tokenizer, _examples(utterances), OPTIONS)
    assert [r["phonemes"] for r in _lines(two)] == [a.phonemes for a in two_pass]
    assert _lines(one) != _lines(two)


def test_a_file_holds_asr_of_one_kind_and_via_phonemes_is_asr_only(setup, tmp_path, capsys):
    checkpoint, manifest, _ = setup
    out = tmp_path / "asr.jsonl"
    assert _decode(checkpoint, manifest, out, "--task", "asr") == 0
    assert "phonemes" not in out.read_text()  # a direct run's lines are as they always were
    capsys.readouterr()
    assert _decode(checkpoint, manifest, out, "--task", "asr", "--via-phonemes") == 1
    assert "holds 4 ASR hypotheses decoded directly, without phonemes" in capsys.readouterr().err
    via = tmp_path / "via.jsonl"
    assert _decode(checkpoint, manifest, via, "--task", "asr", "--via-phonemes", "one-pass") == 0
    assert _decode(checkpoint, manifest, via, "--task", "asr") == 1
    assert "holds 4 ASR hypotheses decoded via phonemes" in capsys.readouterr().err
    assert (
        _decode(checkpoint, manifest, tmp_path / "st.jsonl", "--task", "st", "--via-phonemes") == 1
    )
    assert "--via-phonemes decodes ASR; got --task st" in capsys.readouterr().err


def test_phon_writes_phones_against_the_transcripts_g2p(setup, tmp_path):
    checkpoint, manifest, utterances = setup
    out = tmp_path / "phon.jsonl"
    assert _decode(checkpoint, manifest, out, "--task", "phon") == 0
    lines = _lines(out)
    assert [(r["task"], r["target_language"], r["reference"]) for r in lines] == [
        ("phon", u.language, phonemize(u.text, u.language)) for u in utterances
    ]
    assert (utterances[0].text, lines[0]["reference"]) == ("cuatro", "k wa t ɾ o")  # pinned
    assert all(tuple(r) == FIELDS for r in lines)


def test_the_language_can_be_named_at_test_time(setup, tmp_path):
    checkpoint, manifest, utterances = setup
    model, collator, tokenizer = load_decoder(checkpoint)
    assert not collator.name_source_language  # trained without naming it
    named = with_language_named(collator, True)
    assert named.prompts.render("asr", "ca", "ca") == ("Transcribe the Catalan audio. ", "")
    assert named.prompts.render("phon", "ca", "ca")[0] == (
        "Write the sounds of the Catalan audio as phonemes. "
    )
    assert named.prompts.render("p2g", "ca", "ca")[0] == "Write these sounds as Catalan text: "
    assert with_language_named(collator, False) is collator
    assert with_language_named(named, False).prompts.render("asr", None, "ca")[0] == (
        "Transcribe the audio. "
    )
    plain, by_name = tmp_path / "plain.jsonl", tmp_path / "named.jsonl"
    assert _decode(checkpoint, manifest, plain, "--task", "asr", "--via-phonemes") == 0
    extra = ("--task", "asr", "--via-phonemes", "--language-named")
    assert _decode(checkpoint, manifest, by_name, *extra) == 0
    expected = decode_via_phonemes(model, named, tokenizer, _examples(utterances), OPTIONS)
    assert [r["phonemes"] for r in _lines(by_name)] == [a.phonemes for a in expected]
    assert _lines(by_name) != _lines(plain)  # another prompt, other answers


def test_hypothesis_files_with_and_without_phonemes_read(tmp_path):
    old = tmp_path / "old.jsonl"
    old.write_text(
        '{"id": "ca-1", "task": "asr", "language": "ca", "target_language": "ca", '
        '"hypothesis": "u", "reference": "u"}\n'
        '{"id": "ca-1", "task": "phon", "language": "ca", "target_language": "ca", '
        '"hypothesis": "u", "reference": null}\n'
    )
    assert [h.phonemes for h in read_hypotheses(old)] == [None, None]
    new = tmp_path / "new.jsonl"
    records = [
        Hypothesis(id="a", task="asr", language="ca", target_language="ca", hypothesis="u",
                   reference="un", phonemes="u n"),
        Hypothesis(id="b", task="asr", language="ca", target_language="ca", hypothesis="u"),
    ]  # fmt: skip
    with open(new, "w", encoding="utf-8") as file:
        append_hypotheses(file, records)
    assert read_hypotheses(new) == records
    assert [tuple(r) for r in _lines(new)] == [(*FIELDS, "phonemes"), FIELDS]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(_lines(new)[0] | {"phonemes": 3}) + "\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:1: phonemes must be a string or null, got 3"):
        read_hypotheses(bad)
