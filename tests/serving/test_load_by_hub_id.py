"""A checkpoint published by id: exported, laid into an offline Hugging Face cache as a download
would leave it, then loaded by ``USER/NAME`` — in Python and on the command line — writing what
it writes when loaded by path. ``HF_HUB_OFFLINE=1`` throughout: nothing reaches the network."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from huggingface_hub import constants

import unheard
from unheard.decoding.decode import DecodeOptions
from unheard.publish import ExportOptions, export_checkpoint

REPO = "someone/tiny-unheard"
OPTIONS = DecodeOptions(length_base=6, tokens_per_second=2)  # as the `stt` fixture's


@pytest.fixture
def published(checkpoint, hub_cache, tmp_path):
    """The serving checkpoint exported and in the offline cache as REPO; its snapshot folder."""
    options = ExportOptions(seen=("en", "es"), unseen=("fr",), repo_id=REPO)
    export_checkpoint(checkpoint, tmp_path / "export", options=options)
    return hub_cache(tmp_path / "export", REPO)


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    assert env["HF_HUB_OFFLINE"] == "1"  # set by hub_cache: the child cannot reach the network
    command = [sys.executable, "-m", "unheard", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def test_load_by_id_writes_what_the_path_writes(published, stt, audio):
    assert constants.is_offline_mode()
    by_id = unheard.load(REPO, options=OPTIONS)
    assert by_id.name == REPO
    # the shipped ./encoder and ./llm were loaded from inside the cache's snapshot
    assert by_id.model.encoder.model.name_or_path == str(published / "encoder")
    assert by_id.model.llm.name_or_path.startswith(str(published / "llm"))
    for name in ("short.wav", "spanish.flac"):
        assert stt.transcribe(audio[name]).text  # something to compare
        assert by_id.transcribe(audio[name]).text == stt.transcribe(audio[name]).text
    assert by_id.translate(audio["short.wav"], to="fr").text == (
        stt.translate(audio["short.wav"], to="fr").text
    )


def test_the_command_line_transcribes_by_id(published, checkpoint, audio):
    result = _cli("transcribe", REPO, str(audio["short.wav"]), "--threads", "1")
    assert result.returncode == 0, result.stderr
    # the command decodes with the default options: as a default load of the checkpoint
    expected = unheard.load(checkpoint, options=DecodeOptions()).transcribe(audio["short.wav"])
    assert expected.text and result.stdout == expected.text + "\n"


def test_an_id_missing_from_the_cache_fails_in_one_line(hub_cache, audio):
    result = _cli("transcribe", "nobody/missing", str(audio["short.wav"]))
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("unheard transcribe: error: checkpoint 'nobody/missing' is not a local")
    assert "HF_HUB_OFFLINE is set" in line
    assert "`hf download nobody/missing`" in line
    with pytest.raises(FileNotFoundError, match="'nobody/missing'.*HF_HUB_OFFLINE"):
        unheard.load("nobody/missing")
