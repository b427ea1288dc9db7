"""From manifests to training batches: multi-task examples, mixing weights, prompt sampling,
checked audio, and a DataLoader whose bad records are skipped and counted, never raised.

Text-only examples join through `unheard.data.text.SpeechTextDataset`, which `make_loader` takes
as it takes a `SpeechDataset`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from unheard.data.augment import Augmentation, augment
from unheard.data.batch import Batch
from unheard.data.collate import Example, SpeechCollator, TextExample
from unheard.data.loading import AudioLimits, BadAudio, load_checked
from unheard.data.manifest import BadRecord, Utterance
from unheard.data.phonemes import G2P_LANGUAGES, phonemize
from unheard.data.prompts import join_phones_and_text, prompt_pool
from unheard.data.sampler import DurationBucketSampler, SamplerOptions


@dataclass(frozen=True)
class ExampleRef:
    """One example: an utterance (by index) and a task it has text for."""

    utterance: int
    task: str  # "asr", "st", "phon" or "phon+asr"


def example_refs(utterances: Sequence[Utterance], tasks: Sequence[str]) -> list[ExampleRef]:
    """Every (utterance, task) pair with text: ASR needs a transcript, ST a translation, ``phon``
    and ``phon+asr`` a transcript in a language with a G2P (`unheard.data.phonemes.G2P_LANGUAGES`;
    the others give no phoneme example).

    An utterance with both gives an ASR and an ST example (the paper's multi-task data).
    """
    refs = []
    for i, u in enumerate(utterances):
        if "asr" in tasks and u.text:
            refs.append(ExampleRef(i, "asr"))
        if "st" in tasks and u.translation:
            refs.append(ExampleRef(i, "st"))
        for phoneme_task in ("phon", "phon+asr"):
            if phoneme_task in tasks and u.text and u.language in G2P_LANGUAGES:
                refs.append(ExampleRef(i, phoneme_task))
    return refs


@dataclass(frozen=True)
class MixingWeights:
    """Relative sampling weights by corpus, task and language; unnamed ones weigh 1.

    A group (corpus, task, language) is drawn in proportion to its number of examples times the
    product of its factors: ``task: {st: 2}`` doubles how often ST examples come relative to
    their natural share.
    """

    corpus: dict[str, float] = field(default_factory=dict)
    task: dict[str, float] = field(default_factory=dict)
    language: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("corpus", "task", "language"):
            for key, value in getattr(self, name).items():
                if value < 0:
                    raise ValueError(f"mixing weight {name}.{key} must be >= 0, got {value}")

    @property
    def uniform(self) -> bool:
        """True when no weight is set (every example once per epoch)."""
        return not (self.corpus or self.task or self.language)

    def groups(
        self, utterances: Sequence[Utterance], refs: Sequence[ExampleRef]
    ) -> tuple[list[int], list[float]]:
        """Group id per example and weight per group, for `DurationBucketSampler`."""
        keys: dict[tuple[str, str, str], int] = {}
        ids = []
        for r in refs:
            u = utterances[r.utterance]
            ids.append(keys.setdefault((u.corpus or "", r.task, u.language), len(keys)))
        counts = np.bincount(ids, minlength=len(keys))
        weights = [0.0] * len(keys)
        for (corpus, task, language), g in keys.items():
            factor = self.corpus.get(corpus, 1.0) * self.task.get(task, 1.0)
            weights[g] = float(counts[g]) * factor * self.language.get(language, 1.0)
        return ids, weights


class SpeechDataset(Dataset):
    """Examples whose audio is loaded and checked on access.

    ``dataset[i]`` is an `Example`, or a `BadRecord` when its audio is unusable (the collate
    function drops those and reports them), so one bad file never stops a run.

    Args:
        utterances: the records.
        refs: the examples (from `example_refs`).
        limits: audio duration limits.
        augmentation: training augmentation (none by default).
        sample_prompts: draw a paraphrase from `PROMPT_POOLS` per example (training); False
            uses the fixed test prompt.
        seed: seed of the prompt and augmentation draws (with ``epoch``).
        name_source: draw from the paraphrases that name the spoken language
            (`NAMED_SOURCE_POOLS`, for ``data.name_source_language``).
    """

    def __init__(
        self,
        utterances: Sequence[Utterance],
        refs: Sequence[ExampleRef],
        limits: AudioLimits | None = None,
        augmentation: Augmentation | None = None,
        sample_prompts: bool = False,
        seed: int = 0,
        name_source: bool = False,
    ) -> None:
        self.utterances = list(utterances)
        self.refs = list(refs)
        self.limits = limits or AudioLimits()
        self.augmentation = augmentation or Augmentation()
        self.sample_prompts = sample_prompts
        self.name_source = name_source
        self.seed = seed
        self.epoch = 0
        self.epoch_size: int | None = None  # one pass over the examples per epoch

    def __len__(self) -> int:
        return len(self.refs)

    def durations(self) -> list[float]:
        """Seconds of each example, from the manifest."""
        return [self.utterances[r.utterance].duration for r in self.refs]

    def sampling_groups(
        self, weights: MixingWeights | None
    ) -> tuple[list[int], list[float]] | None:
        """Group id per example and weight per group for the sampler; None: every example once
        per epoch (no weights, or all of them 1)."""
        if weights is None or weights.uniform:
            return None
        return weights.groups(self.utterances, self.refs)

    def __getitem__(self, index: int) -> Example | BadRecord:
        ref = self.refs[index]
        u = self.utterances[ref.utterance]
        try:
            audio = load_checked(u, self.limits)
        except BadAudio as e:
            return BadRecord(u.id, u.audio, str(e))
        # draws depend on (seed, epoch, index) only: the same in any worker, on any resume
        rng = np.random.default_rng([self.seed, self.epoch, index])
        if self.augmentation.enabled:
            audio = augment(audio, self.augmentation, rng)
        prompt = None
        if self.sample_prompts:
            pool = prompt_pool(ref.task, self.name_source)
            prompt = pool[int(rng.integers(len(pool)))]
        if ref.task == "asr":
            return Example(u.id, audio, "asr", u.language, u.language, u.text, prompt)
        if ref.task == "phon":  # the transcript's phones (cached: G2P once per text)
            phones = phonemize(u.text, u.language)
            return Example(u.id, audio, "phon", u.language, u.language, phones, prompt)
        if ref.task == "phon+asr":  # one answer with both: "<phones> => <transcript>"
            both = join_phones_and_text(phonemize(u.text, u.language), u.text)
            return Example(u.id, audio, "phon+asr", u.language, u.language, both, prompt)
        target = u.translation_language or "en"
        return Example(u.id, audio, "st", u.language, target, u.translation, prompt)


class SkippingCollate:
    """Collate function that drops `BadRecord` items and reports them in the batch's
    ``skipped`` (a batch of bad records only is `Batch.empty`)."""

    def __init__(self, collator: SpeechCollator) -> None:
        self.collator = collator

    def __call__(self, items: Sequence[Example | TextExample | BadRecord]) -> Batch:
        good = [x for x in items if not isinstance(x, BadRecord)]
        bad = tuple(x for x in items if isinstance(x, BadRecord))
        batch = self.collator(good) if good else Batch()
        return replace(batch, skipped=bad)


def make_loader(
    dataset: Dataset,
    collator: SpeechCollator,
    options: SamplerOptions | None = None,
    weights: MixingWeights | None = None,
    num_workers: int = 0,
    world_size: int = 1,
    rank: int = 0,
    pin_memory: bool = False,
) -> tuple[DataLoader, DurationBucketSampler]:
    """A DataLoader of duration-bucketed, mixed batches, and its sampler (for epochs/resume).

    Args:
        dataset: the examples: a `SpeechDataset`, or a `unheard.data.text.SpeechTextDataset`
            (its text examples weighed in by its own ``sampling_groups``).
        collator: turns examples into tensors (runs in the workers).
        options: batching options.
        weights: mixing weights (None: every example once per epoch).
        num_workers: loader processes (0: in the main process).
        world_size: distributed ranks.
        rank: this rank.
        pin_memory: page-locked batches (`Batch.pin_memory`), for asynchronous copies to CUDA.

    Returns:
        The loader and its sampler; call ``sampler.set_epoch(e)`` and ``dataset.epoch = e``
        before each epoch (`set_epoch` does both).
    """
    groups, group_weights = dataset.sampling_groups(weights) or (None, None)
    sampler = DurationBucketSampler(
        dataset.durations(), options, groups, group_weights, world_size, rank,
        epoch_size=dataset.epoch_size if groups is not None else None,
    )  # fmt: skip
    if num_workers > 0:
        # fast tokenizers warn (and may deadlock) when forked after use: one thread per worker
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    loader = DataLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=SkippingCollate(collator),
        num_workers=num_workers,
        persistent_workers=False,
        pin_memory=pin_memory,
        # its own generator: each new iterator (every epoch, and once after a resume) draws a
        # worker seed, which from the global generator would shift dropout's random numbers and
        # make a resumed run differ from an uninterrupted one
        generator=torch.Generator().manual_seed(sampler.seed),
    )
    return loader, sampler


def set_epoch(dataset: Dataset, sampler: DurationBucketSampler, epoch: int) -> None:
    """Move a dataset and its sampler to ``epoch`` (new batches, prompts and augmentation)."""
    dataset.epoch = epoch
    sampler.set_epoch(epoch)
