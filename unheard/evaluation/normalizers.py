"""Whisper-style text normalisation before WER and CER.

English text goes through Whisper's English normaliser (lower case; brackets, fillers and
punctuation removed; contractions expanded; numbers written as digits; British spellings made
American), every other language through Whisper's basic one (lower case; brackets, symbols and
punctuation removed; diacritics kept). Both are transformers' copies of openai/whisper's
normalisers. The English one needs Whisper's spelling table, which WhisperTokenizer reads from a
hub repository's ``normalizer.json``; unheard ships the same table as ``english_spelling.json``
(openai/whisper's ``english.json``, MIT License, see ``english_spelling.LICENSE``) so that
normalisation works offline.

For languages written without spaces (``languages.NO_SPACE_LANGUAGES``), ``for_words=True`` puts
a space between all characters, as Whisper's evaluation does, so that WER counts characters.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from transformers.models.whisper.english_normalizer import (
    BasicTextNormalizer,
    EnglishTextNormalizer,
)

from unheard.evaluation.languages import base_language, writes_without_spaces

SPELLING_FILE = Path(__file__).with_name("english_spelling.json")


@lru_cache(maxsize=1)
def english_spelling() -> dict[str, str]:
    """Whisper's British → American spelling table (1,739 words)."""
    return json.loads(SPELLING_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=64)
def normalizer(language: str, for_words: bool = False) -> Callable[[str], str]:
    """The normaliser of a language.

    Args:
        language: the text's language (any variant code: ``en_US`` is English).
        for_words: split no-space scripts into characters, for WER.

    Returns:
        A function from raw to normalised text, with single spaces and no outer whitespace.
    """
    if base_language(language) == "en":
        whisper = EnglishTextNormalizer(english_spelling())
    else:
        whisper = BasicTextNormalizer(split_letters=for_words and writes_without_spaces(language))

    def normalize(text: str) -> str:
        return whisper(text).strip()

    return normalize


def normalize(text: str, language: str, for_words: bool = False) -> str:
    """Normalise one text (see `normalizer`)."""
    return normalizer(language, for_words)(text)


def basic_normalize(text: str) -> str:
    """Whisper's basic normalisation, whatever the language: lower case, no punctuation or
    symbols, single spaces."""
    return _BASIC(text).strip()


_BASIC = BasicTextNormalizer()
