"""load_audio: down-mixing, resampling, offsets, and errors on missing, empty and corrupt files."""

import numpy as np
import pytest
import soundfile

from unheard.data.audio import load_audio


@pytest.fixture
def stereo_44k(tmp_path):
    """1.5 s of 44.1 kHz stereo: a 440 Hz tone at 0.5 on the left, a constant 0.25 on the right."""
    rate = 44100
    t = np.arange(int(1.5 * rate)) / rate
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    right = np.full_like(t, 0.25)
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([left, right], axis=1), rate, subtype="FLOAT")
    return path, left, right


def test_stereo_44k_is_down_mixed_and_resampled_to_16k(stereo_44k):
    path, left, right = stereo_44k
    waveform = load_audio(path)
    assert waveform.dtype == np.float32 and waveform.ndim == 1
    assert abs(len(waveform) - 1.5 * 16000) <= 1
    # The mean of the channels: a 0.25 tone around 0.125 (away from the resampler's edges).
    middle = waveform[4000:20000]
    assert middle.mean() == pytest.approx(0.125, abs=2e-3)
    assert middle.max() == pytest.approx(0.375, abs=5e-3)
    assert middle.min() == pytest.approx(-0.125, abs=5e-3)


def test_native_rate_is_returned_unresampled(stereo_44k):
    path, left, right = stereo_44k
    waveform = load_audio(path, sample_rate=44100)
    np.testing.assert_allclose(waveform, ((left + right) / 2).astype(np.float32), atol=1e-6)


def test_offset_and_duration_select_a_stretch(stereo_44k):
    path, left, right = stereo_44k
    stretch = load_audio(path, offset=0.5, duration=0.25, sample_rate=44100)
    expected = ((left + right) / 2)[22050 : 22050 + 11025].astype(np.float32)
    np.testing.assert_allclose(stretch, expected, atol=1e-6)
    # A stretch running past the end is cut at the end.
    assert len(load_audio(path, offset=1.25, duration=10.0)) == pytest.approx(0.25 * 16000, abs=1)


def test_offset_past_the_end_is_an_error(stereo_44k):
    path, _, _ = stereo_44k
    with pytest.raises(ValueError, match="past the end"):
        load_audio(path, offset=2.0)


def test_mono_16k_flac_is_read_exactly(tmp_path):
    samples = (np.random.default_rng(0).integers(-2000, 2000, 8000) / 32768).astype(np.float32)
    path = tmp_path / "mono.flac"
    soundfile.write(path, samples, 16000, subtype="PCM_16")
    np.testing.assert_array_equal(load_audio(path), samples)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_audio(tmp_path / "missing.wav")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.touch()
    with pytest.raises(ValueError, match="empty"):
        load_audio(path)


def test_wav_without_samples(tmp_path):
    path = tmp_path / "silent.wav"
    soundfile.write(path, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(ValueError, match="no samples"):
        load_audio(path)


def test_undecodable_file_wraps_the_decoder_error(tmp_path):
    path = tmp_path / "noise.wav"
    path.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(ValueError, match="cannot decode") as error:
        load_audio(path)
    assert isinstance(error.value.__cause__, soundfile.SoundFileError)
