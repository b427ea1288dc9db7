"""VoxPopuli: transcribed European Parliament speech in 16 languages (Ogg/Vorbis segments).

Layout written by VoxPopuli's own ``voxpopuli/get_asr_data.py`` (which cuts the downloaded
session recordings into the transcribed segments)::

    SOURCE[/transcribed_data]/<lang>/asr_{train,dev,test}.tsv
    SOURCE[/transcribed_data]/<lang>/<year>/<id>.ogg          <year> = the id's first 4 characters

TSV columns: ``id``, ``raw_text``, ``normalized_text``, ``speaker_id``, ``split``, ``gender``,
and in later versions ``is_gold_transcript`` and ``accent``; read with quoting off. Durations come
from each Ogg file's header. The accented English test set (folder ``en_accented``) becomes
language ``en`` with split ``test-accented``: a folder ``<lang>_<variant>`` gives split
``<split>-<variant>``, so that it never mixes with the native test set.

Records: ``id`` ``<lang folder>_<id>``, ``language`` ISO 639-1, ``text`` the raw text (cased, with
punctuation; the normalized text where the raw one is empty, or always on request), ``speaker``
``speaker_id``. Manifests: ``voxpopuli_<language>_<split>.jsonl.gz``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path

from unheard.data.importers.languages import LanguageSelection, iso639_1
from unheard.data.importers.recipe import (
    Skips,
    check_found,
    probe_audio,
    read_tsv,
    source_dir,
    write_split,
)
from unheard.data.manifest import Utterance

CORPUS = "voxpopuli"
LAYOUT = "SOURCE/transcribed_data/<lang>/asr_<split>.tsv and <lang>/<year>/<id>.ogg"
_TSV_NAME = re.compile(r"^asr_(?P<split>[a-z]+)\.tsv$")


def _split_name(folder: str, split: str) -> str:
    """The manifest split: ``test`` for ``nl``, ``test-accented`` for ``en_accented``."""
    _, _, variant = folder.partition("_")
    return f"{split}-{variant}" if variant else split


def _build(
    lang_dir: Path, tsv: Path, language: str, split: str, normalized_text: bool, skips: Skips
) -> Iterable[Utterance]:
    """The records of one language folder and split."""
    rows = []
    for row in read_tsv(tsv):
        raw, normalized = row.get("raw_text", "").strip(), row.get("normalized_text", "").strip()
        text = normalized if normalized_text else raw or normalized
        if not row.get("id"):
            skips.add("row without an id", str(tsv))
        elif not text:
            skips.add("empty text", row["id"])
        else:
            rows.append((row, text))
    paths = [lang_dir / row["id"][:4] / f"{row['id']}.ogg" for row, _ in rows]
    for (row, text), path, info in zip(rows, paths, probe_audio(paths, skips), strict=True):
        if info is None:
            continue
        yield Utterance(
            id=f"{lang_dir.name}_{row['id']}",
            audio=str(path),
            duration=info.duration_s,
            sample_rate=info.sample_rate,
            language=language,
            text=text,
            speaker=row.get("speaker_id") or None,
            corpus=CORPUS,
            split=split,
        )


def prepare_voxpopuli(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    languages: Sequence[str] | None = None,
    exclude_languages: Sequence[str] = (),
    *,
    normalized_text: bool = False,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write VoxPopuli manifests, one per language and split.

    Args:
        source: the VoxPopuli data root (holding ``transcribed_data/``), or ``transcribed_data``
            itself; see the module docstring.
        out_dir: where the manifests go (created when missing).
        languages: languages to import, by ISO 639-1 code or folder name (``"en_accented"``
            selects only the accented set, ``"en"`` both); ``None`` imports every one found.
        exclude_languages: languages never to import, in the same codes; wins over ``languages``.
        normalized_text: take the normalized text (lower case, no punctuation) instead of the
            raw one.
        overwrite: rebuild manifests even when they are up to date.

    Returns:
        The manifest paths by ``"<language>_<split>"``, e.g. ``"nl_train"``, ``"en_test-accented"``.

    Raises:
        FileNotFoundError: if ``source`` does not exist.
        ValueError: if nothing matching the filters is found.
    """
    root = source_dir(source, CORPUS)
    if (root / "transcribed_data").is_dir():
        root = root / "transcribed_data"
    out = Path(out_dir)
    selection = LanguageSelection.of(languages, exclude_languages)
    folders = sorted(
        entry.name for entry in root.iterdir() if entry.is_dir() and any(entry.glob("asr_*.tsv"))
    )
    written = {}
    for natives in selection.group(folders).values():
        for folder in natives:
            for tsv in sorted((root / folder).glob("asr_*.tsv")):
                match = _TSV_NAME.match(tsv.name)
                if not match:
                    continue
                language, split = iso639_1(folder), _split_name(folder, match["split"])
                written[f"{language}_{split}"] = write_split(
                    out,
                    CORPUS,
                    language,
                    split,
                    [tsv],
                    partial(_build, root / folder, tsv, language, split, normalized_text),
                    options={"normalized_text": normalized_text},
                    overwrite=overwrite,
                )
    return check_found(written, CORPUS, root, selection, folders, LAYOUT)
