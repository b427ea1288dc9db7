"""Whisper's log-mel spectrogram, batched in torch and equal to transformers' extractor.

``WhisperFeatureExtractor`` pads every clip with zeros to the encoder's window (30 s for real
checkpoints), takes a centred STFT (reflect padding, periodic Hann window of 400 samples, hop 160)
of the whole window, drops the last frame, and maps the power spectrum through its Slaney mel
filters; then ``log10(max(mel, 1e-10))`` is floored at its maximum minus 8 per utterance and
scaled as ``(x + 4) / 4``.

Most of that window is silence: a frame whose 400 samples all lie in the zero padding has power
0, hence ``log10(1e-10) = -10`` before the floor. `WhisperLogMel` therefore transforms only the
frames that touch a clip's samples, all clips of a batch packed into one buffer, and writes the
floored silence value into the rest of the window. Per frame it is the reference's arithmetic
(``torch.fft.rfft`` of the same windowed float32 frames, the same mel matrix, the same floor and
scale), but for ``|X|^2`` taken as ``re^2 + im^2`` and the mel product as a sparse one: the
features differ from transformers' by one float32 ulp at most (2.4e-7), are 12-15x faster to
compute, and an item's features do not depend on its batch, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

CHUNK_FRAMES = 1024  # frames transformed at a time: ~2 MB of float32 frames, which stay in cache
LOG_FLOOR = 1e-10  # mel energies are clamped here before log10, as in Whisper


@dataclass(frozen=True, eq=False)
class WhisperLogMel:
    """Whisper's log-mel front-end for an encoder with a fixed window.

    Build it with `unheard.data.features.feature_extractor_for`, which takes the mel filters
    from the checkpoint's ``WhisperFeatureExtractor``.

    Args:
        mel_filters: ``(n_fft // 2 + 1, n_mels)`` float32 mel filter bank (the extractor's
            ``mel_filters``).
        window_frames: mel frames of the encoder's window: ``2 * max_source_positions``
            (3000 = 30 s for real checkpoints).
        hop_length: STFT hop in samples.
        n_fft: STFT size and window length in samples.

    Raises:
        ValueError: if the filter bank's shape does not fit ``n_fft``, or a size is not
            positive, or the window is shorter than the STFT's reflect padding allows.
    """

    mel_filters: torch.Tensor = field(repr=False)  # (n_fft // 2 + 1, n_mels) float32
    window_frames: int  # mel frames the encoder takes; features are padded to exactly this
    hop_length: int = 160  # 10 ms at 16 kHz
    n_fft: int = 400  # 25 ms at 16 kHz

    def __post_init__(self) -> None:
        if self.hop_length <= 0 or self.n_fft <= 0 or self.n_fft % 2:
            raise ValueError(
                f"hop_length {self.hop_length} and n_fft {self.n_fft} must be positive, n_fft even"
            )
        if self.mel_filters.ndim != 2 or self.mel_filters.shape[0] != self.n_fft // 2 + 1:
            raise ValueError(
                f"mel_filters of shape {tuple(self.mel_filters.shape)} do not fit n_fft "
                f"{self.n_fft}: expected ({self.n_fft // 2 + 1}, n_mels)"
            )
        if self.window_frames * self.hop_length <= self.n_fft // 2:
            raise ValueError(
                f"a window of {self.window_frames} frames is too short to reflect-pad by "
                f"{self.n_fft // 2} samples; use at least {self.n_fft // 2 // self.hop_length + 1}"
            )

    @property
    def n_mels(self) -> int:
        """Mel bins per frame."""
        return self.mel_filters.shape[1]

    @property
    def window_samples(self) -> int:
        """Samples of the encoder's window; longer clips must be split first."""
        return self.window_frames * self.hop_length

    def __call__(self, waveforms: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Compute the log-mel features of a batch, each padded to the window.

        Args:
            waveforms: mono float32 clips of shape (samples,), each of 1 to
                ``window_samples`` samples (`unheard.data.features.extract_features` checks).

        Returns:
            ``(features, mask)``: float32 ``(batch, n_mels, window_frames)`` and int64
            ``(batch, window_frames)``, 1 on the ``ceil(samples / hop_length)`` frames whose
            centre lies in the clip.
        """
        hop, half = self.hop_length, self.n_fft // 2
        lengths = torch.tensor([w.shape[0] for w in waveforms])  # (batch,)
        # Frame t is centred on sample hop * t and covers [hop * t - half, hop * t + half): it
        # touches the clip while hop * t - half < samples.
        touched = ((lengths + half + hop - 1) // hop).clamp(max=self.window_frames)  # (batch,)
        buffer, first_frames = self._pack(waveforms, touched)
        log_mel = self._log_mel(buffer)  # (n_mels, buffer frames)

        # (batch, n_mels, window_frames): per utterance, its touched frames floored at their
        # maximum - 8 and scaled, then the same of log10(1e-10) = -10 for the frames of silence
        # (never the maximum). Float32 scalars, computed as the reference computes them.
        silence = torch.tensor(LOG_FLOOR).log10()
        features = torch.empty(len(waveforms), self.n_mels, self.window_frames)
        for row, first, frames in zip(
            features, first_frames.tolist(), touched.tolist(), strict=True
        ):
            utterance = log_mel[:, first : first + frames]  # (n_mels, frames)
            floor = utterance.max() - 8.0
            torch.maximum(utterance, floor, out=row[:, :frames]).add_(4.0).div_(4.0)
            row[:, frames:] = (torch.maximum(silence, floor) + 4.0) / 4.0
        valid = (lengths + hop - 1) // hop  # (batch,) frames centred in the clip
        mask = (torch.arange(self.window_frames) < valid[:, None]).long()
        return features, mask

    def _pack(
        self, waveforms: list[torch.Tensor], touched: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Lay the clips' centred, reflect-padded windows one after another in one buffer.

        Each segment starts on a multiple of the hop, so every frame of every clip is a frame of
        the buffer's ``unfold(0, n_fft, hop)``. Segment ``b`` holds what the reference's padded
        signal holds over the ``touched[b]`` frames: ``half`` reflected samples, the clip, zeros,
        and the reflection of the window's end when those frames reach it.

        Returns:
            ``(buffer, first_frames)``: float32 ``(total samples,)`` and, per item, the index of
            its first frame in the buffer's frames ``(batch,)``.
        """
        hop, half, window = self.hop_length, self.n_fft // 2, self.window_samples
        # (touched + 2) * hop >= hop * (touched - 1) + n_fft: room for the last touched frame.
        sizes = ((touched + 2) * hop).tolist()
        buffer = torch.zeros(sum(sizes))
        offset = 0
        for waveform, size in zip(waveforms, sizes, strict=True):
            segment = buffer[offset : offset + size]  # position half + i is sample i
            samples = waveform.shape[0]
            segment[half : half + samples] = waveform
            # Reflect padding excludes the edge: position half - j is sample j, j = 1..half
            # (zeros past the clip's end, as in the zero-padded window).
            reflected = min(half, samples - 1)
            segment[half - reflected : half] = waveform[1 : reflected + 1].flip(0)
            if size - half > window:  # the last frames reach the window's end: reflect it too
                padded = F.pad(waveform, (0, window - samples))  # (window,)
                # Position half + window + j is sample window - 2 - j.
                tail = min(size - half - window, half)
                segment[half + window : half + window + tail] = padded[
                    window - 1 - tail : window - 1
                ].flip(0)
            offset += size
        first_frames = torch.tensor([0, *sizes[:-1]]).cumsum(0) // hop  # (batch,)
        return buffer, first_frames

    def _log_mel(self, buffer: torch.Tensor) -> torch.Tensor:
        """``log10(max(mel power, 1e-10))`` of every frame of the buffer: (n_mels, frames)."""
        frames = buffer.unfold(0, self.n_fft, self.hop_length)  # (buffer frames, n_fft) view
        window = torch.hann_window(self.n_fft)  # periodic, as torch.stft in the reference
        # Each bin feeds at most two (Slaney) filters: ~400 of the 201 x n_mels weights are
        # non-zero, and a sparse product is 1.5-2x faster than the dense one.
        filters = self.mel_filters.T.to_sparse()  # (n_mels, n_fft // 2 + 1)
        out = torch.empty(self.n_mels, frames.shape[0])  # mel-major: an utterance's bins are rows
        # In chunks of frames, so that every step's tensors stay in cache (3-4x faster).
        for start in range(0, frames.shape[0], CHUNK_FRAMES):
            chunk = frames[start : start + CHUNK_FRAMES]
            spectrum = torch.fft.rfft(chunk * window)  # (chunk, n_fft // 2 + 1) complex64
            parts = torch.view_as_real(spectrum)  # (chunk, n_fft // 2 + 1, 2)
            # re^2 + im^2 is 3x faster than the reference's abs() ** 2 and differs from it in
            # the last bit at most.
            power = parts[:, :, 0] * parts[:, :, 0]
            power.addcmul_(parts[:, :, 1], parts[:, :, 1])
            out[:, start : start + chunk.shape[0]] = torch.sparse.mm(filters, power.T)
        return out.clamp_min_(LOG_FLOOR).log10_()
