"""configs/tiny.yaml through the training recipe learns: the tiny SpeechLLM memorises 16
espeak-ng transcripts (what the demo's own loop was tested on before it went)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unheard.checkpoint import load_decoder
from unheard.data.espeak import make_number_corpus
from unheard.decoding.decode_manifest import decode_manifest
from unheard.decoding.hypotheses import read_hypotheses
from unheard.evaluation.metrics import exact_match
from unheard.recipes.train import train
from unheard.recipes.train_config import load_train_config

REPO = Path(__file__).resolve().parents[2]
LOSS_THRESHOLD = 0.05  # training loss (nats/token) of the last log window


@pytest.mark.slow
def test_the_tiny_config_memorises_16_transcripts(tmp_path):
    manifest = make_number_corpus(tmp_path / "corpus", ("en", "es", "de", "fr"), 4, seed=0)
    config = load_train_config(
        REPO / "configs/tiny.yaml",
        [
            f"data.train=[{manifest}]", "data.dev=[]", "data.tasks=[asr]",
            "run.max_steps=220", "run.save_every=220", "run.validate_every=0",
            f"run.output_dir={tmp_path / 'run'}", "run.progress=false",
        ],
    )  # fmt: skip
    summary = train(config)
    log = (tmp_path / "run/log.jsonl").read_text().splitlines()
    losses = [json.loads(x)["loss"] for x in log if '"kind": "train"' in x]
    print(losses)
    assert losses[0] > 3.0  # it starts knowing nothing
    assert max(losses[-3:]) < LOSS_THRESHOLD  # the config's cosine schedule has settled it
    model, collator, tokenizer = load_decoder(summary["final_checkpoint"])
    decode_manifest(model, collator, tokenizer, manifest, "asr", tmp_path / "hyps.jsonl")
    hyps = read_hypotheses(tmp_path / "hyps.jsonl")
    assert len(hyps) == 16
    right = exact_match([h.reference for h in hyps], [h.hypothesis for h in hyps])
    assert right >= 0.9, [(h.reference, h.hypothesis) for h in hyps]
