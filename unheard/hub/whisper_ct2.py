"""Convert a CTranslate2 Whisper model into a transformers ``WhisperForConditionalGeneration``.

CTranslate2's ``WhisperSpec`` holds the same tensors as the original checkpoint under other names
(``{encoder,decoder}/layer_<i>/{self_attention,attention,ffn}/{linear_<j>,layer_norm}``, conv1/2,
position encodings, embeddings); only the attention projections are fused: self-attention q, k, v
into one ``linear_0`` and cross-attention k, v into one ``linear_1``.
Splitting them back gives a one-to-one map onto transformers' names. The key projection has no
bias in Whisper; CTranslate2 stores a zero one in the fused bias, which is checked and dropped.

Every shape is read from the tensors (so tiny…large all convert), every special token id from
the tokenizer, and the language ids and suppressed tokens from CTranslate2's ``config.json``.
The result is a directory that ``from_pretrained`` loads exactly as it would ``openai/whisper-*``:
model (fp32 safetensors), config, generation config, tokenizer and feature extractor.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from tokenizers import AddedToken
from transformers import (
    GenerationConfig,
    WhisperConfig,
    WhisperFeatureExtractor,
    WhisperForConditionalGeneration,
    WhisperProcessor,
    WhisperTokenizer,
)

from unheard.hub.ctranslate2_file import read_ctranslate2

TIMESTAMPS = 1501  # <|0.00|> … <|30.00|> in 20 ms steps, tokens above <|notimestamps|>
# per-layer parameter groups: CTranslate2 prefix → transformers prefix (fused ones split below)
LINEAR = {"ffn/linear_0": "fc1", "ffn/linear_1": "fc2"}
NORMS = {
    "self_attention/layer_norm": "self_attn_layer_norm",
    "attention/layer_norm": "encoder_attn_layer_norm",
    "ffn/layer_norm": "final_layer_norm",
}


def convert_whisper_ct2(
    directory: str | Path,
    model_parts: Sequence[str | Path],
    tokenizer_file: str | Path,
    ct2_config_file: str | Path,
) -> None:
    """Write a transformers Whisper model directory from CTranslate2 files.

    Args:
        directory: where to write (created; existing files are overwritten).
        model_parts: the pieces of ``model.bin``, in order (concatenated, they are the file).
        tokenizer_file: CTranslate2's ``tokenizer.json`` (a Hugging Face tokenizers file).
        ct2_config_file: CTranslate2's ``config.json`` (``lang_ids``, ``suppress_ids``,
            ``suppress_ids_begin``, ``alignment_heads``).

    Raises:
        ValueError: if the file is not a Whisper model or a tensor does not map one-to-one.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ct2 = read_ctranslate2(b"".join(Path(p).read_bytes() for p in model_parts))
    if ct2.spec != "WhisperSpec":
        raise ValueError(f"expected a CTranslate2 WhisperSpec model, got {ct2.spec!r}")
    ct2_config = json.loads(Path(ct2_config_file).read_text())
    tokenizer = _tokenizer(tokenizer_file, directory)
    config = whisper_config(ct2.variables, tokenizer, ct2_config)
    state = whisper_state_dict(ct2.variables, config)
    with torch.device("meta"):  # no random init: every parameter is assigned below
        model = WhisperForConditionalGeneration(config)
    # fp32, as openai/whisper-* are: a CPU model loads ready to run (fp16 matmuls are slow there)
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True, assign=True)
    model.tie_weights()
    model.generation_config = generation_config(config, tokenizer, ct2_config)
    model.save_pretrained(str(directory))
    features = WhisperFeatureExtractor(feature_size=config.num_mel_bins)
    processor = WhisperProcessor(feature_extractor=features, tokenizer=tokenizer)
    processor.save_pretrained(str(directory))  # tokenizer files and processor_config.json
    features.save_pretrained(str(directory))  # preprocessor_config.json, as the hub has


def _tokenizer(tokenizer_file: str | Path, directory: Path) -> WhisperTokenizer:
    # Load CTranslate2's tokenizers file as a Whisper tokenizer (special tokens as openai's), then
    # add the timestamp tokens the hub tokenizer has, so that len(tokenizer) == vocab_size.
    (directory / "tokenizer.json").write_bytes(Path(tokenizer_file).read_bytes())
    tokenizer = WhisperTokenizer.from_pretrained(str(directory))
    if "<|0.00|>" not in tokenizer.get_vocab():
        stamps = [f"<|{i * 0.02:.2f}|>" for i in range(TIMESTAMPS)]
        # not special: WhisperTokenizer finds them as ids above its last special token
        tokenizer.add_tokens([AddedToken(s, lstrip=False, rstrip=False) for s in stamps])
    return tokenizer


def whisper_config(
    variables: dict[str, torch.Tensor], tokenizer: WhisperTokenizer, ct2_config: dict[str, Any]
) -> WhisperConfig:
    """The transformers config of a CTranslate2 Whisper model, every shape read off its tensors.

    Args:
        variables: the CTranslate2 variables.
        tokenizer: its tokenizer (special token ids).
        ct2_config: CTranslate2's ``config.json``.

    Returns:
        A config equal to openai's for the same model size.
    """
    conv1 = variables["encoder/conv1/weight"]  # (d_model, mel bins, 3)
    eot = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    ffn = variables["encoder/layer_0/ffn/linear_0/weight"].shape[0]
    return WhisperConfig(
        vocab_size=variables["decoder/embeddings/weight"].shape[0],
        num_mel_bins=conv1.shape[1],
        d_model=conv1.shape[0],
        encoder_layers=_count_layers(variables, "encoder"),
        decoder_layers=_count_layers(variables, "decoder"),
        encoder_attention_heads=int(variables["encoder/num_heads"]),
        decoder_attention_heads=int(variables["decoder/num_heads"]),
        encoder_ffn_dim=ffn,
        decoder_ffn_dim=variables["decoder/layer_0/ffn/linear_0/weight"].shape[0],
        max_source_positions=variables["encoder/position_encodings/encodings"].shape[0],
        max_target_positions=variables["decoder/position_encodings/encodings"].shape[0],
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        decoder_start_token_id=tokenizer.convert_tokens_to_ids("<|startoftranscript|>"),
        suppress_tokens=list(ct2_config.get("suppress_ids", [])),
        begin_suppress_tokens=list(ct2_config.get("suppress_ids_begin", [])),
        scale_embedding=False,
        tie_word_embeddings=True,
    )


def _count_layers(variables: dict[str, torch.Tensor], side: str) -> int:
    pattern = re.compile(rf"^{side}/layer_(\d+)/")
    return 1 + max(int(m.group(1)) for n in variables if (m := pattern.match(n)))


def whisper_state_dict(
    variables: dict[str, torch.Tensor], config: WhisperConfig
) -> dict[str, torch.Tensor]:
    """Map CTranslate2 Whisper variables onto ``WhisperForConditionalGeneration`` names.

    Args:
        variables: the CTranslate2 variables (dtype kept).
        config: the model's config (layer counts, d_model).

    Returns:
        Every parameter of the transformers model, by name.

    Raises:
        ValueError: if a fused key bias is not zero or a CTranslate2 tensor is left unmapped.
    """
    used: set[str] = set()

    def take(name: str) -> torch.Tensor:
        used.add(name)
        return variables[name]

    def linear(src: str, dst: str, bias: bool = True) -> None:
        state[f"{dst}.weight"] = take(f"{src}/weight")
        if bias:
            state[f"{dst}.bias"] = take(f"{src}/bias")

    def norm(src: str, dst: str) -> None:
        state[f"{dst}.weight"], state[f"{dst}.bias"] = take(f"{src}/gamma"), take(f"{src}/beta")

    def fused(src: str, dsts: tuple[str, ...]) -> None:
        # (n * d_model, d_model) → n projections; the key's bias must be zero and is dropped
        weights = take(f"{src}/weight").chunk(len(dsts))
        biases = take(f"{src}/bias").chunk(len(dsts))
        for dst, w, b in zip(dsts, weights, biases, strict=True):
            state[f"{dst}.weight"] = w.clone()
            if dst.endswith("k_proj"):
                if b.abs().max() > 0:
                    raise ValueError(f"{src}: the key bias is not zero; Whisper's k_proj has none")
            else:
                state[f"{dst}.bias"] = b.clone()

    state: dict[str, torch.Tensor] = {}
    for side, layers in (("encoder", config.encoder_layers), ("decoder", config.decoder_layers)):
        out = f"model.{side}"
        state[f"{out}.embed_positions.weight"] = take(f"{side}/position_encodings/encodings")
        norm(f"{side}/layer_norm", f"{out}.layer_norm")
        for i in range(layers):
            src, dst = f"{side}/layer_{i}", f"{out}.layers.{i}"
            attn, cross = f"{dst}.self_attn", f"{dst}.encoder_attn"
            fused(f"{src}/self_attention/linear_0", tuple(f"{attn}.{p}_proj" for p in "qkv"))
            linear(f"{src}/self_attention/linear_1", f"{attn}.out_proj")
            if side == "decoder":
                linear(f"{src}/attention/linear_0", f"{cross}.q_proj")
                fused(f"{src}/attention/linear_1", (f"{cross}.k_proj", f"{cross}.v_proj"))
                linear(f"{src}/attention/linear_2", f"{cross}.out_proj")
            for a, b in LINEAR.items():
                linear(f"{src}/{a}", f"{dst}.{b}")
            for a, b in NORMS.items():
                if side == "decoder" or not a.startswith("attention/"):
                    norm(f"{src}/{a}", f"{dst}.{b}")
    for conv in ("conv1", "conv2"):
        linear(f"encoder/{conv}", f"model.encoder.{conv}")
    state["model.decoder.embed_tokens.weight"] = take("decoder/embeddings/weight")
    state["proj_out.weight"] = take("decoder/projection/weight")  # an alias of the embeddings
    left = sorted(n for n in set(variables) - used if variables[n].dim() > 0)
    if left:
        raise ValueError(f"CTranslate2 tensors with no transformers counterpart: {left}")
    return state


def generation_config(
    config: WhisperConfig, tokenizer: WhisperTokenizer, ct2_config: dict[str, Any]
) -> GenerationConfig:
    """The generation config openai/whisper-* ship, so ``generate(language=, task=)`` works.

    Args:
        config: the model config (special ids, suppressed tokens).
        tokenizer: the tokenizer (ids of the language, task and timestamp tokens).
        ct2_config: CTranslate2's ``config.json`` (``lang_ids``, ``alignment_heads``).

    Returns:
        The generation config.
    """
    ids = tokenizer.convert_tokens_to_ids
    lang_ids = ct2_config.get("lang_ids", [])
    transcribe = ids("<|transcribe|>")
    return GenerationConfig(
        decoder_start_token_id=config.decoder_start_token_id,
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id,
        max_length=config.max_target_positions,
        suppress_tokens=config.suppress_tokens,
        begin_suppress_tokens=config.begin_suppress_tokens,
        # no language: detect it, then transcribe (what openai's forced_decoder_ids say)
        forced_decoder_ids=[[1, None], [2, transcribe]],
        alignment_heads=ct2_config.get("alignment_heads", []),
        is_multilingual=len(lang_ids) > 1,
        lang_to_id={tokenizer.convert_ids_to_tokens(i): i for i in lang_ids},
        task_to_id={"transcribe": transcribe, "translate": ids("<|translate|>")},
        no_timestamps_token_id=ids("<|notimestamps|>"),
        prev_sot_token_id=ids("<|startofprev|>"),
        max_initial_timestamp_index=50,
        return_timestamps=False,
    )
