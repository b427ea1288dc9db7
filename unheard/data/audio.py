"""Decoding audio files into the mono float32 waveforms that speech encoders take.

Decoding is libsndfile's (through soundfile): WAV, FLAC and Ogg/Vorbis/Opus everywhere, and MP3
where libsndfile is 1.1 or newer. Resampling is soxr's "HQ" quality, the usual choice for
speech at 16 kHz (lhotse and torchaudio's sox backend use the same library).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile
import soxr

# The rate every encoder unheard supports was trained at.
DEFAULT_SAMPLE_RATE = 16000


def load_audio(
    path: str | os.PathLike[str],
    offset: float = 0.0,
    duration: float | None = None,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
) -> np.ndarray:
    """Decode a stretch of an audio file as a mono waveform at ``sample_rate``.

    Args:
        path: the audio file.
        offset: seconds from the start of the file to the first sample to read.
        duration: seconds to read from ``offset``; ``None`` reads to the end of the file. A stretch
            that runs past the end is cut at the end.
        sample_rate: the rate of the returned waveform in Hz; the file is resampled when its own
            rate differs.

    Returns:
        The waveform, shape (samples,), float32, channels averaged into one.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file is empty or cannot be decoded, if ``offset`` lies at or past its
            end, if no samples are left to read, or if an argument is out of range.
    """
    path = Path(path)
    if offset < 0:
        raise ValueError(f"offset must be >= 0 seconds, got {offset}")
    if duration is not None and duration <= 0:
        raise ValueError(f"duration must be > 0 seconds or None, got {duration}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive number of Hz, got {sample_rate}")
    if not path.exists():
        raise FileNotFoundError(f"audio file {path} does not exist")
    if path.is_file() and path.stat().st_size == 0:
        raise ValueError(f"audio file {path} is empty (0 bytes)")

    try:
        with soundfile.SoundFile(path) as file:
            file_rate = file.samplerate
            # frames is 0 for a valid header with no audio, and may be unknown (huge) for streams.
            start = round(offset * file_rate)
            if file.frames <= 0:
                raise ValueError(f"audio file {path} holds no samples")
            if start >= file.frames:
                raise ValueError(
                    f"offset {offset} s is at or past the end of {path} "
                    f"({file.frames / file_rate:.3f} s)"
                )
            frames = -1 if duration is None else round(duration * file_rate)
            file.seek(start)
            # (samples, channels), whatever the channel count.
            waveform = file.read(frames, dtype="float32", always_2d=True)
    except soundfile.SoundFileError as e:
        raise ValueError(f"cannot decode audio file {path}: {e}") from e

    if waveform.shape[0] == 0:
        raise ValueError(f"no samples to read from {path} at offset {offset} s")
    mono = waveform.mean(axis=1, dtype=np.float32)  # (samples,)
    if file_rate != sample_rate:
        mono = soxr.resample(mono, file_rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)
