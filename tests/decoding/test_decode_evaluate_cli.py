"""``unheard decode`` and ``unheard evaluate`` end to end on a tiny checkpoint and an espeak-ng
number corpus with two broken records."""

from __future__ import annotations

import json

import matplotlib.image
import pytest
import torch

from unheard.build import build_speech_llm
from unheard.checkpoint import save_checkpoint
from unheard.cli import main
from unheard.data.espeak import make_number_corpus
from unheard.data.manifest import read_manifest
from unheard.decoding.hypotheses import FIELDS
from unheard.tiny import make_tiny_models, perturb_trained


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("decode-cli")
    manifest = make_number_corpus(root / "corpus", ("en", "es", "fr"), 2, seed=0)
    utterances = read_manifest(manifest)
    texts = [u.text for u in utterances] + [u.translation for u in utterances]
    config = make_tiny_models(root / "models", [*texts, "Transcribe the audio."] * 4, "whisper")
    model = build_speech_llm(config)
    torch.manual_seed(0)
    perturb_trained(model)  # perturb the trained parts so that the model writes something
    checkpoint = save_checkpoint(model, config, root / "checkpoint")
    # two broken records: a missing file and a file that is not audio
    (root / "corpus" / "audio" / "broken.wav").write_bytes(b"RIFF not really a wav file")
    lines = manifest.read_text().splitlines()
    for name in ("missing", "broken"):
        record = json.loads(lines[0]) | {"id": f"en-{name}", "audio": f"audio/{name}.wav"}
        lines.append(json.dumps(record))
    manifest.write_text("\n".join(lines) + "\n")
    return root, checkpoint, manifest, utterances


def _decode(checkpoint, manifest, out, *extra: str) -> int:
    return main(["decode", str(checkpoint), str(manifest), "--out", str(out), "--no-progress",
                 "--length-base", "8", "--tokens-per-second", "4", *extra])  # fmt: skip


def test_decode_writes_one_line_per_utterance_and_resumes(setup, tmp_path, capsys):
    _, checkpoint, manifest, utterances = setup
    out = tmp_path / "asr.jsonl"
    assert _decode(checkpoint, manifest, out, "--task", "asr", "--batch-size", "4") == 0
    assert "decoded 6, skipped 0" in capsys.readouterr().out
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in lines] == [u.id for u in utterances]  # manifest order, no broken
    assert all(tuple(r) == FIELDS and r["task"] == "asr" for r in lines)
    assert [(r["language"], r["target_language"], r["reference"]) for r in lines] == [
        (u.language, u.language, u.text) for u in utterances
    ]
    assert len({r["hypothesis"] for r in lines}) >= 3  # the perturbed model writes varied text

    first = out.read_bytes()
    assert _decode(checkpoint, manifest, out, "--task", "asr") == 0
    printed = capsys.readouterr().out
    assert "decoded 0, skipped 6" in printed and "2 failed" in printed
    assert out.read_bytes() == first

    # a run killed mid-write: two lines lost and a half-written one; the rerun finishes the file
    kept = first.splitlines(keepends=True)[:4]
    out.write_bytes(b"".join(kept) + b'{"id": "fr-00')
    assert _decode(checkpoint, manifest, out, "--task", "asr", "--batch-size", "1") == 0
    assert "decoded 2, skipped 4" in capsys.readouterr().out
    assert out.read_bytes() == first  # batch-size 1 gives the same greedy hypotheses


def test_decode_reads_a_training_runs_encoder_cache(setup, tmp_path, capsys):
    """--encoder-cache: the first decode encodes each utterance once into the cache (with the
    hypotheses of a decode without it); a second decode reads every one back, writing none."""
    _, checkpoint, manifest, _ = setup
    cache = tmp_path / "cache"
    plain, first, second = (tmp_path / f"{n}.jsonl" for n in ("plain", "first", "second"))
    assert _decode(checkpoint, manifest, plain, "--task", "asr") == 0
    assert _decode(checkpoint, manifest, first, "--task", "asr", "--encoder-cache", str(cache)) == 0
    assert first.read_bytes() == plain.read_bytes()
    entries = sorted(cache.glob("*/*.safetensors"))
    assert len(entries) == 6  # one per readable utterance
    written = {p: p.stat().st_mtime_ns for p in entries}
    assert (
        _decode(checkpoint, manifest, second, "--task", "asr", "--encoder-cache", str(cache)) == 0
    )
    assert len(second.read_text().splitlines()) == 6
    assert {p: p.stat().st_mtime_ns for p in cache.glob("*/*.safetensors")} == written
    capsys.readouterr()


def test_decode_st_with_beam_search(setup, tmp_path, capsys):
    _, checkpoint, manifest, utterances = setup
    out = tmp_path / "st.jsonl"
    assert _decode(checkpoint, manifest, out, "--task", "st", "--beam", "2") == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["task"], r["target_language"], r["reference"]) for r in lines] == [
        ("st", "en", u.translation) for u in utterances
    ]


def test_evaluate_writes_metrics_report_and_plots(setup, tmp_path, capsys):
    root, checkpoint, manifest, _ = setup
    asr, st, out = tmp_path / "asr.jsonl", tmp_path / "st.jsonl", tmp_path / "eval"
    assert _decode(checkpoint, manifest, asr, "--task", "asr") == 0
    assert _decode(checkpoint, manifest, st, "--task", "st") == 0
    # a "better" baseline to compare with: the references themselves
    oracle = tmp_path / "oracle.jsonl"
    rows = [json.loads(line) for line in asr.read_text().splitlines()]
    oracle.write_text("".join(json.dumps(r | {"hypothesis": r["reference"]}) + "\n" for r in rows))
    code = main(["evaluate", str(asr), str(st), "--out", str(out), "--seen", "en,es",
                 "--checkpoint", str(checkpoint), "--compare", str(oracle)])  # fmt: skip
    assert code == 0
    assert "12 hypotheses" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    for group in ("overall", "seen", "unseen"):
        assert set(metrics[group]) >= {"bleu", "chrf", "wer", "cer", "language_accuracy"}
    assert metrics["seen_languages"] == ["en", "es"] and metrics["unseen_languages"] == ["fr"]
    assert set(metrics["by_language"]) == {"en", "es", "fr"}
    assert metrics["overall"]["utterances"] == 12 and metrics["overall"]["scored"]["st"] == 6
    assert len(metrics["layer_weights"]) == 3 and sum(metrics["layer_weights"]) == pytest.approx(1)
    assert metrics["comparison"]["overall"]["wer"]["baseline"] == 0.0  # the oracle
    report = (out / "report.md").read_text()
    assert "## Per language" in report and "![language confusion](language_confusion.png)" in report
    for name in ("scores_by_language", "language_confusion", "layer_weights"):
        image = matplotlib.image.imread(out / f"{name}.png")
        assert image.shape[0] > 200 and image.shape[1] > 400 and image.std() > 0.05, name


def test_bad_input_is_a_one_line_error(setup, tmp_path, capsys):
    _, checkpoint, manifest, _ = setup
    assert main(["evaluate", str(tmp_path / "none.jsonl"), "--out", str(tmp_path)]) == 1
    assert "none.jsonl does not exist" in capsys.readouterr().err
    assert _decode(tmp_path, manifest, tmp_path / "h.jsonl", "--task", "asr") == 1
    assert "is not an unheard checkpoint" in capsys.readouterr().err
    assert _decode(checkpoint, manifest, tmp_path / "h.jsonl", "--task", "asr", "--beam", "0") == 1
    assert "num_beams must be >= 1" in capsys.readouterr().err
