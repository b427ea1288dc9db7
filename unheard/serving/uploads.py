"""An uploaded file as a 16 kHz waveform, or a message saying why the server will not take it."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from unheard.data.audio import audio_info, load_audio, wav_declared_duration_s
from unheard.encoders import SAMPLE_RATE
from unheard.serving.api import MIN_AUDIO_S

TRUNCATED_SHARE = 0.9  # a file decoding to less than this share of its header's length is cut


def decode_upload(data: bytes, max_audio_s: float) -> np.ndarray:
    """Decode an uploaded file into a 16 kHz waveform, refusing what the server will not take.

    Args:
        data: the file's bytes.
        max_audio_s: the longest audio accepted.

    Returns:
        float32 (samples,) at 16 kHz.

    Raises:
        ValueError: if the file is not audio, is truncated (it decodes to less than 90% of the
            length its header states; for WAV, its RIFF data chunk's size), lasts longer
            than ``max_audio_s`` or shorter than 0.1 s, or holds NaN samples.
    """
    with tempfile.TemporaryDirectory(prefix="unheard-upload-") as directory:
        path = Path(directory) / "upload"
        path.write_bytes(data)
        try:
            stated = audio_info(path).duration_s
        except ValueError:
            stated = None  # e.g. WebM from a browser's MediaRecorder: no duration in its header
        if stated is not None and stated > max_audio_s:
            raise ValueError(too_long(stated, max_audio_s))
        # libsndfile states a cut WAV's remaining length: its RIFF header still says the whole
        declared = wav_declared_duration_s(path)
        if declared is not None:
            stated = max(stated or 0.0, declared)
        try:
            waveform = load_audio(path)
        except ValueError as e:  # name the upload, not our temporary copy
            raise ValueError(str(e).replace(str(path), "the upload")) from e
    seconds = len(waveform) / SAMPLE_RATE
    if seconds > max_audio_s:
        raise ValueError(too_long(seconds, max_audio_s))
    if stated is not None and seconds < TRUNCATED_SHARE * stated - 0.1:
        raise ValueError(
            f"it is truncated or damaged: its header says {stated:.2f} s, but only "
            f"{seconds:.2f} s of audio decode"
        )
    if seconds < MIN_AUDIO_S:
        raise ValueError(
            f"its audio lasts {1000 * seconds:.0f} ms, less than {1000 * MIN_AUDIO_S:.0f} ms"
        )
    if not np.isfinite(waveform).all():
        raise ValueError("it holds NaN or infinite samples")
    return waveform


def too_long(seconds: float, limit: float) -> str:
    """The message for audio over the server's limit."""
    return f"its audio lasts {seconds:.1f} s; this server takes at most {limit:g} s"
