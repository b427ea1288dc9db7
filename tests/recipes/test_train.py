"""The training recipe: DDP equals one process, FSDP and DDP with dropout resume exactly, FSDP
equals DDP, NaN guard. A single process killed with SIGKILL resumes exactly: test_resume.py."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from unheard.data.espeak import make_number_corpus

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_number_corpus(tmp_path_factory.mktemp("corpus"), ("en", "es", "de", "fr"), 8)


def _args(corpus, out, *extra):
    return ["configs/tiny.yaml", *_overrides(corpus, out, *extra)]


def _overrides(corpus, out, *extra):
    return [
        f"data.train=[{corpus}]",
        "data.dev=[]",
        f"run.output_dir={out}",
        "run.progress=false",
        "run.log_every=1",
        *extra,
    ]


def _train(args, **kw):
    return subprocess.Popen(
        [sys.executable, "-m", "unheard", "train", *args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw,
    )  # fmt: skip


def _final(out, step):
    return load_file(str(Path(out) / "checkpoints" / f"step-{step}" / "trained.safetensors"))


@pytest.mark.slow
def test_two_process_ddp_matches_one_process_with_the_same_global_batch(corpus, tmp_path):
    # with validation (on rank 0 only; every rank then saves the best checkpoint together)
    steps = [
        "run.max_steps=12",
        "run.save_every=100",
        f"data.dev=[{corpus}]",
        "run.validate_every=6",
    ]
    ddp = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes",
         "2", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
         "-m", "unheard", "train", *_args(corpus, tmp_path / "ddp", *steps)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert ddp.returncode == 0, ddp.stdout[-3000:] + ddp.stderr[-3000:]
    assert "2 process(es)" in ddp.stdout
    # one set of tracker logs, from the main process: the scalars' and the hparams' event files
    events = sorted((tmp_path / "ddp" / "tensorboard" / "unheard").rglob("events.*"))
    assert sorted(e.parent.parent.name for e in events) == ["tensorboard", "unheard"], events
    # one process, 2 micro-batches per step: the same 2 batches the 2 ranks take per step
    single = _train(_args(corpus, tmp_path / "one", *steps, "optim.grad_accumulation=2"))
    assert single.wait(timeout=300) == 0, single.stdout.read()

    def losses(out):
        lines = (Path(out) / "log.jsonl").read_text().splitlines()
        return [json.loads(x)["loss"] for x in lines if '"kind": "train"' in x]

    a, b = losses(tmp_path / "ddp"), losses(tmp_path / "one")
    assert len(a) == len(b) == 12
    best = [
        json.loads((Path(out) / "checkpoints/best.json").read_text())
        for out in (tmp_path / "ddp", tmp_path / "one")
    ]
    assert best[0]["step"] in (6, 12) and best[0]["step"] == best[1]["step"]
    # tolerance: float32 all-reduce sums in another order than accumulation; seen ~2e-7
    for x, y in zip(a, b, strict=True):
        assert x == pytest.approx(y, rel=1e-5)
    assert a[-1] < 0.5 * a[0]  # and it is learning


def _launch(accelerate_config, corpus, out, *extra):
    return subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
         f"configs/accelerate/{accelerate_config}", "--num_processes", "2",
         "-m", "unheard", "train", *_args(corpus, out, *extra)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _resumes_from_step_4_exactly(accelerate_config, corpus, tmp_path, steps, last):
    """Train straight to step ``last``, then again from a folder holding only the straight run's
    step-4 checkpoint; both must end on the same weights. Returns the straight run and its final
    weights."""
    straight = _launch(accelerate_config, corpus, tmp_path / "a", *steps)
    assert straight.returncode == 0, straight.stdout[-3000:] + straight.stderr[-3000:]
    root = tmp_path / "b" / "checkpoints"
    shutil.copytree(tmp_path / "a" / "checkpoints" / "step-4", root / "step-4")
    resumed = _launch(accelerate_config, corpus, tmp_path / "b", *steps)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert f"resumed from {root / 'step-4'} at step 4" in resumed.stdout
    a, b = _final(tmp_path / "a", last), _final(tmp_path / "b", last)
    assert a.keys() == b.keys()
    for name in a:  # seen: bit-identical
        torch.testing.assert_close(b[name], a[name], atol=1e-6, rtol=0)
    start = load_file(str(root / "step-4" / "trained.safetensors"))
    assert max((a[n] - start[n]).abs().max() for n in a) > 1e-3  # the steps after 4 trained
    return straight, a


@pytest.mark.slow
def test_two_process_fsdp_resumes_exactly_and_equals_ddp(corpus, tmp_path):
    from unheard.checkpoint import load_checkpoint

    # validation (every rank runs it under FSDP) and gradient checkpointing on
    steps = ["run.max_steps=12", "run.save_every=4", "run.keep_last=5",
             f"data.dev=[{corpus}]", "run.validate_every=6", "run.gradient_checkpointing=true"]  # fmt: skip
    straight, a = _resumes_from_step_4_exactly("fsdp.yaml", corpus, tmp_path, steps, last=12)
    # 4 MT5 blocks of the tiny LLM + the root; the frozen encoder is not sharded
    assert "2 process(es) (FSDP2: 5 units, the root included; encoder whole on each rank)" in (
        straight.stdout
    )

    # the same steps under DDP: the same weights (float32 reductions in another order)
    ddp = _launch("ddp.yaml", corpus, tmp_path / "ddp", *steps[:3])
    assert ddp.returncode == 0, ddp.stdout[-3000:] + ddp.stderr[-3000:]
    c = _final(tmp_path / "ddp", 12)
    for name in a:  # seen: max 3.2e-7 after 6 steps
        torch.testing.assert_close(c[name], a[name], atol=1e-5, rtol=0)
    # gathered from the shards into the ordinary checkpoint that decoding loads
    model, _, _ = load_checkpoint(tmp_path / "a" / "checkpoints" / "step-12")
    torch.testing.assert_close(model.adapter.conv1.weight, a["adapter.conv1.weight"])


@pytest.mark.slow
def test_two_process_ddp_with_dropout_resumes_exactly(corpus, tmp_path):
    # LoRA dropout and speed perturbation: each rank draws its own masks and factors, so each
    # must get back its own random state (rank 1 taking rank 0's diverged)
    steps = ["run.max_steps=8", "run.save_every=4", "run.keep_last=5", "model.lora.dropout=0.3",
             "data.speed_factors=[0.9,1.0,1.1]"]  # fmt: skip
    _resumes_from_step_4_exactly("ddp.yaml", corpus, tmp_path, steps, last=8)


def test_nan_losses_are_skipped_then_stop_the_run(corpus, tmp_path):
    from unheard.recipes.train import train
    from unheard.recipes.train_config import load_train_config

    # an absurd learning rate blows the tiny model up within a few steps
    config = load_train_config(
        REPO / "configs/tiny.yaml",
        _overrides(corpus, tmp_path / "nan", "run.max_steps=60", "optim.lr=1.0e+6",
              "optim.grad_clip=0", "optim.warmup_steps=0", "run.max_bad_steps=3"),
    )  # fmt: skip
    with pytest.raises(RuntimeError, match="3 optimizer steps in a row had a NaN/Inf loss"):
        train(config)
    log = [json.loads(x) for x in (tmp_path / "nan" / "log.jsonl").read_text().splitlines()]
    assert log and log[-1]["bad_steps"] >= 1


def test_a_run_that_names_the_spoken_language_decodes_with_named_prompts(corpus, tmp_path):
    import numpy as np

    from unheard.checkpoint import load_decoder
    from unheard.data.prompts import Prompts
    from unheard.recipes.train import train
    from unheard.recipes.train_config import load_train_config
    from unheard.serving.api import load

    out = tmp_path / "named"
    extra = ["run.max_steps=2", "run.validate_every=0", "data.name_source_language=true"]
    summary = train(load_train_config(REPO / "configs/tiny.yaml", _overrides(corpus, out, *extra)))
    checkpoint = Path(summary["final_checkpoint"])
    _, collator, _ = load_decoder(checkpoint)
    assert collator.name_source_language and collator.prompts == Prompts.naming_source()
    assert collator.prompts.render("asr", "es", "es")[0] == "Transcribe the Spanish audio. "
    # a plain run keeps the prompts that name no language
    plain = train(
        load_train_config(
            REPO / "configs/tiny.yaml",
            _overrides(corpus, tmp_path / "plain", "run.max_steps=1", "run.validate_every=0"),
        )
    )
    _, collator, _ = load_decoder(Path(plain["final_checkpoint"]))
    assert not collator.name_source_language and collator.prompts == Prompts()
    # transcribing with the named checkpoint needs the language, and works with it
    stt = load(checkpoint, device="cpu")
    audio = np.zeros(16000, dtype=np.float32)
    with pytest.raises(ValueError, match="name the spoken language.*give its language code"):
        stt.transcribe(audio, sample_rate=16000)
    assert isinstance(stt.transcribe(audio, sample_rate=16000, language="es").text, str)


def test_a_checkpoint_records_its_seen_and_unseen_languages(corpus, tmp_path):
    # what `unheard export` writes into the model card's language list
    from unheard.checkpoint import read_checkpoint_config
    from unheard.recipes.train import train
    from unheard.recipes.train_config import load_train_config

    extra = ["run.max_steps=1", "run.validate_every=0", "data.unseen_languages=[ca,nl]"]
    summary = train(
        load_train_config(REPO / "configs/tiny.yaml", _overrides(corpus, tmp_path, *extra))
    )
    assert summary["seen_languages"] == ["de", "en", "es", "fr"]
    _, recorded = read_checkpoint_config(summary["final_checkpoint"])
    assert recorded["seen_languages"] == ["de", "en", "es", "fr"]
    assert recorded["unseen_languages"] == ["ca", "nl"]


def test_packed_and_compiled_training_equals_the_padded_eager_run(corpus, tmp_path):
    """run.pack_sequences and run.compile change how a decoder-only step runs, not what it
    computes: the same losses and the same trained weights, under the same checkpoint keys."""
    steps = ["model.llm=tiny:gemma3", "run.max_steps=4", "run.save_every=4"]
    plain = _train(_args(corpus, tmp_path / "plain", *steps))
    assert plain.wait(timeout=300) == 0, plain.stdout.read()
    fast = _train(
        _args(corpus, tmp_path / "fast", *steps, "run.pack_sequences=true", "run.compile=true")
    )
    assert fast.wait(timeout=600) == 0, fast.stdout.read()
    assert "1 process(es) (packed sequences, compiled LLM);" in fast.stdout.read()

    def losses(out):
        lines = (Path(out) / "log.jsonl").read_text().splitlines()
        return [json.loads(x)["loss"] for x in lines if '"kind": "train"' in x]

    assert len(losses(tmp_path / "plain")) == 4
    assert losses(tmp_path / "fast") == pytest.approx(losses(tmp_path / "plain"), rel=1e-4)
    a, b = _final(tmp_path / "plain", 4), _final(tmp_path / "fast", 4)
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(b[name], a[name], atol=1e-4, rtol=1e-3)


def test_packing_an_encoder_decoder_llm_is_refused(corpus, tmp_path):
    run = _train(_args(corpus, tmp_path / "run", "run.pack_sequences=true"))
    assert run.wait(timeout=300) != 0
    assert "run.pack_sequences packs a decoder-only LLM's input" in run.stdout.read()
