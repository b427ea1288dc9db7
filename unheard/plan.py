"""``unheard plan``: parameter counts and a memory estimate, built on the meta device."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from unheard.config import ModelConfig
from unheard.data.batch import Batch
from unheard.device import resolve_dtype
from unheard.model.lora import is_lora_parameter
from unheard.model.speech_llm import SpeechLLM

GIB = 1024**3
STRATEGIES = ("ddp", "fsdp")  # configs/accelerate/ddp.yaml, configs/accelerate/fsdp.yaml


@dataclass(frozen=True)
class BatchShape:
    """The batch the memory estimate assumes, per device."""

    batch_size: int = 8  # utterances per device and step
    audio_seconds: float = 15.0  # longest utterance in the batch (all padded to it)
    prompt_tokens: int = 32  # prompt prefix + suffix
    answer_tokens: int = 64  # transcript or translation

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.audio_seconds <= 0:
            raise ValueError(f"batch_size and audio_seconds must be positive, got {self}")


def shape_of(batch: Batch) -> BatchShape:
    """The shape of a collated batch, as `plan` estimates memory for it."""
    width = lambda t: 0 if t is None else t.shape[1]  # noqa: E731
    return BatchShape(
        batch_size=max(batch.size, 1),
        audio_seconds=max(batch.longest_audio_s, 0.02),
        prompt_tokens=width(batch.prefix_ids) + width(batch.suffix_ids) + width(batch.text_ids),
        answer_tokens=width(batch.target_ids),
    )


def count_parameters(model: SpeechLLM) -> dict[str, int]:
    """Parameters per part: encoder, layer_mix, adapter, lora, llm (without LoRA), trainable,
    total."""
    llm = {n: p.numel() for n, p in model.llm.named_parameters()}
    lora = sum(v for n, v in llm.items() if is_lora_parameter(n))
    counts = {
        "encoder": sum(p.numel() for p in model.encoder.parameters()),
        "layer_mix": sum(p.numel() for p in model.layer_mix.parameters()),
        "adapter": sum(p.numel() for p in model.adapter.parameters()),
        "lora": lora,
        "llm": sum(llm.values()) - lora,
    }
    counts["trainable"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
    counts["total"] = sum(p.numel() for p in model.parameters())
    return counts


def llm_blocks(model: SpeechLLM, classes: tuple[str, ...] = ()) -> list[nn.Module]:
    """The LLM's blocks, each an FSDP unit: modules of the named classes, by default the LLM's
    own ``_no_split_modules`` (``MT5Block``, ``Qwen2DecoderLayer``, ...)."""
    names = set(classes or getattr(model.llm, "_no_split_modules", None) or ())
    return [m for m in model.llm.modules() if type(m).__name__ in names]


def plan(
    model: SpeechLLM, config: ModelConfig, batch: BatchShape | None = None, devices: int = 1
) -> dict[str, Any]:
    """Counts and a per-device memory estimate for training ``model``.

    The estimate: frozen weights in ``config.dtype``; trained parameters in fp32 with their
    gradient and AdamW's two moments (16 bytes each); the encoder's hidden states that the layer
    mix keeps for its backward; LLM activations with LoRA, ~34 bytes per token per hidden unit
    per layer in half precision plus attention scores (Korthikanti et al. 2022, no recomputation).
    It ignores allocator fragmentation and framework overhead: keep ~20% headroom.

    Per strategy over ``devices`` devices, each with its own batch of ``batch``'s shape: DDP keeps
    everything whole on every device (the single-device figures). FSDP (`unheard.recipes.fsdp`)
    divides the frozen LLM weights and the trained state by ``devices``, keeps a frozen encoder
    whole on each device, and adds the weights it gathers whole while computing: the root unit's
    (embeddings, LM head, layer mix, adapter) and two LLM blocks (one computing, one prefetched).
    Activations are per device in both.

    Args:
        model: the model, typically built on the meta device.
        config: its config.
        batch: the batch shape per device.
        devices: how many devices train together.

    Returns:
        ``{"params": {...}, "trainable_share": float, "memory_gib": {...}, "devices": int,
        "memory_gib_by_strategy": {"ddp": {...}, "fsdp": {...}}, "batch": {...}}``;
        ``memory_gib`` is the single-device (and DDP) estimate.

    Raises:
        ValueError: if ``devices`` < 1.
    """
    if devices < 1:
        raise ValueError(f"devices must be >= 1, got {devices}")
    batch = batch or BatchShape()
    params = count_parameters(model)
    weight_bytes = torch.empty((), dtype=resolve_dtype(config.dtype)).element_size()
    frozen = params["total"] - params["trainable"]
    frames = math.ceil(batch.audio_seconds * 1000 / model.encoder.frame_ms)
    audio_tokens = math.ceil(frames / model.adapter.stride)
    llm_config = model.llm.config
    hidden = llm_config.hidden_size if hasattr(llm_config, "hidden_size") else llm_config.d_model
    heads = llm_config.num_attention_heads if hasattr(llm_config, "num_attention_heads") else 1
    layers = llm_config.num_hidden_layers
    if model.is_encoder_decoder:
        enc_tokens, dec_tokens = audio_tokens + batch.prompt_tokens, batch.answer_tokens
        token_layers = enc_tokens * layers + dec_tokens * llm_config.num_decoder_layers
        score_bytes = 5 * heads * (enc_tokens**2 + dec_tokens**2 + enc_tokens * dec_tokens)
        score_bytes *= layers
        logit_tokens = dec_tokens
    else:
        seq = audio_tokens + batch.prompt_tokens + batch.answer_tokens
        token_layers = seq * layers
        score_bytes = 5 * heads * seq**2 * layers
        logit_tokens = seq
    activations = batch.batch_size * (34 * hidden * token_layers + score_bytes)
    logits = batch.batch_size * logit_tokens * model.llm.get_output_embeddings().out_features * 4
    kept_states = (
        batch.batch_size * frames * model.encoder.hidden_size * model.encoder.num_hidden_states
    )
    memory = {
        "frozen_weights": frozen * weight_bytes / GIB,
        "trained_state": params["trainable"] * 16 / GIB,
        "encoder_states": kept_states * weight_bytes / GIB,
        "llm_activations": (activations + logits) / GIB,
    }
    memory["total"] = sum(memory.values())
    sharded = _fsdp_memory(model, params, memory, weight_bytes, devices)
    rounded = lambda gib: {k: round(v, 3) for k, v in gib.items()}  # noqa: E731
    return {
        "params": params,
        "trainable_share": params["trainable"] / params["total"],
        "memory_gib": rounded(memory),
        "devices": devices,
        "memory_gib_by_strategy": {"ddp": rounded(memory), "fsdp": rounded(sharded)},
        "batch": {**batch.__dict__, "audio_tokens": audio_tokens},
        "encoder": config.encoder,
        "llm": config.llm,
        "dtype": config.dtype,
    }


def _fsdp_memory(
    model: SpeechLLM,
    params: dict[str, int],
    whole: dict[str, float],
    weight_bytes: int,
    devices: int,
) -> dict[str, float]:
    # per device under FSDP, in GiB, from the single-device estimate `whole`
    frozen = params["total"] - params["trainable"]
    encoder = 0 if model.encoder.trainable else params["encoder"]  # frozen: whole on each rank
    blocks = [sum(p.numel() for p in block.parameters()) for block in llm_blocks(model)]
    root = params["total"] - encoder - sum(blocks)
    memory = {
        "frozen_weights": ((frozen - encoder) / devices + encoder) * weight_bytes / GIB,
        "trained_state": params["trainable"] * 16 / devices / GIB,
        "gathered_weights": (root + 2 * max(blocks, default=0)) * weight_bytes / GIB,
        "encoder_states": whole["encoder_states"],
        "llm_activations": whole["llm_activations"],
    }
    memory["total"] = sum(memory.values())
    return memory


def out_of_memory_advice(
    model: SpeechLLM,
    config: ModelConfig,
    batch: BatchShape,
    where: str,
    limit: str,
    device: torch.device | None = None,
    strategy: str = "ddp",
    devices: int = 1,
) -> str:
    """What to tell a user whose step ran out of GPU memory: the batch that failed, the limit in
    force, `plan`'s estimate for that batch, and what to lower.

    Args:
        model: the (unwrapped) model.
        config: its config.
        batch: the shape of the batch that failed.
        where: e.g. ``"training step 12"`` or ``"decoding"``.
        limit: the setting that sized the batch, e.g. ``"data.sampler.max_duration_s=120"``.
        device: the CUDA device, for its free/total memory (None: not reported).
        strategy: ``"ddp"`` (or one process) or ``"fsdp"``: whose estimate to give.
        devices: how many devices train together.

    Returns:
        One paragraph.
    """
    estimate = plan(model, config, batch, devices)["memory_gib_by_strategy"][strategy]["total"]
    used = ""
    if device is not None and device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        used = f"; {device} has {free / GIB:.1f} of {total / GIB:.1f} GiB free now"
    return (
        f"out of memory during {where} on a batch of {batch.batch_size} item(s), the longest "
        f"{batch.audio_seconds:.1f} s ({batch.batch_size * batch.audio_seconds:.1f} padded audio "
        f"seconds), {batch.prompt_tokens} prompt and {batch.answer_tokens} answer tokens, with "
        f"{limit}; `unheard plan` estimates {estimate:.1f} GiB per device for training on this "
        f"batch{used}. Lower {limit.split('=')[0]}, turn on run.gradient_checkpointing, use "
        "run.mixed_precision=bf16, or shard the frozen LLM with FSDP (configs/accelerate/)"
    )
