"""Typed configs from dicts, with key=value overrides."""

from __future__ import annotations

import pytest

from unheard.config import ModelConfig, apply_overrides, from_dict, load_yaml, to_dict
from unheard.presets import PRESETS


def test_round_trip_and_overrides():
    data = to_dict(PRESETS["paper-mt0-xl"])
    assert from_dict(ModelConfig, data) == PRESETS["paper-mt0-xl"]
    changed = apply_overrides({"model": data}, ["model.lora.r=4", "model.llm_trainable=[lm_head]"])
    config = from_dict(ModelConfig, changed["model"])
    assert config.lora.r == 4 and config.llm_trainable == ("lm_head",)
    assert data["lora"]["r"] == 16  # the input is not modified


def test_bad_values_are_named():
    with pytest.raises(ValueError, match="unknown ModelConfig key"):
        from_dict(ModelConfig, {"encoder": "e", "llm": "l", "adapter": 3})
    with pytest.raises(ValueError, match="model.dtype must be one of"):
        ModelConfig(encoder="e", llm="l", dtype="int8")
    with pytest.raises(ValueError, match="not of the form key=value"):
        apply_overrides({}, ["model.lora.r"])


def test_exponent_floats_without_a_dot_are_numbers_in_overrides_and_files(tmp_path):
    """YAML 1.1 reads ``5e-4`` as a string; a learning rate given so must arrive as a float."""
    from unheard.recipes.train_config import load_train_config

    out = apply_overrides({"optim": {"lr": 1.0}}, ["optim.lr=5e-4", "optim.warmup_steps=1E2"])
    assert out["optim"] == {"lr": 0.0005, "warmup_steps": 100.0}
    assert apply_overrides({}, ["a=e5", "b=[1e-3, 2]"]) == {"a": "e5", "b": [0.001, 2]}
    path = tmp_path / "run.yaml"
    path.write_text(
        "model: {encoder: tiny:whisper, llm: tiny:mt5}\n"
        "data: {train: [a.jsonl.gz]}\noptim: {lr: 3e-4}\nrun: {output_dir: out}\n"
    )
    assert load_yaml(path)["optim"]["lr"] == 0.0003
    assert load_train_config(path, ["optim.lr=2e-3"]).optim.lr == 0.002
