"""Two-pass decoding through phones on a tiny model: the first pass is the ``phon`` task's
decoding, the second the ``p2g`` task's on the first's output, and a checkpoint without those
prompts is refused."""

from __future__ import annotations

import pytest
import torch

from unheard.build import build_speech_llm, load_tokenizer
from unheard.data.collate import Example, SpeechCollator, TextExample
from unheard.data.features import feature_extractor_for
from unheard.data.manifest import Utterance
from unheard.data.prompts import Prompts
from unheard.decoding.decode import DecodeOptions, decode, decode_text
from unheard.decoding.decode_manifest import hypothesis_fields
from unheard.decoding.phoneme_bridge import BridgedAnswer, decode_via_phonemes
from unheard.tiny import perturb_trained


@pytest.fixture(scope="module")
def setup(tiny_models):
    config = tiny_models("w2v-bert", "mt5")
    torch.manual_seed(1)
    model = build_speech_llm(config)
    perturb_trained(model)  # random trained parts, perturbed: varied, non-empty answers
    tokenizer = load_tokenizer(config)
    extractor = feature_extractor_for(model.encoder.model.config)
    return model.eval(), SpeechCollator(tokenizer, extractor, True), tokenizer, extractor


def test_two_passes_run_phon_then_p2g_on_its_output(setup, clips):
    model, collator, tokenizer, _ = setup
    examples = [Example(f"u{i}", a, "asr", "ca", "ca", "x") for i, a in enumerate(clips)]
    options = DecodeOptions(batch_size=2, length_base=6, tokens_per_second=4)
    answers = decode_via_phonemes(model, collator, tokenizer, examples, options)
    assert len(answers) == 3 and all(isinstance(a, BridgedAnswer) for a in answers)
    phon = [Example(e.id, e.audio, "phon", "ca", "ca", None) for e in examples]
    assert [a.phonemes for a in answers] == decode(model, collator, tokenizer, phon, options)
    p2g = [
        TextExample(e.id, a.phonemes, "p2g", "ca", "ca", None)
        for e, a in zip(examples, answers, strict=True)
    ]
    assert [a.text for a in answers] == decode_text(model, collator, tokenizer, p2g, 2)
    assert any(a.phonemes for a in answers) and any(a.text for a in answers)


def test_a_checkpoint_without_the_phoneme_prompts_is_refused(setup, clips):
    model, _, tokenizer, extractor = setup
    old = SpeechCollator(
        tokenizer, extractor, True, Prompts({"asr": "Transcribe the audio. <audio>"})
    )
    examples = [Example("u0", clips[0], "asr", "ca", "ca", None)]
    with pytest.raises(ValueError, match=r"lack \['phon', 'p2g'\]"):
        decode_via_phonemes(model, old, tokenizer, examples)


def test_a_phon_hypothesis_is_referenced_by_the_transcripts_phones():
    u = Utterance(id="ca-1", audio="a.wav", duration=1.0, language="ca", text="vint-i-nou")
    assert hypothesis_fields(u, "phon") == ("ca", "b i n t i n ɔ uw")
    assert hypothesis_fields(u, "asr") == ("ca", "vint-i-nou")
