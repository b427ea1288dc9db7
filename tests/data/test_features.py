"""Encoder input features for tiny configs of each family: shapes, masks, batch independence."""

import math

import numpy as np
import pytest
import torch
from transformers import (
    BertConfig,
    HubertConfig,
    SeamlessM4TFeatureExtractor,
    Wav2Vec2BertConfig,
    Wav2Vec2Config,
    Wav2Vec2FeatureExtractor,
    WhisperConfig,
    WhisperFeatureExtractor,
)

from unheard.data.features import extract_features, feature_extractor_for

WHISPER = WhisperConfig(
    num_mel_bins=80,
    max_source_positions=100,  # 200 mel frames = 2 s window
    d_model=32,
    encoder_layers=2,
    encoder_attention_heads=2,
    decoder_layers=1,
    decoder_attention_heads=2,
    encoder_ffn_dim=64,
    decoder_ffn_dim=64,
)
W2V_BERT = Wav2Vec2BertConfig(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    feature_projection_input_dim=160,
    output_hidden_size=32,
)
WAV2VEC2 = Wav2Vec2Config(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    conv_dim=(32, 32),
    conv_stride=(5, 4),
    conv_kernel=(10, 4),
    feat_extract_norm="layer",
)


def _speechlike(samples: int, seed: int) -> np.ndarray:
    """A chirp with noise: enough spectral variety that normalisation is not trivial."""
    t = np.arange(samples) / 16000
    rng = np.random.default_rng(seed)
    chirp = 0.3 * np.sin(2 * np.pi * (200 + 900 * t) * t)
    return (chirp + 0.02 * rng.standard_normal(samples)).astype(np.float32)


def test_extractor_types_and_settings():
    whisper = feature_extractor_for(WHISPER)
    assert isinstance(whisper, WhisperFeatureExtractor)
    assert (whisper.feature_size, whisper.nb_max_frames, whisper.n_samples) == (80, 200, 32000)
    real = feature_extractor_for(WhisperConfig(num_mel_bins=128))  # large-v3 sized
    assert (real.feature_size, real.nb_max_frames, real.n_samples) == (128, 3000, 480000)
    bert = feature_extractor_for(W2V_BERT)
    assert isinstance(bert, SeamlessM4TFeatureExtractor)
    assert (bert.feature_size, bert.num_mel_bins, bert.stride) == (80, 80, 2)
    for config in (WAV2VEC2, HubertConfig(hidden_size=32, num_hidden_layers=1)):
        extractor = feature_extractor_for(config)
        assert isinstance(extractor, Wav2Vec2FeatureExtractor) and extractor.do_normalize


def test_unsupported_config_is_rejected():
    with pytest.raises(ValueError, match="unsupported speech encoder model_type 'bert'"):
        feature_extractor_for(BertConfig())


def test_fractional_whisper_window_is_exact():
    extractor = feature_extractor_for(WhisperConfig(num_mel_bins=80, max_source_positions=64))
    features, mask = extract_features(extractor, [_speechlike(5000, 0)])
    assert features.shape == (1, 80, 128) and mask.shape == (1, 128)


LENGTHS = [8000, 16161, 28000]  # 0.5 s, ~1.01 s, 1.75 s


def test_whisper_shapes_and_mask():
    features, mask = extract_features(
        feature_extractor_for(WHISPER), [_speechlike(n, i) for i, n in enumerate(LENGTHS)]
    )
    assert features.shape == (3, 80, 200) and features.dtype == torch.float32
    assert mask.shape == (3, 200) and mask.dtype == torch.int64
    # Frames whose centred window starts inside the clip: ceil(n / 160).
    assert mask.sum(-1).tolist() == [math.ceil(n / 160) for n in LENGTHS] == [50, 102, 175]
    assert mask[1, :102].all() and not mask[1, 102:].any()


def test_w2v_bert_shapes_and_mask():
    features, mask = extract_features(
        feature_extractor_for(W2V_BERT), [_speechlike(n, i) for i, n in enumerate(LENGTHS)]
    )
    # F = 1 + (n - 400) // 160 fbank frames, two stacked per frame: F // 2 valid.
    fbank = [1 + (n - 400) // 160 for n in LENGTHS]
    assert fbank == [48, 99, 173]
    assert features.shape == (3, 87, 160) and mask.shape == (3, 87)
    assert mask.sum(-1).tolist() == [f // 2 for f in fbank] == [24, 49, 86]
    assert torch.isfinite(features).all()
    # Alone, an odd fbank count leaves a last stacked frame that is half padding, masked out.
    alone, alone_mask = extract_features(feature_extractor_for(W2V_BERT), [_speechlike(16161, 1)])
    assert alone.shape == (1, 50, 160) and alone_mask.sum().item() == 49


def test_wav2vec2_shapes_and_mask():
    features, mask = extract_features(
        feature_extractor_for(WAV2VEC2), [_speechlike(n, i) for i, n in enumerate(LENGTHS)]
    )
    assert features.shape == mask.shape == (3, 28000)
    assert mask.sum(-1).tolist() == LENGTHS
    # Normalised over real samples only; padding stays zero.
    valid = features[0, :8000]
    assert valid.mean().item() == pytest.approx(0.0, abs=1e-5)
    assert valid.std().item() == pytest.approx(1.0, abs=1e-3)
    assert (features[0, 8000:] == 0).all()


@pytest.mark.parametrize("config", [WHISPER, W2V_BERT, WAV2VEC2], ids=lambda c: c.model_type)
def test_features_alone_equal_features_in_a_padded_batch(config):
    extractor = feature_extractor_for(config)
    clips = [_speechlike(n, i) for i, n in enumerate(LENGTHS)]
    batch, batch_mask = extract_features(extractor, clips)
    for index, clip in enumerate(clips):
        alone, alone_mask = extract_features(extractor, [clip])
        valid = int(alone_mask.sum())
        assert int(batch_mask[index].sum()) == valid
        if config.model_type == "whisper":  # (batch, n_mels, frames): time is the last axis
            torch.testing.assert_close(
                batch[index, :, :valid], alone[0, :, :valid], atol=1e-5, rtol=1e-5
            )
        else:  # (batch, frames, dim) or (batch, samples): time is axis 1
            torch.testing.assert_close(batch[index, :valid], alone[0, :valid], atol=1e-5, rtol=1e-5)


def test_whisper_rejects_clips_longer_than_its_window():
    with pytest.raises(ValueError, match="longer than the Whisper encoder's 2.00 s window"):
        extract_features(feature_extractor_for(WHISPER), [_speechlike(32001, 0)])


def test_bad_batches_are_rejected():
    with pytest.raises(ValueError, match="empty batch"):
        extract_features(feature_extractor_for(WAV2VEC2), [])
    with pytest.raises(ValueError, match="mono"):
        extract_features(feature_extractor_for(WAV2VEC2), [np.zeros((2, 100), np.float32)])
    with pytest.raises(ValueError, match="at least 560"):
        extract_features(feature_extractor_for(W2V_BERT), [_speechlike(500, 0)])
    with pytest.raises(ValueError, match="unsupported feature extractor"):
        extract_features(object(), [_speechlike(500, 0)])
