"""Checkpoints hold only what was trained (layer mix, adapter, LoRA, and any unfrozen LLM
parameter) as safetensors, plus a JSON config naming the frozen encoder and LLM. No pickle.

Writing them (`save_checkpoint`), reading them back for training (`load_trained`) and for
inference (`load_checkpoint`; `load_decoder` adds the collator of the checkpoint's own prompts)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from transformers import PreTrainedTokenizerBase

from unheard.build import build_speech_llm, load_tokenizer
from unheard.config import ModelConfig, from_dict, to_dict
from unheard.data.collate import SpeechCollator
from unheard.data.features import feature_extractor_for
from unheard.data.prompts import Prompts
from unheard.files import atomic_path, write_atomic
from unheard.hub.checkpoints import checkpoint_folder
from unheard.model.speech_llm import SpeechLLM

WEIGHTS_NAME = "trained.safetensors"
CONFIG_NAME = "unheard.json"
FORMAT = "unheard-checkpoint-v1"


def trained_state_dict(model: SpeechLLM) -> dict[str, torch.Tensor]:
    """The parameters that require gradients, by their name in ``model`` (this rank's shards
    when the model is sharded with FSDP: see `full_tensor`)."""
    return {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}


def full_tensor(tensor: torch.Tensor) -> torch.Tensor:
    """The whole tensor of an FSDP shard (a DTensor; gathering it is a collective that every
    rank must enter), or ``tensor`` itself when it is not sharded."""
    from torch.distributed.tensor import DTensor

    return tensor.full_tensor() if isinstance(tensor, DTensor) else tensor


def shard_like(value: torch.Tensor, param: torch.Tensor) -> torch.Tensor:
    """``value``, a whole tensor of ``param``'s shape, cut to ``param``'s sharding when
    ``param`` is an FSDP shard (this rank's piece; no communication), else ``value`` as is."""
    from torch.distributed.tensor import DTensor, distribute_tensor

    if not isinstance(param, DTensor):
        return value
    value = value.to(device=param.device, dtype=param.dtype)
    return distribute_tensor(value, param.device_mesh, param.placements, src_data_rank=None)


def save_checkpoint(
    model: SpeechLLM,
    config: ModelConfig,
    directory: str | Path,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write the trained parameters and the model config into ``directory``.

    Each file is written to a temporary name and renamed, so a reader never sees half a file.

    Args:
        model: the model whose trained parameters to save.
        config: the config it was built from.
        directory: created if missing.
        extra: JSON-serialisable metadata stored beside the config (prompts, step, ...).

    Returns:
        The directory.
    """
    return write_checkpoint(trained_state_dict(model), config, directory, extra)


def write_checkpoint(
    weights: dict[str, torch.Tensor],
    config: ModelConfig,
    directory: str | Path,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write trained parameters (whole tensors, by name) and the model config into
    ``directory``: `save_checkpoint` for weights already taken from the model (gathered from
    FSDP shards, for one).

    Returns:
        The directory.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {n: t.detach().contiguous().cpu() for n, t in weights.items()}
    with atomic_path(directory / WEIGHTS_NAME) as temporary:
        save_file(tensors, temporary, metadata={"format": FORMAT})
    meta = {"format": FORMAT, "model": to_dict(config), "extra": extra or {}}
    write_atomic(directory / CONFIG_NAME, json.dumps(meta, indent=2))
    return directory


def read_checkpoint_config(directory: str | Path) -> tuple[ModelConfig, dict[str, Any]]:
    """The model config and extra metadata of a checkpoint.

    An encoder or LLM named ``./path`` or ``../path`` is relative to the checkpoint folder (a
    checkpoint that ships its own small LLM stays loadable wherever it is copied).

    Raises:
        FileNotFoundError: if ``directory`` holds no unheard checkpoint.
        ValueError: if the config is not an unheard checkpoint config.
    """
    path = Path(directory) / CONFIG_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{directory} is not an unheard checkpoint (no {CONFIG_NAME})")
    meta = json.loads(path.read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path} has format {meta.get('format')!r}, expected {FORMAT!r}")
    model = dict(meta["model"])
    for key in ("encoder", "llm"):
        # "./x" or "../x": a model shipped beside the checkpoint, found wherever the folder is
        if isinstance(model.get(key), str) and model[key].startswith(("./", "../")):
            model[key] = str((Path(directory) / model[key]).resolve())
    return from_dict(ModelConfig, model), meta.get("extra", {})


def load_checkpoint(
    directory: str | Path, device: str | torch.device = "cpu"
) -> tuple[SpeechLLM, ModelConfig, dict[str, Any]]:
    """Rebuild a model from its checkpoint: load the frozen models named in its config, then the
    trained parameters.

    Args:
        directory: a directory written by ``save_checkpoint``, or the Hugging Face hub id of
            one ``unheard export`` wrote (`unheard.hub.checkpoints.checkpoint_folder`).
        device: where to build the model.

    Returns:
        The model (in eval mode), its config and the extra metadata.

    Raises:
        FileNotFoundError: if the directory is not a checkpoint, or the hub id cannot be
            fetched (offline and not cached, unknown, unreachable).
        ValueError: if the stored parameters do not match what the config trains, or the name
            is neither a folder nor a hub id.
    """
    directory = checkpoint_folder(directory)
    config, extra = read_checkpoint_config(directory)
    model = build_speech_llm(config, weights=True, device=device)
    load_trained(model, Path(directory) / WEIGHTS_NAME)
    return model.eval(), config, extra


def load_decoder(
    checkpoint: str | os.PathLike[str], device: str | torch.device = "cpu"
) -> tuple[SpeechLLM, SpeechCollator, PreTrainedTokenizerBase]:
    """Load a checkpoint with the collator of its test prompts.

    The prompts come from the checkpoint's metadata when training stored them there
    (``extra["prompts"]``: task → template), else the defaults of `Prompts` — those naming the
    spoken language when training did (``extra["name_source_language"]``).

    Args:
        checkpoint: a directory written by ``save_checkpoint``, or the hub id of one (see
            `load_checkpoint`).
        device: where to run.

    Returns:
        The model in eval mode, its collator and its tokenizer.

    Raises:
        FileNotFoundError: if the directory is not a checkpoint or the hub id cannot be fetched.
        ValueError: if its prompts or parameters are invalid.
    """
    model, config, extra = load_checkpoint(checkpoint, device=device)
    prompts = Prompts(dict(extra["prompts"])) if extra.get("prompts") else None  # the defaults
    tokenizer = load_tokenizer(config)
    collator = SpeechCollator(
        tokenizer,
        feature_extractor_for(model.encoder.model.config),
        model.is_encoder_decoder,
        prompts=prompts,
        name_source_language=bool(extra.get("name_source_language", False)),
    )
    return model, collator, tokenizer


def checkpoint_digest(directory: str | Path) -> str:
    """A content hash of a checkpoint folder's files (trained weights, config, training state):
    what a cached result (decoded hypotheses, a text probe) was computed from.

    Raises:
        FileNotFoundError: if ``directory`` is not a folder.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"checkpoint folder {directory} not found")
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(p for p in directory.iterdir() if p.is_file()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def load_trained(model: SpeechLLM, path: str | Path) -> None:
    """Load trained parameters saved by ``save_checkpoint`` into ``model`` (no pickle); into an
    FSDP-sharded model, each rank copies its own piece.

    Raises:
        ValueError: if the file's parameter names or shapes differ from the model's trained ones.
    """
    tensors = load_file(str(path))
    expected = trained_state_dict(model)
    missing, unexpected = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{path} does not match the model: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    with torch.no_grad():
        for name, param in expected.items():
            if tensors[name].shape != param.shape:
                raise ValueError(
                    f"{path}: {name} has shape {tuple(tensors[name].shape)}, "
                    f"the model expects {tuple(param.shape)}"
                )
            param.copy_(shard_like(tensors[name], param))
