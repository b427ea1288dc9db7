"""Kaldi-compatible log-mel filter banks and w2v-BERT 2.0's input features, batched in torch.

w2v-BERT 2.0 takes the features of transformers' ``SeamlessM4TFeatureExtractor``, which follows
Kaldi's ``compute-fbank-feats``: samples scaled to 16-bit integers, frames of 400 samples every
160 without centring, each frame's DC offset removed, pre-emphasis 0.97, a Povey window, a
512-point power spectrum, 80 Kaldi mel filters, ``log(max(energy, float32 eps))``. Then each bin
is normalised over the utterance's frames (mean, variance with ``ddof=1``), utterances are padded
with ``padding_value`` to an even frame count, and two frames are stacked into one of 160 dims.

The reference transforms one frame at a time in float64 numpy, stores the spectrum as complex64
and normalises in float32 numpy. Here every frame of a batch goes through one pipeline in chunks,
with the same precision at each step: a float32 FFT alone would be 0.2 off in the log energies of
pure tones, where leakage bins lie 10 orders of magnitude under the peak. The per-bin sums use
numpy's own pairwise float32 summation over each utterance's frames, as the reference's: on a
bin that is (nearly) constant, such as the floored bins of a pure tone, the normalisation divides
a float32 rounding error by ``sqrt(1e-7)``, and only the same summation order gives the same
result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

FRAME_LENGTH = 400  # 25 ms at 16 kHz
HOP_LENGTH = 160  # 10 ms at 16 kHz
FFT_LENGTH = 512  # Kaldi rounds the frame up to a power of two
PREEMPHASIS = 0.97
MEL_FLOOR = 1.192092955078125e-07  # float32 epsilon: Kaldi's floor on mel energies
WAVEFORM_SCALE = 2**15  # Kaldi reads 16-bit integer samples
VARIANCE_EPSILON = 1e-7  # added to each bin's variance before the square root
CHUNK_FRAMES = 512  # frames transformed at a time: ~4 MB of float64, which stays in cache


def fbank_frames(samples: int) -> int:
    """Number of fbank frames of a clip: ``1 + (samples - 400) // 160`` (no centring)."""
    return 1 + (samples - FRAME_LENGTH) // HOP_LENGTH


def kaldi_fbank(
    waveforms: list[torch.Tensor], mel_filters: torch.Tensor, window: torch.Tensor
) -> list[torch.Tensor]:
    """Compute the Kaldi log-mel filter banks of a batch, all frames in one pipeline.

    Equal to ``SeamlessM4TFeatureExtractor._extract_fbank_features`` per clip, but for rare
    last-bit differences of float32 values.

    Args:
        waveforms: mono float32 clips of shape (samples,) in [-1, 1], each of at least 400
            samples.
        mel_filters: ``(257, n_mels)`` float64 Kaldi mel filters (the extractor's
            ``mel_filters``).
        window: ``(400,)`` float64 Povey window (the extractor's ``window``).

    Returns:
        Per clip, float32 ``(frames, n_mels)``: views into one bin-major buffer, so that each
        bin's values over a clip's frames are contiguous (`normalize_per_bin` sums them).

    Raises:
        ValueError: if a clip is shorter than one frame.
    """
    lengths = [w.shape[0] for w in waveforms]
    if min(lengths) < FRAME_LENGTH:
        raise ValueError(f"a clip of {min(lengths)} samples is shorter than one fbank frame")
    # One buffer, each clip starting on a multiple of the hop: every frame of every clip is a
    # frame of its unfold (the frames straddling two clips are computed, then left out).
    sizes = [-(-n // HOP_LENGTH) * HOP_LENGTH for n in lengths]
    buffer = torch.empty(sum(sizes), dtype=torch.float64)
    offset = 0
    for waveform, size in zip(waveforms, sizes, strict=True):
        end = offset + waveform.shape[0]
        torch.mul(waveform, WAVEFORM_SCALE, out=buffer[offset:end])  # exact: a power of two
        buffer[end : offset + size] = 0.0
        offset += size
    frames = buffer.unfold(0, FRAME_LENGTH, HOP_LENGTH)  # (buffer frames, 400) view
    total = frames.shape[0]
    # Mel filters overlap only their neighbours: ~500 of their 257 x 80 weights are non-zero,
    # and a sparse product is 3x faster than the dense one.
    sparse_filters = mel_filters.T.to_sparse()  # (n_mels, 257)
    log_mel = torch.empty(mel_filters.shape[1], total)  # (n_mels, buffer frames)

    # In chunks of frames, so that every step's tensors stay in cache.
    size = min(CHUNK_FRAMES, total)
    emphasised = torch.zeros(size, FFT_LENGTH, dtype=torch.float64)  # zero after 400 samples
    for start in range(0, total, size):
        count = min(size, total - start)
        chunk = frames[start : start + count]  # (count, 400) float64 view
        # Each frame's DC offset removed, then pre-emphasis and window:
        # e[i] = (x[i] - 0.97 x[i-1] - 0.03 mean) w[i], e[0] = 0.03 (x[0] - mean) w[0].
        mean = chunk.mean(dim=1, keepdim=True)  # (count, 1)
        body = emphasised[:count, 1:FRAME_LENGTH]
        torch.add(chunk[:, 1:], chunk[:, :-1], alpha=-PREEMPHASIS, out=body)
        body -= mean * (1 - PREEMPHASIS)
        torch.sub(chunk[:, :1], mean, out=emphasised[:count, :1]).mul_(1 - PREEMPHASIS)
        emphasised[:count, :FRAME_LENGTH] *= window
        spectrum = torch.fft.rfft(emphasised[:count])  # (count, 257) complex128
        # The reference stores the spectrum as complex64, then squares it in float64.
        parts = torch.view_as_real(spectrum).float().double()  # (count, 257, 2)
        power = parts[:, :, 0] * parts[:, :, 0]
        power.addcmul_(parts[:, :, 1], parts[:, :, 1])  # (count, 257)
        energies = torch.sparse.mm(sparse_filters, power.T)  # (n_mels, count)
        log_mel[:, start : start + count] = energies.clamp_min_(MEL_FLOOR).log_()

    first = [sample // HOP_LENGTH for sample in np.cumsum([0, *sizes[:-1]]).tolist()]
    return [log_mel[:, f : f + fbank_frames(n)].T for f, n in zip(first, lengths, strict=True)]


def normalize_per_bin(log_mel: torch.Tensor) -> torch.Tensor:
    """Normalise each bin of an utterance over its frames: ``(x - mean) / sqrt(var + 1e-7)``.

    With the reference's float32 arithmetic: the variance has ``ddof=1``, and the sums are
    numpy's pairwise sums over the utterance's frames.

    Args:
        log_mel: float32 ``(frames, n_mels)``, at least 2 frames.

    Returns:
        Float32 ``(frames, n_mels)``, normalised (a view of a bin-major tensor).
    """
    by_bin = log_mel.T.contiguous()  # (n_mels, frames); no copy for kaldi_fbank's views
    frames = by_bin.shape[1]
    # numpy sums each contiguous row pairwise and divides float32 sums by an integer count in
    # float64, rounding to float32 (torch's sums would differ in the last bits, and on a
    # near-constant bin the normalisation turns those bits into differences of 1e-2).
    mean = np.add.reduce(by_bin.numpy(), axis=1, keepdims=True) / np.int64(frames)
    centred = by_bin - torch.from_numpy(mean.astype(np.float32))  # (n_mels, frames)
    squares = np.add.reduce((centred * centred).numpy(), axis=1, keepdims=True)
    variance = torch.from_numpy((squares / np.int64(frames - 1)).astype(np.float32))
    # torch's float32 sqrt may be off by one ulp; float64's, rounded to float32, is exact.
    scale = (variance + VARIANCE_EPSILON).double().sqrt().float()  # (n_mels, 1)
    return (centred / scale).T


@dataclass(frozen=True, eq=False)
class W2vBertFbank:
    """w2v-BERT 2.0's front-end: normalised Kaldi fbank, two frames stacked into one.

    Build it with `unheard.data.features.feature_extractor_for`, which takes the filters and
    padding value from the checkpoint's ``SeamlessM4TFeatureExtractor``.

    Args:
        mel_filters: ``(257, n_mels)`` float64 Kaldi mel filters.
        window: ``(400,)`` float64 Povey window.
        padding_value: feature value of padded frames (1.0 for facebook/w2v-bert-2.0).
        stride: frames stacked into one; w2v-BERT 2.0 stacks 2.

    Raises:
        ValueError: if the filters or window have the wrong shape, or the stride is not 2.
    """

    mel_filters: torch.Tensor = field(repr=False)  # (257, n_mels) float64
    window: torch.Tensor = field(repr=False)  # (400,) float64
    padding_value: float = 1.0
    stride: int = 2

    def __post_init__(self) -> None:
        bins = FFT_LENGTH // 2 + 1
        if self.mel_filters.ndim != 2 or self.mel_filters.shape[0] != bins:
            raise ValueError(
                f"mel_filters of shape {tuple(self.mel_filters.shape)} do not fit a "
                f"{FFT_LENGTH}-point FFT: expected ({bins}, n_mels)"
            )
        if tuple(self.window.shape) != (FRAME_LENGTH,):
            raise ValueError(f"window of shape {tuple(self.window.shape)}; expected (400,)")
        if self.stride != 2:
            raise ValueError(f"stride {self.stride} is not supported; w2v-BERT 2.0 stacks 2")

    @property
    def n_mels(self) -> int:
        """Mel bins per fbank frame (half the stacked feature size)."""
        return self.mel_filters.shape[1]

    def __call__(self, waveforms: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Compute the stacked features of a batch and their mask.

        Args:
            waveforms: mono float32 clips of shape (samples,), each of at least 560 samples
                (two frames; `unheard.data.features.extract_features` checks).

        Returns:
            ``(features, mask)``: float32 ``(batch, frames, stride * n_mels)`` and int64
            ``(batch, frames)``, frames of the longest clip; ``F`` fbank frames give ``F //
            stride`` valid stacked frames (one half padding is masked out).
        """
        log_mel = kaldi_fbank(waveforms, self.mel_filters, self.window)
        frames = torch.tensor([m.shape[0] for m in log_mel])  # (batch,)
        # Padded to the longest clip, rounded up to a multiple of the stride, then stacked.
        padded = -(-int(frames.max()) // self.stride) * self.stride
        features = torch.full((len(waveforms), padded, self.n_mels), self.padding_value)
        for row, utterance in zip(features, log_mel, strict=True):
            row[: utterance.shape[0]] = normalize_per_bin(utterance)
        features = features.view(len(waveforms), padded // self.stride, -1)
        # A stacked frame is valid when both of its fbank frames are.
        mask = torch.arange(padded // self.stride) < (frames // self.stride)[:, None]
        return features, mask.long()
