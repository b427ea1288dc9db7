"""Typed configs from dicts, with key=value overrides."""

from __future__ import annotations

import pytest

from unheard.config import ModelConfig, apply_overrides, from_dict, to_dict
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
