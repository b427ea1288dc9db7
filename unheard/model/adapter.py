"""The CNN adapter from encoder frames to LLM token embeddings (the paper's 2-layer 1D CNN)."""

from __future__ import annotations

import torch
from torch import nn

from unheard.model.masks import length_mask


class ConvAdapter(nn.Module):
    """Conv1d(enc→llm, k, stride s) → GELU → Conv1d(llm→llm, k, stride 1).

    With ``enc_dim=1024, llm_dim=2048, kernel_size=3`` this is exactly 18,878,464 parameters (the
    paper's 18.9M for mT0-xl); with ``llm_dim=4096`` 62,922,752 (mT0-xxl). The first conv also
    downsamples time by ``stride`` (80 ms LLM frames from 20 ms encoder frames: stride 4).

    Frames past each item's length are zeroed before each conv, so an item's output does not
    depend on how much padding its batch has: the convs see the same zeros they would see as
    their own ``padding`` at the item's end.

    Args:
        enc_dim: width of the encoder hidden states.
        llm_dim: width of the LLM token embeddings.
        stride: time downsampling of the first conv.
        kernel_size: odd kernel size of both convs.
        out_scale: when given, the output is RMS-normalised per frame with a learned gain
            (``llm_dim`` more parameters) that starts at this value — the RMS of the LLM's token
            embeddings, so audio frames start at the scale of the tokens around them. Without it
            (the paper's adapter) nothing ties the output scale to the tokens': Whisper base into
            the mini mT5 came out at 12x the token RMS. On that track the norm learned slower at
            equal steps (docs/benchmark.md, round 3), so it is an option, off by default.
    """

    def __init__(
        self,
        enc_dim: int,
        llm_dim: int,
        stride: int = 4,
        kernel_size: int = 3,
        out_scale: float | None = None,
    ) -> None:
        super().__init__()
        if stride < 1:
            raise ValueError(f"adapter stride must be >= 1, got {stride}")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"adapter kernel_size must be odd and >= 1, got {kernel_size}")
        pad = kernel_size // 2
        self.stride = stride
        self.kernel_size = kernel_size
        self.conv1 = nn.Conv1d(enc_dim, llm_dim, kernel_size, stride=stride, padding=pad)
        self.act = nn.GELU()
        self.conv2 = nn.Conv1d(llm_dim, llm_dim, kernel_size, stride=1, padding=pad)
        self.norm = None
        if out_scale is not None:
            self.norm = nn.RMSNorm(llm_dim, eps=1e-6)
            nn.init.constant_(self.norm.weight, out_scale)

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """Valid output frames for ``lengths`` valid input frames: ``ceil(lengths / stride)``."""
        pad = self.kernel_size // 2
        return (
            torch.div(lengths + 2 * pad - self.kernel_size, self.stride, rounding_mode="floor") + 1
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Map encoder frames to LLM embeddings.

        Args:
            x: ``(batch, frames, enc_dim)``.
            lengths: ``(batch,)`` valid frames.

        Returns:
            ``(batch, frames_out, llm_dim)`` with zeros past each item's length, and the
            ``(batch,)`` output lengths.
        """
        x = _zero_past(x, lengths).transpose(1, 2)  # (batch, enc_dim, frames)
        out_lengths = self.output_lengths(lengths)
        h = self.act(self.conv1(x)).transpose(1, 2)  # (batch, frames_out, llm_dim)
        h = _zero_past(h, out_lengths).transpose(1, 2)
        y = self.conv2(h).transpose(1, 2)  # (batch, frames_out, llm_dim)
        if self.norm is not None:
            y = self.norm(y)  # each frame at RMS = the gain (padding is zeroed next)
        return _zero_past(y, out_lengths), out_lengths


def _zero_past(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    # x: (batch, frames, dim); keep frames t < lengths[b]
    keep = length_mask(lengths, x.shape[1])
    return x * keep[:, :, None].to(x.dtype)
