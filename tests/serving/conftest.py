"""Shared fixtures of the serving tests: a tiny checkpoint that writes text, audio files, servers.

The checkpoint is a tiny Whisper encoder (a 3 s window, so a 7 s clip is cut into windows) and a
tiny mT5, its trained parts perturbed so that it writes varied (meaningless) text.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import soundfile
import torch

import unheard
from unheard.build import build_speech_llm
from unheard.checkpoint import save_checkpoint
from unheard.data.espeak import synthesize
from unheard.decoding.decode import DecodeOptions
from unheard.tiny import perturb_trained

# short answers keep the tests fast: at most 6 + 2 tokens per second of audio
OPTIONS = DecodeOptions(length_base=6, tokens_per_second=2)


@pytest.fixture(autouse=True)
def one_torch_thread():
    # On a busy 2-core machine two OpenMP threads make these tiny models ~30x slower.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def checkpoint(tiny_models, tmp_path_factory):
    config = tiny_models("whisper", "mt5")
    torch.manual_seed(0)  # before building: the adapter's initial weights must not depend on
    model = build_speech_llm(config)  # what other tests drew from the global generator
    perturb_trained(model)  # so that the model writes something
    return save_checkpoint(model, config, tmp_path_factory.mktemp("serving") / "checkpoint")


@pytest.fixture(scope="session")
def stt(checkpoint):
    return unheard.load(checkpoint, options=OPTIONS)


@pytest.fixture(scope="session")
def audio(tmp_path_factory):
    """Audio files by name: espeak-ng speech as WAV, MP3 and FLAC, short and long."""
    root = tmp_path_factory.mktemp("audio")
    short = synthesize("hello world, how are you", "en")  # ~1.9 s
    spanish = synthesize("uno dos tres", "es")
    long = np.zeros(7 * 16000, dtype=np.float32)  # exactly 7 s: three 3 s windows
    french = synthesize("un deux trois quatre cinq six sept huit neuf dix", "fr")[: len(long)]
    long[: len(french)] = french
    files = {}
    for name, waveform in (("short", short), ("spanish", spanish), ("long", long)):
        files[f"{name}.wav"] = root / f"{name}.wav"
        soundfile.write(files[f"{name}.wav"], waveform, 16000, subtype="PCM_16")
    for name in ("short", "long"):
        files[f"{name}.mp3"] = root / f"{name}.mp3"
        ffmpeg(root / f"{name}.wav", files[f"{name}.mp3"])
    files["spanish.flac"] = root / "spanish.flac"
    soundfile.write(files["spanish.flac"], spanish, 16000)
    return files


def ffmpeg(source, target, *options: str) -> None:
    """Convert with ffmpeg (mp3 by the target's suffix)."""
    command = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), *options, str(target)]
    subprocess.run(command, check=True)


@pytest.fixture(scope="session")
def convert():
    """`ffmpeg`, for tests that make their own files."""
    return ffmpeg
