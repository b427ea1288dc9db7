"""The one batch type: what the collator returns and every loop moves to the model's device.

Training, validation, decoding, the Python API and the server all do ``batch.to(device)`` and
then ``model(**batch)`` or ``model.generate(**batch)``: a `Batch` unpacks as the model's keyword
arguments (its tensors), while what the recipe reads beside them — audio seconds, answer tokens,
skipped records — are plain attributes. No loop moves tensors by hand (whisper moves its mel to
``model.device`` in one spot; torchtune's recipes call ``batch_to_device`` once).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace

import torch

from unheard.data.manifest import BadRecord

# the fields that are the model's keyword arguments, in ``SpeechLLM.forward``'s order
MODEL_INPUTS = (
    "prefix_ids",
    "prefix_mask",
    "suffix_ids",
    "suffix_mask",
    "target_ids",
    "target_mask",
    "features",
    "feature_mask",
    "speech_rows",
    "text_ids",
    "text_mask",
)


@dataclass(frozen=True, eq=False)
class Batch(Mapping[str, torch.Tensor]):
    """A collated batch: the model's input tensors plus what the loop needs to know about it.

    As a mapping it holds only the tensors that are set, so ``model(**batch)`` passes exactly
    the model's inputs. A batch whose every item was bad (`empty`) has no tensors, only
    ``skipped``.
    """

    prefix_ids: torch.Tensor | None = None  # (batch, p) prompt before the source, right-padded
    prefix_mask: torch.Tensor | None = None  # (batch, p) 1 on real tokens
    suffix_ids: torch.Tensor | None = None  # (batch, s) prompt after the source
    suffix_mask: torch.Tensor | None = None
    target_ids: torch.Tensor | None = None  # (batch, n) answers ending in EOS (None at test)
    target_mask: torch.Tensor | None = None
    features: torch.Tensor | None = None  # (speech, frames, dim) or (speech, samples): encoder in
    feature_mask: torch.Tensor | None = None  # (speech, frames_or_samples) 1 on real input
    speech_rows: torch.Tensor | None = None  # (speech,) rows of the speech items in a mixed batch
    text_ids: torch.Tensor | None = None  # (batch, t) source text of text-only items
    text_mask: torch.Tensor | None = None  # (batch, t) 0 on speech rows
    # not model inputs
    ids: tuple[str, ...] = ()  # the items' ids, in row order
    audio_seconds: float = 0.0  # real (unpadded) audio in the batch
    longest_audio_s: float = 0.0  # its longest item (every speech row is padded to it)
    skipped: tuple[BadRecord, ...] = ()  # records dropped while loading this batch

    def __getitem__(self, name: str) -> torch.Tensor:
        value = getattr(self, name, None) if name in MODEL_INPUTS else None
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return (name for name in MODEL_INPUTS if getattr(self, name) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    @property
    def empty(self) -> bool:
        """True when every item was bad: nothing for the model, only ``skipped``."""
        return self.prefix_ids is None

    @property
    def size(self) -> int:
        """Rows (items) in the batch."""
        return 0 if self.prefix_ids is None else self.prefix_ids.shape[0]

    @property
    def answer_tokens(self) -> int:
        """Answer tokens the loss covers (0 at test time, with no targets)."""
        return 0 if self.target_mask is None else int(self.target_mask.sum())

    @property
    def device(self) -> torch.device | None:
        """Where the tensors are (None for an empty batch)."""
        return None if self.prefix_ids is None else self.prefix_ids.device

    def to(self, device: str | torch.device, non_blocking: bool = False) -> Batch:
        """The same batch with every tensor on ``device`` (dtypes unchanged: the model casts).

        Args:
            device: the model's device (`unheard.device.device_of`).
            non_blocking: asynchronous copies from pinned memory (CUDA).
        """
        moved = {
            f.name: value.to(device, non_blocking=non_blocking)
            for f in fields(self)
            if isinstance(value := getattr(self, f.name), torch.Tensor)
        }
        return replace(self, **moved)

    def pin_memory(self) -> Batch:
        """Page-locked copies of the tensors (what ``DataLoader(pin_memory=True)`` calls), so that
        ``to(cuda, non_blocking=True)`` overlaps the copy with compute."""
        pinned = {
            f.name: value.pin_memory()
            for f in fields(self)
            if isinstance(value := getattr(self, f.name), torch.Tensor)
        }
        return replace(self, **pinned)

    def without_targets(self) -> Batch:
        """The batch as decoding sees it: no answers."""
        return replace(self, target_ids=None, target_mask=None)
