"""``unheard data import``, ``export`` and ``stats`` from the command line."""

from __future__ import annotations

import json
import subprocess
import sys

from unheard.data.manifest import read_manifest


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


def test_hf_dataset_and_lhotse_both_ways(tmp_path, make_audio, capsys):
    from datasets import Audio, Dataset

    from unheard.cli import main

    clip = make_audio(tmp_path / "clip.wav", 1.0)
    rows = {"audio": [{"bytes": clip.read_bytes(), "path": "a.wav"}], "sentence": ["hola"]}
    rows |= {"translation": ["hello"], "locale": ["es"], "id": ["a"]}
    Dataset.from_dict(rows).cast_column("audio", Audio()).to_parquet(
        tmp_path / "ds" / "data" / "test-00000-of-00001.parquet"
    )
    command = ["data", "import", "hf-dataset", str(tmp_path / "ds"), "--out", str(tmp_path / "m")]
    assert main([*command, "--translation-language", "en"]) == 0
    manifest = tmp_path / "m" / "ds_es-en_test.jsonl.gz"
    assert capsys.readouterr().out.split() == ["es-en_test", str(manifest)]

    assert main(["data", "export", "lhotse", str(manifest), "--out", str(tmp_path / "l")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 cuts"
    cuts = tmp_path / "l" / "cuts.jsonl.gz"
    assert main(["data", "import", "lhotse", str(cuts), "--out", str(tmp_path / "back")]) == 0
    back = tmp_path / "back" / "ds_es-en_test.jsonl.gz"
    assert capsys.readouterr().out.split() == ["es-en_test", str(back)]
    assert read_manifest(back) == read_manifest(manifest)


def test_interop_errors_are_one_line(tmp_path, monkeypatch, capsys):
    from unheard.cli import main

    out = ["--out", str(tmp_path / "o")]
    assert main(["data", "import", "hf-dataset", "facebook/covost2", *out]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "hf download --repo-type dataset facebook/covost2" in error
    assert main(["data", "import", "covost2", str(tmp_path), "--split", "dev", *out]) == 1
    assert "--split: not an option of the covost2 importer" in capsys.readouterr().err
    # a missing extra names itself
    monkeypatch.setitem(sys.modules, "lhotse", None)  # as if not installed
    assert main(["data", "import", "lhotse", str(tmp_path / "cuts.jsonl.gz"), *out]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "pip install 'unheard[lhotse]'" in error
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    (tmp_path / "x.parquet").write_bytes(b"")
    assert main(["data", "import", "hf-dataset", str(tmp_path / "x.parquet"), *out]) == 1
    assert "pip install 'unheard[datasets]'" in capsys.readouterr().err
