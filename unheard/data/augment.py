"""Optional training-time augmentation: speed perturbation and additive noise (off by default)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import soxr

from unheard.encoders import SAMPLE_RATE


@dataclass(frozen=True)
class Augmentation:
    """What to apply to each training clip; the defaults apply nothing."""

    # Kaldi-style speed perturbation (tempo and pitch together), one factor drawn per clip,
    # e.g. (0.9, 1.0, 1.1); empty: off
    speed_factors: tuple[float, ...] = ()
    # additive noise at an SNR drawn uniformly from this range in dB, e.g. (10, 30); None: off
    noise_snr_db: tuple[float, float] | None = None
    noise_prob: float = 0.5  # share of clips that get noise when noise is on
    # noise recordings (mono 16 kHz float arrays are cut from them); empty: white noise
    noise: tuple[np.ndarray, ...] = ()

    def __post_init__(self) -> None:
        if any(f <= 0 for f in self.speed_factors):
            raise ValueError(f"speed factors must be positive, got {self.speed_factors}")
        if self.noise_snr_db is not None and self.noise_snr_db[0] > self.noise_snr_db[1]:
            raise ValueError(f"noise_snr_db must be (low, high), got {self.noise_snr_db}")
        if not 0 <= self.noise_prob <= 1:
            raise ValueError(f"noise_prob must be in [0, 1], got {self.noise_prob}")

    @property
    def enabled(self) -> bool:
        """Whether anything is applied."""
        return bool(self.speed_factors) or self.noise_snr_db is not None


def speed_perturb(audio: np.ndarray, factor: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Play ``audio`` ``factor`` times faster (shorter and higher for factor > 1), as Kaldi's
    speed perturbation: resample as if it had been recorded at ``sample_rate * factor``."""
    if factor == 1.0:
        return audio
    return soxr.resample(audio, sample_rate * factor, sample_rate, quality="HQ").astype(np.float32)


def add_noise(
    audio: np.ndarray, snr_db: float, rng: np.random.Generator, noise: Sequence[np.ndarray] = ()
) -> np.ndarray:
    """Mix noise into ``audio`` at a signal-to-noise ratio of ``snr_db``.

    Args:
        audio: ``(samples,)`` float32.
        snr_db: the SNR in dB of the result.
        rng: randomness (noise choice, offset, white noise).
        noise: recordings to cut the noise from (looped when shorter); empty: white noise.

    Returns:
        The noisy clip, same length.
    """
    if noise:
        source = noise[int(rng.integers(len(noise)))]
        reps = -(-len(audio) // len(source)) + 1
        looped = np.tile(source, reps)
        start = int(rng.integers(len(looped) - len(audio) + 1))
        n = looped[start : start + len(audio)].astype(np.float64)
    else:
        n = rng.standard_normal(len(audio))
    signal_power = float(np.mean(audio.astype(np.float64) ** 2)) + 1e-12
    noise_power = float(np.mean(n**2)) + 1e-12
    scale = np.sqrt(signal_power / (noise_power * 10 ** (snr_db / 10)))
    return (audio + scale * n).astype(np.float32)


def augment(audio: np.ndarray, options: Augmentation, rng: np.random.Generator) -> np.ndarray:
    """Apply the configured augmentations to one clip (a no-op with the defaults)."""
    if options.speed_factors:
        audio = speed_perturb(audio, float(rng.choice(options.speed_factors)))
    if options.noise_snr_db is not None and rng.random() < options.noise_prob:
        audio = add_noise(audio, float(rng.uniform(*options.noise_snr_db)), rng, options.noise)
    return audio
