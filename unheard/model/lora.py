"""LoRA on the frozen LLM, through peft."""

from __future__ import annotations

from typing import TYPE_CHECKING

from unheard.config import LoraOptions

if TYPE_CHECKING:
    from transformers import PreTrainedModel

ALL_LINEAR = "all-linear"  # a target_modules value: every linear layer but the output head


def apply_lora(llm: PreTrainedModel, options: LoraOptions) -> PreTrainedModel:
    """Inject LoRA layers into ``llm`` in place; only the LoRA weights require gradients.

    Args:
        llm: the (frozen) LLM.
        options: LoRA settings; nothing is injected when ``options.enabled`` is False.

    Returns:
        The same model object, with LoRA layers when enabled.

    Raises:
        ValueError: if no module of ``llm`` matches the target modules.
    """
    if not options.enabled:
        return llm
    # imported here: configs (and `unheard --help`) need LoraOptions, not peft's 1-2 s import
    from peft import LoraConfig, inject_adapter_in_model
    from peft.tuners.tuners_utils import cast_adapter_dtype

    config = LoraConfig(
        r=options.r,
        lora_alpha=options.alpha,
        lora_dropout=options.dropout,
        target_modules=_targets(options.target_modules),
        bias="none",
    )
    # inject_adapter_in_model keeps the transformers class (no PeftModel wrapper), so generate()
    # and get_input_embeddings() behave as on the bare LLM.
    llm = inject_adapter_in_model(config, llm)
    # LoRA weights train in fp32 over a bf16/fp16 base, as PeftModel does by default; peft casts
    # the layer input to the adapter's dtype and the result back.
    cast_adapter_dtype(llm, adapter_name="default")
    return llm


def _targets(modules: tuple[str, ...] | None) -> list[str] | str | None:
    # peft expands "all-linear" only when it is the whole value, not a list item
    if modules == (ALL_LINEAR,):
        return ALL_LINEAR
    return list(modules) if modules else None


def is_lora_parameter(name: str) -> bool:
    """Whether a parameter name belongs to a LoRA layer."""
    return ".lora_A." in name or ".lora_B." in name
