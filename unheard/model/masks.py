"""Length masks shared by the model's parts."""

from __future__ import annotations

import torch


def length_mask(lengths: torch.Tensor, width: int) -> torch.Tensor:
    """``(batch, width)`` bool mask, True on the first ``lengths[b]`` positions of each row."""
    return torch.arange(width, device=lengths.device)[None, :] < lengths[:, None]
