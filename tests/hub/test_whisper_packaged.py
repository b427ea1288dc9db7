"""The packaged Whisper base, converted from CTranslate2, is the real model: it transcribes and
identifies languages with its own decoder, and it loads offline through ``build_speech_llm``.

The sentences were checked against CTranslate2 itself running the same packaged ``model.bin``:
it produced the same transcripts and language ranking (encoder outputs agree to 8e-4 of 24).
The first run converts the model into the user's unheard cache (1-3 s on 2 cores, ~15 s when
they are busy); later runs reuse it.
"""

from __future__ import annotations

import os
import re
import time

import pytest
import torch
from huggingface_hub import constants
from transformers import WhisperForConditionalGeneration, WhisperProcessor

from unheard.build import build_speech_llm
from unheard.config import ModelConfig
from unheard.data.espeak import synthesize
from unheard.hub import packaged_model, resolve

for _distribution in packaged_model("openai/whisper-base").missing():
    pytest.skip(
        f"{_distribution} is not installed (pip install 'unheard[offline]')",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def offline():
    # no hub for the whole module, whatever the machine: the packaged copy must be what loads
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(constants, "HF_HUB_OFFLINE", True)
        yield


@pytest.fixture(scope="module")
def whisper_dir(offline) -> str:
    """The converted model in the user's unheard cache: converted once per machine."""
    return resolve("openai/whisper-base")


@pytest.fixture(scope="module")
def whisper(whisper_dir):
    model = WhisperForConditionalGeneration.from_pretrained(whisper_dir).eval()
    return model, WhisperProcessor.from_pretrained(whisper_dir)


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def test_resolver_returns_the_cached_directory_without_rebuilding(whisper_dir, offline):
    weights = f"{whisper_dir}/model.safetensors"
    before = os.stat(weights).st_mtime_ns
    start = time.perf_counter()
    again = resolve("openai/whisper-base")
    alias = resolve("offline:whisper-base")
    assert again == alias == whisper_dir
    assert time.perf_counter() - start < 2.0
    assert os.stat(weights).st_mtime_ns == before


def test_converted_files_load_as_the_hub_ones_do(whisper_dir):
    from transformers import AutoFeatureExtractor, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(whisper_dir)
    assert len(tokenizer) == 51865  # text, special and timestamp tokens: the model's vocab
    assert tokenizer.convert_tokens_to_ids("<|0.00|>") == 50364
    features = AutoFeatureExtractor.from_pretrained(whisper_dir)
    assert features.feature_size == 80 and features.sampling_rate == 16000


def test_transcribes_english_speech_with_its_own_decoder(whisper):
    model, processor = whisper
    text = "hello world, how are you today"
    audio = synthesize(text, "en")
    features = processor(audio, sampling_rate=16000, return_tensors="pt").input_features
    with torch.no_grad():
        ids = model.generate(features, language="en", task="transcribe", max_new_tokens=30)
    transcript = processor.batch_decode(ids, skip_special_tokens=True)[0]
    assert _words(transcript) == _words(text)  # the model says "Hello world, how are you today?"


def test_identifies_the_language_from_the_first_decoder_step(whisper):
    model, processor = whisper
    clips = {
        "es": "nosotros vamos al mercado todos los sábados para comprar verduras",
        "de": "wir gehen jeden Samstag auf den Markt, um Gemüse zu kaufen",
        "fr": "le chien mange du pain dans la maison",
    }
    audio = [synthesize(text, lang) for lang, text in clips.items()]
    features = processor(audio, sampling_rate=16000, return_tensors="pt").input_features
    lang_to_id = model.generation_config.lang_to_id
    start = torch.full((len(audio), 1), model.config.decoder_start_token_id)
    with torch.no_grad():
        logits = model(input_features=features, decoder_input_ids=start).logits[:, -1]
    # (batch, languages): what <|startoftranscript|> predicts next, over the language tokens
    probs = logits[:, list(lang_to_id.values())].softmax(-1)
    detected = [list(lang_to_id)[i] for i in probs.argmax(-1)]
    assert detected == [f"<|{lang}|>" for lang in clips]
    assert (probs.max(-1).values > 0.8).all()  # measured: es 0.96, de 0.98, fr 0.92


def test_build_speech_llm_loads_the_packaged_encoder_offline(offline, whisper):
    _, processor = whisper
    model = build_speech_llm(ModelConfig(encoder="openai/whisper-base", llm="tiny:mt5"))
    assert model.encoder.hidden_size == 512 and model.encoder.num_hidden_states == 7
    audio = synthesize("uno dos tres", "es")
    inputs = processor(audio, sampling_rate=16000, return_tensors="pt", return_attention_mask=True)
    out = model.encoder(inputs.input_features, inputs.attention_mask)
    assert len(out.hidden_states) == 7  # embeddings + 6 layers
    assert out.hidden_states[-1].shape == (1, 1500, 512)
    assert abs(out.lengths.item() - len(audio) / 320) <= 1  # 20 ms frames of real audio
