"""Build a SpeechLLM from a ModelConfig: load the frozen models (or construct them from configs),
freeze them, add LoRA and the trained parts.

Loading goes through transformers' ``from_pretrained`` with a hub id or a local path, exactly as a
user would. Building without weights (``weights=False``) constructs the architecture from
``encoder_config`` / ``llm_config`` (or the config found at the path), on any device including
``meta``, where nothing is allocated: that is how ``unheard plan`` counts a 13B model in seconds.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from unheard.config import ModelConfig
from unheard.device import resolve_dtype
from unheard.encoders import encoder_family
from unheard.hub import resolve
from unheard.model.encoder import SpeechEncoder
from unheard.model.lora import apply_lora
from unheard.model.speech_llm import SpeechLLM
from unheard.tiny import TINY_SCHEME, resolve_tiny

LLM_FRAME_MS = 80.0  # the paper's adapter output rate


class _UntiedT5HeadNotice(logging.Filter):
    """transformers 5 sets ``tie_word_embeddings=True`` on every MT5Config, so loading a real
    mT5/mT0 (or unheard's mini mT5), whose saved ``lm_head`` differs from its embedding, warns that
    it will not tie the two. Not tying them is right; the warning on every load is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "tie shared.weight to lm_head.weight" not in record.getMessage()


logging.getLogger("transformers.modeling_utils").addFilter(_UntiedT5HeadNotice())


def build_speech_llm(
    config: ModelConfig, weights: bool = True, device: str | torch.device = "cpu"
) -> SpeechLLM:
    """Build the SpeechLLM a config describes, frozen parts frozen.

    Args:
        config: what to build.
        weights: load pretrained weights of the encoder and LLM (``from_pretrained``); when False,
            build them with random weights from their configs.
        device: where to build; ``"meta"`` allocates nothing (requires ``weights=False``).

    Returns:
        The model. Trainable: layer mix, adapter, LoRA (when enabled) and any
        ``config.llm_trainable`` parameters.

    Raises:
        ValueError: for an unsupported encoder or ``meta`` with weights.
        OSError: when a model can be found neither locally nor on the hub.
    """
    if weights and torch.device(device).type == "meta":
        raise ValueError("cannot load weights onto the meta device; use weights=False")
    dtype = resolve_dtype(config.dtype)  # auto: bfloat16 where it is native
    # auto leaves the encoder in float32: its outputs are computed once into the encoder cache,
    # whose identity (a digest of every weight) then holds on either kind of machine
    encoder_dtype = torch.float32 if config.dtype == "auto" else dtype
    with torch.device(device):
        encoder = SpeechEncoder(
            _encoder(config, weights, encoder_dtype),
            config.encoder_trainable,
            config.whisper_real_length,
        )
        llm = _llm(config, weights, dtype)
        llm.requires_grad_(False)
        llm = apply_lora(llm, config.lora)
        _unfreeze(llm, config.llm_trainable)
        stride = config.adapter_stride or max(1, round(LLM_FRAME_MS / encoder.frame_ms))
        model = SpeechLLM(
            encoder, llm, adapter_stride=stride, adapter_kernel=config.adapter_kernel,
            adapter_norm=config.adapter_norm,
        )  # fmt: skip
    return model


def load_tokenizer(config: ModelConfig) -> PreTrainedTokenizerBase:
    """The LLM's tokenizer, from the LLM's hub id or path."""
    return _pretrained(AutoTokenizer, config.llm)


def _encoder(config: ModelConfig, weights: bool, dtype: torch.dtype) -> PreTrainedModel:
    arch = _architecture(config.encoder, config.encoder_config)
    family = encoder_family(arch)  # raises for a non-speech model before any download
    if weights:
        model = _pretrained(AutoModel, config.encoder, dtype=dtype)
    else:
        model = AutoModel.from_config(arch, dtype=dtype)
    if family == "whisper":
        model = model.get_encoder()  # WhisperModel → WhisperEncoder; the decoder is dropped
    return model


def _llm(config: ModelConfig, weights: bool, dtype: torch.dtype) -> PreTrainedModel:
    arch = _architecture(config.llm, config.llm_config)
    auto = AutoModelForSeq2SeqLM if arch.is_encoder_decoder else AutoModelForCausalLM
    if weights:
        return _pretrained(auto, config.llm, dtype=dtype)
    model = auto.from_config(arch, dtype=dtype)
    if config.llm_config is not None and config.llm_config.get("tie_word_embeddings") is False:
        head = untie_output_embeddings(model)
        if head.device.type != "meta":  # uninitialised memory (NaN on a GPU, maybe): random too
            nn.init.normal_(head, std=head.shape[1] ** -0.5)
    return model


def _architecture(name: str, inline: dict[str, Any] | None) -> PretrainedConfig:
    if inline is None:
        return _pretrained(AutoConfig, name)
    inline = dict(inline)
    model_type = inline.pop("model_type", None)
    if model_type is None:
        raise ValueError(f"the inline config for {name!r} needs a model_type")
    return AutoConfig.for_model(model_type, **inline)


def resolve_model(name: str, cache: str | Path | None = None) -> str:
    """A local path or hub id ``from_pretrained`` loads for a model name: ``tiny:<kind>`` is
    built once into the cache (`unheard.tiny.resolve_tiny`), anything else goes to
    `unheard.hub.resolve` (local, shipped, hub, or the packaged copy).

    Raises:
        OSError: for a name that resolves nowhere (the message says what was tried).
        ValueError: for an unknown ``tiny:`` kind.
    """
    if name.startswith(TINY_SCHEME):
        return resolve_tiny(name, cache)
    return resolve(name, cache)


def _pretrained(auto: Any, name: str, **kwargs: Any) -> Any:
    name = resolve_model(name)  # raises a clear OSError
    try:
        return auto.from_pretrained(name, **kwargs)
    except OSError as e:
        raise OSError(
            f"could not load {name!r}: it is neither a local directory with a saved model nor "
            f"reachable on the Hugging Face hub ({e.__class__.__name__}: {str(e)[:200]})"
        ) from e


def untie_output_embeddings(model: PreTrainedModel) -> nn.Parameter:
    """Give the output projection its own weight (uninitialised; the caller initialises it).

    MT5Config forces ``tie_word_embeddings=True``, but real mT0 checkpoints have a separate
    ``lm_head`` (3.7B params for mT0-xl, not 3.23B), and ``from_pretrained`` keeps a saved pair
    apart when both tensors are present and differ.

    Returns:
        The new head weight.
    """
    head = model.get_output_embeddings()
    head.weight = nn.Parameter(torch.empty_like(head.weight))
    model.config.tie_word_embeddings = False
    return head.weight


def _unfreeze(llm: PreTrainedModel, patterns: tuple[str, ...]) -> None:
    if not patterns:
        return
    matched = [p for n, p in llm.named_parameters() if any(s in n for s in patterns)]
    if not matched:
        raise ValueError(f"model.llm_trainable {list(patterns)} matches no LLM parameter")
    for p in matched:
        p.requires_grad_(True)
