"""What the recipe reads of an FSDP launch (the environment `accelerate launch` sets), and what it
refuses; training under FSDP is tested end to end in test_train.py."""

from __future__ import annotations

import os

import pytest

from unheard.recipes.fsdp import USE_FSDP, FsdpOptions, fsdp_options, hidden_from_accelerate

LAUNCH = {USE_FSDP: "true", "FSDP_VERSION": "2", "FSDP_RESHARD_AFTER_FORWARD": "true"}


def test_no_fsdp_unless_the_launch_asks_for_it():
    assert fsdp_options({}) is None
    assert fsdp_options({USE_FSDP: "false", "FSDP_VERSION": "2"}) is None


def test_the_launch_settings_are_read():
    assert fsdp_options(LAUNCH) == FsdpOptions()
    options = fsdp_options(
        {**LAUNCH, "FSDP_RESHARD_AFTER_FORWARD": "false",
         "FSDP_TRANSFORMER_CLS_TO_WRAP": "MT5Block, Qwen2DecoderLayer"}
    )  # fmt: skip
    assert options == FsdpOptions(False, ("MT5Block", "Qwen2DecoderLayer"))


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"FSDP_VERSION": "1"}, "FSDP version 1 .* FSDP2 only"),
        ({"FSDP_CPU_RAM_EFFICIENT_LOADING": "true"}, "cpu_ram_efficient_loading"),
        ({"FSDP_OFFLOAD_PARAMS": "true"}, "offload_params: true is not supported"),
        ({"FSDP_ACTIVATION_CHECKPOINTING": "true"}, "run.gradient_checkpointing=true"),
    ],
)
def test_unsupported_settings_are_refused_by_name(setting, message):
    with pytest.raises(ValueError, match=message):
        fsdp_options({**LAUNCH, **setting})


def test_a_deepspeed_launch_is_refused_not_trained_as_ddp():
    with pytest.raises(ValueError, match="DeepSpeed is not supported yet"):
        fsdp_options({"ACCELERATE_USE_DEEPSPEED": "true"})


def test_the_accelerator_is_built_without_the_fsdp_request(monkeypatch):
    monkeypatch.setenv(USE_FSDP, "true")
    with hidden_from_accelerate():
        assert USE_FSDP not in os.environ
    assert os.environ[USE_FSDP] == "true"
