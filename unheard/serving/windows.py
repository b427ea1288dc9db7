"""Long audio in fixed, overlapping windows, and the windows' answers joined back into one text.

Cutting: a recording of ``T`` seconds is cut into ``n`` windows of equal length ``L <= W`` (the
longest window) that overlap their neighbours by ``O`` seconds: ``n = ceil((T - O) / (W - O))``
and ``L = (T + (n - 1) O) / n``. Equal windows leave no sliver of a last window, too short to
say anything, and a recording no longer than ``W`` stays one window, decoded exactly as it
would be alone. Fixed windows, not voice activity detection: they need no threshold to tune
and cost nothing, and the overlap gives a word cut at one window's edge a whole copy in the
neighbouring window.

Joining: a word said in an overlap is usually written by both windows, at the end of the first
and the start of the second. The longest run of words that ends one window's answer and starts
the next one's (compared in lower case without punctuation) is taken to be that repetition and
dropped from the second. Without such a run the answers are joined as they are. Words are split
on white space, so in languages written without spaces (Chinese, Japanese) only whole repeated
answers are found.

Timestamps: a window's segment runs from the middle of its overlap with the previous window to
the middle of its overlap with the next, so segments tile the recording without overlapping.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from unheard.serving.formats import Segment


@dataclass(frozen=True)
class WindowOptions:
    """How to cut long audio."""

    window_s: float = 20.0  # longest window; lowered to the encoder's own (Whisper: 30 s)
    overlap_s: float = 2.0  # audio shared by neighbours; at most a quarter of the window

    def __post_init__(self) -> None:
        """Validate once, naming the bad value.

        Raises:
            ValueError: for a window that is not positive or an overlap outside [0, window).
        """
        if self.window_s <= 0:
            raise ValueError(f"window_s must be > 0 seconds, got {self.window_s}")
        if not 0 <= self.overlap_s < self.window_s:
            raise ValueError(
                f"overlap_s must be >= 0 and < window_s ({self.window_s}), got {self.overlap_s}"
            )


@dataclass(frozen=True)
class Window:
    """A stretch of a recording, in samples."""

    start: int  # first sample
    end: int  # one past the last sample


def cut_windows(samples: int, window: int, overlap: int) -> list[Window]:
    """Cut ``samples`` into equal windows of at most ``window`` samples, overlapping by
    ``overlap`` (see the module docstring).

    Args:
        samples: length of the recording.
        window: longest window, in samples.
        overlap: samples shared by neighbouring windows.

    Returns:
        The windows in order; one window ``[0, samples)`` when the recording fits in one.

    Raises:
        ValueError: if ``samples`` < 1, ``window`` < 1 or ``overlap`` is outside [0, window).
    """
    if samples < 1 or window < 1:
        raise ValueError(f"samples and window must be >= 1, got {samples} and {window}")
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must be >= 0 and < window ({window}), got {overlap}")
    if samples <= window:
        return [Window(0, samples)]
    count = math.ceil((samples - overlap) / (window - overlap))
    length = math.ceil((samples + (count - 1) * overlap) / count)  # <= window
    step = length - overlap
    # the last window ends at the recording's end; rounding can only shorten it
    return [Window(i * step, min(i * step + length, samples)) for i in range(count)]


def segment_times(windows: Sequence[Window], sample_rate: int) -> list[tuple[float, float]]:
    """Start and end seconds of each window's segment: cut at the middle of each overlap.

    Args:
        windows: from `cut_windows`, in order.
        sample_rate: samples per second.

    Returns:
        ``(start_s, end_s)`` per window; they tile the recording from 0 to its end.
    """
    bounds = [windows[0].start]
    for before, after in zip(windows, windows[1:], strict=False):
        bounds.append((after.start + before.end) // 2)  # middle of their overlap
    bounds.append(windows[-1].end)
    return [(a / sample_rate, b / sample_rate) for a, b in zip(bounds, bounds[1:], strict=False)]


def dedupe_overlaps(texts: Sequence[str], max_words: int) -> list[str]:
    """Drop from each answer the words that repeat the end of the answer before it.

    Args:
        texts: the answers of consecutive windows.
        max_words: most words an overlap can hold (longer repetitions are left alone: they are
            real repetitions, not the overlap's).

    Returns:
        The answers with each repeated run removed from the later window, stripped.
    """
    out: list[str] = []
    previous: list[str] = []  # the words of the last answer that had any
    for text in texts:
        words = text.split()
        k = _repeated_run(previous, words, max_words)
        out.append(" ".join(words[k:]))
        if words:
            previous = words
    return out


def join_segments(
    texts: Sequence[str], windows: Sequence[Window], sample_rate: int, overlap_s: float
) -> tuple[str, list[Segment]]:
    """The whole text and its timed segments from the answers of consecutive windows.

    Args:
        texts: one answer per window.
        windows: the windows, in order.
        sample_rate: samples per second.
        overlap_s: the windows' overlap, which bounds how many words can repeat.

    Returns:
        ``(text, segments)``: the joined text, and one segment per window whose answer kept
        any words.
    """
    kept = dedupe_overlaps(texts, max_words=max(1, math.ceil(6 * overlap_s)))
    times = segment_times(windows, sample_rate)
    segments = [Segment(start, end, text) for (start, end), text in zip(times, kept, strict=True)]
    segments = [s for s in segments if s.text]
    return " ".join(s.text for s in segments), segments


def _repeated_run(before: list[str], after: list[str], max_words: int) -> int:
    # the largest k with before[-k:] == after[:k] in normalised words; 0 when none
    a, b = [_normal(w) for w in before], [_normal(w) for w in after]
    for k in range(min(len(a), len(b), max_words), 0, -1):
        if a[-k:] == b[:k] and any(b[:k]):
            return k
    return 0


def _normal(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())
