"""The device policy (`unheard.device`), the batch type's ``to``, the model's entry check, and the
failures real hardware gives: a device that is not there, half precision on a CPU without a
fast path, and running out of GPU memory."""

from __future__ import annotations

import subprocess
import sys
import warnings
from dataclasses import fields
from pathlib import Path

import pytest
import torch

from unheard import device as device_policy
from unheard.build import build_speech_llm, load_tokenizer
from unheard.data.batch import MODEL_INPUTS, Batch
from unheard.data.collate import Example, SpeechCollator, TextExample
from unheard.data.features import feature_extractor_for
from unheard.decoding.decode import DecodeOptions, decode
from unheard.device import (
    resolve_dtype,
    resolve_precision,
    select_device,
    warn_slow_precision,
)
from unheard.model.speech_llm import DeviceMismatchError
from unheard.recipes.train_config import RunConfig

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def parts(tiny_models):
    config = tiny_models("w2v-bert", "mt5")
    torch.manual_seed(0)
    model = build_speech_llm(config)
    tokenizer = load_tokenizer(config)
    collator = SpeechCollator(
        tokenizer, feature_extractor_for(model.encoder.model.config), model.is_encoder_decoder
    )
    return model, collator, tokenizer, config


def _mixed(clips):
    return [
        Example("s0", clips[0], "asr", "en", "en", "one two"),
        TextExample("t0", "uno dos", "translate", "es", "en", "one two"),
        Example("s1", clips[1], "st", "es", "en", "three"),
    ]


def test_select_device_prefers_what_is_there_and_names_what_is_not():
    assert select_device(None) == select_device("auto") == torch.device("cpu")  # no GPU here
    assert select_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="'cuda' asked for, but CUDA is unavailable"):
        select_device("cuda")
    with pytest.raises(ValueError, match="'cuda:1' asked for"):
        select_device("cuda:1")
    with pytest.raises(ValueError, match="'gpu0' is not a device name"):
        select_device("gpu0")
    with pytest.raises(ValueError, match="'mps' is unavailable here"):
        select_device("mps")


def test_the_commands_fail_in_one_line_on_a_device_that_is_not_there(tmp_path):
    for argv in (
        ["decode", str(tmp_path), str(tmp_path / "m.jsonl"), "--task", "asr", "--out", "h.jsonl",
         "--device", "cuda"],
        ["transcribe", str(tmp_path), str(tmp_path / "a.wav"), "--device", "cuda"],
        ["train", "configs/tiny.yaml", "run.device=cuda", f"run.output_dir={tmp_path}/run"],
    ):  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "unheard", *argv], cwd=REPO, capture_output=True, text=True
        )
        assert done.returncode == 1, (argv, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "CUDA is unavailable" in lines[0], (argv, done.stderr)


def test_run_device_names_a_type_not_one_device():
    from unheard.recipes.train_config import RunConfig

    with pytest.raises(ValueError, match="CUDA_VISIBLE_DEVICES"):
        RunConfig(device="cuda:1")


def test_half_precision_on_a_cpu_without_a_fast_path_warns_once(monkeypatch):
    cpu = torch.device("cpu")
    device_policy._warn_once.cache_clear()
    monkeypatch.setattr(device_policy, "cpu_has_fast_bf16", lambda: False)  # an AVX2-only CPU
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert warn_slow_precision("bf16", cpu)
        assert warn_slow_precision("bf16", cpu)  # asked again: no second warning
        assert not warn_slow_precision("no", cpu)
        assert not warn_slow_precision("bf16", torch.device("meta"))  # not a CPU
    assert len(caught) == 1
    assert "2.90 s vs 0.057 s" in str(caught[0].message)
    assert "run.mixed_precision=no" in str(caught[0].message)
    monkeypatch.setattr(device_policy, "cpu_has_fast_bf16", lambda: True)  # AVX512-BF16 / AMX
    device_policy._warn_once.cache_clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert not warn_slow_precision("bf16", cpu)
        assert warn_slow_precision("fp16", cpu)  # no CPU has fast fp16 autocast in torch
    assert len(caught) == 1


def test_auto_precision_is_bf16_only_where_the_device_computes_it_natively(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(device_policy, "cpu_has_fast_bf16", lambda: False)  # an AVX2-only CPU
    assert resolve_precision("auto", cpu) == "no"
    monkeypatch.setattr(device_policy, "cpu_has_fast_bf16", lambda: True)  # AVX512-BF16 / AMX
    assert resolve_precision("auto", cpu) == "bf16"
    assert resolve_precision("auto", torch.device("meta")) == "no"  # no fast path known
    for setting in ("no", "bf16", "fp16"):  # what the config says is kept
        assert resolve_precision(setting, cpu) == setting
    with pytest.raises(ValueError, match="run.mixed_precision must be one of"):
        RunConfig(mixed_precision="float16")
    assert RunConfig(mixed_precision="auto").mixed_precision == "auto"


def test_auto_dtype_builds_bf16_frozen_weights_only_where_bf16_is_native(monkeypatch, tiny_models):
    from dataclasses import replace

    config = replace(tiny_models("whisper", "qwen2"), dtype="auto")
    for native, dtype in ((False, torch.float32), (True, torch.bfloat16)):
        monkeypatch.setattr(device_policy, "cpu_has_fast_bf16", lambda native=native: native)
        assert resolve_dtype("auto") == dtype
        model = build_speech_llm(config)
        assert model.llm.get_input_embeddings().weight.dtype == dtype
        assert model.adapter.conv1.weight.dtype == torch.float32  # trained parts stay float32
        # the encoder stays float32: one encoder cache serves both kinds of machine
        assert {p.dtype for p in model.encoder.parameters()} == {torch.float32}
    assert resolve_dtype("float16") == torch.float16
    with pytest.raises(ValueError, match="model.dtype must be one of"):
        replace(config, dtype="half")


def test_this_cpu_is_read_not_assumed():
    has = device_policy.cpu_has_fast_bf16()
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    assert has == ("avx512_bf16" in flags or "amx_bf16" in flags)


def test_batch_to_moves_every_tensor_and_keeps_the_rest(parts, clips):
    _, collator, _, _ = parts
    batch = collator(_mixed(clips))
    tensors = {f.name for f in fields(batch) if isinstance(getattr(batch, f.name), torch.Tensor)}
    assert tensors == set(MODEL_INPUTS)  # a mixed batch with answers sets every input
    assert set(batch) == tensors and len(batch) == len(MODEL_INPUTS)
    moved = batch.to("meta")
    assert {getattr(moved, name).device.type for name in tensors} == {"meta"}
    assert moved.device == torch.device("meta") and batch.device == torch.device("cpu")
    for name in tensors:  # shapes and dtypes unchanged
        assert getattr(moved, name).shape == getattr(batch, name).shape
        assert getattr(moved, name).dtype == getattr(batch, name).dtype
    assert moved.ids == ("s0", "t0", "s1") and moved.size == 3
    assert moved.audio_seconds == pytest.approx((len(clips[0]) + len(clips[1])) / 16000)
    assert moved.longest_audio_s == pytest.approx(max(len(clips[0]), len(clips[1])) / 16000)
    assert batch.answer_tokens == int(batch.target_mask.sum()) > 0
    assert set(batch.without_targets()) == tensors - {"target_ids", "target_mask"}
    assert Batch().empty and Batch().size == 0 and len(Batch()) == 0
    with pytest.raises(KeyError):
        batch.without_targets()["target_ids"]


def test_the_model_refuses_inputs_on_another_device_by_name(parts, clips):
    model, collator, tokenizer, _ = parts
    batch = collator(_mixed(clips))
    model.to("meta")
    with pytest.raises(DeviceMismatchError, match=r"model \(meta\).*'prefix_ids': 'cpu'"):
        model(**batch)
    with pytest.raises(DeviceMismatchError, match="features"):
        model.generate(**batch.without_targets(), max_new_tokens=2)


def test_running_out_of_memory_while_decoding_names_the_batch_and_what_to_lower(parts, clips):
    model, collator, tokenizer, _ = parts

    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    model.llm.generate = out_of_memory  # where a real GPU runs out: inside generate
    examples = [Example(f"u{i}", clips[i], "asr", "en", "en", None) for i in range(3)]
    with pytest.raises(RuntimeError, match="while decoding a batch of 3 item") as caught:
        decode(model, collator, tokenizer, examples, DecodeOptions(max_batch_seconds=40))
    message = str(caught.value)
    assert "--batch-size 16 and --max-batch-seconds 40" in message and "ids u" in message
    assert isinstance(caught.value.__cause__, torch.OutOfMemoryError)


def test_running_out_of_memory_in_a_training_step_gives_the_plan_estimate(tmp_path, monkeypatch):
    from unheard.data.espeak import make_number_corpus
    from unheard.plan import plan, shape_of
    from unheard.recipes.steps import Window, micro_step
    from unheard.recipes.train import setup
    from unheard.recipes.train_config import load_train_config

    corpus = make_number_corpus(tmp_path / "corpus", ("en", "es"), 4)
    config = load_train_config(
        REPO / "configs/tiny.yaml",
        [f"data.train=[{corpus}]", "data.dev=[]", f"run.output_dir={tmp_path / 'run'}",
         "run.progress=false", "data.sampler.max_duration_s=7.5"],
    )  # fmt: skip
    run = setup(config)

    def out_of_memory(module, args, kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    run.unwrapped.llm.register_forward_pre_hook(out_of_memory, with_kwargs=True)
    batch = next(iter(run.loader))
    with pytest.raises(RuntimeError, match="during training step 1 on a batch of") as caught:
        micro_step(run, batch, Window())
    message = str(caught.value)
    estimate = plan(run.unwrapped, run.model_config, shape_of(batch))["memory_gib"]["total"]
    assert f"{batch.size} item(s)" in message
    assert "data.sampler.max_duration_s=7.5" in message
    assert f"estimates {estimate:.1f} GiB per device" in message
    assert "Lower data.sampler.max_duration_s" in message
