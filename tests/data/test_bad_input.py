"""Bad input is skipped and counted, never raised: the issue's list of broken records."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from unheard.data.dataset import SpeechDataset, example_refs
from unheard.data.loading import check_manifests
from unheard.data.manifest import read_manifest_lenient


def _record(id_, audio, duration, **kw):
    return {
        "id": id_,
        "audio": audio,
        "duration": duration,
        "language": "en",
        "text": "hello",
        **kw,
    }


@pytest.fixture
def broken_manifest(tmp_path):
    rng = np.random.default_rng(0)
    good = (0.1 * rng.standard_normal(16000)).astype(np.float32)
    sf.write(tmp_path / "good.wav", good, 16000)
    sf.write(tmp_path / "good2.flac", good[:8000], 16000)
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" + bytes(200))
    sf.write(tmp_path / "zero.wav", np.zeros(0, np.float32), 16000)
    nan = good.copy()
    nan[100:110] = np.nan
    sf.write(tmp_path / "nan.wav", nan, 16000, subtype="FLOAT")
    stereo = (0.1 * rng.standard_normal((8000 * 2, 2))).astype(np.float32)  # 2 s, 8 kHz
    sf.write(tmp_path / "stereo8k.wav", stereo, 8000)
    sf.write(tmp_path / "long.wav", np.zeros(8000 * 600, np.int16), 8000)  # 10 minutes
    lines = [
        json.dumps(_record("good", "good.wav", 1.0)),
        json.dumps(_record("good2", "good2.flac", 0.5)),
        json.dumps(_record("missing", "missing.wav", 1.0)),
        json.dumps(_record("empty", "empty.wav", 1.0)),
        json.dumps(_record("corrupt", "corrupt.wav", 1.0)),
        json.dumps(_record("zero", "zero.wav", 0.0)),
        json.dumps(_record("nan", "nan.wav", 1.0)),
        json.dumps(_record("stereo8k", "stereo8k.wav", 2.0, sample_rate=8000)),
        json.dumps(_record("long", "long.wav", 600.0)),
    ]
    raw = "\n".join(lines).encode() + b"\n"
    raw += b'{"id": "latin1", "audio": "good.wav", "duration": 1.0, "language": "es", '
    raw += b'"text": "ni\xf1o"}\n'
    (tmp_path / "manifest.jsonl").write_bytes(raw)
    return tmp_path / "manifest.jsonl"


EXPECTED_BAD = {
    "missing": "audio file missing",
    "empty": "audio file is empty",
    "corrupt": "cannot decode",
    "zero": "cannot decode",
    "nan": "NaN or infinite samples",
    "long": "too long",
    "latin1": "not UTF-8",
}


def test_loading_yields_every_good_record_and_skips_each_bad_one(broken_manifest, caplog):
    utterances, bad_lines = read_manifest_lenient(broken_manifest)
    assert [b.id for b in bad_lines] == ["latin1"]
    dataset = SpeechDataset(utterances, example_refs(utterances, ("asr",)))
    with caplog.at_level(logging.WARNING):
        items = [dataset[i] for i in range(len(dataset))]  # never raises
    good = {x.id: x for x in items if hasattr(x, "audio") and not hasattr(x, "reason")}
    assert set(good) == {"good", "good2", "stereo8k"}
    assert good["stereo8k"].audio.shape == (32000,)  # 2 s of 8 kHz stereo → 16 kHz mono
    assert good["good2"].audio.shape == (8000,)

    report = check_manifests([broken_manifest])
    assert report.good == 3
    reasons = {r.id: r.reason for r in report.bad}
    assert set(reasons) == set(EXPECTED_BAD)
    for id_, reason in EXPECTED_BAD.items():
        assert reasons[id_].startswith(reason) or reason in reasons[id_], (id_, reasons[id_])
    logged = caplog.text
    assert "skipped latin1" in logged and "skipped missing" in logged and "skipped long" in logged


def test_data_check_lists_the_bad_records(broken_manifest):
    result = subprocess.run(
        [sys.executable, "-m", "unheard", "data", "check", str(broken_manifest), "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1  # bad records found
    report = json.loads(result.stdout)
    assert report["good"] == 3 and report["bad"] == 7
    assert {r["id"] for r in report["bad_records"]} == set(EXPECTED_BAD)
