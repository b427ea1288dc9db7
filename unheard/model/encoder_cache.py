"""A cache of frozen speech-encoder outputs, keyed by the content of each item's input.

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
encoder: its ``encoder.json`` records the encoder's identity and a mismatch is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import load_file, save_file

if TYPE_CHECKING:
    from unheard.model.encoder import SpeechEncoder

STORAGE_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}


@dataclass
class CacheStats:
    """Hits and misses since the cache was created."""

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
        identity: what makes outputs of one encoder comparable (model name, family, options);
            checked against a directory's ``encoder.json``.
        directory: where entries persist; ``None`` keeps them in memory only.
        dtype: storage dtype, ``float16`` (half the memory; states differ from float32 by
            ~1e-3 relative), ``bfloat16`` or ``float32`` (exact).
        max_memory_bytes: memory front of the cache; beyond it entries are only on disk (or, with
            no directory, not kept).

    Raises:
        ValueError: for an unknown dtype or a directory made for another encoder.
    """

    def __init__(
        self,
        identity: dict[str, Any],
        directory: str | os.PathLike[str] | None = None,
        dtype: str = "float16",
        max_memory_bytes: int = 4 << 30,
    ) -> None:
        if dtype not in STORAGE_DTYPES:
            raise ValueError(f"encoder cache dtype must be one of {sorted(STORAGE_DTYPES)}")
        self.identity = {**identity, "dtype": dtype}
        self.dtype = STORAGE_DTYPES[dtype]
        self.directory = Path(directory) if directory is not None else None
        self.max_memory_bytes = max_memory_bytes
        self.memory: dict[str, torch.Tensor] = {}
        self.memory_bytes = 0
        self.stats = CacheStats()
        if self.directory is not None:
            self._bind_directory(self.directory)

    def _bind_directory(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        meta = directory / "encoder.json"
        if meta.exists():
            found = json.loads(meta.read_text())
            if found != self.identity:
                raise ValueError(
                    f"encoder cache {directory} was made for {found}, not {self.identity}; "
                    "use another directory or delete it"
                )
        else:
            tmp = meta.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(self.identity, indent=2, sort_keys=True))
            tmp.replace(meta)

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
            path.parent.mkdir(exist_ok=True)
            tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
            save_file({"states": states}, str(tmp))
            tmp.replace(path)  # atomic: a killed run never leaves a half-written entry

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


def attach_encoder_cache(
    encoder: SpeechEncoder, spec: str, dtype: str = "float16"
) -> EncoderCache | None:
    """Give a ``SpeechEncoder`` a cache from a config value: ``""`` none, ``"memory"`` in
    memory only, anything else a directory.

    Returns:
        The cache (for its ``stats``), or ``None`` when ``spec`` is empty.
    """
    if not spec:
        encoder.use_cache(None)
        return None
    directory = None if spec == "memory" else spec
    cache = EncoderCache(encoder.cache_identity(), directory, dtype)
    encoder.use_cache(cache)
    return cache
