"""Europarl-ST: European Parliament speeches (M4A) segmented into sentences, with translations.

Layout of release v1.1, as the MLLP group publishes it (``v1.1.tar.gz``)::

    SOURCE[/v1.1]/<src>/audios/<speech id>.m4a              one whole speech per file
    SOURCE[/v1.1]/<src>/<tgt>/<split>/segments.lst           "<speech id> <start> <end>" a line
    SOURCE[/v1.1]/<src>/<tgt>/<split>/segments.<src>         the transcript of each segment
    SOURCE[/v1.1]/<src>/<tgt>/<split>/segments.<tgt>         its translation
    SOURCE[/v1.1]/<src>/<tgt>/<split>/speeches.lst, speakers.lst   a speaker per speech

Splits are the folders that hold a ``segments.lst``: ``train``, ``dev``, ``test`` and
``train-noisy`` (the automatically filtered, noisier training data). Offsets and durations come
from ``segments.lst``, in seconds; the M4A files are only checked to exist (reading their headers
needs ffprobe, ~70 ms a file). Decoding goes through ffmpeg (`unheard.data.audio.load_audio`).

Records: ``id`` ``<speech id>_<start ms>_<end ms>`` (7 digits each), which is the same segment's id
in every target folder of a source language, ``language`` and ``translation_language`` the ISO
639-1 codes of the folders, ``speaker`` from ``speakers.lst``. The same source segment appears once
per target language; ASR users take one direction per source, or deduplicate by ``id``.
Manifests: ``europarl-st_<src>-<tgt>_<split>.jsonl.gz``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path

from unheard.data.importers.languages import LanguageSelection, iso639_1
from unheard.data.importers.recipe import Skips, check_found, source_dir, write_split
from unheard.data.manifest import Utterance

CORPUS = "europarl-st"
AUDIO_SUFFIX = ".m4a"
LAYOUT = "SOURCE/<src>/audios/*.m4a and SOURCE/<src>/<tgt>/<split>/segments.{lst,<src>,<tgt>}"


def _lines(path: Path) -> list[str]:
    """The lines of a text file, split on newlines only.

    ``str.splitlines`` would also split on the form feeds and Unicode line separators that turn
    up in parliament transcripts, and so misalign them with ``segments.lst``.
    """
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def _speakers(split_dir: Path) -> dict[str, str]:
    """Speaker by speech id, from ``speeches.lst`` and ``speakers.lst`` (empty when absent)."""
    speeches, speakers = split_dir / "speeches.lst", split_dir / "speakers.lst"
    if not (speeches.is_file() and speakers.is_file()):
        return {}
    names, people = _lines(speeches), _lines(speakers)
    if len(names) != len(people):
        return {}  # misaligned lists name no one reliably
    return {
        name.strip(): person.strip()
        for name, person in zip(names, people, strict=True)
        if person.strip()
    }


def _build(src_dir: Path, tgt: str, split: str, skips: Skips) -> Iterable[Utterance]:
    """The records of one direction and split."""
    src = src_dir.name
    split_dir = src_dir / tgt / split
    segments = _lines(split_dir / "segments.lst")
    texts = {lang: _lines(split_dir / f"segments.{lang}") for lang in (src, tgt)}
    for lang, lines in texts.items():
        if len(lines) != len(segments):
            raise ValueError(
                f"{split_dir / f'segments.{lang}'} has {len(lines)} lines but segments.lst has "
                f"{len(segments)}: the files are out of step; extract the release again"
            )
    speakers = _speakers(split_dir)
    exists: dict[str, bool] = {}  # by speech id: a speech holds many segments
    for line, text, translation in zip(segments, texts[src], texts[tgt], strict=True):
        fields = line.split()
        try:
            speech, start, end = fields[0], float(fields[1]), float(fields[2])
        except (IndexError, ValueError):
            skips.add("malformed segment line", f"{split_dir / 'segments.lst'}: {line!r}")
            continue
        if len(fields) != 3 or not 0 <= start < end:
            skips.add("malformed segment line", f"{split_dir / 'segments.lst'}: {line!r}")
            continue
        if not text.strip() or not translation.strip():
            skips.add("empty text", f"{speech} {start} {end}")
            continue
        audio = src_dir / "audios" / f"{speech}{AUDIO_SUFFIX}"
        if speech not in exists:
            exists[speech] = audio.is_file()
        if not exists[speech]:
            skips.add_missing_audio(audio)
            continue
        yield Utterance(
            id=f"{speech}_{round(start * 1000):07d}_{round(end * 1000):07d}",
            audio=str(audio),
            offset=start,
            # rounded: 12.31 - 10.2 is 2.1100000000000003 in binary floating point
            duration=round(end - start, 6),
            language=iso639_1(src),
            text=text.strip(),
            translation=translation.strip(),
            translation_language=iso639_1(tgt),
            speaker=speakers.get(speech),
            corpus=CORPUS,
            split=split,
        )


def prepare_europarl_st(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    languages: Sequence[str] | None = None,
    exclude_languages: Sequence[str] = (),
    *,
    target_languages: Sequence[str] | None = None,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write Europarl-ST manifests, one per direction and split.

    Args:
        source: the release folder (``v1.1``, or the folder holding it), see the module docstring.
        out_dir: where the manifests go (created when missing).
        languages: source (spoken) languages to import, by ISO 639-1 code; ``None`` imports all.
        exclude_languages: spoken languages never to import; wins over ``languages``.
        target_languages: translation languages to import; ``None`` imports all.
        overwrite: rebuild manifests even when they are up to date.

    Returns:
        The manifest paths by ``"<src>-<tgt>_<split>"``, e.g. ``"de-en_train-noisy"``.

    Raises:
        FileNotFoundError: if ``source`` does not exist.
        ValueError: if no direction matching the filters is found, or a split's text files are
            out of step with its ``segments.lst``.
    """
    root = source_dir(source, CORPUS)
    if (root / "v1.1").is_dir():
        root = root / "v1.1"
    out = Path(out_dir)
    selection = LanguageSelection.of(languages, exclude_languages)
    targets = LanguageSelection.of(target_languages)
    sources = sorted(entry.name for entry in root.iterdir() if (entry / "audios").is_dir())
    written = {}
    for natives in selection.group(sources).values():
        for src in natives:
            src_dir = root / src
            for tgt_dir in sorted(src_dir.iterdir()):
                if tgt_dir.name == "audios" or not tgt_dir.is_dir():
                    continue
                if not targets.selects(tgt_dir.name):
                    continue
                key = f"{iso639_1(src)}-{iso639_1(tgt_dir.name)}"
                for split_dir in sorted(tgt_dir.iterdir()):
                    if not (split_dir / "segments.lst").is_file():
                        continue
                    names = ["segments.lst", f"segments.{src}", f"segments.{tgt_dir.name}"]
                    names += ["speeches.lst", "speakers.lst"]
                    written[f"{key}_{split_dir.name}"] = write_split(
                        out,
                        CORPUS,
                        key,
                        split_dir.name,
                        [split_dir / name for name in names if (split_dir / name).is_file()],
                        partial(_build, src_dir, tgt_dir.name, split_dir.name),
                        overwrite=overwrite,
                    )
    return check_found(written, CORPUS, root, selection, sources, LAYOUT)
