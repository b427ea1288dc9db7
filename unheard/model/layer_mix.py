"""The learned weighted sum of all encoder hidden states (the paper's "weighted average")."""

from __future__ import annotations

import torch
from torch import nn


class LayerWeightedSum(nn.Module):
    """Softmax-normalised weighted sum over hidden states.

    One learnable scalar per hidden state (embedding output included), initialised equal so the
    sum starts as the plain average.

    Args:
        num_hidden_states: how many hidden states the encoder returns (layers + 1).
    """

    def __init__(self, num_hidden_states: int) -> None:
        super().__init__()
        if num_hidden_states < 1:
            raise ValueError(f"num_hidden_states must be >= 1, got {num_hidden_states}")
        self.logits = nn.Parameter(torch.zeros(num_hidden_states))

    @property
    def weights(self) -> torch.Tensor:
        """The normalised weights, ``(num_hidden_states,)``, summing to 1."""
        return self.logits.softmax(-1)

    def forward(self, hidden_states: tuple[torch.Tensor, ...] | list[torch.Tensor]) -> torch.Tensor:
        """Mix the hidden states.

        Args:
            hidden_states: ``num_hidden_states`` tensors of ``(batch, frames, dim)``.

        Returns:
            ``(batch, frames, dim)`` in the dtype of the parameters.
        """
        if len(hidden_states) != self.logits.numel():
            raise ValueError(
                f"expected {self.logits.numel()} hidden states, got {len(hidden_states)}"
            )
        weights = self.weights
        # Accumulate one state at a time: no (layers, batch, frames, dim) stack in memory.
        mixed = weights[0] * hidden_states[0].to(weights.dtype)
        for w, h in zip(weights[1:], hidden_states[1:], strict=True):
            mixed = mixed + w * h.to(weights.dtype)
        return mixed
