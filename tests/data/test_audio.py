"""load_audio and audio_info: every format, down-mixing, resampling, offsets, and errors."""

import subprocess

import numpy as np
import pytest
import soundfile

from unheard.data import audio as audio_module
from unheard.data.audio import audio_info, load_audio


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


# Each format as a corpus ships it: (suffix, rate, how it is written).
FORMATS = {
    ".wav": (16000, None),  # FLEURS
    ".flac": (16000, None),  # MLS
    ".ogg": (16000, None),  # VoxPopuli (Vorbis)
    ".opus": (48000, "libopus"),  # MLS opus
    ".mp3": (48000, "libmp3lame"),  # Common Voice, CoVoST 2
    ".m4a": (44100, "aac"),  # Europarl-ST; libsndfile cannot read it: decoded by ffmpeg
}


@pytest.fixture(scope="module")
def encoded(tmp_path_factory):
    """1.5 s of stereo in every format: a 440 Hz tone at 0.5 on the left, silence on the right."""
    folder = tmp_path_factory.mktemp("formats")
    files = {}
    for suffix, (rate, codec) in FORMATS.items():
        t = np.arange(round(1.5 * rate)) / rate
        stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), np.zeros_like(t)], axis=1)
        path = folder / f"tone{suffix}"
        if codec is None:
            soundfile.write(path, stereo, rate, format="OGG" if suffix == ".ogg" else None)
        else:
            wav = folder / f"source-{rate}.wav"
            soundfile.write(wav, stereo, rate, subtype="FLOAT")
            command = ["ffmpeg", "-nostdin", "-y", "-v", "error", "-i", str(wav), "-c:a", codec]
            subprocess.run([*command, str(path)], check=True)
        files[suffix] = path
    return files


@pytest.mark.parametrize("suffix", list(FORMATS))
def test_every_format_decodes_to_the_mono_tone_at_16k(encoded, suffix):
    waveform = load_audio(encoded[suffix])
    assert waveform.dtype == np.float32 and waveform.ndim == 1
    assert len(waveform) / 16000 == pytest.approx(1.5, abs=0.05)
    # The channel mean: a 0.25 tone (lossy codecs move peaks by a few percent).
    middle = waveform[4000:20000]
    assert np.abs(middle).max() == pytest.approx(0.25, abs=0.02)
    spectrum = np.abs(np.fft.rfft(middle))
    assert np.argmax(spectrum) * 16000 / len(middle) == pytest.approx(440, abs=2)


@pytest.mark.parametrize("suffix", list(FORMATS))
def test_audio_info_reads_duration_and_rate_from_the_header(encoded, suffix):
    duration, rate = audio_info(encoded[suffix])
    assert duration == pytest.approx(1.5, abs=0.05)
    assert rate == FORMATS[suffix][0]


def test_m4a_offset_and_duration_select_a_stretch(encoded):
    stretch = load_audio(encoded[".m4a"], offset=0.5, duration=0.5)
    assert len(stretch) == pytest.approx(8000, abs=16)
    tail = load_audio(encoded[".m4a"], offset=1.25, duration=10.0)
    assert len(tail) / 16000 == pytest.approx(0.25, abs=0.03)  # cut at the end
    with pytest.raises(ValueError, match="past the end"):
        load_audio(encoded[".m4a"], offset=5.0)


def test_native_rate_through_ffmpeg(encoded):
    assert len(load_audio(encoded[".m4a"], sample_rate=44100)) / 44100 == pytest.approx(
        1.5, abs=0.05
    )


def test_undecodable_m4a_names_both_decoders(tmp_path):
    path = tmp_path / "broken.m4a"
    path.write_bytes(b"\x00\x00\x00\x18ftypM4A " + b"garbage" * 20)
    with pytest.raises(ValueError, match="cannot decode audio file .*broken.m4a.*ffmpeg"):
        load_audio(path)
    with pytest.raises(ValueError, match="ffprobe"):
        audio_info(path)


def test_without_ffmpeg_the_error_says_how_to_install_it(encoded, monkeypatch):
    monkeypatch.setattr(audio_module.shutil, "which", lambda name: None)
    with pytest.raises(ValueError, match="apt-get install ffmpeg"):
        load_audio(encoded[".m4a"])
    with pytest.raises(ValueError, match="ffprobe.*not installed"):
        audio_info(encoded[".m4a"])
    assert len(load_audio(encoded[".flac"])) == 24000  # libsndfile formats need no ffmpeg


def test_audio_info_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        audio_info(tmp_path / "missing.wav")
    (tmp_path / "empty.mp3").touch()
    with pytest.raises(ValueError, match="empty"):
        audio_info(tmp_path / "empty.mp3")
    soundfile.write(tmp_path / "silent.wav", np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(ValueError, match="no samples"):
        audio_info(tmp_path / "silent.wav")
