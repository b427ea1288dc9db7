"""Text-only training examples: teach the LLM a language from text alone (no paired audio).

Zero-resource means no paired *audio* in the unseen languages; text in them is allowed. The
parallel text files of `unheard.data.synth` (``OUT/text/<lang>_<split>.jsonl``, one
`ParallelText` a line) give two tasks in any language:

- ``translate``: the text → its English translation (English text gives none: it is its own);
- ``denoise``: the text with words dropped at random → the whole text, in its own language; the
  answer is what zero-resource ASR must write, and the paper found ASR bounded by how well the
  LLM writes the language;
- ``p2g``: the text's phones (`unheard.data.phonemes`, a G2P that is not the synthesiser) → the
  text: the second half of the phoneme bridge, which text alone teaches in an unseen language
  (its first half, audio → phones, the speech task ``phon`` learns on the seen languages).

The LLM reads the source text's token embeddings where a speech example's audio embeddings go.
Batching: text and speech examples share one duration-bucketed sampler (`SpeechTextDataset`);
a text example costs ``tokens × seconds_per_token`` seconds, by default 0.08 s a token, the 80 ms
an adapter frame stands for, so it fills the LLM as audio of the same sequence length would
(it skips the encoder, so text-heavy batches are cheaper than the bound, never dearer). A ``p2g``
source is phones, about one token a letter of the text: its cost counts the text's letters.

A run's training text must hold no sentence of its dev or test data: `check_text_split` refuses
it, naming the records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from torch.utils.data import Dataset

from unheard.data.collate import Example, TextExample
from unheard.data.dataset import MixingWeights, SpeechDataset
from unheard.data.loading import expand_paths
from unheard.data.manifest import BadRecord, Utterance
from unheard.data.phonemes import G2P_LANGUAGES, phonemize
from unheard.data.prompts import TEXT_TASKS, prompt_pool
from unheard.data.synth.parallel_text import ParallelText, read_parallel_text
from unheard.data.synth.selection import normalize

ENGLISH = "en"  # the translation language of the parallel text files
SECONDS_PER_TOKEN = 0.08  # one adapter frame (80 ms) per LLM position


@dataclass(frozen=True)
class TextRef:
    """One text example: a record (by index) and a text task."""

    record: int
    task: str  # "translate", "denoise" or "p2g"


def read_text_records(
    patterns: Sequence[str], languages: Sequence[str] | None = None
) -> list[ParallelText]:
    """Read parallel text files (globs allowed), keeping the wanted languages.

    Raises:
        FileNotFoundError: for a file or glob that matches nothing.
        ValueError: naming a line that is not a `ParallelText` record.
    """
    records = []
    for path in expand_paths(tuple(patterns), what="text file"):
        if not path.is_file():
            raise FileNotFoundError(f"text file {path} does not exist")
        records += [r for r in read_parallel_text(path) if not languages or r.language in languages]
    return records


def text_refs(records: Sequence[ParallelText], tasks: Sequence[str]) -> list[TextRef]:
    """Every (record, task) pair: ``translate`` for non-English text, ``denoise`` for all,
    ``p2g`` for text in a language with a G2P (`unheard.data.phonemes.G2P_LANGUAGES`).

    Raises:
        ValueError: for a task that is not a text task, or ``p2g`` for text in a language
            without a G2P (naming those languages).
    """
    if unknown := set(tasks) - set(TEXT_TASKS):
        raise ValueError(f"text tasks must be among {TEXT_TASKS}, got {sorted(unknown)}")
    if "p2g" in tasks and (lacking := sorted({r.language for r in records} - set(G2P_LANGUAGES))):
        raise ValueError(
            f"data.text_tasks has p2g, but there is no G2P for the text's languages {lacking} "
            f"(those with one: {', '.join(sorted(G2P_LANGUAGES))}); keep the others with "
            "data.text_languages"
        )
    refs = []
    for i, r in enumerate(records):
        if "translate" in tasks and r.language != ENGLISH and r.translation:
            refs.append(TextRef(i, "translate"))
        if "denoise" in tasks and r.text:
            refs.append(TextRef(i, "denoise"))
        if "p2g" in tasks and r.text:
            refs.append(TextRef(i, "p2g"))
    return refs


def drop_words(text: str, rate: float, rng: np.random.Generator) -> str:
    """Drop each word with probability ``rate``, keeping at least one (the denoising input)."""
    words = text.split()
    keep = rng.random(len(words)) >= rate
    if words and not keep.any():
        keep[rng.integers(len(words))] = True
    return " ".join(w for w, k in zip(words, keep, strict=True) if k)


def check_text_split(
    records: Sequence[ParallelText],
    held_out: Sequence[Utterance] = (),
    held_out_text: Sequence[ParallelText] = (),
) -> None:
    """Refuse training text that holds a sentence (or item) of the run's dev or test data.

    Sentences are compared normalised (case, punctuation and spacing ignored): a training
    record leaks if its text or its translation is the transcript or translation of a held-out
    utterance or text record, or if it is the same item as a held-out text record.

    Args:
        records: the training text.
        held_out: dev and test utterances (manifests).
        held_out_text: dev and test text records.

    Raises:
        ValueError: naming the leaking records per language and a few ids.
    """
    sentences = {normalize(s) for u in held_out for s in (u.text, u.translation) if s}
    sentences |= {normalize(s) for r in held_out_text for s in (r.text, r.translation) if s}
    sentences.discard("")
    items = {r.item for r in held_out_text}
    leaks = [
        r
        for r in records
        if r.item in items
        or normalize(r.text) in sentences
        or normalize(r.translation) in sentences
    ]
    if not leaks:
        return
    by_language: dict[str, list[str]] = defaultdict(list)
    for r in leaks:
        by_language[r.language].append(r.id)
    details = "; ".join(
        f"{lang}: {len(ids)} (e.g. {', '.join(ids[:3])})"
        for lang, ids in sorted(by_language.items())
    )
    raise ValueError(
        f"training text holds sentences of the dev/test data — {details}. Take the text from the "
        "train split only (e.g. 'OUT/text/*_train.jsonl') or remove those records"
    )


class TextDataset(Dataset):
    """Text-only examples: ``dataset[i]`` is a `TextExample`.

    Args:
        records: the parallel text.
        refs: the examples (from `text_refs`).
        token_counts: LLM tokens of each record's text (the cost proxy, with
            ``seconds_per_token``).
        seconds_per_token: what one source token costs in the duration-bucketed sampler.
        noise: share of words `drop_words` drops from a denoising input.
        sample_prompts: draw a paraphrase from `TEXT_PROMPT_POOLS` (training); False: the fixed
            prompt.
        seed: seed of the prompt and noise draws (with ``epoch``).
        name_source: draw from the paraphrases that name the text's language
            (`NAMED_SOURCE_POOLS`, for ``data.name_source_language``).
    """

    def __init__(
        self,
        records: Sequence[ParallelText],
        refs: Sequence[TextRef],
        token_counts: Sequence[int],
        seconds_per_token: float = SECONDS_PER_TOKEN,
        noise: float = 0.15,
        sample_prompts: bool = False,
        seed: int = 0,
        name_source: bool = False,
    ) -> None:
        if len(token_counts) != len(records):
            raise ValueError(f"{len(token_counts)} token counts for {len(records)} records")
        self.records = list(records)
        self.refs = list(refs)
        self.token_counts = list(token_counts)
        self.seconds_per_token = seconds_per_token
        self.noise = noise
        self.sample_prompts = sample_prompts
        self.name_source = name_source
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.refs)

    def durations(self) -> list[float]:
        """The cost proxy of each example in seconds: its source tokens × seconds_per_token (for
        ``p2g``, whose source is phones, not yet computed here: the text's letters)."""
        return [
            self.seconds_per_token
            * (
                len(self.records[r.record].text.replace(" ", ""))
                if r.task == "p2g"
                else self.token_counts[r.record]
            )
            for r in self.refs
        ]

    def groups(self, weights: MixingWeights) -> tuple[list[int], list[float]]:
        """Group id per example and weight per group, grouped by (task, language): the task and
        language factors of ``weights`` apply to text as to speech (corpus factors do not)."""
        keys: dict[tuple[str, str], int] = {}
        ids = [
            keys.setdefault((r.task, self.records[r.record].language), len(keys)) for r in self.refs
        ]
        counts = np.bincount(ids, minlength=len(keys))
        group_weights = [0.0] * len(keys)
        for (task, language), g in keys.items():
            factor = weights.task.get(task, 1.0) * weights.language.get(language, 1.0)
            group_weights[g] = float(counts[g]) * factor
        return ids, group_weights

    def __getitem__(self, index: int) -> TextExample:
        ref = self.refs[index]
        r = self.records[ref.record]
        # draws depend on (seed, epoch, index) only: the same in any worker, on any resume
        rng = np.random.default_rng([self.seed, self.epoch, index])
        prompt = None
        if self.sample_prompts:
            pool = prompt_pool(ref.task, self.name_source)
            prompt = pool[int(rng.integers(len(pool)))]
        if ref.task == "translate":
            return TextExample(
                r.id, r.text, "translate", r.language, ENGLISH, r.translation, prompt
            )
        if ref.task == "p2g":  # phones → spelling (the G2P is cached: once per text)
            phones = phonemize(r.text, r.language)
            return TextExample(r.id, phones, "p2g", r.language, r.language, r.text, prompt)
        source = drop_words(r.text, self.noise, rng)
        return TextExample(r.id, source, "denoise", r.language, r.language, r.text, prompt)


class SpeechTextDataset(Dataset):
    """Speech examples, then text examples, behind one index for one sampler.

    With both kinds, an epoch draws each speech example about once (by its mixing weights) and
    text examples on top, so that they are ``text_weight`` of the epoch's draws.

    Args:
        speech: the speech examples (None or empty: a text-only run).
        text: the text examples (None or empty: speech only).
        text_weight: the text examples' share of an epoch's draws, in [0, 1).
    """

    def __init__(
        self, speech: SpeechDataset | None, text: TextDataset | None, text_weight: float = 0.3
    ) -> None:
        if not 0 <= text_weight < 1:
            raise ValueError(f"text_weight must be in [0, 1), got {text_weight}")
        self.speech = speech if speech is not None and len(speech) else None
        self.text = text if text is not None and len(text) else None
        if self.speech is None and self.text is None:
            raise ValueError("no training examples: neither speech nor text")
        self.text_weight = text_weight
        self._epoch = 0

    @property
    def speech_size(self) -> int:
        """How many speech examples come first."""
        return len(self.speech) if self.speech is not None else 0

    def __len__(self) -> int:
        return self.speech_size + (len(self.text) if self.text is not None else 0)

    def __getitem__(self, index: int) -> Example | TextExample | BadRecord:
        if index < self.speech_size:
            return self.speech[index]
        return self.text[index - self.speech_size]

    @property
    def epoch(self) -> int:
        """The epoch of the prompt, noise and augmentation draws (set on both parts)."""
        return self._epoch

    @epoch.setter
    def epoch(self, value: int) -> None:
        self._epoch = value
        for part in (self.speech, self.text):
            if part is not None:
                part.epoch = value

    def durations(self) -> list[float]:
        """Seconds of each speech example, then the cost proxy of each text example."""
        return [
            *(self.speech.durations() if self.speech else []),
            *(self.text.durations() if self.text else []),
        ]

    @property
    def epoch_size(self) -> int | None:
        """Examples an epoch draws when both kinds are there: the speech ones, plus text."""
        if self.speech is None or self.text is None:
            return None
        return round(self.speech_size / (1 - self.text_weight))

    def sampling_groups(
        self, weights: MixingWeights | None
    ) -> tuple[list[int], list[float]] | None:
        """Group ids and weights for the sampler: speech groups as `MixingWeights.groups`, text
        groups by (task, language), scaled to ``text_weight`` of the total."""
        weights = weights or MixingWeights()
        if self.text is None:
            return self.speech.sampling_groups(weights)
        if self.speech is None:
            return None if weights.uniform else self.text.groups(weights)
        if self.text_weight == 0:
            raise ValueError("data.text_weight is 0: drop data.text, or give text a share")
        speech_ids, speech_weights = weights.groups(self.speech.utterances, self.speech.refs)
        text_ids, text_weights = self.text.groups(weights)
        speech_total, text_total = sum(speech_weights), sum(text_weights)
        if speech_total <= 0 or text_total <= 0:
            raise ValueError("mixing weights leave no speech or no text to draw")
        scale = self.text_weight / (1 - self.text_weight) * speech_total / text_total
        offset = len(speech_weights)
        return (
            [*speech_ids, *(g + offset for g in text_ids)],
            [*speech_weights, *(w * scale for w in text_weights)],
        )


def count_tokens(records: Sequence[ParallelText], tokenizer: object) -> list[int]:
    """LLM tokens of each record's text (no special tokens), tokenised in chunks."""
    counts = []
    for start in range(0, len(records), 4096):
        texts = [r.text for r in records[start : start + 4096]]
        counts += [len(ids) for ids in tokenizer(texts, add_special_tokens=False).input_ids]
    return counts
