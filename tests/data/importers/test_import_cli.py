"""``unheard data import`` and ``unheard data stats`` from the command line."""

from __future__ import annotations

import json
import subprocess
import sys


def _unheard(*args):
    return subprocess.run(
        [sys.executable, "-m", "unheard", *args], capture_output=True, text=True, timeout=120
    )


def test_import_folder_then_stats(tmp_path, make_audio):
    root = tmp_path / "rec"
    make_audio(root / "a.wav", 1.0)
    (root / "a.txt").write_text("hola", encoding="utf-8")
    make_audio(root / "b.wav", 2.0)
    (root / "b.txt").write_text("adiós", encoding="utf-8")
    out = tmp_path / "out"
    result = _unheard("data", "import", "folder", str(root), "--out", str(out), "--language", "es")
    assert result.returncode == 0, result.stderr
    manifest = out / "folder_es_train.jsonl.gz"
    assert result.stdout.split() == ["es_train", str(manifest)]

    stats = _unheard("data", "stats", str(manifest), "--json")
    assert stats.returncode == 0, stats.stderr
    table = json.loads(stats.stdout)
    assert table["language"]["es"]["utterances"] == 2
    assert abs(table["language"]["es"]["hours"] - 3.0 / 3600) < 0.05 / 3600
    assert table["task"] == {"asr": {"utterances": 2, "hours": table["language"]["es"]["hours"]}}
    assert _unheard("data", "check", str(manifest)).returncode == 0  # all good: exit 0


def test_import_errors_are_one_line(tmp_path):
    result = _unheard("data", "import", "nope", str(tmp_path), "--out", str(tmp_path / "o"))
    assert result.returncode == 1 and "unknown corpus 'nope'" in result.stderr
    result = _unheard("data", "import", "folder", str(tmp_path), "--out", str(tmp_path / "o"))
    assert result.returncode == 1 and "needs --language" in result.stderr
    missing = tmp_path / "missing"
    result = _unheard("data", "import", "fleurs", str(missing), "--out", str(tmp_path / "o"))
    assert result.returncode == 1 and "does not exist" in result.stderr
