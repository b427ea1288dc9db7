"""`unheard demo` on the shipped mini-track checkpoint: the table, samples, a short run, and a
rerun that reuses everything."""

from __future__ import annotations

import pytest

from unheard.benchmark.demo import ASSETS, run_demo
from unheard.checkpoint import read_checkpoint_config


def test_the_shipped_checkpoint_is_self_contained():
    config, _ = read_checkpoint_config(ASSETS / "checkpoint")
    assert config.llm == str((ASSETS / "mt5").resolve())  # ../mt5, found wherever it is
    assert config.encoder == "openai/whisper-base"  # real weights; packaged copy offline
    weights = sum(p.stat().st_size for p in ASSETS.rglob("*") if p.is_file())
    assert weights < 30e6  # small enough to ship in the repository


@pytest.mark.slow
def test_demo_scores_far_above_chance_and_a_rerun_reuses_everything(tmp_path):
    lines: list[str] = []
    first = run_demo(
        tmp_path, train_steps=3, samples=1, per_language=10, progress=False, log=lines.append
    )
    shipped, chance = first["metrics"]["shipped"], first["metrics"]["chance"]
    # the shipped model translates seen-language speech far better than chance
    assert shipped["seen"]["st_exact"] > chance["seen"]["st_exact"] + 20
    assert shipped["seen"]["bleu"] > 2 * chance["seen"]["bleu"]
    text = "\n".join(lines)
    assert "| **ca (unseen)** |" in text and "Samples in ca (unseen):" in text
    assert "translated:" in text and "transcribed:" in text
    assert first["short_run"]["steps"] == 3
    assert {"shipped/decode", "short-run/stage1"} <= set(first["timings"])

    again = run_demo(
        tmp_path, train_steps=3, samples=1, per_language=10, progress=False, log=lines.append
    )
    assert "shipped/decode" not in again["timings"] and "short-run/stage1" not in again["timings"]
    assert again["metrics"]["shipped"]["by_language"] == shipped["by_language"]
