"""Frozen speech encoders from transformers, returning every hidden state and valid frame counts.

Three families are supported, each through its own transformers model class:

- ``whisper``: the encoder of ``WhisperModel``. Its input is log-mel features padded to the fixed
  window it was trained on (30 s for real checkpoints); we keep only the frames that cover real
  audio. Whisper has no attention mask, so padding to the fixed window is what makes an item's
  output independent of the batch it is in.
- ``w2v-bert``: ``Wav2Vec2BertModel`` (w2v-BERT 2.0) on stacked 80-dim fbank features (160-dim,
  20 ms frames), masked by the feature extractor's attention mask.
- ``wav2vec2``: the raw-waveform family (wav2vec2, XLS-R, MMS, HuBERT, data2vec-audio, wav2vec2
  conformer). Models with ``feat_extract_norm == "group"`` (wav2vec2-base) were trained without an
  attention mask and must not be given one (transformers' documented convention); their outputs
  near padding then depend on the padding, as in the original fairseq models.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel

from unheard.encoders import SAMPLE_RATE, encoder_family, whisper_window
from unheard.model.masks import length_mask


@dataclass
class EncoderOutput:
    """All hidden states of a speech encoder and how many frames of each item are real."""

    hidden_states: tuple[torch.Tensor, ...]  # L+1 tensors of (batch, frames, enc_dim)
    lengths: torch.Tensor  # (batch,) valid frames per item


class SpeechEncoder(nn.Module):
    """A pretrained speech encoder: frozen and run without autograd (the paper), or trained.

    Args:
        model: the transformers encoder: ``WhisperEncoder``, ``Wav2Vec2BertModel`` or a model
            of the wav2vec2 family.
        trainable: train the encoder too (an ablation; the paper keeps it frozen). Frozen, it
            runs under ``no_grad`` in eval mode and stores no activations for backward.
        whisper_real_length: run Whisper on each batch's own length instead of its 30 s window
            (ignored for the other families).
    """

    def __init__(
        self, model: PreTrainedModel, trainable: bool = False, whisper_real_length: bool = False
    ) -> None:
        super().__init__()
        self.model = model
        self.family = encoder_family(model.config)
        self.trainable = trainable
        self.whisper_real_length = whisper_real_length and self.family == "whisper"
        self.model.requires_grad_(trainable)
        if not trainable:
            self.model.eval()

    @property
    def hidden_size(self) -> int:
        """Width of each hidden state (``enc_dim``)."""
        config = self.model.config
        return config.d_model if self.family == "whisper" else config.hidden_size

    @property
    def num_hidden_states(self) -> int:
        """Number of hidden states returned: the embedding output plus one per layer."""
        config = self.model.config
        layers = config.encoder_layers if self.family == "whisper" else config.num_hidden_layers
        return layers + 1

    @property
    def frame_ms(self) -> float:
        """Duration of one output frame in milliseconds (20 for every supported family)."""
        if self.family == "wav2vec2":
            stride = 1
            for s in self.model.config.conv_stride:
                stride *= s
            return 1000.0 * stride / SAMPLE_RATE
        return 20.0

    def train(self, mode: bool = True) -> SpeechEncoder:
        """Keep a frozen encoder in eval mode (no dropout) whatever the parent's mode."""
        super().train(mode and self.trainable)
        return self

    def forward(self, features: torch.Tensor, feature_mask: torch.Tensor) -> EncoderOutput:
        """Encode a padded batch (see `encode`); without autograd when frozen."""
        with torch.set_grad_enabled(self.trainable and torch.is_grad_enabled()):
            return self.encode(features, feature_mask)

    def encode(self, features: torch.Tensor, feature_mask: torch.Tensor) -> EncoderOutput:
        """Encode a padded batch.

        Args:
            features: Whisper: log-mel ``(batch, n_mels, window_frames)``; w2v-BERT: stacked
                fbank ``(batch, frames, 160)``; wav2vec2 family: waveform ``(batch, samples)``.
            feature_mask: ``(batch, frames_or_samples)``, 1 on real input, 0 on padding.

        Returns:
            All hidden states and the valid output frames per item.
        """
        input_lengths = feature_mask.long().sum(-1)
        features = features.to(self.model.dtype)  # float32 features into a bf16/fp16 encoder
        if self.whisper_real_length:
            return self._whisper_real_length(features, input_lengths)
        if self.family == "whisper":
            expected = self.whisper_input_frames
            if features.shape[-1] != expected:
                raise ValueError(
                    f"Whisper encoder expects {expected} mel frames (its fixed window), "
                    f"got {features.shape[-1]}; pad the features to the window"
                )
            out = self.model(features, output_hidden_states=True)
            # conv1 (stride 1) then conv2 (k3, stride 2, pad 1): ceil(frames / 2)
            lengths = (input_lengths + 1) // 2
        elif self.family == "w2v-bert":
            out = self.model(features, attention_mask=feature_mask, output_hidden_states=True)
            lengths = input_lengths
        else:
            use_mask = getattr(self.model.config, "feat_extract_norm", "layer") == "layer"
            out = self.model(
                features,
                attention_mask=feature_mask if use_mask else None,
                output_hidden_states=True,
            )
            lengths = self.model._get_feat_extract_output_lengths(input_lengths)
        frames = out.hidden_states[-1].shape[1]
        return EncoderOutput(out.hidden_states, lengths.clamp(max=frames))

    def _whisper_real_length(
        self, features: torch.Tensor, input_lengths: torch.Tensor
    ) -> EncoderOutput:
        # Whisper on the audio's own length (as Ultravox does) instead of its 30 s window: the
        # same modules, position embeddings cut to the length, padding masked in attention and
        # zeroed before each conv so that an item's output does not depend on its batch.
        # transformers' WhisperEncoder.forward refuses other lengths, hence this loop.
        m = self.model
        width = int(input_lengths.max())
        x = features[..., :width] * length_mask(input_lengths, width)[:, None, :]
        h = nn.functional.gelu(m.conv1(x))  # (batch, d_model, width)
        h = h * length_mask(input_lengths, width)[:, None, :]
        h = nn.functional.gelu(m.conv2(h)).transpose(1, 2)  # (batch, ceil(width / 2), d_model)
        lengths = (input_lengths + 1) // 2
        h = h + m.embed_positions.weight[: h.shape[1]]
        keep = length_mask(lengths, h.shape[1])  # (batch, frames)
        # additive attention mask over keys: (batch, 1, 1, frames)
        bias = torch.zeros(keep.shape, dtype=h.dtype, device=h.device)
        bias = bias.masked_fill(~keep, torch.finfo(h.dtype).min)[:, None, None, :]
        states = [h]
        for layer in m.layers:
            h = layer(h, bias)
            h = h[0] if isinstance(h, tuple) else h
            states.append(h)
        states[-1] = m.layer_norm(h)  # as transformers returns it: the last state normalised
        return EncoderOutput(tuple(states), lengths)

    @property
    def whisper_input_frames(self) -> int:
        """Mel frames of Whisper's fixed input window (3000 = 30 s for real checkpoints)."""
        return whisper_window(self.model.config).mel_frames
