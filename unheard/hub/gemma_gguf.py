"""Dequantise a GGUF checkpoint once and save it as a plain transformers model.

transformers reads GGUF files (``from_pretrained(dir, gguf_file=...)``, which needs the ``gguf``
package) by dequantising every tensor, which for Gemma 3 270M in Q4_K_M takes about a minute on
two cores, tokenizer included. The model it returns carries a GGUF ``quantization_config`` and
cannot be saved, so the weights are moved into a model built from the same config without it and
saved in bf16 (Gemma's own dtype): later loads are a plain ``from_pretrained`` of safetensors.

The weights are the Q4_K_M ones dequantised, not Google's bf16 originals: close, not equal.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel


def convert_gguf(directory: str | Path, gguf_file: str | Path, dtype: str = "bfloat16") -> None:
    """Write a transformers causal LM directory (model, config, tokenizer) from a GGUF file.

    Args:
        directory: where to write (created; existing files are overwritten).
        gguf_file: the ``.gguf`` file.
        dtype: dtype of the saved weights.

    Raises:
        ImportError: if the ``gguf`` package is not installed.
        OSError: if transformers cannot read the file.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    gguf_file = Path(gguf_file)
    where = dict(pretrained_model_name_or_path=str(gguf_file.parent), gguf_file=gguf_file.name)
    quantised = AutoModelForCausalLM.from_pretrained(**where, dtype=torch.float32)
    plain = _without_quantization(quantised, getattr(torch, dtype))
    del quantised
    plain.save_pretrained(str(directory))
    AutoTokenizer.from_pretrained(**where).save_pretrained(str(directory))


def _without_quantization(model: PreTrainedModel, dtype: torch.dtype) -> PreTrainedModel:
    # the same architecture from a config without the GGUF quantization_config, which makes
    # save_pretrained refuse; built on meta (no random init) and given the dequantised tensors
    config_dict = model.config.to_dict()
    for key in ("quantization_config", "_name_or_path", "_model_name_or_path"):
        config_dict.pop(key, None)
    config_dict["dtype"] = str(dtype).removeprefix("torch.")
    config = type(model.config).from_dict(config_dict)
    with torch.device("meta"):
        plain = type(model)(config)
    state = {k: v.to(dtype) for k, v in model.state_dict().items()}
    plain.load_state_dict(state, strict=True, assign=True)
    plain.tie_weights()
    plain.generation_config = model.generation_config
    return plain.eval()
