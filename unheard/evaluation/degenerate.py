"""Degenerate outputs: empty, looping repetition, prompt echo.

Each kind is defined on the hypothesis after Whisper's basic normalisation (lower case,
punctuation and symbols removed, single spaces), and a hypothesis can be several kinds at once:

- **empty**: nothing but whitespace.
- **looping**: a unit of 2-50 characters repeated at least 4 times back to back
  (``"entyentyentyenty"``, ``"the cat the cat the cat the cat"``), while the reference, when
  there is one, holds no such repetition (so a transcript of "ha ha ha ha" is not a loop).
- **prompt echo**: three consecutive words of the test prompt of either task, rendered for the
  utterance's languages ("transcribe the audio", "the audio into english"), that the reference
  does not contain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from unheard.data.prompts import Prompts
from unheard.decoding.hypotheses import Hypothesis
from unheard.evaluation.normalizers import basic_normalize

KINDS = ("empty", "looping", "prompt_echo")
MIN_REPEATS = 4  # copies of a unit that make a loop
LOOP = re.compile(rf"(.{{2,50}}?)\1{{{MIN_REPEATS - 1},}}", re.DOTALL)
ECHO_WORDS = 3  # consecutive prompt words that make an echo


@dataclass(frozen=True)
class DegenerateCounts:
    """How many hypotheses of a group are degenerate, by kind."""

    total: int  # hypotheses looked at
    empty: int
    looping: int
    prompt_echo: int
    any: int  # degenerate in at least one way

    def to_dict(self) -> dict[str, int]:
        """The counts, for JSON."""
        return {k: getattr(self, k) for k in ("total", *KINDS, "any")}


def is_looping(text: str, reference: str | None = None) -> bool:
    """Whether ``text`` repeats a unit of 2-50 characters 4+ times running and ``reference``
    (when given) does not."""
    if not _has_loop(text):
        return False
    return reference is None or not _has_loop(reference)


def prompt_ngrams(prompts: Prompts, language: str, target_language: str) -> set[tuple[str, ...]]:
    """The word n-grams (``ECHO_WORDS`` long) of every task's prompt for these languages."""
    grams: set[tuple[str, ...]] = set()
    for task in prompts.templates:
        prefix, suffix = prompts.render(task, language, target_language)
        for part in (prefix, suffix):
            words = basic_normalize(part).split()
            grams.update(_ngrams(words))
    return grams


def is_prompt_echo(text: str, grams: set[tuple[str, ...]], reference: str | None = None) -> bool:
    """Whether ``text`` contains one of the prompt ``grams`` that ``reference`` does not."""
    echoed = grams & _ngrams(basic_normalize(text).split())
    if echoed and reference is not None:
        echoed -= _ngrams(basic_normalize(reference).split())
    return bool(echoed)


def degenerate_kinds(record: Hypothesis, prompt_grams: set[tuple[str, ...]]) -> set[str]:
    """The kinds of degeneracy of one hypothesis (empty set: a normal output).

    Args:
        record: the hypothesis, with its reference.
        prompt_grams: `prompt_ngrams` of the test prompts for the record's languages.

    Returns:
        A subset of `KINDS`.
    """
    if not record.hypothesis.strip():
        return {"empty"}
    kinds = set()
    if is_looping(record.hypothesis, record.reference):
        kinds.add("looping")
    if is_prompt_echo(record.hypothesis, prompt_grams, record.reference):
        kinds.add("prompt_echo")
    return kinds


def count_degenerate(records: Iterable[Hypothesis], prompts: Sequence[Prompts]) -> DegenerateCounts:
    """Count the degenerate hypotheses of a group, by kind (see the module docstring).

    Args:
        records: the group's hypotheses.
        prompts: the test prompts they may echo (the defaults, and the checkpoint's when known).

    Returns:
        The counts.
    """
    grams: dict[tuple[str, str], set[tuple[str, ...]]] = {}
    kinds = []
    for r in records:
        languages = (r.language, r.target_language)
        if languages not in grams:
            grams[languages] = set().union(*(prompt_ngrams(p, *languages) for p in prompts))
        kinds.append(degenerate_kinds(r, grams[languages]))
    return DegenerateCounts(
        total=len(kinds),
        empty=sum("empty" in k for k in kinds),
        looping=sum("looping" in k for k in kinds),
        prompt_echo=sum("prompt_echo" in k for k in kinds),
        any=sum(bool(k) for k in kinds),
    )


def _has_loop(text: str) -> bool:
    # a trailing space makes the last word of "the cat the cat ..." a full copy of "the cat "
    return LOOP.search(basic_normalize(text) + " ") is not None


def _ngrams(words: Sequence[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + ECHO_WORDS]) for i in range(len(words) - ECHO_WORDS + 1)}
