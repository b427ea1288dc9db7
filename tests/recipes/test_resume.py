"""Exact resume of a single-process run killed with SIGKILL, between checkpoints and while one is
being written. LoRA dropout, speed perturbation and validation are on: dropout draws from the
random state that a checkpoint must restore (without it the resumed run draws other masks and
ends on other weights), and validation keeps `best.json`, which must come out the same.

The kill is made deterministic by a driver that runs ``unheard train`` in a child process and
sends SIGKILL to itself at a chosen point: right after a given optimizer step, or between the
files of a given checkpoint (after its tensors, before its JSON and the rename)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from unheard.checkpoint import WEIGHTS_NAME
from unheard.data.espeak import make_number_corpus
from unheard.recipes.state import STATE_JSON, STATE_TENSORS, step_checkpoints

REPO = Path(__file__).resolve().parents[2]

# Run `unheard train ARGS...` and SIGKILL this process at WHERE ("step": after optimizer step AT;
# "write": after writing checkpoint step-AT's tensors, before its JSON and the rename; "saved":
# right after checkpoint step-AT is whole, before anything else is written).
DRIVER = """
import os, signal, sys
from pathlib import Path
import unheard.recipes.state as state
import unheard.recipes.train as train
from unheard.cli import main

where, at, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
die = lambda: os.kill(os.getpid(), signal.SIGKILL)
if where == "step":
    real_step = train.optimizer_step
    def optimizer_step(run, window):
        real_step(run, window)
        if run.step == at:
            die()
    train.optimizer_step = optimizer_step
elif where == "write":
    real_save = state.save_file
    def save_file(tensors, filename, *a, **k):
        real_save(tensors, filename, *a, **k)
        if filename.endswith(state.STATE_TENSORS) and Path(filename).parent.name.startswith(
            f".step-{at}."
        ):
            die()
    state.save_file = save_file
if where == "saved":
    import unheard.recipes.steps as steps
    real_save_checkpoint = steps.save_training_checkpoint
    def save_training_checkpoint(directory, *a, **k):
        real_save_checkpoint(directory, *a, **k)
        if directory.name == f"step-{at}":
            die()
    steps.save_training_checkpoint = save_training_checkpoint
sys.exit(main(args))
"""

STEPS = [
    "run.max_steps=30", "run.save_every=10", "run.keep_last=5", "run.validate_every=10",
    "run.validate_utterances=2", "model.lora.dropout=0.3", "data.speed_factors=[0.9,1.0,1.1]",
]  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_number_corpus(tmp_path_factory.mktemp("corpus"), ("en", "es", "de", "fr"), 8)


def _args(corpus, out) -> list[str]:
    return [
        "train", "configs/tiny.yaml", f"data.train=[{corpus}]", f"data.dev=[{corpus}]",
        f"run.output_dir={out}", "run.progress=false", "run.log_every=1", *STEPS,
    ]  # fmt: skip


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *command], cwd=REPO, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def straight(corpus, tmp_path_factory) -> Path:
    """The uninterrupted run's output folder."""
    out = tmp_path_factory.mktemp("straight")
    result = _run("-m", "unheard", *_args(corpus, out))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def _killed(corpus, out: Path, where: str, at: int) -> None:
    result = _run("-c", DRIVER, where, str(at), *_args(corpus, out))
    assert result.returncode == -9, result.stdout[-3000:] + result.stderr[-3000:]  # SIGKILL


def _resume_and_compare(corpus, straight: Path, out: Path, expected_from: int) -> None:
    """Resume ``out`` to the end: it must say where it resumed from, and end on the straight
    run's weights and best checkpoint."""
    root = out / "checkpoints"
    resumed = _run("-m", "unheard", *_args(corpus, out))
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert f"resumed from {root / f'step-{expected_from}'} at step {expected_from}" in (
        resumed.stdout + resumed.stderr
    )
    final = lambda run: load_file(str(run / "checkpoints" / "step-30" / WEIGHTS_NAME))  # noqa: E731
    a, b = final(straight), final(out)
    assert a.keys() == b.keys()
    for name in a:  # seen: bit-identical
        torch.testing.assert_close(b[name], a[name], atol=1e-6, rtol=0, msg=name)
    start = load_file(str(root / f"step-{expected_from}" / WEIGHTS_NAME))
    assert max((a[n] - start[n]).abs().max() for n in a) > 1e-3  # the steps after it trained
    best = [json.loads((run / "checkpoints" / "best.json").read_text()) for run in (straight, out)]
    assert best[1]["step"] == best[0]["step"] and best[0]["step"] in (10, 20, 30)
    assert best[1]["dev_loss"] == pytest.approx(best[0]["dev_loss"], abs=1e-6)
    assert not list(root.glob(".*"))  # what a killed write left is cleaned up


@pytest.mark.slow
def test_sigkill_between_checkpoints_resumes_exactly(corpus, straight, tmp_path):
    _killed(corpus, tmp_path, "step", 25)
    root = tmp_path / "checkpoints"
    assert [s for s, _ in step_checkpoints(root)] == [10, 20]
    for _, path in step_checkpoints(root):  # every checkpoint on disk is whole
        load_file(str(path / WEIGHTS_NAME))
        load_file(str(path / STATE_TENSORS))
        json.loads((path / STATE_JSON).read_text())
    _resume_and_compare(corpus, straight, tmp_path, expected_from=20)


@pytest.mark.slow
def test_sigkill_during_a_checkpoint_write_resumes_from_the_one_before(corpus, straight, tmp_path):
    _killed(corpus, tmp_path, "write", 20)
    root = tmp_path / "checkpoints"
    # the half-written step-20 is a temporary folder that no resume takes for a checkpoint
    (partial,) = root.glob(".step-20.*.tmp")  # unheard.files' temporary sibling
    assert (partial / STATE_TENSORS).is_file() and not (partial / STATE_JSON).exists()
    assert [s for s, _ in step_checkpoints(root)] == [10]
    _resume_and_compare(corpus, straight, tmp_path, expected_from=10)


@pytest.mark.slow
def test_a_kill_after_a_new_best_checkpoint_leaves_best_json_naming_it(corpus, tmp_path):
    """best.json was written after the new best checkpoint (and after pruning the old best): a
    kill in between left it naming the old, pruned step, which `resolve_init` then returned to a
    stage 2. The checkpoint's own state says which step is best; resuming rewrites best.json."""
    from unheard.recipes.state import resolve_init

    _killed(corpus, tmp_path, "saved", 20)
    root = tmp_path / "checkpoints"
    state = json.loads((root / "step-20" / STATE_JSON).read_text())["state"]
    assert state["best"]["step"] == 20  # the case under test: step 20 is a new best
    assert json.loads((root / "best.json").read_text())["step"] == 10  # the kill left it so
    resumed = _run("-m", "unheard", *_args(corpus, tmp_path), "run.max_steps=20")
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    best = json.loads((root / "best.json").read_text())
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert best["step"] == summary["best"]["step"] == 20
    assert best["dev_loss"] == pytest.approx(state["best"]["dev_loss"])
    assert resolve_init(tmp_path) == root / "step-20"
