"""Input features of each speech-encoder family, from transformers' own feature extractors.

Each family takes different inputs, and each transformers extractor pads and masks them in its
own way; `extract_features` hides that behind one ``(features, feature_mask)`` pair:

- Whisper: log-mel ``(batch, n_mels, window_frames)``, always padded to the model's fixed window
  (3000 frames = 30 s for real checkpoints), so an item's features never depend on its batch.
  The mask marks the mel frames whose centre lies in the clip: ``ceil(n / 160)`` for ``n``
  samples (the STFT is centred, frame ``i`` is centred on sample ``160 i``).
- w2v-BERT 2.0: 80-bin Kaldi fbank (25 ms window, 10 ms hop, no centring), normalised per
  utterance and per bin before padding, then two frames stacked into one of 160 dims:
  ``(batch, frames, 160)``. ``n`` samples give ``F = 1 + (n - 400) // 160`` fbank frames,
  ``ceil(F / 2)`` stacked frames of which ``F // 2`` are marked valid (a last stacked frame half
  real, half padding is masked out).
- wav2vec2 family: the waveform itself ``(batch, samples)``, normalised per utterance over its
  real samples only, padded with zeros to the longest; the mask is per sample.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers import (
    PretrainedConfig,
    SeamlessM4TFeatureExtractor,
    Wav2Vec2FeatureExtractor,
    WhisperFeatureExtractor,
)

from unheard.model.encoder import encoder_family

SAMPLE_RATE = 16000  # every supported encoder was trained on 16 kHz audio
HOP_LENGTH = 160  # 10 ms mel/fbank hop at 16 kHz (Whisper and w2v-BERT alike)

FeatureExtractor = WhisperFeatureExtractor | SeamlessM4TFeatureExtractor | Wav2Vec2FeatureExtractor


def feature_extractor_for(encoder_config: PretrainedConfig) -> FeatureExtractor:
    """Build the transformers feature extractor matching an encoder's config.

    Args:
        encoder_config: the speech encoder's config (for Whisper, the whole model's config or the
            encoder's: both carry ``num_mel_bins`` and ``max_source_positions``).

    Returns:
        A ``WhisperFeatureExtractor`` whose window is ``2 * max_source_positions`` mel frames
        (the encoder's convolutions halve it to ``max_source_positions``), a
        ``SeamlessM4TFeatureExtractor`` for w2v-BERT, or a ``Wav2Vec2FeatureExtractor`` for the
        raw-waveform family. The last always normalises and returns a mask; some released
        checkpoints (wav2vec2-base, hubert-base) were trained otherwise, and
        ``unheard.model.encoder`` drops the mask for models with group-norm feature encoders.

    Raises:
        ValueError: if the model type is not a supported speech encoder.
    """
    family = encoder_family(encoder_config)  # raises for an unsupported model type
    if family == "whisper":
        window_frames = 2 * encoder_config.max_source_positions
        window_samples = window_frames * HOP_LENGTH
        extractor = WhisperFeatureExtractor(
            feature_size=encoder_config.num_mel_bins,
            sampling_rate=SAMPLE_RATE,
            hop_length=HOP_LENGTH,
            chunk_length=window_samples / SAMPLE_RATE,  # seconds: 30.0 for 1500 positions
            return_attention_mask=True,
        )
        # The constructor computes n_samples = chunk_length * sampling_rate, a float for
        # fractional windows (e.g. 1.28 s); set both sizes as exact integers so that padding
        # gives exactly window_frames frames.
        extractor.n_samples = window_samples
        extractor.nb_max_frames = window_frames
        return extractor
    if family == "w2v-bert":
        mel_bins = encoder_config.feature_projection_input_dim // 2  # two frames stacked
        # padding_value 1.0 as in facebook/w2v-bert-2.0's preprocessor_config.json.
        return SeamlessM4TFeatureExtractor(
            feature_size=mel_bins,
            num_mel_bins=mel_bins,
            sampling_rate=SAMPLE_RATE,
            padding_value=1.0,
            stride=2,
        )
    return Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=SAMPLE_RATE,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=True,
    )


def _check_waveforms(waveforms: list[np.ndarray], min_samples: int) -> list[np.ndarray]:
    """Return the waveforms as 1-D float32 arrays, or raise on an empty batch or a short clip."""
    if not waveforms:
        raise ValueError("cannot extract features of an empty batch")
    arrays = [np.asarray(w, dtype=np.float32) for w in waveforms]
    for index, array in enumerate(arrays):
        if array.ndim != 1:
            raise ValueError(f"waveform {index} must be mono (samples,), got shape {array.shape}")
        if array.shape[0] < min_samples:
            raise ValueError(
                f"waveform {index} has {array.shape[0]} samples; this encoder needs at least "
                f"{min_samples} ({1000 * min_samples / SAMPLE_RATE:.0f} ms)"
            )
    return arrays


def extract_features(
    extractor: FeatureExtractor, waveforms: list[np.ndarray]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Compute a padded batch of encoder inputs and its mask.

    An item's features on its valid frames are the same alone as inside a batch with longer
    items (bit for bit on CPU with transformers 5.x): Whisper pads every item to the fixed window, w2v-BERT
    normalises each utterance before padding, and the wav2vec2 extractor normalises over the
    real samples only.

    Args:
        extractor: from `feature_extractor_for`.
        waveforms: mono 16 kHz clips, each of shape (samples,).

    Returns:
        ``(features, feature_mask)``; the mask is int64, 1 on real input and 0 on padding.
        Whisper: ``(batch, n_mels, window_frames)`` and ``(batch, window_frames)``.
        w2v-BERT: ``(batch, frames, 160)`` and ``(batch, frames)``, frames of the longest item.
        wav2vec2 family: ``(batch, samples)`` and ``(batch, samples)``, samples of the longest.

    Raises:
        ValueError: for an empty batch, a waveform that is not 1-D, a clip too short for one
            frame, a clip longer than Whisper's window, or an extractor of another kind.
    """
    if isinstance(extractor, WhisperFeatureExtractor):
        arrays = _check_waveforms(waveforms, min_samples=1)
        window = extractor.n_samples
        for index, array in enumerate(arrays):
            if array.shape[0] > window:
                raise ValueError(
                    f"waveform {index} lasts {array.shape[0] / SAMPLE_RATE:.2f} s, longer than the "
                    f"Whisper encoder's {window / SAMPLE_RATE:.2f} s window; split it first"
                )
        out = extractor(
            arrays,
            sampling_rate=SAMPLE_RATE,
            padding="max_length",
            max_length=window,
            return_attention_mask=True,
            return_tensors="pt",
        )
        features = out["input_features"]  # (batch, n_mels, window_frames)
    elif isinstance(extractor, SeamlessM4TFeatureExtractor):
        # At least two fbank frames (400 + 160 samples): the extractor's per-bin variance has
        # ddof=1, NaN for one frame, and a stacked frame counts as valid only when both halves are.
        arrays = _check_waveforms(waveforms, min_samples=560)
        out = extractor(arrays, sampling_rate=SAMPLE_RATE, padding="longest", return_tensors="pt")
        features = out["input_features"]  # (batch, frames, 2 * mel_bins)
    elif isinstance(extractor, Wav2Vec2FeatureExtractor):
        arrays = _check_waveforms(waveforms, min_samples=1)
        out = extractor(
            arrays,
            sampling_rate=SAMPLE_RATE,
            padding="longest",
            return_attention_mask=True,
            return_tensors="pt",
        )
        features = out["input_values"]  # (batch, samples)
    else:
        raise ValueError(
            f"unsupported feature extractor {type(extractor).__name__}; "
            "build one with unheard.data.features.feature_extractor_for"
        )
    mask = out["attention_mask"].long()
    return features.float(), mask
