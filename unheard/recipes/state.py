"""Training checkpoints: trained weights + optimizer, scheduler, sampler position, RNG and step,
written atomically, without pickle.

A checkpoint is a directory ``checkpoints/step-<N>/`` holding an unheard model checkpoint
(``trained.safetensors`` + ``unheard.json``, loadable by ``unheard decode``) and the training
state (``training_state.safetensors`` for tensors, ``training_state.json`` for the rest). It is
written under a temporary name and renamed, so a directory named ``step-<N>`` is always whole.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from unheard.checkpoint import (
    WEIGHTS_NAME,
    full_tensor,
    shard_like,
    trained_state_dict,
    write_checkpoint,
)
from unheard.config import ModelConfig
from unheard.files import atomic_directory, remove_leftovers
from unheard.model.speech_llm import SpeechLLM

STATE_TENSORS = "training_state.safetensors"
STATE_JSON = "training_state.json"
STEP_DIR = re.compile(r"^step-(\d+)$")


@dataclass(frozen=True)
class TrainedTensors:
    """What a training checkpoint holds of the model and optimizer, as whole tensors on the
    CPU: the trained parameters by name, and the optimizer state (`optimizer_to_flat`)."""

    weights: dict[str, torch.Tensor]
    optimizer: dict[str, torch.Tensor]
    optimizer_meta: dict[str, Any]


def gather_trained_tensors(
    model: SpeechLLM, optimizer: torch.optim.Optimizer, keep: bool = True
) -> TrainedTensors | None:
    """The trained parameters and optimizer state, whole: gathered from the shards when the
    model is sharded with FSDP (a collective: every rank calls it, in step), else as they are.

    Args:
        model: the unwrapped model.
        optimizer: its optimizer.
        keep: False on the ranks that do not write: they take part in the gathering only.

    Returns:
        The tensors, or None when not ``keep``.
    """
    weights = {n: full_tensor(t).cpu() for n, t in trained_state_dict(model).items()}
    tensors, meta = optimizer_to_flat(optimizer)
    return TrainedTensors(weights, tensors, meta) if keep else None


def save_training_checkpoint(
    directory: Path,
    trained: TrainedTensors,
    config: ModelConfig,
    scheduler: Any,
    state: dict[str, Any],
    extra: dict[str, Any] | None = None,
    rng: list[dict[str, Any]] | None = None,
) -> Path:
    """Write ``directory`` atomically (temporary sibling, then rename).

    Args:
        directory: the final checkpoint directory (must not exist yet).
        trained: the trained parameters and optimizer state (`gather_trained_tensors`).
        config: the model config.
        scheduler: an LR scheduler with ``state_dict()`` of plain values.
        state: JSON-able run state (step, sampler position, counters, ...).
        extra: JSON-able metadata stored in the model checkpoint (prompts, metrics, ...).
        rng: every rank's random state (`capture_rng`, in rank order); None: this process's.

    Returns:
        The directory.
    """
    return write_training_checkpoint(
        directory,
        lambda tmp: write_checkpoint(trained.weights, config, tmp, extra=extra),
        (trained.optimizer, trained.optimizer_meta),
        scheduler,
        state,
        rng,
    )


def write_training_checkpoint(
    directory: Path,
    write_model: Callable[[Path], Any],
    optimizer: tuple[dict[str, torch.Tensor], dict[str, Any]],
    scheduler: Any,
    state: dict[str, Any],
    rng: list[dict[str, Any]] | None = None,
) -> Path:
    """Write a checkpoint of any model atomically: ``write_model`` and the training state go
    into a temporary sibling, which is then renamed to ``directory``; a run killed at any point
    leaves the checkpoints that were there whole (`step_checkpoints` skips the temporary one,
    `prune` deletes it).

    Args:
        directory: the final checkpoint directory (must not exist yet).
        write_model: writes the model's files into the folder it is given (e.g. an unheard
            checkpoint, or ``save_pretrained`` of a Hugging Face model).
        optimizer: the optimizer state as `optimizer_to_flat` returns it.
        scheduler: an LR scheduler with ``state_dict()`` of plain values.
        state: JSON-able run state (step, counters, ...).
        rng: every rank's random state (`capture_rng`, in rank order); None: this process's.

    Returns:
        The directory.

    Raises:
        OSError: if ``directory`` exists already or cannot be written.
    """
    with atomic_directory(directory) as tmp:
        write_model(tmp)
        tensors, meta = dict(optimizer[0]), dict(optimizer[1])
        rng_tensors, rng_meta = _flatten_rng(rng if rng is not None else [capture_rng()])
        tensors.update(rng_tensors)
        meta.update(scheduler=scheduler.state_dict(), state=state, rng=rng_meta)
        save_file(tensors, str(tmp / STATE_TENSORS))
        (tmp / STATE_JSON).write_text(json.dumps(meta))
    return directory


def load_training_state(
    directory: Path, optimizer: torch.optim.Optimizer, scheduler: Any, rank: int = 0
) -> dict[str, Any]:
    """Restore optimizer, scheduler and this rank's random state from a checkpoint; return its
    run state.

    The optimizer state is saved whole; for an FSDP-sharded model each rank keeps its own piece
    of each parameter's state. The trained weights are loaded separately
    (``unheard.checkpoint.load_trained``).

    Args:
        rank: this process's rank: it takes back its own random state (each rank's dropout and
            augmentation drew other numbers); a checkpoint of fewer ranks gives rank 0's, with a
            warning that the resume is not exact.
    """
    tensors = load_file(str(directory / STATE_TENSORS))
    meta = json.loads((directory / STATE_JSON).read_text())
    optimizer.load_state_dict(_sharded_like_params(optimizer, optimizer_from_flat(tensors, meta)))
    scheduler.load_state_dict(meta["scheduler"])
    states = _unflatten_rng(tensors, meta["rng"])
    if rank >= len(states):
        warnings.warn(
            f"{directory} holds the random state of {len(states)} rank(s); rank {rank} takes rank "
            "0's, so dropout and augmentation will not repeat the interrupted run exactly",
            stacklevel=2,
        )
    restore_rng(states[rank if rank < len(states) else 0])
    return meta["state"]


def capture_rng() -> dict[str, Any]:
    """This process's random states — torch's CPU and CUDA generators, numpy's and Python's — as
    plain values (gathered from every rank when a checkpoint is saved)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return {
        "torch": torch.get_rng_state().tolist(),
        "cuda": [state.tolist() for state in cuda],
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "python": python_rng_to_json(random.getstate()),
    }


def restore_rng(state: dict[str, Any]) -> None:
    """Set this process's random states to what `capture_rng` returned."""
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    if state["cuda"] and torch.cuda.is_available():
        cuda = [torch.tensor(s, dtype=torch.uint8) for s in state["cuda"]]
        torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    random.setstate(python_rng_from_json(state["python"]))


def _flatten_rng(states: list[dict[str, Any]]) -> tuple[dict[str, torch.Tensor], list[dict]]:
    # the long states as tensors (safetensors), the rest as JSON
    tensors, meta = {}, []
    for rank, state in enumerate(states):
        tensors[f"rng.{rank}.torch"] = torch.tensor(state["torch"], dtype=torch.uint8)
        for i, cuda in enumerate(state["cuda"]):
            tensors[f"rng.{rank}.cuda.{i}"] = torch.tensor(cuda, dtype=torch.uint8)
        name, keys, pos, has_gauss, cached = state["numpy"]
        tensors[f"rng.{rank}.numpy.keys"] = torch.tensor(keys, dtype=torch.int64)
        meta.append(
            {"cuda": len(state["cuda"]), "numpy": [name, pos, has_gauss, cached],
             "python": state["python"]}
        )  # fmt: skip
    return tensors, meta


def _unflatten_rng(tensors: dict[str, torch.Tensor], meta: Any) -> list[dict[str, Any]]:
    if isinstance(meta, dict):  # a checkpoint from before per-rank states: one process's
        name, pos, has_gauss, cached = meta["numpy"]
        keys = tensors["rng.numpy.keys"].tolist()
        return [
            {"torch": tensors["rng.torch"].tolist(), "cuda": [],
             "numpy": [name, keys, pos, has_gauss, cached], "python": meta["python"]}
        ]  # fmt: skip
    states = []
    for rank, entry in enumerate(meta):
        name, pos, has_gauss, cached = entry["numpy"]
        states.append(
            {
                "torch": tensors[f"rng.{rank}.torch"].tolist(),
                "cuda": [tensors[f"rng.{rank}.cuda.{i}"].tolist() for i in range(entry["cuda"])],
                "numpy": [name, tensors[f"rng.{rank}.numpy.keys"].tolist(), pos, has_gauss, cached],
                "python": entry["python"],
            }
        )
    return states


def step_checkpoints(root: Path) -> list[tuple[int, Path]]:
    """Complete step checkpoints under ``root``, oldest first."""
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := STEP_DIR.match(p.name))]
    return sorted(found)


def prune(root: Path, keep_last: int, protect: set[Path]) -> None:
    """Delete all but the newest ``keep_last`` step checkpoints (never one in ``protect``), and
    any temporary directory a killed run left behind."""
    for _, path in step_checkpoints(root)[:-keep_last]:
        if path.resolve() not in {p.resolve() for p in protect}:
            shutil.rmtree(path, ignore_errors=True)
    for p in root.glob(".tmp-*"):  # left by unheard before `unheard.files`
        shutil.rmtree(p, ignore_errors=True)
    remove_leftovers(root)


def optimizer_to_flat(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """An optimizer's state as safetensors-able tensors plus JSON-able metadata (no pickle)."""
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, values in sd["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):  # whole: FSDP shards are gathered (every rank calls)
                tensors[f"optim.{index}.{key}"] = full_tensor(value.detach()).cpu().contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "optim_scalars": scalars}


def optimizer_from_flat(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    """The ``state_dict`` that `optimizer_to_flat` flattened."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    for name, value in meta["optim_scalars"].items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def _sharded_like_params(optimizer: torch.optim.Optimizer, state_dict: dict) -> dict:
    # the state_dict numbers parameters in param-group order; a moment of a parameter's shape
    # is cut to that parameter's sharding (the step count and other scalars stay as they are)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for index, values in state_dict["state"].items():
        param = params[index]
        for key, value in values.items():
            if torch.is_tensor(value) and value.shape == param.shape:
                values[key] = shard_like(value, param)
    return state_dict


def python_rng_to_json(state: tuple) -> list:
    """A ``random.getstate()`` value as JSON lists."""
    version, internal, gauss = state
    return [version, list(internal), gauss]


def python_rng_from_json(value: list) -> tuple:
    """The ``random.setstate()`` value `python_rng_to_json` wrote."""
    version, internal, gauss = value
    return (version, tuple(internal), gauss)


def resolve_init(path: Path) -> Path:
    """A checkpoint directory from ``run.init_from``: a checkpoint itself, or a run directory
    (its best checkpoint, else its newest).

    Raises:
        FileNotFoundError: if nothing there is a checkpoint.
    """
    if (path / WEIGHTS_NAME).is_file():
        return path
    best = path / "checkpoints" / "best.json"
    if best.is_file():
        return path / "checkpoints" / f"step-{json.loads(best.read_text())['step']}"
    steps = step_checkpoints(path / "checkpoints")
    if steps:
        return steps[-1][1]
    raise FileNotFoundError(f"run.init_from {path} holds no checkpoint")
