"""SpeechLLM: frozen speech encoder → layer mix → CNN adapter → frozen LLM (+ LoRA).

The LLM reads ``[prompt prefix][audio embeddings][prompt suffix]``:

- encoder-decoder LLMs (mT5/mT0, T5) take that sequence into their *encoder* as
  ``inputs_embeds``; the answer is the decoder's target;
- decoder-only LLMs (Qwen2, Llama, Gemma 3) take ``[prefix][audio][suffix][answer]`` and the
  loss covers the answer tokens only.

A text-only example (translation or denoising of text, no audio) is the same with the audio
replaced by the source text's token embeddings (the LLM's own embedding table); a batch may mix
both kinds: the encoder runs on its speech items only (``speech_rows``).

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


class DeviceMismatchError(RuntimeError):
    """An input reached the model on another device than the model's (a loop forgot
    ``batch.to(device)``)."""


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
        adapter_norm: RMS-normalise the adapter output, its gain starting at the RMS of the
            LLM's token embeddings (`ConvAdapter` ``out_scale``).
    """

    def __init__(
        self,
        encoder: SpeechEncoder,
        llm: PreTrainedModel,
        adapter_stride: int = 4,
        adapter_kernel: int = 3,
        adapter_norm: bool = False,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.llm = llm
        # decoder-only training: compute logits only at answer positions (the recipe turns it
        # on); off, ``forward`` returns the logits of every position
        self.answer_logits_only = False
        # decoder-only training: run the batch's items back to back in one row, without padding
        # (``run.pack_sequences``; `_packed`); off, as a padded batch
        self.pack_sequences = False
        self.layer_mix = LayerWeightedSum(encoder.num_hidden_states)
        embeddings = llm.get_input_embeddings().weight
        scale = None
        if adapter_norm:  # 1.0 on the meta device, where there are no values (counts only)
            meta = embeddings.device.type == "meta"
            scale = 1.0 if meta else embeddings.detach().float().pow(2).mean().sqrt().item()
        self.adapter = ConvAdapter(
            encoder.hidden_size,
            embeddings.shape[1],
            stride=adapter_stride,
            kernel_size=adapter_kernel,
            out_scale=scale,
        )

    def compile_llm(self, dynamic: bool = True) -> None:
        """Run the LLM's training forward through ``torch.compile`` (inductor; ``run.compile``).

        ``generate`` keeps the eager LLM: each decoding step's growing cache would recompile. The
        compiled module is kept outside the module tree (``__dict__``), so it adds no parameters
        and no state-dict keys: checkpoints are the same with and without it.

        Args:
            dynamic: compile for any sequence length and batch size at once (every batch of a
                duration-bucketed run has another shape).
        """
        self.__dict__["_compiled_llm"] = torch.compile(self.llm, dynamic=dynamic)

    @property
    def compiled(self) -> bool:
        """Whether `compile_llm` compiled the training forward."""
        return "_compiled_llm" in self.__dict__

    @property
    def _training_llm(self) -> nn.Module:
        """The LLM ``forward`` calls: the compiled one after `compile_llm`, else the LLM."""
        compiled = self.__dict__.get("_compiled_llm")
        return self.llm if compiled is None else compiled

    @property
    def device(self) -> torch.device:
        """Where the model computes: the device of its trained layer weights (the local shard's
        device under FSDP)."""
        return self.layer_mix.logits.device

    def check_devices(self, **inputs: torch.Tensor | None) -> None:
        """Check that every input tensor is on the model's device; called first by ``forward``
        and ``generate``, so a batch left on the CPU fails by name, before any work, instead of
        deep inside a matmul (or, worse, never on a CPU-only test machine).

        Raises:
            DeviceMismatchError: naming each input on another device.
        """
        device = self.device
        wrong = {
            name: str(value.device)
            for name, value in inputs.items()
            if isinstance(value, torch.Tensor) and value.device != device
        }
        if wrong:
            raise DeviceMismatchError(
                f"inputs on another device than the model ({device}): {wrong}; move the batch "
                "with batch.to(unheard.device.device_of(model)) before calling the model"
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
        prefix_ids: torch.Tensor,
        prefix_mask: torch.Tensor,
        suffix_ids: torch.Tensor,
        suffix_mask: torch.Tensor,
        features: torch.Tensor | None = None,
        feature_mask: torch.Tensor | None = None,
        speech_rows: torch.Tensor | None = None,
        text_ids: torch.Tensor | None = None,
        text_mask: torch.Tensor | None = None,
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The prompt prefix, the source (audio and/or text) and the suffix as
        ``(batch, len, llm_dim)`` embeddings with ``(batch, len)`` bool masks, ready for
        ``pack_segments``.

        Args:
            prefix_ids, prefix_mask, suffix_ids, suffix_mask: as in ``forward``.
            features, feature_mask: encoder input of the speech items (None: no speech item).
            speech_rows: ``(speech,)`` the batch row of each speech item; None: every row.
            text_ids, text_mask: ``(batch, t)`` source text tokens of the text items, mask 0 on
                speech rows (None: no text item).

        Raises:
            ValueError: if the batch has neither audio nor source text.
        """
        if features is None and text_ids is None:
            raise ValueError("a batch needs audio features, source text ids, or both")
        embed = self.llm.get_input_embeddings()
        segments = [(embed(prefix_ids), prefix_mask.bool())]
        if features is not None:
            audio, lengths = self.embed_audio(features, feature_mask)  # (speech, frames, llm_dim)
            if speech_rows is not None:  # a mixed batch: text rows get no audio frames
                rows = prefix_ids.shape[0]
                audio = audio.new_zeros(rows, *audio.shape[1:]).index_copy(0, speech_rows, audio)
                lengths = lengths.new_zeros(rows).index_copy(0, speech_rows, lengths)
            segments.append((audio, length_mask(lengths, audio.shape[1])))
        if text_ids is not None:
            segments.append((embed(text_ids), text_mask.bool()))
        segments.append((embed(suffix_ids), suffix_mask.bool()))
        return segments

    def forward(
        self,
        prefix_ids: torch.Tensor,
        prefix_mask: torch.Tensor,
        suffix_ids: torch.Tensor,
        suffix_mask: torch.Tensor,
        target_ids: torch.Tensor,
        target_mask: torch.Tensor,
        features: torch.Tensor | None = None,
        feature_mask: torch.Tensor | None = None,
        speech_rows: torch.Tensor | None = None,
        text_ids: torch.Tensor | None = None,
        text_mask: torch.Tensor | None = None,
        label_smoothing: float = 0.0,
    ) -> SpeechLLMOutput:
        """Teacher-forced forward pass and next-token cross-entropy on the answer.

        Args:
            prefix_ids, prefix_mask: ``(batch, p)`` prompt tokens before the source, right-padded.
            suffix_ids, suffix_mask: ``(batch, s)`` prompt tokens after the source, right-padded.
            target_ids, target_mask: ``(batch, n)`` answer tokens ending in EOS, right-padded.
            features, feature_mask: encoder input of the speech items and its mask.
            speech_rows: ``(speech,)`` rows of the speech items in a mixed batch (None: all).
            text_ids, text_mask: ``(batch, t)`` source text of the text-only items, right-padded.
            label_smoothing: cross-entropy label smoothing.

        Returns:
            Loss, logits and the aligned labels.

        Raises:
            DeviceMismatchError: if an input is on another device than the model.
        """
        self.check_devices(
            prefix_ids=prefix_ids, prefix_mask=prefix_mask, suffix_ids=suffix_ids,
            suffix_mask=suffix_mask, target_ids=target_ids, target_mask=target_mask,
            features=features, feature_mask=feature_mask, speech_rows=speech_rows,
            text_ids=text_ids, text_mask=text_mask,
        )  # fmt: skip
        prompt = self.prompt_segments(
            prefix_ids, prefix_mask, suffix_ids, suffix_mask,
            features, feature_mask, speech_rows, text_ids, text_mask,
        )  # fmt: skip
        embed = self.llm.get_input_embeddings()
        target_mask = target_mask.bool()
        answer_labels = target_ids.masked_fill(~target_mask, IGNORE_INDEX)
        if self.is_encoder_decoder:
            inputs, mask, _ = pack_segments(prompt)
            decoder_input_ids = self.llm.prepare_decoder_input_ids_from_labels(labels=answer_labels)
            logits = self._training_llm(
                inputs_embeds=inputs,
                attention_mask=mask,
                decoder_input_ids=decoder_input_ids,
                decoder_attention_mask=target_mask,
            ).logits  # (batch, n, vocab)
            labels = answer_labels
        else:
            inputs, mask, positions = pack_segments([*prompt, (embed(target_ids), target_mask)])
            # the logit at position t predicts the token at t + 1
            labels = torch.full(mask.shape, IGNORE_INDEX, dtype=torch.long, device=mask.device)
            b, j = target_mask.nonzero(as_tuple=True)
            labels[b, positions[-1][b, j] - 1] = target_ids[b, j]
            extra: dict[str, object] = {"attention_mask": mask}
            if self.pack_sequences:
                inputs, labels, extra = _packed(inputs, labels, mask)
            keep: int | torch.Tensor = 0  # transformers: 0 keeps every position
            if self.answer_logits_only:
                # the LM head only where some item has an answer token: with a 262k vocabulary
                # (Gemma 3) the head is a large share of the step, and prompt/audio logits are
                # never used in the loss
                keep = (labels != IGNORE_INDEX).any(0).nonzero().squeeze(-1)
                labels = labels[:, keep]
            logits = self._training_llm(inputs_embeds=inputs, logits_to_keep=keep, **extra).logits
            # (batch, seq or kept positions, vocab); packed: batch 1
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
        prefix_ids: torch.Tensor,
        prefix_mask: torch.Tensor,
        suffix_ids: torch.Tensor,
        suffix_mask: torch.Tensor,
        features: torch.Tensor | None = None,
        feature_mask: torch.Tensor | None = None,
        speech_rows: torch.Tensor | None = None,
        text_ids: torch.Tensor | None = None,
        text_mask: torch.Tensor | None = None,
        **generate_kwargs: object,
    ) -> torch.Tensor:
        """Write the answer with the LLM's ``generate`` (greedy unless told otherwise).

        Args:
            prefix_ids, prefix_mask, suffix_ids, suffix_mask, features, feature_mask,
                speech_rows, text_ids, text_mask: as in ``forward``.
            **generate_kwargs: passed to ``transformers`` ``generate`` (``max_new_tokens``,
                ``num_beams``, ...).

        Returns:
            ``(batch, new_tokens)`` answer token ids (no decoder start token), padded with the
            LLM's pad id after EOS.

        Raises:
            DeviceMismatchError: if an input is on another device than the model.
        """
        self.check_devices(
            prefix_ids=prefix_ids, prefix_mask=prefix_mask, suffix_ids=suffix_ids,
            suffix_mask=suffix_mask, features=features, feature_mask=feature_mask,
            speech_rows=speech_rows, text_ids=text_ids, text_mask=text_mask,
        )  # fmt: skip
        segments = self.prompt_segments(
            prefix_ids, prefix_mask, suffix_ids, suffix_mask,
            features, feature_mask, speech_rows, text_ids, text_mask,
        )  # fmt: skip
        # decoder-only models continue from the last position: pad on the left
        inputs, mask, _ = pack_segments(segments, left_pad=not self.is_encoder_decoder)
        generate_kwargs.setdefault("do_sample", False)
        out = self.llm.generate(inputs_embeds=inputs, attention_mask=mask, **generate_kwargs)
        if self.is_encoder_decoder:
            out = out[:, 1:]  # drop the decoder start token
        return out


def _packed(
    inputs: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, dict[str, object]]:
    """A right-padded decoder-only batch as one row of its items back to back, no padding.

    Each item keeps its own positions (0, 1, ... restarting at every item), and with no
    attention mask transformers reads the item boundaries from those restarts and lets a token
    attend only to earlier tokens of its own item (``masking_utils.find_packed_sequence_indices``):
    the same loss as the padded batch, on fewer tokens. The attention scores of one row cost the
    square of its whole length; on a CPU, where the LLM's matmuls dominate, that is far less than
    the padding it saves (``benchmarks/speedups.py``).

    Returns:
        ``(1, tokens, dim)`` inputs, ``(1, tokens)`` labels, and the LLM's keyword arguments
        (its ``position_ids``; no attention mask and no cache).
    """
    valid = mask.bool()
    positions = mask.long().cumsum(1) - 1
    extra = {"position_ids": positions[valid][None], "attention_mask": None, "use_cache": False}
    return inputs[valid][None], labels[valid][None], extra


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
