"""The learned layer weights of a checkpoint: which encoder layers the adapter listens to.

Read straight from the checkpoint's ``trained.safetensors`` (``layer_mix.logits``, one logit per
hidden state, the embedding output first) and softmax-normalised as ``LayerWeightedSum`` does;
no model is built.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file

from unheard.checkpoint import WEIGHTS_NAME

LOGITS = "layer_mix.logits"


def layer_weights(checkpoint: str | os.PathLike[str]) -> list[float]:
    """The softmax-normalised layer weights of a checkpoint.

    Args:
        checkpoint: a checkpoint directory (or its ``trained.safetensors`` file).

    Returns:
        One weight per encoder hidden state (index 0: the embedding output), summing to 1.

    Raises:
        FileNotFoundError: if there is no weights file.
        ValueError: if the file is unreadable or holds no layer-mix logits.
    """
    path = Path(checkpoint)
    if path.is_dir():
        path = path / WEIGHTS_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: is {checkpoint} an unheard checkpoint?")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as e:
        raise ValueError(f"cannot read {path}: {e}") from e
    if LOGITS not in tensors:
        raise ValueError(f"{path} holds no {LOGITS}; it has {sorted(tensors)[:5]}")
    logits = tensors[LOGITS].astype(np.float64)
    weights = np.exp(logits - logits.max())  # stable softmax
    return (weights / weights.sum()).tolist()
