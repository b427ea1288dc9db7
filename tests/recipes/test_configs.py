"""Every shipped config loads, validates, names its launch command, and plans on meta."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from unheard.build import build_speech_llm
from unheard.plan import count_parameters
from unheard.recipes.train import stage_model_config
from unheard.recipes.train_config import load_train_config

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"
TRAIN_CONFIGS = sorted(p for p in CONFIGS.rglob("*.yaml") if p.parent.name != "accelerate")


def test_configs_exist():
    names = {p.relative_to(CONFIGS).as_posix() for p in TRAIN_CONFIGS}
    assert {"tiny.yaml", "paper/mt0-xl-stage1.yaml", "paper/mt0-xl-stage2.yaml",
            "paper/mt0-xxl-stage1.yaml", "paper/mt0-xxl-stage2.yaml"} <= names  # fmt: skip
    assert any("gemma3" in n for n in names)  # a decoder-only variant


@pytest.mark.parametrize("path", TRAIN_CONFIGS, ids=lambda p: p.relative_to(CONFIGS).as_posix())
def test_config_loads_names_its_launch_command_and_plans(path):
    config = load_train_config(path)
    header = "".join(line for line in path.read_text().splitlines(True) if line.startswith("#"))
    assert "unheard train" in header, f"{path} must name its launch command in its header"
    made_by_header = [
        n for n in (config.model.encoder, config.model.llm) if n.startswith("runs/")
    ]  # models the header's own commands produce (the mini track's mT5)
    if any(not (REPO / n / "config.json").exists() for n in made_by_header):
        assert all("unheard pretrain-text" in header for _ in made_by_header)
        return
    model = build_speech_llm(stage_model_config(config), weights=False, device="meta")
    counts = count_parameters(model)
    if not config.model.llm_trainable:  # the paper's setting: nothing else trains
        assert counts["trainable"] == counts["layer_mix"] + counts["adapter"] + counts["lora"]
    if config.run.stage == 1:
        assert counts["lora"] == 0  # stage 1: layer mix + adapter only
    else:
        assert counts["lora"] > 0
    if "mt0-xl-" in path.name:
        assert counts["adapter"] == 18_878_464
        assert counts["lora"] in (0, 9_437_184)
    if "mt0-xxl-" in path.name:
        assert counts["adapter"] == 62_922_752
        assert counts["lora"] in (0, 18_874_368)
    if config.run.stage == 2 and path.parent.name == "paper":
        assert config.run.init_from, "the paper's stage 2 starts from stage 1"
        assert "st" in config.data.tasks and set(config.data.unseen_languages) == {"ca", "nl"}


def test_accelerate_configs_are_valid_yaml():
    for path in (CONFIGS / "accelerate").glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        assert data["distributed_type"] and data["num_processes"] >= 1


def test_overrides_and_bad_keys(tmp_path):
    config = load_train_config(CONFIGS / "tiny.yaml", ["run.max_steps=7", "model.lora.r=2"])
    assert config.run.max_steps == 7 and config.model.lora.r == 2
    with pytest.raises(ValueError, match="unknown RunConfig key"):
        load_train_config(CONFIGS / "tiny.yaml", ["run.max_step=7"])
    with pytest.raises(ValueError, match="run.stage must be 1 or 2"):
        load_train_config(CONFIGS / "tiny.yaml", ["run.stage=3"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {a: 1\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_train_config(bad)
