"""Fixture builders shared by the importer tests: audio in each corpus's format, and checks.

Audio is a tone of a known length, encoded once per (format, length) and copied wherever a corpus
layout needs a clip, so that a fixture with a dozen MP3s costs one ffmpeg run.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from unheard.data.importers import recipe
from unheard.data.manifest import Utterance, read_manifest

RATE = 16000


def _encode(path: Path, seconds: float, rate: int) -> None:
    """Write a 440 Hz tone in the format the suffix names, as the corpus's own tools would."""
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(round(seconds * rate)) / rate)
    suffix = path.suffix
    if suffix in (".wav", ".flac"):
        soundfile.write(path, tone, rate, subtype="PCM_16")
    elif suffix == ".ogg":  # VoxPopuli: Ogg/Vorbis
        soundfile.write(path, tone, rate, format="OGG", subtype="VORBIS")
    else:  # MP3 (Common Voice), M4A/AAC (Europarl-ST), Opus (MLS): encoded by ffmpeg
        wav = path.with_suffix(".source.wav")
        soundfile.write(wav, tone, rate, subtype="PCM_16")
        codec = {".mp3": "libmp3lame", ".m4a": "aac", ".opus": "libopus"}[suffix]
        command = ["ffmpeg", "-nostdin", "-y", "-v", "error", "-i", str(wav), "-c:a", codec]
        subprocess.run([*command, str(path)], check=True)
        wav.unlink()


@pytest.fixture(scope="session")
def make_audio(tmp_path_factory: pytest.TempPathFactory):
    """``make_audio(path, seconds, rate=16000)``: put a tone clip at ``path``, format by suffix."""
    cache = tmp_path_factory.mktemp("encoded")

    def make(path: Path, seconds: float, rate: int = RATE) -> Path:
        encoded = cache / f"{seconds:.3f}-{rate}{path.suffix}"
        if not encoded.exists():
            _encode(encoded, seconds, rate)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(encoded, path)
        return path

    return make


@pytest.fixture(scope="session")
def by_id():
    """``by_id(manifest)``: a manifest's records, by id."""

    def read(path: Path) -> dict[str, Utterance]:
        return {utterance.id: utterance for utterance in read_manifest(path)}

    return read


def write_tsv(path: Path, rows: list[list[str]]) -> Path:
    """Write rows as tab-separated lines, unquoted, as the corpora do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join("\t".join(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tsv():
    """``tsv(path, rows)``: write rows as an unquoted TSV (see `write_tsv`)."""
    return write_tsv


@pytest.fixture
def assert_idempotent(monkeypatch: pytest.MonkeyPatch):
    """``assert_idempotent(prepare, *args, **kwargs)``: a rerun keeps every manifest untouched.

    Runs the importer, then runs it again with writing and header reading made to fail: an
    up-to-date manifest must be kept without either. Then rebuilds with ``overwrite=True`` and
    checks the bytes are the same.
    """

    def check(prepare, *args, **kwargs) -> dict[str, Path]:
        first = prepare(*args, **kwargs)
        contents = {key: path.read_bytes() for key, path in first.items()}

        def fail(*_args, **_kwargs):
            raise AssertionError("an up-to-date manifest was rebuilt")

        with monkeypatch.context() as patch:
            patch.setattr(recipe, "write_manifest", fail)
            patch.setattr(recipe, "audio_info", fail)
            assert prepare(*args, **kwargs) == first
        again = prepare(*args, **kwargs, overwrite=True)
        assert {key: path.read_bytes() for key, path in again.items()} == contents
        return first

    return check
