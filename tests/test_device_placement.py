"""Every batch reaches the model on the model's device: a training step, a validation, a decode
(speech and text) and a served request, for encoder-decoder and decoder-only LLMs, with and
without the encoder cache and text-only examples.

This CPU-only machine has no second device that computes, so the model is moved to the ``meta``
device (shapes, no data): a loop that forgets to move its batch hands the model CPU tensors. The
model's first step after its entry check (``prompt_segments``, the first computation, which meta
tensors cannot run: packing reads lengths) is replaced by a probe that records where each input
is and stops. Everything before it — the loader, the recipe's step, validation, the decoder, the
API and the server's batcher, and the model's own entry check — is the real code.
``benchmarks/gpu.py`` is the end-to-end proof on a real GPU.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import soundfile
import torch
from fastapi.testclient import TestClient
from transformers import PreTrainedModel

from unheard.data.collate import Example, TextExample
from unheard.data.synth import SynthOptions, build_synth_corpus
from unheard.decoding.decode import DecodeOptions, decode, decode_text
from unheard.model.speech_llm import SpeechLLM
from unheard.recipes.steps import Window, micro_step, validate_and_keep_best
from unheard.recipes.train import setup
from unheard.recipes.train_config import load_train_config
from unheard.serving.api import SpeechToText
from unheard.serving.server import create_app

REPO = Path(__file__).resolve().parents[1]


class Reached(Exception):
    """The probe's stop: the model was called, and these are the devices of its inputs."""

    def __init__(self, devices: dict[str, str]) -> None:
        super().__init__(devices)
        self.devices = devices


@pytest.fixture
def probe(monkeypatch):
    """Replace the model's first computation with a recorder; returns the list of calls."""
    calls: list[dict[str, str]] = []

    def record(self, *args, **kwargs):
        names = ["prefix_ids", "prefix_mask", "suffix_ids", "suffix_mask", "features"]
        names += ["feature_mask", "speech_rows", "text_ids", "text_mask"]
        given = {**dict(zip(names, args, strict=False)), **kwargs}
        devices = {k: v.device.type for k, v in given.items() if isinstance(v, torch.Tensor)}
        calls.append(devices)
        raise Reached(devices)

    monkeypatch.setattr(SpeechLLM, "prompt_segments", record)
    # transformers' hub kernels (on by default when `kernels` is installed) re-kernelize every
    # model on `train()`/`eval()`, which refuses the meta device; the CPU runs none of them
    monkeypatch.setattr(PreTrainedModel, "use_kernels", property(lambda self: False))
    return calls


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    options = SynthOptions(languages=("en", "es"), per_language=6, text_per_language=20)
    return build_synth_corpus(tmp_path_factory.mktemp("synth"), options).out_dir


CASES = {
    "encoder-decoder": ("tiny:mt5", "", False),
    "decoder-only, encoder cache, text": ("tiny:qwen2", "memory", True),
    "encoder-decoder, encoder cache, text": ("tiny:mt5", "memory", True),
}


def _run(corpus: Path, out: Path, llm: str, cache: str, text: bool):
    overrides = [
        f"data.train=[{corpus}/unheard-synth_*_train.jsonl.gz]",
        f"data.dev=[{corpus}/unheard-synth_*_dev.jsonl.gz]",
        f"model.llm={llm}",
        f"run.encoder_cache={cache}",
        f"run.output_dir={out}",
        "run.progress=false",
        "run.validate_utterances=1",
    ]
    if text:
        overrides += [f"data.text=[{corpus}/text/*_train.jsonl]", "data.text_weight=0.5"]
        overrides += [f"data.text_dev=[{corpus}/text/*_dev.jsonl]"]
    run = setup(load_train_config(REPO / "configs/tiny.yaml", overrides))
    run.unwrapped.to("meta")  # "the GPU": where the model is and the collator's CPU batch is not
    return run


@pytest.mark.parametrize("case", CASES)
def test_a_training_step_and_a_validation_move_their_batches(corpus, tmp_path, probe, case):
    llm, cache, text = CASES[case]
    run = _run(corpus, tmp_path, llm, cache, text)
    batches = iter(run.loader)
    batch = next(batches)
    while text and batch.text_ids is None:  # a batch that mixes text-only items in
        batch = next(batches)
    with pytest.raises(Reached):
        micro_step(run, batch, Window())
    with pytest.raises(Reached):
        validate_and_keep_best(run)
    assert len(probe) == 2
    for devices in probe:
        assert set(devices.values()) == {"meta"}, devices
    assert {"features", "prefix_ids", "suffix_ids"} <= set(probe[0])
    if text:
        assert "text_ids" in probe[0]


def _decoder(tiny_models, llm):
    from unheard.build import build_speech_llm, load_tokenizer
    from unheard.data.collate import SpeechCollator
    from unheard.data.features import feature_extractor_for

    config = tiny_models("w2v-bert", llm)
    model = build_speech_llm(config).to("meta")
    tokenizer = load_tokenizer(config)
    extractor = feature_extractor_for(model.encoder.model.config)
    return model, SpeechCollator(tokenizer, extractor, model.is_encoder_decoder), tokenizer


@pytest.mark.parametrize("llm", ["mt5", "qwen2"])
def test_decoding_speech_and_text_moves_its_batches(tiny_models, clips, probe, llm):
    model, collator, tokenizer = _decoder(tiny_models, llm)
    speech = [Example("a", clips[0], "asr", "en", "en", None)]
    text = [TextExample("t", "uno", "translate", "es", "en", None)]
    with pytest.raises(Reached):
        decode(model, collator, tokenizer, speech, DecodeOptions())
    with pytest.raises(Reached):
        decode_text(model, collator, tokenizer, text)
    assert [set(d.values()) for d in probe] == [{"meta"}, {"meta"}]


def test_the_api_and_a_served_request_move_their_batches(tiny_models, clips, probe):
    stt = SpeechToText(*_decoder(tiny_models, "mt5"))
    wav = io.BytesIO()
    soundfile.write(wav, clips[0], 16000, format="WAV")
    with pytest.raises(Reached):
        stt.transcribe(clips[0], sample_rate=16000)
    with TestClient(create_app(stt), raise_server_exceptions=False) as client:
        response = client.post(
            "/v1/audio/transcriptions",
            files={"file": ("a.wav", wav.getvalue(), "audio/wav")},
            data={"model": "unheard"},
        )
    assert response.status_code == 500, response.text  # the probe stopped the model
    assert [set(d.values()) for d in probe] == [{"meta"}, {"meta"}]
