"""Cutting long audio into windows, joining their answers, and the output formats."""

from __future__ import annotations

import json

import pytest

from unheard.serving.formats import Segment, Transcript, compression_ratio, render, timestamp
from unheard.serving.windows import (
    Window,
    WindowOptions,
    cut_windows,
    dedupe_overlaps,
    join_segments,
    segment_times,
)


def test_windows_are_equal_overlap_by_the_same_amount_and_end_at_the_end():
    # 7 s at 16 kHz in windows of at most 3 s overlapping by 0.75 s:
    # n = ceil((7 - 0.75) / 2.25) = 3 windows of (7 + 2 * 0.75) / 3 = 2.8333 s
    windows = cut_windows(112000, 48000, 12000)
    assert windows == [Window(0, 45334), Window(33334, 78668), Window(66668, 112000)]
    assert segment_times(windows, 16000) == [(0.0, 2.458375), (2.458375, 4.54175), (4.54175, 7.0)]
    assert cut_windows(48000, 48000, 12000) == [Window(0, 48000)]  # fits: one window, alone
    assert cut_windows(48001, 48000, 12000) == [Window(0, 30001), Window(18001, 48001)]
    for samples in (1, 47999, 48001, 100000, 960000 + 7):
        w = cut_windows(samples, 48000, 12000)
        assert w[0].start == 0 and w[-1].end == samples
        assert all(x.end - x.start <= 48000 for x in w)
        assert all(a.end - b.start == 12000 for a, b in zip(w, w[1:], strict=False))
    with pytest.raises(ValueError, match="overlap must be >= 0 and < window"):
        cut_windows(1000, 100, 100)
    with pytest.raises(ValueError, match="overlap_s must be >= 0 and < window_s"):
        WindowOptions(window_s=10, overlap_s=10)


def test_words_repeated_across_an_overlap_are_written_once():
    texts = ["one two three four", "Four, five six", "six seven", "", "seven eight"]
    assert dedupe_overlaps(texts, max_words=4) == [
        "one two three four", "five six", "seven", "", "eight"
    ]  # fmt: skip
    # the longest repeated run wins; runs longer than an overlap can hold are real repetitions
    assert dedupe_overlaps(["a b a b", "a b a b c"], max_words=4) == ["a b a b", "c"]
    assert dedupe_overlaps(["a b a b", "a b a b c"], max_words=3) == ["a b a b", "a b c"]
    assert dedupe_overlaps(["hello there", "general kenobi"], max_words=4) == [
        "hello there", "general kenobi"
    ]  # fmt: skip
    windows = [Window(0, 30), Window(20, 50), Window(40, 60)]
    text, segments = join_segments(["a b c", "c d", "d"], windows, 10, overlap_s=1.0)
    assert text == "a b c d"
    assert segments == [Segment(0.0, 2.5, "a b c"), Segment(2.5, 4.5, "d")]  # 3rd said nothing new


def test_formats_text_json_srt_vtt():
    t = Transcript(
        text="hola mundo adiós",
        segments=(Segment(0.0, 2.5, "hola mundo"), Segment(2.5, 3661.0416, "adiós")),
        duration_s=3661.0416, task="st", language="es", target_language="en",
    )  # fmt: skip
    assert render(t, "text") == "hola mundo adiós\n"
    assert json.loads(render(t, "json")) == {"text": "hola mundo adiós"}
    assert render(t, "srt") == (
        "1\n00:00:00,000 --> 00:00:02,500\nhola mundo\n\n2\n00:00:02,500 --> 01:01:01,042\nadiós\n"
    )
    assert render(t, "vtt") == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nhola mundo\n\n"
        "00:00:02.500 --> 01:01:01.042\nadiós\n"
    )
    verbose = json.loads(render(t, "verbose_json"))
    assert {k: verbose[k] for k in ("task", "language", "duration", "text")} == {
        "task": "translate", "language": "english", "duration": 3661.042,
        "text": "hola mundo adiós",
    }  # fmt: skip
    assert [(s["id"], s["start"], s["end"], s["seek"]) for s in verbose["segments"]] == [
        (0, 0.0, 2.5, 0), (1, 2.5, 3661.042, 250)
    ]  # fmt: skip
    assert timestamp(59.9996, ".") == "00:01:00.000"
    assert compression_ratio("") == 0.0 and compression_ratio("ha " * 100) > 2.4  # a loop
    with pytest.raises(ValueError, match="unknown response_format 'xml'"):
        render(t, "xml")
