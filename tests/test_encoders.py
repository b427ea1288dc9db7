"""The encoder-family table: families, Whisper's window in every unit, one sample rate."""

from __future__ import annotations

import pytest
from transformers import BertConfig, HubertConfig, Wav2Vec2BertConfig, WhisperConfig

from unheard.data.features import feature_extractor_for, transformers_extractor_for
from unheard.encoders import SAMPLE_RATE, WhisperWindow, encoder_family, whisper_window
from unheard.model.encoder import SpeechEncoder
from unheard.tiny import encoder_config


def test_families_of_configs():
    assert encoder_family(WhisperConfig()) == "whisper"
    assert encoder_family(Wav2Vec2BertConfig()) == "w2v-bert"
    assert encoder_family(HubertConfig()) == "wav2vec2"
    with pytest.raises(ValueError, match="unsupported speech encoder model_type 'bert'"):
        encoder_family(BertConfig())
    with pytest.raises(ValueError, match="no Whisper window"):
        whisper_window(HubertConfig())


def test_the_whisper_window_is_the_same_for_features_and_encoder():
    # the released checkpoints: 1500 positions, 3000 mel frames, 30 s at 16 kHz
    assert SAMPLE_RATE == 16000
    window = whisper_window(WhisperConfig())
    assert window == WhisperWindow(positions=1500, mel_frames=3000, samples=480_000)
    assert window.seconds == 30.0
    # a tiny one: the front-ends and the encoder agree on it
    from transformers import WhisperModel

    config = encoder_config("whisper")
    tiny = whisper_window(config)
    assert (tiny.positions, tiny.mel_frames, tiny.samples, tiny.seconds) == (150, 300, 48000, 3.0)
    ours, reference = feature_extractor_for(config), transformers_extractor_for(config)
    assert (ours.window_frames, ours.window_samples) == (tiny.mel_frames, tiny.samples)
    assert (reference.nb_max_frames, reference.n_samples) == (tiny.mel_frames, tiny.samples)
    assert reference.chunk_length == tiny.seconds
    encoder = SpeechEncoder(WhisperModel(config).get_encoder())
    assert encoder.whisper_input_frames == tiny.mel_frames
