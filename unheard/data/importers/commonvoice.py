"""Common Voice: a release folder of one folder per locale, TSVs over a folder of MP3 clips.

Layout, as Mozilla publishes it (``cv-corpus-<version>-<date>/`` after extracting the archives)::

    SOURCE/<locale>/clips/common_voice_<locale>_<n>.mp3
    SOURCE/<locale>/{train,dev,test,validated,other,invalidated}.tsv
    SOURCE/<locale>/clip_durations.tsv          (releases since about 2022; clip, duration[ms])

TSV columns include ``client_id``, ``path`` (the clip's file name) and ``sentence``; they are read
with quoting off, since sentences hold unbalanced quotes. Durations come from
``clip_durations.tsv`` where a release has it, else from each MP3's header.

Records: ``id`` the clip's name without ``.mp3`` (``common_voice_nl_123``, unique across
locales), ``language`` the locale's ISO 639-1 code (``sv-SE`` → ``sv``; locales sharing a code,
such as ``zh-CN`` and ``zh-TW``, go into one manifest), ``speaker`` the ``client_id``.
Manifests: ``commonvoice_<language>_<split>.jsonl.gz``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path

from unheard.data.importers.languages import LanguageSelection
from unheard.data.importers.recipe import (
    Skips,
    audio_exists,
    check_found,
    probe_audio,
    read_tsv,
    source_dir,
    write_split,
)
from unheard.data.manifest import Utterance

CORPUS = "commonvoice"
SPLITS = ("train", "dev", "test")  # the official splits; "validated" and others can be asked for
DURATIONS_FILE = "clip_durations.tsv"
LAYOUT = "SOURCE/<locale>/clips/*.mp3 and SOURCE/<locale>/{train,dev,test}.tsv"
_SPLIT_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


def clip_file(clips: Path, name: str) -> Path:
    """The clip a TSV's ``path`` names; the first releases left out the ``.mp3``."""
    return clips / (name if Path(name).suffix else f"{name}.mp3")


def read_clip_durations(locale_dir: Path) -> dict[str, float]:
    """Clip durations in seconds from a locale's ``clip_durations.tsv``, by clip file name.

    Returns:
        An empty dict when the release has no such file (or it lacks the expected columns).
    """
    path = locale_dir / DURATIONS_FILE
    if not path.is_file():
        return {}
    durations = {}
    for row in read_tsv(path):
        try:
            durations[row["clip"]] = int(row["duration[ms]"]) / 1000
        except (KeyError, ValueError):
            continue  # a row without a number: that clip's header is read instead
    return durations


def measure_clips(
    paths: Sequence[Path], durations: dict[str, float], skips: Skips
) -> list[tuple[float, int | None] | None]:
    """Duration and sampling rate of each clip: from the durations file, else from its header.

    Args:
        paths: the clips.
        durations: seconds by clip file name (`read_clip_durations`); may be empty.
        skips: counts missing and unreadable clips.

    Returns:
        ``(seconds, rate)`` per clip, ``rate`` ``None`` where the header was not read; ``None``
        for a skipped clip.
    """
    measured: list[tuple[float, int | None] | None] = [None] * len(paths)
    to_probe = []
    for index, path in enumerate(paths):
        if path.name in durations:
            if audio_exists(path, skips):
                measured[index] = (durations[path.name], None)
        else:
            to_probe.append(index)
    infos = probe_audio([paths[index] for index in to_probe], skips)
    for index, info in zip(to_probe, infos, strict=True):
        if info is not None:
            measured[index] = (info.duration_s, info.sample_rate)
    return measured


def _build(
    root: Path, locales: list[str], language: str, split: str, skips: Skips
) -> Iterable[Utterance]:
    """The records of one language and split, over all locales that share its code."""
    for locale in locales:
        locale_dir = root / locale
        rows = []
        for row in read_tsv(locale_dir / f"{split}.tsv"):
            sentence = row.get("sentence", "").strip()
            if not row.get("path"):
                skips.add("row without a clip path", str(locale_dir / f"{split}.tsv"))
            elif not sentence:
                skips.add("empty text", row["path"])
            else:
                rows.append((row, sentence))
        paths = [clip_file(locale_dir / "clips", row["path"]) for row, _ in rows]
        measured = measure_clips(paths, read_clip_durations(locale_dir), skips)
        for (row, sentence), path, sizes in zip(rows, paths, measured, strict=True):
            if sizes is None:
                continue
            yield Utterance(
                id=path.stem,
                audio=str(path),
                duration=sizes[0],
                sample_rate=sizes[1],
                language=language,
                text=sentence,
                speaker=row.get("client_id") or None,
                corpus=CORPUS,
                split=split,
            )


def prepare_commonvoice(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    languages: Sequence[str] | None = None,
    exclude_languages: Sequence[str] = (),
    *,
    splits: Sequence[str] = SPLITS,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write Common Voice manifests, one per language and split.

    Args:
        source: the release folder, holding one folder per locale (see the module docstring).
        out_dir: where the manifests go (created when missing).
        languages: locales to import, by ISO 639-1 code or Common Voice's own (``"sv"`` or
            ``"sv-SE"``); ``None`` imports every locale found.
        exclude_languages: locales never to import, in the same codes; wins over ``languages``.
        splits: the TSVs to import, by name: ``"train"``, ``"dev"``, ``"test"``, or others of the
            release such as ``"validated"`` (which overlaps the three).
        overwrite: rebuild manifests even when they are up to date.

    Returns:
        The manifest paths by ``"<language>_<split>"``, e.g. ``{"nl_train": …/commonvoice_nl_train
        .jsonl.gz}``.

    Raises:
        FileNotFoundError: if ``source`` does not exist.
        ValueError: if a split name is malformed, or no locale matching the filters is found.
    """
    for split in splits:
        if not _SPLIT_NAME.match(split):
            raise ValueError(
                f"split names are TSV names such as 'train' or 'validated', got {split!r}"
            )
    root = source_dir(source, CORPUS)
    out = Path(out_dir)
    selection = LanguageSelection.of(languages, exclude_languages)
    locales = sorted(entry.name for entry in root.iterdir() if (entry / "clips").is_dir())

    written = {}
    for language, members in selection.group(locales).items():
        for split in splits:
            present = [locale for locale in members if (root / locale / f"{split}.tsv").is_file()]
            if not present:
                continue
            inputs = [
                root / locale / name
                for locale in present
                for name in (f"{split}.tsv", DURATIONS_FILE)
            ]
            written[f"{language}_{split}"] = write_split(
                out,
                CORPUS,
                language,
                split,
                [path for path in inputs if path.is_file()],
                partial(_build, root, present, language, split),
                overwrite=overwrite,
            )
    return check_found(written, CORPUS, root, selection, locales, LAYOUT)
