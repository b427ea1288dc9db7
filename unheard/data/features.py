"""Input features of each speech-encoder family, batched in torch, equal to transformers'.

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

`feature_extractor_for` builds our torch front-ends (`WhisperLogMel`, `W2vBertFbank`,
`WaveformNorm`) from the settings of the transformers extractor that
`transformers_extractor_for` gives: the checkpoint's own ``preprocessor_config.json`` when the
encoder was loaded from a local directory that has one, else the released models' defaults.
`extract_features` runs either kind. The transformers extractors are the reference; ours give the
same shapes and masks and the same features: within a float32 ulp (2.4e-7) for Whisper, bit for
bit for wav2vec2, within 1e-5 for w2v-BERT (2e-4 on a pure tone whose frames repeat exactly).
They are >10x faster for Whisper and w2v-BERT, ~2x for wav2vec2, whose padded copy and int64 mask
are most of the work (``benchmarks/features.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import (
    AutoFeatureExtractor,
    PretrainedConfig,
    SeamlessM4TFeatureExtractor,
    Wav2Vec2FeatureExtractor,
    WhisperFeatureExtractor,
)

from unheard.data.fbank import FRAME_LENGTH, W2vBertFbank
from unheard.data.fbank import HOP_LENGTH as FBANK_HOP_LENGTH
from unheard.data.log_mel import WhisperLogMel
from unheard.encoders import HOP_LENGTH, SAMPLE_RATE, encoder_family, whisper_window

W2V_BERT_MIN_SAMPLES = FRAME_LENGTH + FBANK_HOP_LENGTH  # two fbank frames: 560 samples


@dataclass(frozen=True)
class WaveformNorm:
    """The wav2vec2 family's front-end: each waveform normalised over its own samples, padded.

    Args:
        do_normalize: scale each clip to zero mean and unit variance,
            ``(x - mean) / sqrt(var + 1e-7)``; False passes the waveform through.
        padding_value: value of the samples after a clip's end.
    """

    do_normalize: bool = True
    padding_value: float = 0.0

    def __call__(self, waveforms: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalise and pad a batch of waveforms.

        Args:
            waveforms: mono float32 clips of shape (samples,), each at least 1 sample.

        Returns:
            ``(values, mask)``: float32 and int64 ``(batch, samples)``, samples of the longest.
        """
        longest = max(w.shape[0] for w in waveforms)
        values = torch.empty(len(waveforms), longest)
        mask = torch.empty(len(waveforms), longest, dtype=torch.long)
        for row, row_mask, waveform in zip(values, mask, waveforms, strict=True):
            samples = waveform.shape[0]
            if self.do_normalize:
                # numpy's float32 mean and variance, as the reference's (pairwise sums).
                array = waveform.numpy()
                mean, std = array.mean(), np.sqrt(array.var() + 1e-7)
                torch.sub(waveform, float(mean), out=row[:samples]).div_(float(std))
            else:
                row[:samples] = waveform
            row[samples:] = self.padding_value
            row_mask[:samples] = 1
            row_mask[samples:] = 0
        return values, mask


FeatureExtractor = WhisperLogMel | W2vBertFbank | WaveformNorm
TransformersExtractor = (
    WhisperFeatureExtractor | SeamlessM4TFeatureExtractor | Wav2Vec2FeatureExtractor
)


def transformers_extractor_for(encoder_config: PretrainedConfig) -> TransformersExtractor:
    """Build the transformers feature extractor matching an encoder's config: the reference.

    When the config was loaded from a local directory with a ``preprocessor_config.json``, that
    extractor is loaded (``AutoFeatureExtractor.from_pretrained``) and checked against the
    config; otherwise one is built with the defaults of the released models.

    Args:
        encoder_config: the speech encoder's config (for Whisper, the whole model's config or the
            encoder's: both carry ``num_mel_bins`` and ``max_source_positions``).

    Returns:
        A ``WhisperFeatureExtractor`` whose window is ``2 * max_source_positions`` mel frames
        (the encoder's convolutions halve it to ``max_source_positions``), a
        ``SeamlessM4TFeatureExtractor`` for w2v-BERT, or a ``Wav2Vec2FeatureExtractor`` for the
        raw-waveform family (normalising and masking, unless the checkpoint says otherwise; some
        released checkpoints, wav2vec2-base and hubert-base, were trained without a mask, and
        ``unheard.model.encoder`` drops it for models with group-norm feature encoders).

    Raises:
        ValueError: if the model type is not a supported speech encoder, or the checkpoint's
            preprocessor config is of another kind or does not fit the encoder.
    """
    family = encoder_family(encoder_config)  # raises for an unsupported model type
    expected = {
        "whisper": WhisperFeatureExtractor,
        "w2v-bert": SeamlessM4TFeatureExtractor,
        "wav2vec2": Wav2Vec2FeatureExtractor,
    }[family]
    extractor = _checkpoint_extractor(encoder_config, expected)
    if family == "whisper":
        window = whisper_window(encoder_config)
        if extractor is None:
            extractor = WhisperFeatureExtractor(
                feature_size=encoder_config.num_mel_bins,
                sampling_rate=SAMPLE_RATE,
                hop_length=HOP_LENGTH,
                chunk_length=window.seconds,  # 30.0 for 1500 positions
                return_attention_mask=True,
            )
        _check_setting(extractor, "feature_size", encoder_config.num_mel_bins)
        _check_setting(extractor, "hop_length", HOP_LENGTH)
        # The constructor computes n_samples = chunk_length * sampling_rate, a float for
        # fractional windows (e.g. 1.28 s); set both sizes as exact integers so that padding
        # gives exactly the window's mel frames. The encoder takes exactly this window.
        extractor.n_samples = window.samples
        extractor.nb_max_frames = window.mel_frames
    elif family == "w2v-bert":
        mel_bins = encoder_config.feature_projection_input_dim // 2  # two frames stacked
        if extractor is None:
            # padding_value 1.0 as in facebook/w2v-bert-2.0's preprocessor_config.json.
            extractor = SeamlessM4TFeatureExtractor(
                feature_size=mel_bins,
                num_mel_bins=mel_bins,
                sampling_rate=SAMPLE_RATE,
                padding_value=1.0,
                stride=2,
            )
        _check_setting(extractor, "num_mel_bins", mel_bins)
        _check_setting(extractor, "stride", 2)
    elif extractor is None:
        extractor = Wav2Vec2FeatureExtractor(
            feature_size=1,
            sampling_rate=SAMPLE_RATE,
            padding_value=0.0,
            do_normalize=True,
            return_attention_mask=True,
        )
    _check_setting(extractor, "sampling_rate", SAMPLE_RATE)
    return extractor


def feature_extractor_for(encoder_config: PretrainedConfig) -> FeatureExtractor:
    """Build the torch front-end of an encoder, with its transformers extractor's settings.

    Args:
        encoder_config: the speech encoder's config (for Whisper, the whole model's config or the
            encoder's).

    Returns:
        `WhisperLogMel` (window of ``2 * max_source_positions`` frames), `W2vBertFbank`, or
        `WaveformNorm`, giving the features of `transformers_extractor_for`'s extractor.

    Raises:
        ValueError: if the model type is not a supported speech encoder, the checkpoint's
            preprocessor config does not fit it, or it asks for dithering or a non-zero Whisper
            padding value (which `WhisperLogMel` does not implement).
    """
    extractor = transformers_extractor_for(encoder_config)
    if isinstance(extractor, WhisperFeatureExtractor):
        _check_setting(extractor, "dither", 0.0)
        _check_setting(extractor, "padding_value", 0.0)
        return WhisperLogMel(
            mel_filters=torch.from_numpy(np.asarray(extractor.mel_filters, dtype=np.float32)),
            window_frames=extractor.nb_max_frames,
            hop_length=extractor.hop_length,
            n_fft=extractor.n_fft,
        )
    if isinstance(extractor, SeamlessM4TFeatureExtractor):
        return W2vBertFbank(
            mel_filters=torch.from_numpy(np.asarray(extractor.mel_filters, dtype=np.float64)),
            window=torch.from_numpy(np.asarray(extractor.window, dtype=np.float64)),
            padding_value=float(extractor.padding_value),
            stride=extractor.stride,
        )
    return WaveformNorm(
        do_normalize=bool(extractor.do_normalize), padding_value=float(extractor.padding_value)
    )


def _checkpoint_extractor(
    config: PretrainedConfig, expected: type[TransformersExtractor]
) -> TransformersExtractor | None:
    """The extractor saved with a local checkpoint, or None when there is none."""
    directory = Path(config.name_or_path) if config.name_or_path else None
    if directory is None or not (directory / "preprocessor_config.json").is_file():
        return None
    extractor = AutoFeatureExtractor.from_pretrained(str(directory))
    if not isinstance(extractor, expected):
        raise ValueError(
            f"{directory / 'preprocessor_config.json'} describes a {type(extractor).__name__}; "
            f"a {config.model_type} encoder takes a {expected.__name__}"
        )
    return extractor


def _check_setting(extractor: TransformersExtractor, name: str, expected: object) -> None:
    value = getattr(extractor, name)
    if value != expected:
        raise ValueError(
            f"the {type(extractor).__name__}'s {name} is {value!r}, but this encoder needs "
            f"{expected!r}; fix the checkpoint's preprocessor_config.json"
        )


def _check_waveforms(
    waveforms: list[np.ndarray], min_samples: int, max_samples: int | None = None
) -> list[np.ndarray]:
    """Return the waveforms as 1-D float32 arrays, or raise on an empty batch or a bad clip."""
    if not waveforms:
        raise ValueError("cannot extract features of an empty batch")
    arrays = [np.asarray(w, dtype=np.float32) for w in waveforms]
    for index, array in enumerate(arrays):
        if array.ndim != 1:
            raise ValueError(f"waveform {index} must be mono (samples,), got shape {array.shape}")
        arrays[index] = np.ascontiguousarray(array)  # e.g. a reversed view: torch needs strides > 0
        if array.shape[0] < min_samples:
            raise ValueError(
                f"waveform {index} has {array.shape[0]} samples; this encoder needs at least "
                f"{min_samples} ({1000 * min_samples / SAMPLE_RATE:.0f} ms)"
            )
        if max_samples is not None and array.shape[0] > max_samples:
            raise ValueError(
                f"waveform {index} lasts {array.shape[0] / SAMPLE_RATE:.2f} s, longer than the "
                f"Whisper encoder's {max_samples / SAMPLE_RATE:.2f} s window; split it first"
            )
    return arrays


def extract_features(
    extractor: FeatureExtractor | TransformersExtractor, waveforms: list[np.ndarray]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Compute a padded batch of encoder inputs and its mask.

    An item's features on its valid frames are the same alone as inside a batch with longer
    items (bit for bit on CPU): Whisper pads every item to the fixed window, w2v-BERT normalises
    each utterance before padding, and the wav2vec2 family normalises over the real samples only.

    Args:
        extractor: from `feature_extractor_for`, or the reference from
            `transformers_extractor_for` (the same outputs, slower).
        waveforms: mono 16 kHz clips, each of shape (samples,).

    Returns:
        ``(features, feature_mask)``; features are float32, the mask is int64, 1 on real input
        and 0 on padding.
        Whisper: ``(batch, n_mels, window_frames)`` and ``(batch, window_frames)``.
        w2v-BERT: ``(batch, frames, 160)`` and ``(batch, frames)``, frames of the longest item.
        wav2vec2 family: ``(batch, samples)`` and ``(batch, samples)``, samples of the longest.

    Raises:
        ValueError: for an empty batch, a waveform that is not 1-D, a clip too short for one
            frame, a clip longer than Whisper's window, or an extractor of another kind.
    """
    if isinstance(extractor, WhisperLogMel | WhisperFeatureExtractor):
        window = (
            extractor.window_samples
            if isinstance(extractor, WhisperLogMel)
            else extractor.n_samples
        )
        arrays = _check_waveforms(waveforms, min_samples=1, max_samples=window)
    elif isinstance(extractor, W2vBertFbank | SeamlessM4TFeatureExtractor):
        # At least two fbank frames (400 + 160 samples): the per-bin variance has ddof=1, NaN
        # for one frame, and a stacked frame counts as valid only when both halves are.
        arrays = _check_waveforms(waveforms, min_samples=W2V_BERT_MIN_SAMPLES)
    elif isinstance(extractor, WaveformNorm | Wav2Vec2FeatureExtractor):
        arrays = _check_waveforms(waveforms, min_samples=1)
    else:
        raise ValueError(
            f"unsupported feature extractor {type(extractor).__name__}; "
            "build one with unheard.data.features.feature_extractor_for"
        )
    if isinstance(extractor, WhisperLogMel | W2vBertFbank | WaveformNorm):
        return extractor([torch.from_numpy(a) for a in arrays])
    return _transformers_features(extractor, arrays)


def _transformers_features(
    extractor: TransformersExtractor, arrays: list[np.ndarray]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference: run a transformers extractor with the padding each family needs."""
    if isinstance(extractor, WhisperFeatureExtractor):
        out = extractor(
            arrays,
            sampling_rate=SAMPLE_RATE,
            padding="max_length",
            max_length=extractor.n_samples,
            return_attention_mask=True,
            return_tensors="pt",
        )
        features = out["input_features"]  # (batch, n_mels, window_frames)
    elif isinstance(extractor, SeamlessM4TFeatureExtractor):
        out = extractor(arrays, sampling_rate=SAMPLE_RATE, padding="longest", return_tensors="pt")
        features = out["input_features"]  # (batch, frames, 2 * mel_bins)
    else:
        out = extractor(
            arrays,
            sampling_rate=SAMPLE_RATE,
            padding="longest",
            return_attention_mask=True,
            return_tensors="pt",
        )
        features = out["input_values"]  # (batch, samples)
    return features.float(), out["attention_mask"].long()
