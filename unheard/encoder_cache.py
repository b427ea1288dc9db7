"""The encoder cache: frozen speech-encoder outputs computed once, keyed by each item's input.

The paper's encoder is frozen, so an utterance's hidden states are the same in every epoch, in
stage 1 and stage 2 and in every ablation that shares the encoder: computing them once is the
largest speed-up of CPU training (the Whisper encoder costs more than a small LLM's step). The
key is a hash of the item's *valid* input (its log-mel frames, fbank frames or samples), so the
cache needs no utterance ids, works for training and decoding alike, and misses — rather than
returns stale states — when augmentation changes the audio. Only the valid frames are stored;
batches are re-padded to their longest item (the adapter and the LLM packing are padding
invariant, which the model tests check).

Entries live in memory, and on disk when a directory is given (one safetensors file per item,
written atomically), so later runs and other processes reuse them. A directory is bound to one
encoder: its ``encoder.json`` records the encoder's identity (family, options, dtype, config and
a digest of *every* weight) and a mismatch is refused.

Where it sits: above `unheard.model` and `unheard.data`, beside `unheard.build`, below decoding,
the recipes and the benchmarks. It is not in `unheard.model` because it reads and writes files
(model files hold modules only), and the `SpeechEncoder` knows nothing of it: `cache_encoder`
puts a `CachedSpeechEncoder` around a model's encoder. Training (``run.encoder_cache``,
``run.encoder_cache_dtype``), decoding in the benchmark and the speed-up benchmark all configure
it with one `EncoderCacheOptions`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import PreTrainedModel

from unheard.files import atomic_path, write_atomic
from unheard.model.encoder import EncoderOutput, SpeechEncoder
from unheard.model.speech_llm import SpeechLLM

STORAGE_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
IDENTITY_FILE = "encoder.json"


@dataclass(frozen=True)
class EncoderCacheOptions:
    """Where an encoder cache keeps its entries and in which dtype.

    Raises:
        ValueError: for an unknown dtype, or an empty or ``"memory"`` directory name (``None``
            is memory only).
    """

    # a directory shared by runs and processes (created if missing); None: this process's
    # memory only
    where: str | None = None
    # storage dtype: float16 (half the memory; ~1e-3 relative error), bfloat16, float32 (exact)
    dtype: str = "float16"

    def __post_init__(self) -> None:
        if self.dtype not in STORAGE_DTYPES:
            raise ValueError(
                f"encoder cache dtype {self.dtype!r} is not one of {sorted(STORAGE_DTYPES)}"
            )
        if self.where is not None and self.where in ("", "memory"):
            raise ValueError(
                f"encoder cache directory {self.where!r}: name a directory, or give None to keep "
                "the cache in memory"
            )

    @classmethod
    def from_setting(cls, setting: str, dtype: str = "float16") -> EncoderCacheOptions | None:
        """The options of a config's ``run.encoder_cache`` and ``run.encoder_cache_dtype``.

        Args:
            setting: ``""`` no cache, ``"memory"`` in memory only, anything else a directory.
            dtype: the storage dtype.

        Returns:
            The options, or ``None`` for no cache.

        Raises:
            ValueError: for an unknown dtype.
        """
        if not setting:
            return None
        return cls(None if setting == "memory" else setting, dtype)

    @classmethod
    def for_directory(cls, directory: str | os.PathLike[str]) -> EncoderCacheOptions:
        """Options that open a cache directory in the dtype it was made with (``float16`` for a
        new one): how decoding reads the cache a training run wrote, whatever that run's
        ``run.encoder_cache_dtype``.

        Raises:
            ValueError: if the directory's ``encoder.json`` is not an encoder cache's.
        """
        meta = Path(directory) / IDENTITY_FILE
        if not meta.exists():
            return cls(str(directory))
        try:
            return cls(str(directory), json.loads(meta.read_text())["dtype"])
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(f"{meta} is not an encoder cache's identity; delete it") from e


@dataclass
class CacheStats:
    """Lookups answered from the cache (hits) and not (misses) since it was created, one per
    distinct input of each batch."""

    hits: int = 0
    misses: int = 0

    @property
    def hit_rate(self) -> float:
        """Share of lookups answered from the cache."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class EncoderCache:
    """Per-item encoder hidden states, in memory and optionally on disk.

    Args:
        identity: what makes outputs of one encoder comparable (`encoder_identity`); checked
            against a directory's ``encoder.json``.
        options: where entries persist and their storage dtype.
        max_memory_bytes: memory front of the cache; beyond it entries are only on disk (or, with
            no directory, not kept).

    Raises:
        ValueError: for a directory made for another encoder or storage dtype.
    """

    def __init__(
        self,
        identity: dict[str, Any],
        options: EncoderCacheOptions,
        max_memory_bytes: int = 4 << 30,
    ) -> None:
        self.identity = {**identity, "dtype": options.dtype}
        self.dtype = STORAGE_DTYPES[options.dtype]
        self.directory = Path(options.where) if options.where is not None else None
        self.max_memory_bytes = max_memory_bytes
        self.memory: dict[str, torch.Tensor] = {}
        self.memory_bytes = 0
        self.stats = CacheStats()
        if self.directory is not None:
            self._bind_directory(self.directory)

    def _bind_directory(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        meta = directory / IDENTITY_FILE
        if meta.exists():
            found = json.loads(meta.read_text())
            if found != self.identity:
                raise ValueError(
                    f"encoder cache {directory} was made for {found}, not {self.identity}; "
                    "use another directory or delete it"
                )
        else:
            write_atomic(meta, json.dumps(self.identity, indent=2, sort_keys=True))

    @staticmethod
    def key(item_input: torch.Tensor) -> str:
        """Content key of one item's valid input (shape and bytes)."""
        data = item_input.detach().to("cpu").contiguous()
        digest = hashlib.blake2b(digest_size=20)
        digest.update(repr((tuple(data.shape), str(data.dtype))).encode())
        digest.update(data.view(torch.uint8).numpy().tobytes())
        return digest.hexdigest()

    def get(self, key: str) -> torch.Tensor | None:
        """The stored ``(num_states, frames, dim)`` states of a key, or ``None``."""
        states = self.memory.get(key)
        if states is None and self.directory is not None:
            path = self._path(key)
            if path.exists():
                states = load_file(path)["states"]
                self._remember(key, states)
        if states is None:
            self.stats.misses += 1
        else:
            self.stats.hits += 1
        return states

    def put(self, key: str, states: torch.Tensor) -> None:
        """Store one item's ``(num_states, frames, dim)`` valid states."""
        states = states.detach().to("cpu", self.dtype).contiguous()
        self._remember(key, states)
        if self.directory is not None:
            path = self._path(key)
            with atomic_path(path) as tmp:  # a killed run never leaves a half-written entry
                save_file({"states": states}, str(tmp))

    def _remember(self, key: str, states: torch.Tensor) -> None:
        size = states.numel() * states.element_size()
        if key not in self.memory and self.memory_bytes + size <= self.max_memory_bytes:
            self.memory[key] = states
            self.memory_bytes += size

    def _path(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / key[:2] / f"{key}.safetensors"

    def __len__(self) -> int:
        if self.directory is not None:
            return sum(1 for _ in self.directory.glob("*/*.safetensors"))
        return len(self.memory)


def encoder_identity(encoder: SpeechEncoder) -> dict[str, Any]:
    """What an encoder cache must match: family, options, dtype, and a digest of the config and
    of every parameter and buffer (names, shapes, dtypes and bytes, in the module's order), so
    that changing any weight, not only the first or last, gives another identity.

    Args:
        encoder: the (frozen) encoder.

    Returns:
        A JSON-serialisable dict.
    """
    model: PreTrainedModel = encoder.model
    digest = hashlib.blake2b(digest_size=16)
    digest.update(model.config.to_json_string(use_diff=False).encode())
    for name, tensor in itertools.chain(model.named_parameters(), model.named_buffers()):
        data = tensor.detach().to("cpu").contiguous()
        digest.update(repr((name, tuple(data.shape), str(data.dtype))).encode())
        digest.update(data.view(torch.uint8).numpy().tobytes())  # bf16 has no numpy dtype
    return {
        "family": encoder.family,
        "whisper_real_length": encoder.whisper_real_length,
        "model_dtype": str(model.dtype),
        "weights": digest.hexdigest(),
    }


class CachedSpeechEncoder(nn.Module):
    """A frozen `SpeechEncoder` behind an `EncoderCache`: items already encoded come from the
    cache, the others are encoded (as one batch) and stored.

    It reads as the encoder it wraps (``model``, ``family``, ``hidden_size``, ...), and its
    parameters are the encoder's, which are frozen: the trained weights a checkpoint holds keep
    their names.

    Args:
        encoder: the frozen encoder.
        cache: where outputs are kept, made for this encoder (`encoder_identity`).

    Raises:
        ValueError: for a trainable encoder, whose outputs change as it trains.
    """

    def __init__(self, encoder: SpeechEncoder, cache: EncoderCache) -> None:
        super().__init__()
        _require_frozen(encoder)
        self.encoder = encoder
        self.cache = cache

    @property
    def model(self) -> PreTrainedModel:
        """The wrapped encoder's transformers model."""
        return self.encoder.model

    @property
    def family(self) -> str:
        """The wrapped encoder's family."""
        return self.encoder.family

    @property
    def trainable(self) -> bool:
        """Always False: a cached encoder is frozen."""
        return self.encoder.trainable

    @property
    def whisper_real_length(self) -> bool:
        """Whether Whisper runs on the batch's own length."""
        return self.encoder.whisper_real_length

    @property
    def hidden_size(self) -> int:
        """Width of each hidden state (``enc_dim``)."""
        return self.encoder.hidden_size

    @property
    def num_hidden_states(self) -> int:
        """Number of hidden states returned."""
        return self.encoder.num_hidden_states

    @property
    def frame_ms(self) -> float:
        """Duration of one output frame in milliseconds."""
        return self.encoder.frame_ms

    @torch.no_grad()
    def forward(self, features: torch.Tensor, feature_mask: torch.Tensor) -> EncoderOutput:
        """Encode a padded batch as `SpeechEncoder.forward` does, from the cache where it can.

        Args:
            features: the encoder's input features (see `SpeechEncoder.encode`).
            feature_mask: ``(batch, frames_or_samples)``, 1 on real input, 0 on padding.

        Returns:
            All hidden states, padded to the longest item's valid frames (not to Whisper's
            window), and the valid frames per item.
        """
        input_lengths = feature_mask.long().sum(-1).tolist()
        # an item's valid input: log-mel (n_mels, frames), fbank (frames, 160) or samples
        valid = [
            features[i, :, :n] if self.family == "whisper" else features[i, :n]
            for i, n in enumerate(input_lengths)
        ]
        keys = [self.cache.key(v) for v in valid]
        # one lookup and at most one encoding per distinct input: a multi-task batch often holds
        # the same clip twice (its ASR and ST examples)
        first: dict[str, int] = {}  # key -> its first item
        for i, k in enumerate(keys):
            first.setdefault(k, i)
        states_of = {k: self.cache.get(k) for k in first}
        missing = [first[k] for k, states in states_of.items() if states is None]
        if missing:
            out = self.encoder(features[missing], feature_mask[missing])
            stacked = torch.stack(out.hidden_states)  # (states, len(missing), frames, dim)
            for j, i in enumerate(missing):
                states_of[keys[i]] = stacked[:, j, : int(out.lengths[j])]
                self.cache.put(keys[i], states_of[keys[i]])
        found = [states_of[k] for k in keys]
        lengths = torch.tensor([states.shape[1] for states in found], device=features.device)
        batch = torch.zeros(
            (len(found[0]), len(found), int(lengths.max()), found[0].shape[-1]),
            dtype=self.model.dtype, device=features.device,
        )  # fmt: skip
        for i, states in enumerate(found):
            batch[:, i, : states.shape[1]] = states.to(batch.device, batch.dtype)
        return EncoderOutput(tuple(batch.unbind(0)), lengths)


def cache_encoder(model: SpeechLLM, options: EncoderCacheOptions | None) -> EncoderCache | None:
    """Put a cache around a model's encoder (replacing any earlier one), or take it away.

    Args:
        model: the speech-LLM; its ``encoder`` becomes a `CachedSpeechEncoder` (or, with
            ``options`` None, the plain `SpeechEncoder` again).
        options: where and how to cache; ``None`` for no cache.

    Returns:
        The cache (for its ``stats``), or ``None`` when ``options`` is None.

    Raises:
        ValueError: for a trainable encoder, or a directory made for another encoder or dtype.
    """
    encoder = model.encoder
    if isinstance(encoder, CachedSpeechEncoder):
        encoder = encoder.encoder
    if options is None:
        model.encoder = encoder
        return None
    _require_frozen(encoder)  # before the cache binds a directory to it
    cache = EncoderCache(encoder_identity(encoder), options)
    model.encoder = CachedSpeechEncoder(encoder, cache)
    return cache


def encoder_cache_of(model: SpeechLLM) -> EncoderCache | None:
    """The cache around a model's encoder (`cache_encoder`), or ``None``."""
    encoder = model.encoder
    return encoder.cache if isinstance(encoder, CachedSpeechEncoder) else None


def _require_frozen(encoder: SpeechEncoder) -> None:
    if encoder.trainable:
        raise ValueError("an encoder cache needs a frozen encoder (encoder_trainable: false)")
