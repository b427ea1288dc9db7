"""A transcript or translation, and how it is written out: plain text, JSON, SRT and WebVTT.

The JSON shapes follow OpenAI's audio API: ``json`` is ``{"text": ...}``; ``verbose_json`` adds
the task, language, duration and timed segments. Segment fields unheard does not compute
(``avg_logprob``, ``no_speech_prob``) are null; ``compression_ratio`` is measured as Whisper does
(text bytes over their zlib-compressed bytes), and ``tokens`` is empty.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

from unheard.data.prompts import language_name

FORMATS = ("text", "json", "verbose_json", "srt", "vtt")
OPENAI_TASKS = {"asr": "transcribe", "st": "translate"}


@dataclass(frozen=True)
class Segment:
    """A stretch of the recording and what was said in it."""

    start_s: float  # seconds from the start of the recording
    end_s: float
    text: str


@dataclass(frozen=True)
class Transcript:
    """The answer for one recording."""

    text: str  # the whole answer, windows joined
    segments: tuple[Segment, ...]  # timed pieces of ``text``, one per window that said anything
    duration_s: float  # seconds of audio
    task: str  # "asr" (transcript) or "st" (translation)
    language: str | None  # the spoken language's code, when the caller gave it
    target_language: str  # the answer's language code ("" for a transcript of unknown language)


def verbose_dict(transcript: Transcript) -> dict[str, Any]:
    """OpenAI's ``verbose_json`` shape: task, language, duration, text and segments."""
    language = transcript.target_language or transcript.language
    return {
        "task": OPENAI_TASKS[transcript.task],
        "language": language_name(language).lower() if language else "unknown",
        "duration": round(transcript.duration_s, 3),
        "text": transcript.text,
        "segments": [
            {
                "id": i,
                "seek": round(s.start_s * 100),  # 10 ms frames, as Whisper counts them
                "start": round(s.start_s, 3),
                "end": round(s.end_s, 3),
                "text": s.text,
                "tokens": [],
                "temperature": 0.0,
                "avg_logprob": None,
                "compression_ratio": compression_ratio(s.text),
                "no_speech_prob": None,
            }
            for i, s in enumerate(transcript.segments)
        ],
    }


def render(transcript: Transcript, response_format: str) -> str:
    """Write a transcript in one of `FORMATS`.

    Args:
        transcript: what to write.
        response_format: ``text``, ``json``, ``verbose_json``, ``srt`` or ``vtt``.

    Returns:
        The document; text, SRT and VTT end in a newline.

    Raises:
        ValueError: for an unknown format.
    """
    if response_format == "text":
        return transcript.text + "\n"
    if response_format == "json":
        return json.dumps({"text": transcript.text}, ensure_ascii=False)
    if response_format == "verbose_json":
        return json.dumps(verbose_dict(transcript), ensure_ascii=False)
    if response_format == "srt":
        return srt(transcript.segments)
    if response_format == "vtt":
        return vtt(transcript.segments)
    raise ValueError(
        f"unknown response_format {response_format!r}; choose from {', '.join(FORMATS)}"
    )


def srt(segments: tuple[Segment, ...] | list[Segment]) -> str:
    """SubRip subtitles: numbered cues, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``."""
    cues = [
        f"{i}\n{timestamp(s.start_s, ',')} --> {timestamp(s.end_s, ',')}\n{s.text}\n"
        for i, s in enumerate(segments, start=1)
    ]
    return "\n".join(cues)


def vtt(segments: tuple[Segment, ...] | list[Segment]) -> str:
    """WebVTT subtitles: a ``WEBVTT`` header, then ``HH:MM:SS.mmm --> HH:MM:SS.mmm`` cues."""
    cues = [
        f"{timestamp(s.start_s, '.')} --> {timestamp(s.end_s, '.')}\n{s.text}\n" for s in segments
    ]
    return "\n".join(["WEBVTT\n", *cues])


def timestamp(seconds: float, decimal_marker: str) -> str:
    """``HH:MM:SS<marker>mmm`` for a time in seconds (SRT uses ``,``, WebVTT ``.``)."""
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal_marker}{ms:03d}"


def compression_ratio(text: str) -> float:
    """Bytes of the text over bytes of its zlib compression (Whisper flags > 2.4 as a loop)."""
    data = text.encode("utf-8")
    return round(len(data) / len(zlib.compress(data)), 3) if data else 0.0
