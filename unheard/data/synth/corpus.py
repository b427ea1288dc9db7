"""``unheard data synth``: the offline multilingual parallel speech corpus, as manifests and wavs.

For each language and split it writes

- ``OUT/unheard-synth_<lang>_<split>.jsonl.gz``: a standard manifest (`Utterance` records, corpus
  ``"unheard-synth"``, the English rendering as ``translation``), its audio under
  ``OUT/audio/<lang>/`` as 16 kHz 16-bit wavs spoken by espeak-ng;
- ``OUT/text/<lang>_<split>.jsonl``: text-only parallel data, ``{"id", "item", "language", "text",
  "translation", "kind"}`` a line, many more items than the speech (the speech's items first), for
  text-only training and the pretraining of a small LM on the corpus text;

plus ``OUT/unheard-synth.json``, what was built (languages, kinds, voices, counts, seconds).

Splits are by item across all languages (`unheard.data.synth.selection`): no item and no text is
in two splits, so test items are in no language's train or dev data, speech or text. The same
seed gives byte-identical files; a rerun keeps the wavs that exist (their names hold a digest
of everything that makes the audio, so a changed setting writes a new file, never a stale one).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from unheard.data.augment import add_noise
from unheard.data.espeak import synthesize
from unheard.data.manifest import Utterance, write_manifest
from unheard.data.synth.languages import DEFAULT_LANGUAGES, KINDS, language_spec
from unheard.data.synth.parallel_text import (
    ParallelText,
    parallel_text_path,
    write_parallel_text,
)
from unheard.data.synth.selection import SPLITS, TRANSLATION_LANGUAGE, Rendered, select_items
from unheard.data.synth.voices import VoiceSettings, draw_voice, utterance_rng
from unheard.encoders import SAMPLE_RATE
from unheard.files import atomic_path, write_atomic

CORPUS = "unheard-synth"


@dataclass(frozen=True)
class SynthOptions:
    """What `build_synth_corpus` builds."""

    languages: tuple[str, ...] = DEFAULT_LANGUAGES  # corpus language codes
    per_language: int = 200  # training utterances per language
    text_per_language: int | None = None  # training text items per language; None: 20 × above
    dev_share: float = 0.1  # dev size as a share of train (and share of items hashed to dev)
    test_share: float = 0.1  # the same for test
    min_eval: int = 5  # at least this many dev and test utterances per language (share > 0)
    seed: int = 0  # items, splits, voices and noise
    noise_snr_db: tuple[float, float] | None = None  # white noise at an SNR drawn from this range
    # the item kinds to draw (`KINDS`); None: all a language renders. Fewer kinds, fewer words
    # to learn from the same audio (e.g. ("cardinal", "year") for a small numbers-only corpus);
    # the split of an item does not depend on them
    kinds: tuple[str, ...] | None = None
    jobs: int = 2  # espeak-ng processes at a time

    def __post_init__(self) -> None:
        """Check the values once.

        Raises:
            ValueError: naming the bad value.
        """
        for language in self.languages:
            language_spec(language)  # raises for an unknown language
        if not self.languages or len(set(self.languages)) != len(self.languages):
            raise ValueError(f"languages must be distinct and not empty, got {self.languages}")
        if self.per_language < 1:
            raise ValueError(f"per_language must be at least 1, got {self.per_language}")
        if self.text_per_language is not None and self.text_per_language < self.per_language:
            raise ValueError(
                f"text_per_language ({self.text_per_language}) must be at least per_language "
                f"({self.per_language}): the text holds the speech's items"
            )
        if self.min_eval < 1:
            raise ValueError(f"min_eval must be at least 1, got {self.min_eval}")
        if self.noise_snr_db is not None:
            low, high = self.noise_snr_db
            if not low <= high:
                raise ValueError(f"noise_snr_db must be (low, high) in dB, got {self.noise_snr_db}")
        if self.jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {self.jobs}")
        if self.kinds is not None:
            unknown = sorted(set(self.kinds) - set(KINDS))
            if unknown or not self.kinds:
                raise ValueError(f"kinds must name some of {', '.join(KINDS)}; got {self.kinds}")
            silent = [
                lang for lang in self.languages if not set(self.kinds) & language_spec(lang).kinds
            ]
            if silent:
                raise ValueError(f"languages {silent} render none of the kinds {self.kinds}")
        # dev_share and test_share are checked by select_items, which uses them first.

    def speech_quotas(self) -> dict[str, int]:
        """Utterances per language for each split."""
        return self._quotas(self.per_language, self.min_eval)

    def text_quotas(self) -> dict[str, int]:
        """Text items per language for each split (at least the speech's)."""
        text = self.text_per_language or 20 * self.per_language
        speech = self.speech_quotas()
        return {
            split: max(count, speech[split])
            for split, count in self._quotas(text, self.min_eval).items()
        }

    def _quotas(self, train: int, minimum: int) -> dict[str, int]:
        def share(fraction: float) -> int:
            # A share of 0 means no such split; any other, at least `minimum` items.
            return max(minimum, round(fraction * train)) if fraction > 0 else 0

        return {"train": train, "dev": share(self.dev_share), "test": share(self.test_share)}


@dataclass(frozen=True)
class SynthCorpus:
    """What `build_synth_corpus` wrote."""

    out_dir: Path
    manifests: dict[tuple[str, str], Path]  # (language, split) → manifest
    texts: dict[tuple[str, str], Path]  # (language, split) → text-only JSON Lines
    summary: Path  # OUT/unheard-synth.json
    utterances: int  # in all manifests
    seconds: float  # of audio in all manifests
    synthesized: int  # wavs written by this call (the others existed)
    counts: dict[str, dict[str, dict[str, int]]]  # {language: {"speech"|"text": {split: n}}}


@dataclass(frozen=True)
class _Job:
    """One wav to have: what to say, how, and where."""

    rendered: Rendered
    split: str
    settings: VoiceSettings
    snr_db: float | None
    digest: str  # of everything that makes the audio; in the wav's name, and seeds its noise
    wav: Path


def build_synth_corpus(
    out_dir: str | os.PathLike[str],
    options: SynthOptions = SynthOptions(),
    progress: Callable[[int, int], None] | None = None,
) -> SynthCorpus:
    """Build (or complete) the synthetic corpus in a folder.

    Args:
        out_dir: the corpus folder, created when missing.
        options: languages, sizes, shares, seed, noise and parallelism.
        progress: called as ``progress(done, total)`` while wavs are made (e.g. to draw a bar).

    Returns:
        The paths written and their sizes.

    Raises:
        ValueError: for bad options (see `SynthOptions`).
        RuntimeError: if espeak-ng is missing or fails.
        OSError: if a file cannot be written.
    """
    out_dir = Path(out_dir)
    speech_quotas = options.speech_quotas()
    selection = select_items(
        options.languages,
        options.text_quotas(),
        options.seed,
        options.dev_share,
        options.test_share,
        options.kinds,
    )
    jobs = [
        _plan(rendered, split, options, out_dir)
        for language in options.languages
        for split in SPLITS
        for rendered in selection[language][split][: speech_quotas[split]]
    ]
    samples, synthesized = _speak_all(jobs, options.jobs, progress)

    manifests, texts = {}, {}
    counts: dict[str, dict[str, dict[str, int]]] = {}
    seconds: dict[str, dict[str, float]] = {}
    for language in options.languages:
        counts[language] = {"speech": {}, "text": {}}
        seconds[language] = {}
        for split in SPLITS:
            utterances = [
                _utterance(job, n)
                for job, n in zip(jobs, samples, strict=True)
                if job.rendered.language == language and job.split == split
            ]
            manifests[language, split] = out_dir / f"{CORPUS}_{language}_{split}.jsonl.gz"
            write_manifest(manifests[language, split], utterances)
            rendered = selection[language][split]
            texts[language, split] = parallel_text_path(out_dir, language, split)
            write_parallel_text(texts[language, split], map(_parallel_text, rendered))
            counts[language]["speech"][split] = len(utterances)
            counts[language]["text"][split] = len(rendered)
            seconds[language][split] = round(sum(u.duration for u in utterances), 3)
    summary = out_dir / f"{CORPUS}.json"
    write_atomic(summary, _summary(options, counts, seconds).encode("utf-8"))
    return SynthCorpus(
        out_dir=out_dir,
        manifests=manifests,
        texts=texts,
        summary=summary,
        utterances=len(jobs),
        seconds=sum(samples) / SAMPLE_RATE,
        synthesized=synthesized,
        counts=counts,
    )


def read_synth_options(out_dir: str | Path) -> dict[str, Any] | None:
    """The options the corpus in ``out_dir`` was built with (its ``unheard-synth.json``), or
    None when no corpus was built there."""
    summary = Path(out_dir) / f"{CORPUS}.json"
    if not summary.exists():
        return None
    return json.loads(summary.read_text(encoding="utf-8"))["options"]


def parse_snr_range(value: str) -> tuple[float, float]:
    """Read a noise range written ``"LO,HI"`` in dB (``"10,30"``; ``"20"`` for one level).

    Args:
        value: the text, as on the command line.

    Returns:
        ``(low, high)``.

    Raises:
        ValueError: if it is not one or two numbers with low <= high.
    """
    try:
        numbers = [float(part) for part in value.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) == 1:
        numbers *= 2
    if len(numbers) != 2 or not numbers[0] <= numbers[1]:
        raise ValueError(f"noise SNR must be LO,HI in dB with LO <= HI (e.g. 10,30), got {value!r}")
    return numbers[0], numbers[1]


def _plan(rendered: Rendered, split: str, options: SynthOptions, out_dir: Path) -> _Job:
    """Draw the voice (and noise level) of one utterance and name its wav."""
    rng = utterance_rng(options.seed, rendered.id)
    settings = draw_voice(language_spec(rendered.language), rng)
    snr_db = None
    if options.noise_snr_db is not None:
        # Rounded, so that the file name (below) fixes the audio exactly.
        snr_db = round(float(rng.uniform(*options.noise_snr_db)), 2)
    # Everything that makes the audio is in the name: a changed setting is a new file.
    recipe = json.dumps(
        [rendered.text, settings.espeak_voice, settings.speed, settings.pitch, snr_db, SAMPLE_RATE],
        ensure_ascii=False,
    )
    digest = hashlib.blake2b(recipe.encode("utf-8"), digest_size=5).hexdigest()
    wav = out_dir / "audio" / rendered.language / f"{rendered.id}-{digest}.wav"
    return _Job(rendered, split, settings, snr_db, digest, wav)


def _speak(job: _Job) -> tuple[int, bool]:
    """Make one wav unless it exists; its length in samples, and whether it was made now."""
    if job.wav.exists():
        return soundfile.info(job.wav).frames, False
    s = job.settings
    waveform = synthesize(job.rendered.text, s.espeak_voice, s.speed, s.pitch, SAMPLE_RATE)
    if job.snr_db is not None:
        rng = np.random.default_rng(int(job.digest, 16))
        waveform = np.clip(add_noise(waveform, job.snr_db, rng), -1.0, 1.0)
    # a killed run must not leave a cut file that a rerun would keep
    with atomic_path(job.wav) as partial:
        soundfile.write(partial, waveform, SAMPLE_RATE, subtype="PCM_16", format="WAV")
    return len(waveform), True


def _speak_all(
    jobs: list[_Job], workers: int, progress: Callable[[int, int], None] | None
) -> tuple[list[int], int]:
    """Make the missing wavs, ``workers`` at a time; the samples of each job, and how many new."""
    results = []
    # Threads suffice: the work is in the espeak-ng process and in soxr, outside the GIL.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, result in enumerate(pool.map(_speak, jobs), start=1):
            results.append(result)
            if progress is not None:
                progress(done, len(jobs))
    return [n for n, _ in results], sum(new for _, new in results)


def _utterance(job: _Job, samples: int) -> Utterance:
    r = job.rendered
    return Utterance(
        id=r.id,
        audio=str(job.wav),
        duration=samples / SAMPLE_RATE,
        sample_rate=SAMPLE_RATE,
        language=r.language,
        text=r.text,
        translation=r.translation,
        translation_language=TRANSLATION_LANGUAGE,
        speaker=job.settings.speaker,
        corpus=CORPUS,
        split=job.split,
    )


def _parallel_text(r: Rendered) -> ParallelText:
    return ParallelText(r.id, r.item.id, r.language, r.text, r.translation, r.item.kind)


def _summary(
    options: SynthOptions,
    counts: dict[str, dict[str, dict[str, int]]],
    seconds: dict[str, dict[str, float]],
) -> str:
    languages = {}
    for language in options.languages:
        spec = language_spec(language)
        languages[language] = {
            "kinds": sorted(spec.kinds & set(options.kinds or spec.kinds)),
            "voices": list(spec.voices),
            "utterances": counts[language]["speech"],
            "seconds": seconds[language],
            "text_items": counts[language]["text"],
        }
    # Not `jobs`: how fast it was built is not what was built.
    built = {name: value for name, value in asdict(options).items() if name != "jobs"}
    record = {"corpus": CORPUS, "options": built, "languages": languages}
    return json.dumps(record, indent=2, ensure_ascii=False) + "\n"
