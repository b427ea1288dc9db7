"""``unheard data synth`` end to end on a tiny corpus (needs espeak-ng)."""

import json
import shutil

import pytest

from unheard.cli import main

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (apt-get install espeak-ng)",
)


def test_synth_writes_a_corpus_that_data_check_accepts(tmp_path, capsys):
    out = tmp_path / "corpus"
    argv = ["data", "synth", "--out", str(out), "--languages", "es,nl", "--per-language", "3"]
    argv += ["--text-per-language", "12", "--seed", "1", "--noise-snr-db", "20,30", "--jobs", "1"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "26 utterances" in printed  # (3 train + 5 dev + 5 test) x 2 languages
    manifests = sorted(out.glob("unheard-synth_*.jsonl.gz"))
    assert [p.name for p in manifests] == [
        f"unheard-synth_{lang}_{split}.jsonl.gz"
        for lang in ("es", "nl")
        for split in ("dev", "test", "train")
    ]
    assert sorted(p.name for p in (out / "text").iterdir()) == [
        f"{lang}_{split}.jsonl" for lang in ("es", "nl") for split in ("dev", "test", "train")
    ]
    summary = json.loads((out / "unheard-synth.json").read_text())
    assert summary["options"]["noise_snr_db"] == [20.0, 30.0]
    assert main(["data", "check", *map(str, manifests)]) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--languages", "es,tr"], "language 'tr' is not in the synthetic corpus"),
        (["--noise-snr-db", "30,10"], "noise SNR must be LO,HI"),
        (["--per-language", "0"], "per_language must be at least 1"),
    ],
)
def test_synth_bad_input_is_one_line(tmp_path, capsys, extra, message):
    assert main(["data", "synth", "--out", str(tmp_path), *extra]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
