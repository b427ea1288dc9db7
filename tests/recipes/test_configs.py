"""Every shipped config loads, validates, names its launch command, and plans on meta."""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path

import pytest

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


def _header_commands(path: Path, program: str) -> list[list[str]]:
    """The ``unheard <program> ...`` command lines in a config's header (also as ``accelerate
    launch ... -m unheard <program> ...``), as argv lists without ``unheard``."""
    commands = []
    for line in path.read_text().splitlines():
        text = line[1:].split("  #")[0].strip() if line.startswith("#") else ""
        for prefix in ("unheard ", "-m unheard "):
            at = text.find(f"{prefix}{program} ")
            if at == 0 or (at > 0 and prefix.startswith("-m")):
                commands.append(shlex.split(text[at + len(prefix) :]))
                break
    return commands


@pytest.mark.parametrize("path", TRAIN_CONFIGS, ids=lambda p: p.relative_to(CONFIGS).as_posix())
def test_config_loads_names_its_launch_command_and_plans(path):
    config = load_train_config(path)
    header = "".join(line for line in path.read_text().splitlines(True) if line.startswith("#"))
    assert "unheard train" in header, f"{path} must name its launch command in its header"
    # every config plans as it is: its encoder and LLM resolve here (hub ids, packaged or shipped
    # copies, built-in presets with their architecture inline), and its data is not read
    model = build_speech_llm(stage_model_config(config), weights=False, device="meta")
    counts = count_parameters(model)
    assert counts["adapter"] > 0 and counts["llm"] > 0
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


@pytest.mark.parametrize("path", TRAIN_CONFIGS, ids=lambda p: p.relative_to(CONFIGS).as_posix())
def test_the_header_commands_run_as_they_are_written(path):
    from unheard.cli import _parser

    commands = _header_commands(path, "train")
    assert commands, path
    for argv in commands:
        args = _parser().parse_args(argv)
        assert (REPO / args.config).is_file(), args.config
        load_train_config(REPO / args.config, args.overrides)  # its overrides are valid


BENCHMARK_CONFIGS = [p for p in TRAIN_CONFIGS if p.parent.name in ("mini", "real")]


@pytest.mark.parametrize("path", BENCHMARK_CONFIGS, ids=lambda p: p.relative_to(CONFIGS).as_posix())
def test_the_benchmark_configs_spell_out_the_benchmarks_recipe(path):
    # the header's commands make what `unheard benchmark` makes: the corpus of BenchmarkOptions'
    # defaults, the mini LLM of `MINI_LLM`, and training on the seen languages' audio only
    from unheard.benchmark.mini_llm import MINI_LLM
    from unheard.benchmark.options import BenchmarkOptions
    from unheard.cli import _parser
    from unheard.recipes.commands import text_pretrain_options

    options = BenchmarkOptions()
    synth = [_parser().parse_args(argv) for argv in _header_commands(path, "data synth")]
    assert synth and all(
        (a.per_language, a.kinds, a.seed) == (options.per_language, options.kinds, options.seed)
        for a in synth
    ), path
    config = load_train_config(path)
    seen = config.data.languages
    assert seen and not set(seen) & set(config.data.unseen_languages)
    for manifest in config.data.train:  # one manifest per seen language, in that order
        assert Path(manifest).name.split("_")[1] in seen, manifest
    if config.data.train:
        assert len(config.data.train) == len(seen)
    pretrain = _header_commands(path, "pretrain-text")
    if path.parent.name == "real":
        assert not pretrain
        return
    made = [text_pretrain_options(_parser().parse_args(argv)) for argv in pretrain]
    assert made[0] == MINI_LLM.base
    if MINI_LLM.instruct is None:  # one run, straight into the LLM's folder
        assert len(made) == 1 and "runs/benchmark/mini/mt5" in pretrain[0]
    else:
        assert made[1] == replace(MINI_LLM.instruct, init="runs/benchmark/mini/mt5-base/model")
    assert config.model.llm == "unheard:mini-mt5"


ACCELERATE_CONFIGS = sorted((CONFIGS / "accelerate").glob("*.yaml"))


def test_accelerate_configs_exist():
    assert {p.name for p in ACCELERATE_CONFIGS} >= {"ddp.yaml", "fsdp.yaml"}


@pytest.mark.parametrize("path", ACCELERATE_CONFIGS, ids=lambda p: p.name)
def test_accelerate_config_loads_and_its_header_launches_it(path, monkeypatch):
    from accelerate.commands.config.config_args import ClusterConfig
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_multi_gpu_env

    from unheard.cli import _parser
    from unheard.recipes.fsdp import fsdp_options

    config = ClusterConfig.from_yaml_file(str(path))  # accelerate's own class: no unknown keys
    assert config.num_processes >= 1 and config.num_machines == 1
    parser = launch_command_parser()
    options = {a.dest for a in parser._actions}
    unknown = sorted(k for k in (config.fsdp_config or {}) if k not in options)
    assert not unknown, f"{path.name}: fsdp_config keys accelerate launch does not know: {unknown}"

    header = [line[1:].strip() for line in path.read_text().splitlines() if line.startswith("#")]
    commands = [shlex.split(line) for line in header if line.startswith("accelerate launch")]
    assert commands, f"{path} must name its launch command in its header"
    for command in commands:
        args = parser.parse_args(command[2:])  # exits on a flag accelerate does not have
        assert args.config_file == f"configs/accelerate/{path.name}"
        assert args.module and args.training_script == "unheard"
        assert args.training_script_args[0] == "train"
        train = _parser().parse_args(args.training_script_args)  # `unheard train ...` parses
        if train.config != "CONFIG":
            assert (REPO / train.config).is_file(), train.config
        # what the launch puts into each process's environment, as the recipe reads it
        monkeypatch.chdir(REPO)  # the header's paths are relative to the repository
        args, _, _ = _validate_launch_command(args)
        env = prepare_multi_gpu_env(args)
        fsdp = fsdp_options(env)
        assert (fsdp is not None) == (config.distributed_type == "FSDP"), path.name
        if fsdp is not None:
            assert fsdp.reshard_after_forward
            assert config.fsdp_config["fsdp_version"] == 2


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
