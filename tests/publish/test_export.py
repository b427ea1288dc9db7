"""``unheard export``: the folder's files, its config without local paths, and the model card's
Hub metadata and scores (from a metrics.json made by the real evaluation)."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from unheard.build import build_speech_llm
from unheard.checkpoint import CONFIG_NAME, WEIGHTS_NAME, read_checkpoint_config, save_checkpoint
from unheard.cli import main
from unheard.decoding.hypotheses import Hypothesis
from unheard.evaluation.evaluate import EvaluationOptions, evaluate
from unheard.publish import ExportOptions, export_checkpoint
from unheard.publish.model_card import hub_languages

HYPOTHESES = [  # (language, task, hypothesis, reference): es seen, ca unseen
    ("es", "asr", "uno dos tres", "uno dos tres"),
    ("es", "asr", "hola mundo", "hola mundo bonito"),
    ("es", "st", "one two three", "one two three"),
    ("ca", "asr", "un dos tres", "u dos tres"),
    ("ca", "st", "one two", "one two three"),
    ("ca", "st", "hello world", "hello world"),
]


@pytest.fixture(scope="module")
def run_dir(tiny_models, tmp_path_factory):
    """A run as ``unheard train`` leaves it: checkpoints/step-3 and a summary.json."""
    config = tiny_models("whisper", "mt5")
    torch.manual_seed(0)
    run = tmp_path_factory.mktemp("run")
    save_checkpoint(
        build_speech_llm(config), config, run / "checkpoints" / "step-3",
        extra={"step": 3, "stage": 2, "name_source_language": False},
    )  # fmt: skip
    (run / "summary.json").write_text(json.dumps({"steps": 3, "unseen_languages": ["ca"]}))
    return run


@pytest.fixture(scope="module")
def metrics_file(tmp_path_factory):
    """A metrics.json as ``unheard evaluate --seen es --unseen ca`` writes it."""
    records = []
    for i, (lang, task, hyp, ref) in enumerate(HYPOTHESES):
        target = lang if task == "asr" else "en"
        fields = {"id": f"{lang}-{i}", "task": task, "language": lang, "target_language": target}
        records.append(Hypothesis(**fields, hypothesis=hyp, reference=ref))
    metrics = evaluate(records, EvaluationOptions(seen=("es",), unseen=("ca",))).metrics
    path = tmp_path_factory.mktemp("evaluation") / "metrics.json"
    path.write_text(json.dumps(metrics))
    return path


def front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    header, _ = card[4:].split("\n---\n", 1)
    return yaml.safe_load(header)


def test_the_folder_is_self_contained(run_dir, metrics_file, tmp_path):
    checkpoint = run_dir / "checkpoints" / "step-3"
    result = export_checkpoint(
        checkpoint, tmp_path / "out", metrics_file, ExportOptions(repo_id="someone/tiny")
    )
    out = tmp_path / "out"
    shipped = ("encoder", "llm", "metrics.json")
    assert result.files == ("README.md", *shipped, WEIGHTS_NAME, CONFIG_NAME)
    assert (out / WEIGHTS_NAME).read_bytes() == (checkpoint / WEIGHTS_NAME).read_bytes()
    assert json.loads((out / "metrics.json").read_text()) == json.loads(metrics_file.read_text())
    # the tiny encoder and LLM are local folders: shipped inside, named relative to the config
    meta = json.loads((out / CONFIG_NAME).read_text())
    assert (meta["model"]["encoder"], meta["model"]["llm"]) == ("./encoder", "./llm")
    assert str(run_dir.parent) not in (out / CONFIG_NAME).read_text()
    assert meta["extra"]["seen_languages"] == ["es"] and meta["extra"]["unseen_languages"] == ["ca"]
    config, _ = read_checkpoint_config(out)
    assert config.llm == str((out / "llm").resolve())
    assert (out / "llm" / "config.json").is_file() and (out / "encoder" / "config.json").is_file()
    # the languages' sources: the run's summary for the unseen ones, the metrics for the seen
    assert result.sources == {
        "seen": "the metrics' seen_languages",
        "unseen": "the run's summary.json unseen_languages",
    }


def test_the_cards_metadata_is_the_hubs(run_dir, metrics_file, tmp_path):
    options = ExportOptions(
        license="cc-by-4.0", repo_id="someone/tiny", datasets=("fixie-ai/covost2",),
        seen=("es", "pt_BR"), unseen=("ca",),
    )  # fmt: skip
    export_checkpoint(run_dir / "checkpoints" / "step-3", tmp_path / "out", metrics_file, options)
    card = (tmp_path / "out" / "README.md").read_text()
    meta = front_matter(card)
    assert meta["language"] == ["es", "pt", "ca"]
    assert meta["license"] == "cc-by-4.0"
    assert meta["library_name"] == "unheard"
    assert {"speech-translation", "automatic-speech-recognition", "zero-resource"} <= set(
        meta["tags"]
    )
    assert meta["datasets"] == ["fixie-ai/covost2"]
    assert meta["pipeline_tag"] == "automatic-speech-recognition"
    assert "base_model" not in meta  # both frozen models are shipped copies, not hub models
    # usage: by hub id, on the command line and in Python
    assert "unheard transcribe someone/tiny speech.wav" in card
    assert 'unheard.load("someone/tiny")' in card
    assert "hf download someone/tiny" in card


def test_the_cards_scores_are_the_metrics(run_dir, metrics_file, tmp_path):
    options = ExportOptions(repo_id="someone/tiny")
    export_checkpoint(run_dir / "checkpoints" / "step-3", tmp_path / "out", metrics_file, options)
    metrics = json.loads(metrics_file.read_text())
    card = (tmp_path / "out" / "README.md").read_text()
    (index,) = front_matter(card)["model-index"]
    assert index["name"] == "someone/tiny"
    values = {}
    for result in index["results"]:
        config = result["dataset"].get("config")
        for m in result["metrics"]:
            values[(result["task"]["type"], config, m["type"], m["name"])] = m["value"]
    asr, st = "automatic-speech-recognition", "translation"
    assert values[(asr, None, "wer", "WER (unseen: ca)")] == round(metrics["unseen"]["wer"], 2)
    assert values[(asr, None, "wer", "WER (seen: es)")] == round(metrics["seen"]["wer"], 2)
    assert values[(asr, None, "cer", "CER (overall)")] == round(metrics["overall"]["cer"], 2)
    assert values[(st, None, "bleu", "BLEU (unseen: ca)")] == round(metrics["unseen"]["bleu"], 2)
    assert values[(st, "ca", "chrf", "chrF (unseen)")] == round(
        metrics["by_language"]["ca"]["chrf"], 2
    )
    assert values[(asr, "es", "accuracy", "output-language accuracy (seen)")] == round(
        metrics["by_language"]["es"]["language_accuracy"], 2
    )
    # the Markdown table: a row per group and language, every score to one decimal
    rows = {line.split("|")[1].strip(): line for line in card.splitlines() if line.startswith("| ")}
    for label, scores in [
        ("**overall**", metrics["overall"]), ("**seen**", metrics["seen"]),
        ("**unseen**", metrics["unseen"]), ("ca", metrics["by_language"]["ca"]),
        ("es", metrics["by_language"]["es"]),
    ]:  # fmt: skip
        cells = [c.strip() for c in rows[label].split("|")[3:-1]]
        expected = [f"{scores[k]:.1f}" for k in ("bleu", "chrf", "wer", "cer", "language_accuracy")]
        assert cells == expected, label


def test_unrecorded_languages_are_warned_and_hub_ids_are_named(run_dir, tmp_path):
    # a checkpoint outside a run, without metrics: no language recorded anywhere
    checkpoint = tmp_path / "loose"
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        checkpoint.mkdir(exist_ok=True)
        (checkpoint / name).write_bytes((run_dir / "checkpoints" / "step-3" / name).read_bytes())
    options = ExportOptions(encoder="facebook/w2v-bert-2.0", llm="google/mt5-small")
    result = export_checkpoint(checkpoint, tmp_path / "out", options=options)
    assert result.seen == () and result.unseen == ()
    assert any("pass --seen" in w for w in result.warnings)
    assert any("pass --repo-id" in w for w in result.warnings)
    assert result.files == ("README.md", WEIGHTS_NAME, CONFIG_NAME)  # nothing shipped
    meta = json.loads((tmp_path / "out" / CONFIG_NAME).read_text())
    assert (meta["model"]["encoder"], meta["model"]["llm"]) == (
        "facebook/w2v-bert-2.0",
        "google/mt5-small",
    )
    card = front_matter((tmp_path / "out" / "README.md").read_text())
    assert card["base_model"] == ["facebook/w2v-bert-2.0", "google/mt5-small"]
    assert "language" not in card and "model-index" not in card


def test_refusals_are_one_line(run_dir, tmp_path, capsys):
    checkpoint = str(run_dir / "checkpoints" / "step-3")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["export", checkpoint, "--out", str(out)]) == 1
    assert "is not empty: choose another folder or pass --overwrite" in capsys.readouterr().err
    assert main(["export", checkpoint, "--out", str(tmp_path / "o2"), "--max-copy-mb", "0"]) == 1
    err = capsys.readouterr().err
    assert "--max-copy-mb 0: name the hub model it is a copy of with --encoder USER/NAME" in err
    assert err.count("\n") == 1
    assert main(["export", checkpoint, "--out", str(run_dir), "--overwrite"]) == 1
    assert "which the export reads" in capsys.readouterr().err
    assert main(["export", checkpoint, "--out", str(out), "--seen", "es", "--unseen", "es"]) == 1
    assert "both as seen and unseen" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"bleu": 1}')
    assert main(["export", checkpoint, "--out", str(tmp_path / "o3"), "--metrics", str(bad)]) == 1
    assert "is not an `unheard evaluate` metrics.json" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"
    assert not (tmp_path / "o2").exists() and not (tmp_path / "o3").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers


def test_the_command_exports_and_overwrites(run_dir, metrics_file, tmp_path, capsys):
    checkpoint = str(run_dir / "checkpoints" / "step-3")
    out = tmp_path / "out"
    args = ["export", checkpoint, "--out", str(out), "--metrics", str(metrics_file),
            "--seen", "es,fr", "--repo-id", "someone/tiny", "--license", "mit"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr()
    assert "seen languages: es, fr (--seen)" in printed.out
    assert "unseen languages: ca (the run's summary.json unseen_languages)" in printed.out
    assert printed.err == ""
    (out / "stale.txt").write_text("from before")
    assert main([*args, "--overwrite"]) == 0
    assert not (out / "stale.txt").exists()
    assert front_matter((out / "README.md").read_text())["license"] == "mit"
    # an export exports again (its ./llm resolved and shipped once more)
    assert main(["export", str(out), "--out", str(tmp_path / "again"), "--repo-id", "a/b"]) == 0
    meta = json.loads((tmp_path / "again" / CONFIG_NAME).read_text())
    assert meta["model"]["llm"] == "./llm" and meta["extra"]["seen_languages"] == ["es", "fr"]


def test_hub_languages_are_base_codes_once():
    assert hub_languages(("es", "pt_BR", "pt-PT", "ES", "zh_Hans")) == ["es", "pt", "zh"]
