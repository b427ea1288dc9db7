"""Kaldi fbank in torch against SeamlessM4TFeatureExtractor's numpy one, frame by frame."""

import numpy as np
import pytest
import torch
from transformers import SeamlessM4TFeatureExtractor

from unheard.data.fbank import (
    FRAME_LENGTH,
    W2vBertFbank,
    fbank_frames,
    kaldi_fbank,
    normalize_per_bin,
)

EXTRACTOR = SeamlessM4TFeatureExtractor(padding_value=1.0)
FILTERS = torch.from_numpy(EXTRACTOR.mel_filters)  # (257, 80) float64
WINDOW = torch.from_numpy(EXTRACTOR.window)  # (400,) float64


def _waveforms(clips: list[np.ndarray]) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.arange(24000) / 16000
    return [
        *clips,
        (0.1 * rng.standard_normal(400)).astype(np.float32),  # one frame
        (0.1 * rng.standard_normal(16001)).astype(np.float32),
        (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32),  # float32 FFT: 0.2 off
        np.zeros(1000, np.float32),  # every energy at the floor
    ]


def _reference_normalisation(features: np.ndarray) -> np.ndarray:
    """SeamlessM4TFeatureExtractor.__call__'s per-bin normalisation.

    ``features`` (frames, bins) must be laid out as the extractor's, bin-major (a transposed
    C array): numpy then sums each bin pairwise, otherwise frame after frame.
    """
    return (features - np.expand_dims(features.mean(0), 0)) / np.sqrt(
        np.expand_dims(features.var(0, ddof=1), 0) + 1e-7
    )


def test_frame_count():
    assert [fbank_frames(n) for n in (400, 559, 560, 16000)] == [1, 1, 2, 98]


def test_log_mel_equals_the_reference_per_clip(clips):
    waveforms = _waveforms(clips)
    log_mel = kaldi_fbank([torch.from_numpy(w) for w in waveforms], FILTERS, WINDOW)
    for waveform, ours in zip(waveforms, log_mel, strict=True):
        reference = EXTRACTOR._extract_fbank_features(waveform)  # (frames, 80) float32
        assert ours.shape == reference.shape == (fbank_frames(len(waveform)), 80)
        assert ours.dtype == torch.float32
        # float64 as the reference, rounded to complex64 where it is: equal but for rare last bits.
        np.testing.assert_allclose(ours.numpy(), reference, rtol=0, atol=2e-6)


def test_log_mel_does_not_depend_on_the_batch(clips):
    waveforms = [torch.from_numpy(w) for w in _waveforms(clips)]
    batch = kaldi_fbank(waveforms, FILTERS, WINDOW)
    for waveform, in_batch in zip(waveforms, batch, strict=True):
        assert torch.equal(kaldi_fbank([waveform], FILTERS, WINDOW)[0], in_batch)


def test_normalisation_is_the_references_bit_for_bit(clips):
    waveforms = _waveforms(clips)
    for waveform in waveforms[:-1]:  # silence: see the next test
        reference = EXTRACTOR._extract_fbank_features(waveform)
        if len(reference) < 2:
            continue
        # Our layout (bin-major) and the reference's sum alike: the same float32 numbers.
        ours = normalize_per_bin(torch.from_numpy(np.ascontiguousarray(reference.T)).T)
        np.testing.assert_array_equal(ours.numpy(), _reference_normalisation(reference))


def test_normalisation_of_near_constant_bins_is_the_references():
    # Constant bins (variance 0) and bins a few ulps from constant: the result is float32
    # rounding noise of the sums / sqrt(1e-7), which only the reference's summation order
    # reproduces; exact (float64) arithmetic and sequential float32 sums are 1e-2 off.
    rng = np.random.default_rng(0)
    values = np.full((80, 1001), -15.942385, np.float32)  # bin-major, as the reference's
    values[40:] += rng.integers(-2, 3, (40, 1001)).astype(np.float32) * np.float32(2**-19)
    reference = _reference_normalisation(values.T)
    np.testing.assert_array_equal(normalize_per_bin(torch.from_numpy(values).T), reference)
    exact = values.T.astype(np.float64)
    exact = (exact - exact.mean(0)) / np.sqrt(exact.var(0, ddof=1) + 1e-7)
    assert np.abs(reference - exact).max() > 1e-3
    assert np.abs(reference[:, :40]).max() > 1e-3  # constant, yet not normalised to 0
    sequential = _reference_normalisation(np.ascontiguousarray(values.T))
    assert np.abs(reference - sequential).max() > 1e-3


def test_short_clips_are_rejected():
    with pytest.raises(ValueError, match="399 samples is shorter than one fbank frame"):
        kaldi_fbank([torch.zeros(FRAME_LENGTH - 1)], FILTERS, WINDOW)


def test_w2v_bert_fbank_pads_and_stacks(clips):
    front_end = W2vBertFbank(FILTERS, WINDOW, padding_value=1.0)
    waveforms = [torch.from_numpy(clips[0]), torch.from_numpy(clips[2])]
    features, mask = front_end(waveforms)
    frames = [fbank_frames(len(w)) for w in waveforms]
    assert features.shape == (2, -(-max(frames) // 2), 160)
    assert mask.sum(1).tolist() == [f // 2 for f in frames]
    stacked = features.reshape(2, -1, 80)  # back to fbank frames
    assert (stacked[0, frames[0] :] == 1.0).all()
    log_mel = kaldi_fbank(waveforms, FILTERS, WINDOW)
    assert torch.equal(stacked[1, : frames[1]], normalize_per_bin(log_mel[1]))


def test_w2v_bert_fbank_checks_its_settings():
    with pytest.raises(ValueError, match=r"do not fit a 512-point FFT"):
        W2vBertFbank(FILTERS[:201], WINDOW)
    with pytest.raises(ValueError, match=r"window of shape \(512,\)"):
        W2vBertFbank(FILTERS, torch.ones(512, dtype=torch.float64))
