"""SpeechLLM: frozen speech encoder → layer mix → CNN adapter → frozen LLM (+ LoRA).

The LLM reads ``[prompt prefix][audio embeddings][prompt suffix]``:

- encoder-decoder LLMs (mT5/mT0, T5) take that sequence into their *encoder* as
  ``inputs_embeds``; the answer is the decoder's target;
- decoder-only LLMs (Qwen2, Llama, Gemma 3) take ``[prefix][audio][suffix][answer]`` and the
  loss covers the answer tokens only.

Every item's segments are packed back to back with the padding at the end (at the start for
decoder-only generation), so an item sees the same positions, relative distances and neighbours
whatever else is in its batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel

from unheard.model.adapter import ConvAdapter
from unheard.model.encoder import SpeechEncoder
from unheard.model.layer_mix import LayerWeightedSum
from unheard.model.masks import length_mask

IGNORE_INDEX = -100


@dataclass
class SpeechLLMOutput:
    """What a training forward returns."""

    loss: torch.Tensor  # () mean token cross-entropy over answer tokens
    logits: torch.Tensor  # enc-dec: (batch, answer_len, vocab); dec-only: (batch, seq, vocab)
    labels: torch.Tensor  # same shape as logits[..., 0]: the token each logit predicts, or -100


class SpeechLLM(nn.Module):
    """The paper's speech-LLM.

    Args:
        encoder: the frozen speech encoder.
        llm: the LLM (frozen, optionally with LoRA layers already injected).
        adapter_stride: time downsampling of the adapter's first conv.
        adapter_kernel: kernel size of both adapter convs.
    """

    def __init__(
        self,
        encoder: SpeechEncoder,
        llm: PreTrainedModel,
        adapter_stride: int = 4,
        adapter_kernel: int = 3,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.llm = llm
        self.layer_mix = LayerWeightedSum(encoder.num_hidden_states)
        self.adapter = ConvAdapter(
            encoder.hidden_size,
            llm.get_input_embeddings().embedding_dim,
            stride=adapter_stride,
            kernel_size=adapter_kernel,
        )

    @property
    def is_encoder_decoder(self) -> bool:
        """True for encoder-decoder LLMs (mT0), False for decoder-only ones."""
        return bool(self.llm.config.is_encoder_decoder)

    def embed_audio(
        self, features: torch.Tensor, feature_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Speech → LLM embedding space.

        Args:
            features: encoder input features (see ``SpeechEncoder.forward``).
            feature_mask: ``(batch, frames_or_samples)`` 1 on real input.

        Returns:
            ``(batch, audio_len, llm_dim)`` embeddings in the LLM's dtype and ``(batch,)`` lengths.
        """
        enc = self.encoder(features, feature_mask)  # L+1 x (batch, frames, enc_dim), no autograd
        mixed = self.layer_mix(enc.hidden_states)  # (batch, frames, enc_dim)
        audio, lengths = self.adapter(mixed.to(self.adapter.conv1.weight.dtype), enc.lengths)
        return audio.to(self.llm.get_input_embeddings().weight.dtype), lengths

    def prompt_segments(
        self,
        features: torch.Tensor,
        feature_mask: torch.Tensor,
        prefix_ids: torch.Tensor,
        prefix_mask: torch.Tensor,
        suffix_ids: torch.Tensor,
        suffix_mask: torch.Tensor,
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The prompt prefix, audio and suffix as ``(batch, len, llm_dim)`` embeddings with
        ``(batch, len)`` bool masks, ready for ``pack_segments``."""
        audio, audio_lengths = self.embed_audio(features, feature_mask)
        embed = self.llm.get_input_embeddings()
        return [
            (embed(prefix_ids), prefix_mask.bool()),
            (audio, length_mask(audio_lengths, audio.shape[1])),
            (embed(suffix_ids), suffix_mask.bool()),
        ]

    def forward(
        self,
        features: torch.Tensor,
        feature_mask: torch.Tensor,
        prefix_ids: torch.Tensor,
        prefix_mask: torch.Tensor,
        suffix_ids: torch.Tensor,
        suffix_mask: torch.Tensor,
        target_ids: torch.Tensor,
        target_mask: torch.Tensor,
        label_smoothing: float = 0.0,
    ) -> SpeechLLMOutput:
        """Teacher-forced forward pass and next-token cross-entropy on the answer.

        Args:
            features, feature_mask: encoder input and its mask.
            prefix_ids, prefix_mask: ``(batch, p)`` prompt tokens before the audio, right-padded.
            suffix_ids, suffix_mask: ``(batch, s)`` prompt tokens after the audio, right-padded.
            target_ids, target_mask: ``(batch, n)`` answer tokens ending in EOS, right-padded.
            label_smoothing: cross-entropy label smoothing.

        Returns:
            Loss, logits and the aligned labels.
        """
        prompt = self.prompt_segments(
            features, feature_mask, prefix_ids, prefix_mask, suffix_ids, suffix_mask
        )
        embed = self.llm.get_input_embeddings()
        target_mask = target_mask.bool()
        answer_labels = target_ids.masked_fill(~target_mask, IGNORE_INDEX)
        if self.is_encoder_decoder:
            inputs, mask, _ = pack_segments(prompt)
            decoder_input_ids = self.llm.prepare_decoder_input_ids_from_labels(labels=answer_labels)
            logits = self.llm(
                inputs_embeds=inputs,
                attention_mask=mask,
                decoder_input_ids=decoder_input_ids,
                decoder_attention_mask=target_mask,
            ).logits  # (batch, n, vocab)
            labels = answer_labels
        else:
            inputs, mask, positions = pack_segments([*prompt, (embed(target_ids), target_mask)])
            logits = self.llm(
                inputs_embeds=inputs, attention_mask=mask
            ).logits  # (batch, seq, vocab)
            # the logit at position t predicts the token at t + 1
            labels = torch.full(mask.shape, IGNORE_INDEX, dtype=torch.long, device=mask.device)
            b, j = target_mask.nonzero(as_tuple=True)
            labels[b, positions[-1][b, j] - 1] = target_ids[b, j]
        loss = F.cross_entropy(
            logits.flatten(0, 1).float(),
            labels.flatten(),
            ignore_index=IGNORE_INDEX,
            label_smoothing=label_smoothing,
        )
        return SpeechLLMOutput(loss=loss, logits=logits, labels=labels)

    @torch.no_grad()
    def generate(
        self,
        features: torch.Tensor,
        feature_mask: torch.Tensor,
        prefix_ids: torch.Tensor,
        prefix_mask: torch.Tensor,
        suffix_ids: torch.Tensor,
        suffix_mask: torch.Tensor,
        **generate_kwargs: object,
    ) -> torch.Tensor:
        """Write the answer with the LLM's ``generate`` (greedy unless told otherwise).

        Args:
            features, feature_mask, prefix_ids, prefix_mask, suffix_ids, suffix_mask: as in
                ``forward``.
            **generate_kwargs: passed to ``transformers`` ``generate`` (``max_new_tokens``,
                ``num_beams``, ...).

        Returns:
            ``(batch, new_tokens)`` answer token ids (no decoder start token), padded with the
            LLM's pad id after EOS.
        """
        segments = self.prompt_segments(
            features, feature_mask, prefix_ids, prefix_mask, suffix_ids, suffix_mask
        )
        # decoder-only models continue from the last position: pad on the left
        inputs, mask, _ = pack_segments(segments, left_pad=not self.is_encoder_decoder)
        generate_kwargs.setdefault("do_sample", False)
        out = self.llm.generate(inputs_embeds=inputs, attention_mask=mask, **generate_kwargs)
        if self.is_encoder_decoder:
            out = out[:, 1:]  # drop the decoder start token
        return out


def pack_segments(
    segments: list[tuple[torch.Tensor, torch.Tensor]], left_pad: bool = False
) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """Concatenate each item's valid frames of several padded segments back to back.

    Args:
        segments: pairs of ``(batch, len_i, dim)`` values and ``(batch, len_i)`` bool masks.
        left_pad: put the padding before each item's sequence instead of after it.

    Returns:
        ``(batch, total, dim)`` packed values, ``(batch, total)`` long attention mask, and per
        segment the ``(batch, len_i)`` destination position of each of its frames (meaningful
        where its mask is set).
    """
    lengths = torch.stack([m.long().sum(1) for _, m in segments], 1)  # (batch, n_segments)
    totals = lengths.sum(1)
    width = int(totals.max())
    starts = lengths.cumsum(1) - lengths  # (batch, n_segments)
    if left_pad:
        starts = starts + (width - totals)[:, None]
    first = segments[0][0]
    packed = first.new_zeros(first.shape[0], width, first.shape[2])
    positions = []
    for i, (values, mask) in enumerate(segments):
        dest = starts[:, i : i + 1] + mask.long().cumsum(1) - 1  # (batch, len_i)
        b, j = mask.nonzero(as_tuple=True)
        packed = packed.index_put((b, dest[b, j]), values[b, j].to(packed.dtype))
        positions.append(dest)
    offset = (width - totals)[:, None] if left_pad else 0
    steps = torch.arange(width, device=first.device)[None, :]
    attention = ((steps >= offset) & (steps < offset + totals[:, None])).long()
    return packed, attention, positions
