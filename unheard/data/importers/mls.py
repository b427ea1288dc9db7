"""Multilingual LibriSpeech (MLS): read audiobooks in 8 languages, FLAC or Opus.

Layout, as OpenSLR 94 publishes it (``mls_<language>.tar.gz`` or ``mls_<language>_opus.tar.gz``)::

    SOURCE/mls_<language>[_opus]/{train,dev,test}/transcripts.txt   "<id>\\t<text>" a line
    SOURCE/mls_<language>[_opus]/<split>/audio/<speaker>/<book>/<id>.flac  (.opus in *_opus)
    SOURCE/mls_<language>[_opus]/<split>/segments.txt                 where in LibriVox it was cut

with ``<id>`` ``<speaker>_<book>_<segment>``. Durations come from each file's header. When both
the FLAC and the Opus release of a language are present, the FLAC one is imported. The language
model data (``mls_lm_<language>``) is not speech and is left alone.

Records: ``id`` ``<language>_<id>`` (MLS ids are reader and book numbers, which may repeat across
languages), ``language`` ISO 639-1 (``mls_dutch`` → ``nl``), ``text`` the transcript (MLS gives
lower-case text without punctuation), ``speaker`` the reader's id. Manifests:
``mls_<language>_<split>.jsonl.gz``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path

from unheard.data.importers.languages import MLS_LANGUAGES, LanguageSelection, iso639_1
from unheard.data.importers.recipe import Skips, check_found, probe_audio, source_dir, write_split
from unheard.data.manifest import Utterance

log = logging.getLogger(__name__)

CORPUS = "mls"
SPLITS = ("train", "dev", "test")
LAYOUT = "SOURCE/mls_<language>/<split>/transcripts.txt and <split>/audio/<spk>/<book>/<id>.flac"


def _releases(root: Path) -> dict[str, Path]:
    """The language folders by MLS language name, FLAC preferred over Opus."""
    found: dict[str, Path] = {}
    for folder in sorted(root.glob("mls_*")):
        name = folder.name.removeprefix("mls_").removesuffix("_opus")
        if not folder.is_dir() or name not in MLS_LANGUAGES:
            continue  # mls_lm_* and anything else that is not a speech release
        if name in found:
            # sorted: "mls_dutch" comes before "mls_dutch_opus"
            log.info("mls: both %s and %s present; importing %s", found[name], folder, found[name])
            continue
        found[name] = folder
    return found


def _build(release: Path, language: str, split: str, skips: Skips) -> Iterable[Utterance]:
    """The records of one language and split."""
    suffix = ".opus" if release.name.endswith("_opus") else ".flac"
    transcripts = release / split / "transcripts.txt"
    rows = []
    with open(transcripts, encoding="utf-8") as file:
        for line in file:
            utterance_id, _, text = line.rstrip("\n").partition("\t")
            parts = utterance_id.split("_")
            if len(parts) != 3:
                skips.add("malformed line", f"{transcripts}: {line.strip()[:60]!r}")
            elif not text.strip():
                skips.add("empty text", utterance_id)
            else:
                rows.append((utterance_id, parts, text.strip()))
    paths = [
        release / split / "audio" / speaker / book / f"{utterance_id}{suffix}"
        for utterance_id, (speaker, book, _), _ in rows
    ]
    for (utterance_id, parts, text), path, info in zip(
        rows, paths, probe_audio(paths, skips), strict=True
    ):
        if info is None:
            continue
        yield Utterance(
            id=f"{language}_{utterance_id}",
            audio=str(path),
            duration=info.duration_s,
            sample_rate=info.sample_rate,
            language=language,
            text=text,
            speaker=parts[0],
            corpus=CORPUS,
            split=split,
        )


def prepare_mls(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    languages: Sequence[str] | None = None,
    exclude_languages: Sequence[str] = (),
    *,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write Multilingual LibriSpeech manifests, one per language and split.

    Args:
        source: the folder holding the ``mls_<language>`` folders; see the module docstring.
        out_dir: where the manifests go (created when missing).
        languages: languages to import, by ISO 639-1 code or MLS name (``"nl"`` or ``"dutch"``);
            ``None`` imports every one found.
        exclude_languages: languages never to import, in the same codes; wins over ``languages``.
        overwrite: rebuild manifests even when they are up to date.

    Returns:
        The manifest paths by ``"<language>_<split>"``, e.g. ``"nl_dev"``.

    Raises:
        FileNotFoundError: if ``source`` does not exist.
        ValueError: if nothing matching the filters is found.
    """
    root = source_dir(source, CORPUS)
    out = Path(out_dir)
    selection = LanguageSelection.of(languages, exclude_languages)
    releases = _releases(root)
    written = {}
    for natives in selection.group(releases).values():
        for name in natives:
            release, language = releases[name], iso639_1(name)
            for split in SPLITS:
                transcripts = release / split / "transcripts.txt"
                if not transcripts.is_file():
                    continue
                written[f"{language}_{split}"] = write_split(
                    out,
                    CORPUS,
                    language,
                    split,
                    [transcripts],
                    partial(_build, release, language, split),
                    overwrite=overwrite,
                )
    return check_found(written, CORPUS, root, selection, releases, LAYOUT)
