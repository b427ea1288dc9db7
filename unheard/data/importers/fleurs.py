"""FLEURS: read Wikipedia sentences in 102 languages, one folder per locale, 16 kHz WAV.

Layout, as google/fleurs publishes it on the Hugging Face hub (``data/<locale>/``, with each
``audio/<split>.tar.gz`` extracted where it lies)::

    SOURCE[/data]/<locale>/{train,dev,test}.tsv
    SOURCE[/data]/<locale>/audio/<split>/<file name>.wav

The TSVs have no header; their columns are: sentence id, file name, raw transcription,
normalized transcription, characters, number of samples (at 16 kHz), gender. Durations come from
the number of samples: no audio is read. Where an archive was extracted without its ``<split>/``
folder, ``audio/<file name>.wav`` is looked for too.

Records: ``id`` ``<locale>_<sentence id>_<file stem>`` (the sentence id is shared by every
recording of the same FLoRes sentence, in every language), ``language`` the locale's ISO 639-1 code
(``ca_es`` → ``ca``, ``cmn_hans_cn`` → ``zh``), ``text`` the raw transcription (cased, with
punctuation) or, on request, the normalized one. FLEURS names no speakers. Manifests:
``fleurs_<language>_<split>.jsonl.gz``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path

from unheard.data.importers.languages import LanguageSelection
from unheard.data.importers.recipe import (
    Skips,
    check_found,
    read_tsv_rows,
    source_dir,
    write_split,
)
from unheard.data.manifest import Utterance

CORPUS = "fleurs"
SPLITS = ("train", "dev", "test")
SAMPLE_RATE = 16000  # every FLEURS recording; the TSV counts samples at this rate
LAYOUT = "SOURCE/<locale>/{train,dev,test}.tsv and SOURCE/<locale>/audio/<split>/*.wav"


def _audio_file(locale_dir: Path, split: str, name: str) -> Path | None:
    """The recording a TSV row names, or None if it is in neither place it may be."""
    for path in (locale_dir / "audio" / split / name, locale_dir / "audio" / name):
        if path.is_file():
            return path
    return None


def _build(
    root: Path,
    locales: list[str],
    language: str,
    split: str,
    normalized_text: bool,
    skips: Skips,
) -> Iterable[Utterance]:
    """The records of one language and split."""
    for locale in locales:
        tsv = root / locale / f"{split}.tsv"
        for row in read_tsv_rows(tsv):
            if len(row) < 6 or not row[5].strip().isdigit():
                skips.add("malformed row", f"{tsv}: {row[:2]}")
                continue
            sentence_id, name, raw_text, normalized, samples = (
                row[0],
                row[1],
                row[2],
                row[3],
                row[5],
            )
            text = (normalized if normalized_text else raw_text).strip()
            if not text:
                skips.add("empty text", name)
                continue
            audio = _audio_file(root / locale, split, name)
            if audio is None:
                skips.add_missing_audio(root / locale / "audio" / split / name)
                continue
            yield Utterance(
                id=f"{locale}_{sentence_id}_{Path(name).stem}",
                audio=str(audio),
                duration=int(samples) / SAMPLE_RATE,
                sample_rate=SAMPLE_RATE,
                language=language,
                text=text,
                corpus=CORPUS,
                split=split,
            )


def prepare_fleurs(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    languages: Sequence[str] | None = None,
    exclude_languages: Sequence[str] = (),
    *,
    normalized_text: bool = False,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write FLEURS manifests, one per language and split.

    Args:
        source: the folder of locale folders (or the dataset repository holding them under
            ``data/``), see the module docstring.
        out_dir: where the manifests go (created when missing).
        languages: locales to import, by ISO 639-1 code or FLEURS locale (``"nl"`` or
            ``"nl_nl"``); ``None`` imports every locale found.
        exclude_languages: locales never to import, in the same codes; wins over ``languages``.
        normalized_text: take the normalized transcription (lower case, no punctuation) instead
            of the raw one.
        overwrite: rebuild manifests even when they are up to date.

    Returns:
        The manifest paths by ``"<language>_<split>"``, e.g. ``"ca_test"``.

    Raises:
        FileNotFoundError: if ``source`` does not exist.
        ValueError: if no locale matching the filters is found.
    """
    root = source_dir(source, CORPUS)
    if (root / "data").is_dir():
        root = root / "data"
    out = Path(out_dir)
    selection = LanguageSelection.of(languages, exclude_languages)
    locales = sorted(
        entry.name
        for entry in root.iterdir()
        if entry.is_dir() and any((entry / f"{split}.tsv").is_file() for split in SPLITS)
    )
    written = {}
    for language, members in selection.group(locales).items():
        for split in SPLITS:
            present = [locale for locale in members if (root / locale / f"{split}.tsv").is_file()]
            if not present:
                continue
            written[f"{language}_{split}"] = write_split(
                out,
                CORPUS,
                language,
                split,
                [root / locale / f"{split}.tsv" for locale in present],
                partial(_build, root, present, language, split, normalized_text),
                options={"normalized_text": normalized_text},
                overwrite=overwrite,
            )
    return check_found(written, CORPUS, root, selection, locales, LAYOUT)
