"""Shared fixtures: espeak-ng clips and tiny saved models (random weights, trained tokenizer)."""

from __future__ import annotations

import numpy as np
import pytest
from transformers.utils import logging as hf_logging

from unheard.data.espeak import synthesize
from unheard.tiny import make_tiny_models

hf_logging.disable_progress_bar()

TEXTS = [
    "Transcribe the audio.",
    "Translate the audio into English.",
    "hello world",
    "one two three four",
    "hola mundo",
    "uno dos tres cuatro",
    "bonjour le monde",
    "un deux trois quatre",
] * 4


@pytest.fixture(scope="session")
def clips() -> list[np.ndarray]:
    """Three real espeak-ng clips of clearly different lengths, 16 kHz."""
    return [
        synthesize("uno", "es"),
        synthesize("hello world, how are you", "en"),
        synthesize("un deux trois quatre cinq six sept", "fr"),
    ]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory):
    """A factory of tiny saved models, cached per (encoder, llm, trainable) for the session."""
    cache = {}

    def make(encoder: str, llm: str, llm_trainable: tuple[str, ...] = ()):
        key = (encoder, llm, llm_trainable)
        if key not in cache:
            directory = tmp_path_factory.mktemp(f"{encoder}-{llm}")
            cache[key] = make_tiny_models(
                directory, TEXTS, encoder, llm, seed=0, llm_trainable=llm_trainable
            )
        return cache[key]

    return make
