"""Whisper on the audio's own length (``whisper_real_length``) pinned to transformers' own
full-window forward: our loop re-implements ``WhisperEncoder.forward`` (which refuses any other
length and has no attention mask, so no public API does this), and the GPU machine runs another
transformers version than this one. Pinned on a tiny Whisper and on Whisper base's real weights,
directly and through the encoder cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unheard.build import build_speech_llm
from unheard.config import ModelConfig
from unheard.data.features import extract_features, feature_extractor_for
from unheard.encoder_cache import (
    CachedSpeechEncoder,
    EncoderCache,
    EncoderCacheOptions,
    encoder_identity,
)
from unheard.encoders import whisper_window
from unheard.model.encoder import SpeechEncoder

ENCODERS = {
    "tiny": "tiny:whisper",
    # ~33 s on 2 CPU cores: two 30 s windows through Whisper base, four times
    "whisper-base": pytest.param("openai/whisper-base", marks=pytest.mark.slow),
}


def _speech_filling_the_window(clips, samples: int) -> np.ndarray:
    # real speech, clip after clip, to exactly the window's end (no padding anywhere)
    return np.resize(np.concatenate(clips), samples).astype(np.float32)


@pytest.mark.parametrize("encoder", ENCODERS.values(), ids=ENCODERS)
def test_real_length_equals_the_full_window_on_every_hidden_state(encoder, clips):
    config = ModelConfig(encoder=encoder, llm="tiny:mt5")
    torch.manual_seed(0)
    model = build_speech_llm(config).eval()
    window = whisper_window(model.encoder.model.config)
    extractor = feature_extractor_for(model.encoder.model.config)
    full = _speech_filling_the_window(clips, window.samples)
    # the full clip beside a short one: the real-length path pads the short one and masks it
    features, mask = extract_features(extractor, [full, clips[0]])
    plain = model.encoder  # transformers' WhisperEncoder.forward on the 30 s window
    real = SpeechEncoder(plain.model, whisper_real_length=True)
    with torch.no_grad():
        expected = plain(features, mask)
        got = real(features, mask)
    assert expected.lengths.tolist()[0] == got.lengths.tolist()[0] == window.positions
    assert len(got.hidden_states) == len(expected.hidden_states) == plain.num_hidden_states
    for i, (a, b) in enumerate(zip(got.hidden_states, expected.hidden_states, strict=True)):
        # every state of the full clip, the last one layer-normalised as transformers returns it
        scale = b[0].abs().max().item()
        torch.testing.assert_close(a[0], b[0], atol=2e-5 * max(1.0, scale), rtol=1e-4,
                                   msg=lambda m, i=i: f"hidden state {i}: {m}")  # fmt: skip
    # both paths again with the encoder cache in between: the same states, stored and read back
    for encoder, reference in ((plain, expected), (real, got)):
        cache = EncoderCache(encoder_identity(encoder), EncoderCacheOptions(dtype="float32"))
        cached = CachedSpeechEncoder(encoder, cache)
        cached(features, mask)
        again = cached(features, mask)
        assert (cache.stats.hits, cache.stats.misses) == (2, 2)
        assert again.lengths.tolist() == reference.lengths.tolist()
        for a, b in zip(again.hidden_states, reference.hidden_states, strict=True):
            for row, n in enumerate(reference.lengths.tolist()):
                torch.testing.assert_close(a[row, :n], b[row, :n], atol=0, rtol=0)
