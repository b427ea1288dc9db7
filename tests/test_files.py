"""unheard.files: whole files or none, and one permission rule for everything unheard writes."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from unheard.checkpoint import write_checkpoint
from unheard.config import ModelConfig
from unheard.data.manifest import Utterance, write_manifest
from unheard.files import (
    atomic_directory,
    atomic_open,
    remove_leftovers,
    write_atomic,
    write_json_atomic,
)


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_files_and_folders_get_the_umask_permissions(tmp_path: Path, umask_027) -> None:
    write_atomic(tmp_path / "a" / "b.txt", "text")
    write_json_atomic(tmp_path / "c.json", {"x": 1})
    with atomic_directory(tmp_path / "folder") as folder:
        (folder / "inside").write_text("x")
    assert _mode(tmp_path / "a" / "b.txt") == 0o640  # mkstemp alone would give 0o600
    assert _mode(tmp_path / "c.json") == 0o640
    assert _mode(tmp_path / "folder") == 0o750  # mkdtemp alone would give 0o700
    assert (tmp_path / "c.json").read_text() == '{"x": 1}'


def test_checkpoints_and_manifests_follow_the_same_rule(tmp_path: Path, umask_027) -> None:
    # checkpoint.py wrote through a bare mkstemp: trained.safetensors came out 0600, unreadable
    # by the group a shared checkpoint is for; the parallel text forced 0644 whatever the umask
    write_checkpoint(
        {"adapter.w": torch.ones(2)},
        ModelConfig(encoder="tiny:whisper", llm="tiny:mt5"),
        tmp_path / "ckpt",
    )
    write_manifest(
        tmp_path / "m.jsonl", [Utterance(id="u", audio="a.wav", duration=1.0, language="es")]
    )
    modes = {p.name: _mode(p) for p in [*(tmp_path / "ckpt").iterdir(), tmp_path / "m.jsonl"]}
    assert modes == {"trained.safetensors": 0o640, "unheard.json": 0o640, "m.jsonl": 0o640}


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "kept.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="midway"), atomic_open(target) as file:
        file.write("half of the new")
        raise RuntimeError("midway")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt"]


def test_a_killed_writer_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "kept.txt"
    target.write_text("old")
    script = (
        "import os, signal, sys\n"
        "from unheard.files import atomic_open\n"
        "with atomic_open(sys.argv[1]) as f:\n"
        "    f.write('new'); f.flush()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(target)], check=False)
    assert done.returncode == -signal.SIGKILL
    assert target.read_text() == "old"
    assert remove_leftovers(tmp_path) == 1  # the killed writer's temporary sibling
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt"]


def test_atomic_directory_refuses_or_replaces_an_existing_folder(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "old").write_text("x")
    with pytest.raises(FileExistsError, match="out exists"), atomic_directory(target) as tmp:
        (tmp / "new").write_text("y")
    assert sorted(p.name for p in target.iterdir()) == ["old"]
    with atomic_directory(target, replace=True) as tmp:
        (tmp / "new").write_text("y")
    assert sorted(p.name for p in target.iterdir()) == ["new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_only_whole_files_can_be_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not 'a'"), atomic_open(tmp_path / "x", "a"):
        pass
