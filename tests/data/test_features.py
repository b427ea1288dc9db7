"""Encoder input features of each family: shapes, masks, batch independence, and equality with
transformers' feature extractors on espeak-ng speech, noise and tones."""

import json
import math

import numpy as np
import pytest
import torch
from transformers import (
    AutoConfig,
    BertConfig,
    HubertConfig,
    SeamlessM4TFeatureExtractor,
    Wav2Vec2BertConfig,
    Wav2Vec2Config,
    Wav2Vec2FeatureExtractor,
    WhisperConfig,
    WhisperFeatureExtractor,
)

from unheard.data.fbank import W2vBertFbank
from unheard.data.features import (
    WaveformNorm,
    extract_features,
    feature_extractor_for,
    transformers_extractor_for,
)
from unheard.data.log_mel import WhisperLogMel
from unheard.tiny import encoder_config

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


def _noise(samples: int, seed: int, scale: float = 0.1) -> np.ndarray:
    return (scale * np.random.default_rng(seed).standard_normal(samples)).astype(np.float32)


def _tone(samples: int, hz: float, amplitude: float = 0.5, phase: float = 0.0) -> np.ndarray:
    t = np.arange(samples) / 16000
    return (amplitude * np.sin(2 * np.pi * hz * t + phase)).astype(np.float32)


def _tiled(clip: np.ndarray, samples: int) -> np.ndarray:
    """Speech repeated to exactly `samples` samples."""
    return np.tile(clip, samples // len(clip) + 1)[:samples]


def _max_difference(config, waveforms) -> float:
    """Largest |ours - transformers| on valid frames; shapes and masks must be identical."""
    ours, ours_mask = extract_features(feature_extractor_for(config), waveforms)
    reference, reference_mask = extract_features(transformers_extractor_for(config), waveforms)
    assert ours.shape == reference.shape and ours.dtype == reference.dtype == torch.float32
    assert torch.equal(ours_mask, reference_mask) and ours_mask.dtype == torch.int64
    valid = ours_mask.bool()
    if config.model_type == "whisper":  # (batch, n_mels, frames): time is the last axis
        valid = valid[:, None, :].expand_as(ours)
    elif ours.dim() == 3:  # (batch, frames, dim)
        valid = valid[..., None].expand_as(ours)
    assert torch.isfinite(ours[valid]).all()
    return (ours - reference)[valid].abs().max().item()


def test_extractor_types_and_settings():
    whisper = feature_extractor_for(WHISPER)
    assert isinstance(whisper, WhisperLogMel)
    assert (whisper.n_mels, whisper.window_frames, whisper.window_samples) == (80, 200, 32000)
    real = feature_extractor_for(WhisperConfig(num_mel_bins=128))  # large-v3 sized
    assert (real.n_mels, real.window_frames, real.window_samples) == (128, 3000, 480000)
    bert = feature_extractor_for(W2V_BERT)
    assert isinstance(bert, W2vBertFbank)
    assert (bert.n_mels, bert.stride, bert.padding_value) == (80, 2, 1.0)
    for config in (WAV2VEC2, HubertConfig(hidden_size=32, num_hidden_layers=1)):
        assert feature_extractor_for(config) == WaveformNorm(do_normalize=True, padding_value=0.0)


def test_transformers_extractor_types_and_settings():
    whisper = transformers_extractor_for(WHISPER)
    assert isinstance(whisper, WhisperFeatureExtractor)
    assert (whisper.feature_size, whisper.nb_max_frames, whisper.n_samples) == (80, 200, 32000)
    real = transformers_extractor_for(WhisperConfig(num_mel_bins=128))
    assert (real.feature_size, real.nb_max_frames, real.n_samples) == (128, 3000, 480000)
    bert = transformers_extractor_for(W2V_BERT)
    assert isinstance(bert, SeamlessM4TFeatureExtractor)
    assert (bert.feature_size, bert.num_mel_bins, bert.stride, bert.padding_value) == (80, 80, 2, 1)
    extractor = transformers_extractor_for(WAV2VEC2)
    assert isinstance(extractor, Wav2Vec2FeatureExtractor) and extractor.do_normalize


def test_unsupported_config_is_rejected():
    for build in (feature_extractor_for, transformers_extractor_for):
        with pytest.raises(ValueError, match="unsupported speech encoder model_type 'bert'"):
            build(BertConfig())


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
    # Padding holds padding_value 1.0, from the first fbank frame after each utterance's end.
    assert (features[0].reshape(-1, 80)[48:] == 1.0).all()
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
def test_features_alone_equal_features_in_a_padded_batch(config, clips):
    extractor = feature_extractor_for(config)
    waveforms = [_speechlike(n, i) for i, n in enumerate(LENGTHS)]
    waveforms += [clips[0], _tone(9999, 440.0), _noise(561, 7)]
    batch, batch_mask = extract_features(extractor, waveforms)
    for index, clip in enumerate(waveforms):
        alone, alone_mask = extract_features(extractor, [clip])
        valid = int(alone_mask.sum())
        assert int(batch_mask[index].sum()) == valid
        if config.model_type == "whisper":  # (batch, n_mels, frames): time is the last axis
            torch.testing.assert_close(
                batch[index, :, :valid], alone[0, :, :valid], atol=1e-5, rtol=1e-5
            )
        else:  # (batch, frames, dim) or (batch, samples): time is axis 1
            torch.testing.assert_close(batch[index, :valid], alone[0, :valid], atol=1e-5, rtol=1e-5)


# Equality with transformers' extractors. Observed on CPU (torch 2.13, transformers 5.24): 2.4e-7
# for Whisper (one float32 ulp), 0.0 for wav2vec2; for w2v-BERT 0.0 on speech, 4e-6 on random
# tones, and 2e-4 on a tone whose frames repeat exactly (1000 Hz: 10 periods per hop), whose bins
# are constant and normalised from float32 rounding noise.


@pytest.mark.parametrize("n_mels", [80, 128])
def test_whisper_equals_transformers_on_a_30_s_window(n_mels, clips):
    config = WhisperConfig(num_mel_bins=n_mels)  # 1500 positions: 3000 frames, 480000 samples
    waveforms = [
        *clips,
        _tiled(clips[2], 480000),  # the whole window: its end is reflected
        _tiled(clips[1], 479850) + _noise(479850, 1, 0.01),  # reflection reaches the clip
        _tone(479700, 3000.0, 0.2),
        _noise(1, 2),  # one sample
        _noise(199, 3),  # shorter than the reflect padding
        _noise(201, 4),
        _tone(16001, 440.0),
        _tiled(clips[0], 160 * 777 + 77),  # odd length
    ]
    assert _max_difference(config, waveforms) <= 1e-5


def test_whisper_equals_transformers_on_a_tiny_window(clips):
    config = encoder_config("whisper")  # 150 positions: 300 frames = 3 s
    assert feature_extractor_for(config).window_samples == 48000
    waveforms = [
        clips[0],
        clips[1][:48000],
        _tiled(clips[2], 48000),
        _tiled(clips[2], 47999),
        _noise(47850, 5),
        _noise(161, 6),
        _tone(3333, 1000.0),
    ]
    assert _max_difference(config, waveforms) <= 1e-5


def test_w2v_bert_equals_transformers(clips):
    waveforms = [
        *clips,
        _noise(16001, 8),
        _noise(560, 9),  # the shortest clip: two frames
        _noise(561, 10),
        _noise(719, 11),
        _noise(720, 12),  # three frames
        _speechlike(30000, 13),
        _tone(24000, 440.0),  # leakage bins 1e10 under the peak: needs a float64 FFT
        _tone(20000, 1000.0),  # identical frames: constant bins
        _tone(9999, 3000.0, amplitude=0.001),
        _tiled(clips[1], 160 * 301 + 13) + _tone(160 * 301 + 13, 125.0, 0.05),
    ]
    assert _max_difference(W2V_BERT, waveforms) <= 1e-3


def test_w2v_bert_equals_transformers_on_random_tones():
    rng = np.random.default_rng(14)
    waveforms = [
        _tone(int(n), hz, amplitude, phase)
        for n, hz, amplitude, phase in zip(
            rng.integers(560, 40000, 12),
            rng.uniform(50, 7900, 12),
            rng.uniform(0.001, 0.9, 12),
            rng.uniform(0, 6, 12),
            strict=True,
        )
    ]
    assert _max_difference(W2V_BERT, waveforms) <= 1e-3


def test_wav2vec2_equals_transformers(clips):
    waveforms = [
        *clips,
        _noise(1, 15),
        _noise(2, 16),
        _noise(16001, 17) + 0.3,  # a DC offset
        _tone(12345, 220.0),
        np.zeros(400, np.float32),  # silence: variance 0
    ]
    assert _max_difference(WAV2VEC2, waveforms) <= 1e-5


def test_checkpoint_preprocessor_config_is_used(tmp_path):
    # A wav2vec2 checkpoint that was trained on raw waveforms (do_normalize false).
    Wav2Vec2FeatureExtractor(do_normalize=False, padding_value=0.0).save_pretrained(tmp_path)
    WAV2VEC2.save_pretrained(tmp_path)
    config = AutoConfig.from_pretrained(tmp_path)
    assert feature_extractor_for(config) == WaveformNorm(do_normalize=False, padding_value=0.0)
    waveform = _speechlike(4000, 0)
    features, mask = extract_features(feature_extractor_for(config), [waveform])
    np.testing.assert_array_equal(features[0].numpy(), waveform)
    assert _max_difference(config, [waveform, _noise(999, 1)]) == 0.0


def test_checkpoint_w2v_bert_padding_value_is_used(tmp_path):
    SeamlessM4TFeatureExtractor(padding_value=0.5).save_pretrained(tmp_path)
    W2V_BERT.save_pretrained(tmp_path)
    config = AutoConfig.from_pretrained(tmp_path)
    assert feature_extractor_for(config).padding_value == 0.5
    features, _ = extract_features(feature_extractor_for(config), [_noise(800, 0), _noise(2000, 1)])
    assert (features[0, -1] == 0.5).all()


def test_checkpoint_that_does_not_fit_is_rejected(tmp_path):
    WhisperFeatureExtractor(feature_size=128).save_pretrained(tmp_path / "mels")
    WHISPER.save_pretrained(tmp_path / "mels")  # 80 mel bins
    with pytest.raises(ValueError, match="feature_size is 128, but this encoder needs 80"):
        feature_extractor_for(AutoConfig.from_pretrained(tmp_path / "mels"))
    Wav2Vec2FeatureExtractor().save_pretrained(tmp_path / "kind")
    WHISPER.save_pretrained(tmp_path / "kind")
    with pytest.raises(ValueError, match="describes a Wav2Vec2FeatureExtractor"):
        feature_extractor_for(AutoConfig.from_pretrained(tmp_path / "kind"))
    WhisperFeatureExtractor(feature_size=80, dither=1e-4).save_pretrained(tmp_path / "dither")
    WHISPER.save_pretrained(tmp_path / "dither")
    config = AutoConfig.from_pretrained(tmp_path / "dither")
    assert transformers_extractor_for(config).dither == 1e-4  # the reference can dither
    with pytest.raises(ValueError, match="dither is 0.0001, but this encoder needs 0.0"):
        feature_extractor_for(config)


def test_a_saved_model_without_preprocessor_config_gets_the_defaults(tmp_path):
    WHISPER.save_pretrained(tmp_path)
    config = AutoConfig.from_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["num_mel_bins"] == 80
    assert feature_extractor_for(config).window_frames == 200


@pytest.mark.parametrize("build", [feature_extractor_for, transformers_extractor_for])
def test_whisper_rejects_clips_longer_than_its_window(build):
    with pytest.raises(ValueError, match="longer than the Whisper encoder's 2.00 s window"):
        extract_features(build(WHISPER), [_speechlike(32001, 0)])


@pytest.mark.parametrize("build", [feature_extractor_for, transformers_extractor_for])
def test_bad_batches_are_rejected(build):
    with pytest.raises(ValueError, match="empty batch"):
        extract_features(build(WAV2VEC2), [])
    with pytest.raises(ValueError, match="mono"):
        extract_features(build(WAV2VEC2), [np.zeros((2, 100), np.float32)])
    with pytest.raises(ValueError, match="at least 560"):
        extract_features(build(W2V_BERT), [_speechlike(500, 0)])
    with pytest.raises(ValueError, match="unsupported feature extractor"):
        extract_features(object(), [_speechlike(500, 0)])


def test_front_ends_validate_their_settings():
    filters = feature_extractor_for(WHISPER).mel_filters
    with pytest.raises(ValueError, match=r"do not fit n_fft 512: expected \(257, n_mels\)"):
        WhisperLogMel(filters, window_frames=200, n_fft=512)
    with pytest.raises(ValueError, match="too short to reflect-pad"):
        WhisperLogMel(filters, window_frames=1)
    bert = feature_extractor_for(W2V_BERT)
    with pytest.raises(ValueError, match="stride 3 is not supported"):
        W2vBertFbank(bert.mel_filters, bert.window, stride=3)


def test_the_data_side_does_not_import_the_model_side():
    # data and model sit side by side: the front-ends learn an encoder's family, sample rate and
    # Whisper window from unheard.encoders, below both (they imported unheard.model.encoder)
    import subprocess
    import sys

    code = (
        "import sys, unheard.data.features, unheard.data.collate, unheard.data.loading; "
        "print(sorted(m for m in sys.modules if m.startswith('unheard.model')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
