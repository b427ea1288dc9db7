"""The chance baseline of the offline benchmark: for each test utterance, a random *other* item of
the same kind (a year for a year, a date for a date), rendered in the language the answer should
be in — what a system that learned the output format and language, but nothing of the audio,
would write. A system's scores mean something only as far as they are above these.
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from unheard.data.manifest import read_manifest
from unheard.data.synth.corpus import CORPUS
from unheard.data.synth.parallel_text import ParallelText, parallel_text_path, read_parallel_text
from unheard.decoding.hypotheses import Hypothesis, append_hypotheses
from unheard.files import atomic_open


def chance_hypotheses(
    corpus: str | os.PathLike[str],
    language: str,
    task: str,
    split: str = "test",
    pool_split: str = "train",
    seed: int = 0,
) -> list[Hypothesis]:
    """Chance-level hypotheses for one test manifest of the synthetic corpus.

    Args:
        corpus: the folder ``unheard data synth`` wrote.
        language: the spoken language.
        task: ``asr`` (the pool item's text in ``language``) or ``st`` (its English rendering).
        split: the manifest to answer.
        pool_split: where the random items come from (never the answered split's items).
        seed: the draw's seed; each (language, task) draws from its own stream.

    Returns:
        One hypothesis per utterance, in manifest order, with its reference.

    Raises:
        FileNotFoundError: if the manifest or the text pool is missing.
        ValueError: for an unknown task or a kind with no item in the pool.
    """
    if task not in ("asr", "st"):
        raise ValueError(f"task must be asr or st, got {task!r}")
    folder = Path(corpus)
    utterances = read_manifest(folder / f"{CORPUS}_{language}_{split}.jsonl.gz")
    kinds = {r.id: r.kind for r in read_parallel_text(parallel_text_path(folder, language, split))}
    pool: dict[str, list[ParallelText]] = defaultdict(list)
    for record in read_parallel_text(parallel_text_path(folder, language, pool_split)):
        pool[record.kind].append(record)
    rng = random.Random(f"{seed}-{language}-{task}")
    out = []
    for u in utterances:
        kind = kinds.get(u.id)
        if kind is None or not pool.get(kind):
            raise ValueError(f"{u.id}: no {pool_split} item of its kind ({kind}) to draw from")
        drawn = rng.choice(pool[kind])
        asr = task == "asr"
        out.append(
            Hypothesis(
                id=u.id,
                task=task,
                language=u.language,
                target_language=u.language if asr else (u.translation_language or "en"),
                hypothesis=drawn.text if asr else drawn.translation,
                reference=u.text if asr else u.translation,
            )
        )
    return out


def write_chance(
    corpus: str | os.PathLike[str],
    languages: Sequence[str],
    out_dir: str | os.PathLike[str],
    tasks: Sequence[str] = ("asr", "st"),
    seed: int = 0,
) -> list[Path]:
    """Write ``OUT/<task>_<language>.jsonl`` chance hypotheses (as ``unheard decode`` would).

    Returns:
        The files written.
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for task in tasks:
        for language in languages:
            path = folder / f"{task}_{language}.jsonl"
            with atomic_open(path) as f:
                append_hypotheses(f, chance_hypotheses(corpus, language, task, seed=seed))
            written.append(path)
    return written
