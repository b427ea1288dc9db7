"""The state of one training run: what ``setup`` builds and the steps mutate."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator

from unheard.checkpoint import full_tensor
from unheard.config import ModelConfig
from unheard.data.batch import Batch
from unheard.data.collate import SpeechCollator, TextExample
from unheard.data.dataset import SpeechDataset
from unheard.data.loading import SkipLog
from unheard.data.manifest import Utterance
from unheard.data.text import SpeechTextDataset
from unheard.device import device_of
from unheard.model.speech_llm import SpeechLLM
from unheard.recipes.logging import RunLogger
from unheard.recipes.train_config import TrainConfig


@dataclass
class Run:
    """Everything ``setup`` builds and the loop mutates."""

    config: TrainConfig
    model_config: ModelConfig
    accelerator: Accelerator
    model: Any  # SpeechLLM, wrapped by accelerate (DDP) when distributed, or FSDP-sharded
    optimizer: Any
    scheduler: Any
    dataset: SpeechDataset | SpeechTextDataset
    loader: Any
    sampler: Any
    collator: SpeechCollator
    tokenizer: Any
    dev: list[Utterance]
    skipped: SkipLog
    logger: RunLogger
    step: int = 0  # optimizer steps done
    sampler_consumed: int = 0  # micro-batches of the current epoch consumed (resume position)
    bad_steps: int = 0  # NaN/Inf steps skipped in total
    bad_in_row: int = 0
    best: dict | None = None  # {"step", "dev_loss"} of the best checkpoint
    # the step of the newest checkpoint, the same on every rank (cleanup saves when it is not
    # the last step; asking the file system raced: a rank that saw rank 0's fresh checkpoint
    # skipped the barrier rank 0 waited at)
    saved_step: int | None = None
    text_dev: list[TextExample] = field(default_factory=list)  # text-only dev examples
    unseen_text: dict[str, int] = field(default_factory=dict)  # text records per unseen language
    text_records: dict[str, int] = field(default_factory=dict)  # text records per language (all)
    seen_languages: tuple[str, ...] = ()  # spoken languages with paired audio in training
    # sharded with FSDP2: every rank then takes part in each forward, gathering and saving
    fsdp: bool = False
    last_batch: Batch | None = None  # FSDP: the latest non-empty batch (see `_micro_step`)

    @property
    def unwrapped(self) -> SpeechLLM:
        """The bare model (no DDP wrapper; under FSDP the sharded SpeechLLM itself)."""
        return self.accelerator.unwrap_model(self.model)

    @property
    def layer_weights(self) -> torch.Tensor:
        """The layer mix's weights (under FSDP gathered from the shards: every rank asks)."""
        return full_tensor(self.unwrapped.layer_mix.logits.detach()).softmax(-1)

    @property
    def device(self) -> torch.device:
        """Where the model computes, and so where every batch goes."""
        return device_of(self.unwrapped)

    @property
    def checkpoints(self) -> Path:
        """Where step checkpoints go."""
        return Path(self.config.run.output_dir) / "checkpoints"
