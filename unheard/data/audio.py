"""Decoding audio files into the mono float32 waveforms that speech encoders take.

Two decoders, tried in this order:

1. libsndfile (through soundfile): WAV, FLAC, Ogg/Vorbis, Ogg/Opus and MP3 (libsndfile 1.1 or
   newer). It runs in-process, reads headers in a fraction of a millisecond and seeks exactly,
   so it serves every format it can read.
2. ffmpeg, as a subprocess, for what libsndfile cannot read: AAC in MP4/M4A (Europarl-ST), and
   any other container ffmpeg knows. Starting a process costs tens of milliseconds per call.

Resampling is soxr's "HQ" quality after libsndfile, the usual choice for speech at 16 kHz (lhotse
and torchaudio's sox backend use the same library); after ffmpeg it is ffmpeg's own resampler.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

import numpy as np
import soundfile
import soxr

from unheard.encoders import SAMPLE_RATE


class AudioInfo(NamedTuple):
    """What an audio file's header says about it."""

    duration_s: float  # seconds of audio in the file
    sample_rate: int  # the file's own sampling rate in Hz


def _check_file(path: Path) -> None:
    """Raise the errors every reader shares: a missing file, or an empty one."""
    if not path.exists():
        raise FileNotFoundError(f"audio file {path} does not exist")
    if path.is_file() and path.stat().st_size == 0:
        raise ValueError(f"audio file {path} is empty (0 bytes)")


def _one_line(stderr: bytes) -> str:
    """A tool's error output on one line, so that it fits a one-line error report."""
    lines = stderr.decode("utf-8", errors="replace").splitlines()
    return "; ".join(line.strip() for line in lines if line.strip())


def _run_ffmpeg_tool(name: str, arguments: list[str], path: Path, error: Exception) -> bytes:
    """Run ffmpeg or ffprobe with ``arguments`` for a file libsndfile could not read; its stdout.

    Raises:
        ValueError: if the tool is missing (saying how to install it) or fails (with its
            message), chained to libsndfile's ``error``.
    """
    program = shutil.which(name)
    if program is None:
        raise ValueError(
            f"cannot decode audio file {path}: {error}; libsndfile cannot read it and {name}, "
            f"which reads M4A/AAC and most other formats, is not installed "
            f"(install it with `apt-get install ffmpeg`)"
        ) from error
    result = subprocess.run([program, *arguments], capture_output=True, check=False)
    if result.returncode != 0:
        raise ValueError(
            f"cannot decode audio file {path}: {error}; {name}: {_one_line(result.stderr)}"
        ) from error
    return result.stdout


def audio_info(path: str | os.PathLike[str]) -> AudioInfo:
    """Read an audio file's duration and sampling rate from its header, without decoding it.

    libsndfile answers for the formats it reads (well under a millisecond; MP3 durations are exact
    when the file has a Xing/LAME header, as ffmpeg and LAME write by default); ffprobe for the
    rest (about 70 ms a file).

    Args:
        path: the audio file.

    Returns:
        ``AudioInfo(duration_s, sample_rate)``; a plain ``(duration_s, sample_rate)`` tuple.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file is empty, holds no audio, or neither libsndfile nor ffprobe can
            read it (or ffprobe is not installed), naming the file.
    """
    path = Path(path)
    _check_file(path)
    try:
        info = soundfile.info(str(path))
    except soundfile.SoundFileError as e:
        return _ffprobe_info(path, e)
    if info.frames <= 0 or info.samplerate <= 0:
        raise ValueError(f"audio file {path} holds no samples")
    return AudioInfo(info.frames / info.samplerate, int(info.samplerate))


def wav_declared_duration_s(path: str | os.PathLike[str]) -> float | None:
    """The duration a WAV file's header declares: its ``data`` chunk's stated size, whether or
    not that many bytes follow.

    libsndfile (and so `audio_info`) trusts the file's length over the header and reads a WAV cut
    short without a word; comparing this with what decodes tells a truncated upload.

    Args:
        path: any file.

    Returns:
        Seconds, or None when the file is not a RIFF/WAVE file, or its header leaves the size
        open (0 or 0xFFFFFFFF, as a stream writer that cannot seek back leaves it), or is too
        damaged to say.
    """
    with open(path, "rb") as file:
        if file.read(4) != b"RIFF" or not file.read(4) or file.read(4) != b"WAVE":
            return None
        byte_rate = None
        while len(header := file.read(8)) == 8:  # chunks: 4-byte id, little-endian u32 size
            chunk, size = header[:4], int.from_bytes(header[4:], "little")
            if chunk == b"fmt " and size >= 16:
                fmt = file.read(16)  # format, channels, sample rate, byte rate, block align, bits
                byte_rate = int.from_bytes(fmt[8:12], "little")
                file.seek(size - 16 + size % 2, os.SEEK_CUR)
            elif chunk == b"data":
                if byte_rate is None or byte_rate == 0 or size in (0, 0xFFFFFFFF):
                    return None
                return size / byte_rate
            else:
                file.seek(size + size % 2, os.SEEK_CUR)  # chunks are padded to an even size
    return None


def _ffprobe_info(path: Path, libsndfile_error: Exception) -> AudioInfo:
    """Duration and rate of the first audio stream, as ffprobe reports them."""
    arguments = ["-v", "error", "-select_streams", "a:0", "-of", "json"]
    arguments += ["-show_entries", "stream=sample_rate,duration:format=duration", str(path)]
    report = json.loads(_run_ffmpeg_tool("ffprobe", arguments, path, libsndfile_error) or b"{}")
    streams = report.get("streams") or []
    if not streams:
        raise ValueError(f"audio file {path} has no audio stream") from libsndfile_error
    stream = streams[0]
    # The stream's duration excludes container overhead; some containers only give the format's.
    duration = stream.get("duration") or report.get("format", {}).get("duration")
    try:
        seconds, rate = float(duration), int(stream["sample_rate"])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"ffprobe reports no duration or sample rate for {path}") from e
    if seconds <= 0 or rate <= 0:
        raise ValueError(f"audio file {path} holds no samples")
    return AudioInfo(seconds, rate)


def load_audio(
    path: str | os.PathLike[str],
    offset: float = 0.0,
    duration: float | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """Decode a stretch of an audio file as a mono waveform at ``sample_rate``.

    Args:
        path: the audio file (WAV, FLAC, Ogg/Vorbis, Opus, MP3 through libsndfile; M4A/AAC and
            anything else libsndfile cannot read through ffmpeg).
        offset: seconds from the start of the file to the first sample to read.
        duration: seconds to read from ``offset``; ``None`` reads to the end of the file. A stretch
            that runs past the end is cut at the end.
        sample_rate: the rate of the returned waveform in Hz; the file is resampled when its own
            rate differs.

    Returns:
        The waveform, shape (samples,), float32, channels averaged into one.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file is empty or cannot be decoded (by libsndfile nor ffmpeg), if
            ``offset`` lies at or past its end, if no samples are left to read, or if an argument
            is out of range.
    """
    path = Path(path)
    if offset < 0:
        raise ValueError(f"offset must be >= 0 seconds, got {offset}")
    if duration is not None and duration <= 0:
        raise ValueError(f"duration must be > 0 seconds or None, got {duration}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive number of Hz, got {sample_rate}")
    _check_file(path)

    try:
        mono, file_rate = _read_with_libsndfile(path, offset, duration)
    except soundfile.SoundFileError as e:
        # ffmpeg resamples as it decodes: its output is already at sample_rate.
        mono, file_rate = _read_with_ffmpeg(path, offset, duration, sample_rate, e), sample_rate
    if file_rate != sample_rate:
        mono = soxr.resample(mono, file_rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def _read_with_libsndfile(
    path: Path, offset: float, duration: float | None
) -> tuple[np.ndarray, int]:
    """Read a stretch at the file's own rate, channels averaged.

    Returns:
        The waveform, shape (samples,), and the file's rate in Hz.

    Raises:
        soundfile.SoundFileError: if libsndfile cannot open or read the file.
        ValueError: if the file has no samples or ``offset`` is at or past its end.
    """
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
    if waveform.shape[0] == 0:
        raise ValueError(f"no samples to read from {path} at offset {offset} s")
    return waveform.mean(axis=1, dtype=np.float32), file_rate


def _read_with_ffmpeg(
    path: Path,
    offset: float,
    duration: float | None,
    sample_rate: int,
    libsndfile_error: Exception,
) -> np.ndarray:
    """Decode a stretch with ffmpeg, down-mixed and resampled to ``sample_rate``.

    Runs ``ffmpeg -nostdin -v error [-ss OFFSET] -i FILE [-t DURATION] -rematrix_maxval 1
    -f f32le -ac 1 -ar RATE -``: ``-ss`` before ``-i`` seeks in the input, which is sample-exact
    when transcoding and does not decode the skipped audio.

    Returns:
        The waveform, shape (samples,), float32 at ``sample_rate``.

    Raises:
        ValueError: if ffmpeg is missing or fails (chained to libsndfile's error, with ffmpeg's
            message), or decodes no samples.
    """
    arguments = ["-nostdin", "-v", "error"]
    if offset > 0:
        arguments += ["-ss", f"{offset:.6f}"]
    arguments += ["-i", str(path)]
    if duration is not None:
        arguments += ["-t", f"{duration:.6f}"]
    # ffmpeg down-mixes stereo as (L + R) / sqrt(2) into float output, which makes a centred voice
    # 3 dB louder than in either channel; rematrix_maxval 1 normalizes the mix to the channel mean,
    # as the libsndfile path computes it.
    arguments += ["-rematrix_maxval", "1", "-f", "f32le", "-ac", "1", "-ar", str(sample_rate), "-"]
    samples = _run_ffmpeg_tool("ffmpeg", arguments, path, libsndfile_error)
    # f32le is little-endian float32 whatever the machine: say so, then make it native.
    waveform = np.frombuffer(samples, dtype="<f4").astype(np.float32)
    if waveform.size == 0:
        if offset > 0:
            raise ValueError(f"offset {offset} s is at or past the end of {path}")
        raise ValueError(f"audio file {path} holds no samples")
    return waveform
