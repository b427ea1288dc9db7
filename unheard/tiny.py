"""Tiny random speech encoders and LLMs, built from configs and saved like real ones.

For tests and the CPU slice of the demo: every supported encoder family and both LLM kinds, with
a SentencePiece tokenizer trained on the given text. Models are written with ``save_pretrained``
so that everything downstream loads them by path exactly as it would load a hub checkpoint.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import sentencepiece as spm
import torch
from transformers import (
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    Gemma3TextConfig,
    HubertConfig,
    LlamaConfig,
    MT5Config,
    PretrainedConfig,
    Qwen2Config,
    T5Config,
    T5Tokenizer,
    Wav2Vec2BertConfig,
    Wav2Vec2Config,
    WhisperConfig,
)

from unheard.cache import build_once, cache_root
from unheard.config import LoraOptions, ModelConfig

ENCODERS = ("whisper", "w2v-bert", "wav2vec2", "hubert")
LLMS = ("mt5", "t5", "qwen2", "llama", "gemma3")
PAD, EOS, UNK = 0, 1, 2  # T5's special ids, shared by every tiny LLM


def train_tokenizer(
    texts: Iterable[str],
    directory: str | Path,
    vocab_size: int = 256,
    extra_ids: int = 0,
    max_piece_length: int = 16,
) -> T5Tokenizer:
    """Train a unigram SentencePiece model on ``texts`` and save it as a T5 tokenizer.

    Args:
        texts: training sentences.
        directory: where ``spiece.model`` and the tokenizer files go.
        vocab_size: pieces, including pad/eos/unk; lowered to what the text allows.
        extra_ids: T5's ``<extra_id_N>`` sentinels added after the pieces.
        max_piece_length: the longest piece in characters (SentencePiece's default 16).

    Returns:
        The tokenizer (pad 0, eos 1, unk 2, as T5).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(list(texts)),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        pad_id=PAD,
        eos_id=EOS,
        unk_id=UNK,
        bos_id=-1,
        hard_vocab_limit=False,
        character_coverage=1.0,
        minloglevel=2,
        num_threads=1,  # deterministic pieces for a given text
        max_sentencepiece_length=max_piece_length,
    )
    (directory / "spiece.model").write_bytes(model.getvalue())
    # extra_ids: T5's <extra_id_N> sentinels for span-corruption denoising, after the pieces
    tokenizer = T5Tokenizer.from_pretrained(str(directory), extra_ids=extra_ids)
    tokenizer.save_pretrained(str(directory))
    return tokenizer


def encoder_config(family: str, width: int = 32, layers: int = 2) -> PretrainedConfig:
    """A tiny config of an encoder family (Whisper's window is 3 s: 300 mel frames)."""
    common = dict(num_attention_heads=2, intermediate_size=2 * width)
    if family == "whisper":
        return WhisperConfig(
            num_mel_bins=80, d_model=width, encoder_layers=layers, encoder_attention_heads=2,
            encoder_ffn_dim=2 * width, decoder_layers=1, decoder_attention_heads=2,
            decoder_ffn_dim=2 * width, max_source_positions=150, max_target_positions=32,
            vocab_size=64, pad_token_id=0, bos_token_id=1, eos_token_id=2,
            decoder_start_token_id=1,
        )  # fmt: skip
    if family == "w2v-bert":
        return Wav2Vec2BertConfig(
            hidden_size=width, num_hidden_layers=layers, feature_projection_input_dim=160,
            conv_depthwise_kernel_size=5, left_max_position_embeddings=16,
            right_max_position_embeddings=4, **common,
        )  # fmt: skip
    conv = dict(
        conv_dim=(16, 16, 16),
        conv_stride=(5, 4, 16),
        conv_kernel=(10, 8, 16),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        hidden_size=width,
        num_hidden_layers=layers,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
        **common,
    )  # fmt: skip — 5*4*16 = 320 samples = 20 ms frames, as the real models
    if family == "wav2vec2":
        return Wav2Vec2Config(**conv)
    if family == "hubert":
        return HubertConfig(**conv)
    raise ValueError(f"unknown tiny encoder family {family!r}; choose from {ENCODERS}")


def llm_config(kind: str, vocab_size: int, width: int = 64, layers: int = 2) -> PretrainedConfig:
    """A tiny config of an LLM kind whose special ids match ``train_tokenizer``'s."""
    ids = dict(pad_token_id=PAD, eos_token_id=EOS)
    if kind in ("mt5", "t5"):
        cls = MT5Config if kind == "mt5" else T5Config
        return cls(
            vocab_size=vocab_size, d_model=width, d_ff=2 * width, d_kv=16, num_heads=4,
            num_layers=layers, num_decoder_layers=layers, decoder_start_token_id=PAD,
            feed_forward_proj="gated-gelu", dropout_rate=0.0, **ids,
        )  # fmt: skip
    common = dict(
        vocab_size=vocab_size, hidden_size=width, intermediate_size=2 * width,
        num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=512, bos_token_id=None, **ids,
    )  # fmt: skip
    if kind == "qwen2":
        return Qwen2Config(**common)
    if kind == "llama":
        return LlamaConfig(**common)
    if kind == "gemma3":
        return Gemma3TextConfig(head_dim=16, sliding_window=64, **common)
    raise ValueError(f"unknown tiny LLM kind {kind!r}; choose from {LLMS}")


def make_tiny_models(
    directory: str | Path,
    texts: Iterable[str],
    encoder: str = "whisper",
    llm: str = "mt5",
    seed: int = 0,
    vocab_size: int = 256,
    lora: LoraOptions | None = None,
    llm_trainable: tuple[str, ...] = (),
) -> ModelConfig:
    """Build, randomly initialise and save a tiny encoder and LLM (with tokenizer).

    Args:
        directory: ``encoder/`` and ``llm/`` are written under it.
        texts: text to train the tokenizer on.
        encoder: one of ``ENCODERS``.
        llm: one of ``LLMS``.
        seed: seed of the random weights.
        vocab_size: tokenizer size.
        lora: LoRA options of the returned config (default: rank 4).
        llm_trainable: extra LLM parameters to train.

    Returns:
        A ModelConfig pointing at the saved models.
    """
    directory = Path(directory)
    torch.manual_seed(seed)
    tokenizer = train_tokenizer(texts, directory / "llm", vocab_size)
    enc = AutoModel.from_config(encoder_config(encoder))
    enc.save_pretrained(str(directory / "encoder"))
    cfg = llm_config(llm, vocab_size=len(tokenizer))
    auto = AutoModelForSeq2SeqLM if cfg.is_encoder_decoder else AutoModelForCausalLM
    auto.from_config(cfg).save_pretrained(str(directory / "llm"))
    return ModelConfig(
        encoder=str(directory / "encoder"),
        llm=str(directory / "llm"),
        lora=lora or LoraOptions(r=4, alpha=8, dropout=0.0),
        llm_trainable=llm_trainable,
    )


TINY_SCHEME = "tiny:"


def perturb_trained(model: torch.nn.Module, scale: float = 0.5) -> None:
    """Add Gaussian noise (std ``scale``, from torch's global generator) to every trained
    parameter, so that an untrained tiny model writes varied text instead of stopping at once."""
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * scale)


def tiny_text() -> list[str]:
    """The fixed text the ``tiny:`` LLMs' tokenizer is trained on: number words 0-99 in the
    espeak corpus languages and every prompt, so tiny runs tokenise their data sensibly."""
    from num2words import num2words

    from unheard.data.prompts import PROMPT_POOLS, language_name

    text = [num2words(n, lang=lang) for lang in ("en", "es", "de", "fr", "it", "pt", "nl", "ca")
            for n in range(100)]  # fmt: skip
    for pool in PROMPT_POOLS.values():
        text += [p.format(target=language_name("en"), source="") for p in pool]
    return text


def resolve_tiny(name: str, cache: str | Path | None = None) -> str:
    """The local directory of a ``tiny:<kind>`` model, built once (seed 0) and cached.

    ``tiny:whisper``, ``tiny:w2v-bert``, ``tiny:wav2vec2``, ``tiny:hubert`` are encoders;
    ``tiny:mt5``, ``tiny:t5``, ``tiny:qwen2``, ``tiny:llama``, ``tiny:gemma3`` are LLMs with a
    SentencePiece tokenizer trained on `tiny_text`. They let shipped tiny configs run as-is with
    no download. The cache is ``$UNHEARD_CACHE/tiny`` (default ``~/.cache/unheard/tiny``).

    Raises:
        ValueError: for an unknown kind.
    """
    kind = name.removeprefix(TINY_SCHEME)
    if kind not in ENCODERS + LLMS:
        raise ValueError(f"unknown tiny model {name!r}; choose tiny:<one of {ENCODERS + LLMS}>")
    target = cache_root(cache) / "tiny" / f"{kind}-v1"
    if target.is_dir():
        return str(target)

    def build(folder: Path) -> None:
        torch.manual_seed(0)
        if kind in ENCODERS:
            AutoModel.from_config(encoder_config(kind)).save_pretrained(str(folder))
            return
        tokenizer = train_tokenizer(tiny_text(), folder, vocab_size=512)
        cfg = llm_config(kind, vocab_size=len(tokenizer))
        auto = AutoModelForSeq2SeqLM if cfg.is_encoder_decoder else AutoModelForCausalLM
        auto.from_config(cfg).save_pretrained(str(folder))

    build_once(target, build)
    return str(target)
