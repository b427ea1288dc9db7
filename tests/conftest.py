"""Shared fixtures: espeak-ng clips, tiny saved models (random weights, trained tokenizer), and
an offline Hugging Face cache to lay hub models into."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

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


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An offline Hugging Face cache of this test's own, and a function that lays a folder into
    it exactly as a download of a hub model would.

    ``HF_HUB_OFFLINE=1``, ``HF_HOME`` and ``HF_HUB_CACHE`` are set for this process (on
    huggingface_hub's constants, which it reads at import) and for its child processes: nothing
    may reach the network, and only this cache is seen.

    ``put(folder, repo_id)`` writes the layout of huggingface_hub's ``file_download``:
    ``models--USER--NAME/blobs/<etag>`` (sha256 of an LFS file, the git blob hash of another),
    ``snapshots/<commit>/<path>`` as relative symlinks to the blobs, and ``refs/main`` holding
    the commit; it returns the snapshot folder. ``put.cache`` is the cache folder.
    """
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name
    from huggingface_hub.utils.sha import git_hash

    home = tmp_path / "hf-home"
    cache = home / "hub"
    cache.mkdir(parents=True)
    for name, value in (("HF_HOME", home), ("HF_HUB_CACHE", cache), ("HF_HUB_OFFLINE", "1")):
        monkeypatch.setenv(name, str(value))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)

    def put(folder: str | os.PathLike[str], repo_id: str) -> Path:
        folder = Path(folder)
        storage = cache / repo_folder_name(repo_id=repo_id, repo_type="model")
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        blobs = {}
        for path in files:
            data = path.read_bytes()
            lfs = path.suffix in (".safetensors", ".bin") or len(data) > 10 * 2**20
            blobs[path.relative_to(folder).as_posix()] = (
                hashlib.sha256(data).hexdigest() if lfs else git_hash(data),
                data,
            )
        commit = hashlib.sha1("".join(f"{k}:{e}" for k, (e, _) in blobs.items()).encode())
        snapshot = storage / "snapshots" / commit.hexdigest()
        for relative, (etag, data) in blobs.items():
            blob = storage / "blobs" / etag
            blob.parent.mkdir(parents=True, exist_ok=True)
            blob.write_bytes(data)
            link = snapshot / relative
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(blob, link.parent))
        (storage / "refs").mkdir(exist_ok=True)
        (storage / "refs" / "main").write_text(commit.hexdigest())  # no newline, as the hub's
        return snapshot

    put.cache = cache
    return put
