"""A local folder of audio files, each with its transcript in a same-named ``.txt`` file.

Layout (any depth)::

    SOURCE/**/<name>.{wav,flac,ogg,opus,mp3,m4a}
    SOURCE/**/<name>.txt                               UTF-8; whitespace is collapsed

All files are in one language, given by the caller. Durations come from each file's header.

Records: ``id`` the audio's path under ``SOURCE`` without its suffix (``talks/0001``),
``language`` the given language's ISO 639-1 code, ``corpus`` ``"folder"`` unless named otherwise.
An audio file without a transcript is skipped as ``"missing transcript"``, a transcript without an
audio file as ``"missing audio"``. Manifest: ``<corpus>_<language>_<split>.jsonl.gz``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path

from unheard.data.importers.languages import LanguageSelection, iso639_1
from unheard.data.importers.recipe import Skips, check_found, probe_audio, source_dir, write_split
from unheard.data.manifest import Utterance

CORPUS = "folder"
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a")  # preferred first
TEXT_SUFFIX = ".txt"
LAYOUT = "audio files (.wav, .flac, .ogg, .opus, .mp3, .m4a) with same-stem .txt transcripts"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")


def _files(root: Path) -> list[Path]:
    """The audio files and transcripts under ``root``, sorted; hidden files left out."""
    return sorted(
        path
        for path in root.rglob("*")
        if path.suffix.lower() in (*AUDIO_SUFFIXES, TEXT_SUFFIX)
        and not path.name.startswith(".")
        and path.is_file()
    )


def _pairs(root: Path, skips: Skips) -> list[tuple[str, Path, str]]:
    """``(id, audio, text)`` of every audio file with a transcript, sorted by id."""
    audio: dict[str, Path] = {}
    texts: dict[str, Path] = {}
    rank = {suffix: index for index, suffix in enumerate(AUDIO_SUFFIXES)}
    for path in _files(root):
        suffix = path.suffix.lower()
        stem = path.relative_to(root).with_suffix("").as_posix()
        if suffix == TEXT_SUFFIX:
            texts[stem] = path
        elif suffix in rank:
            if stem in audio:
                keep, drop = sorted([audio[stem], path], key=lambda p: rank[p.suffix.lower()])
                skips.add("second audio file of a name", str(drop))
                path = keep
            audio[stem] = path
    pairs = []
    for stem in sorted(audio.keys() | texts.keys()):
        if stem not in texts:
            skips.add("missing transcript", str(audio[stem]))
        elif stem not in audio:
            skips.add("missing audio", str(texts[stem]))
        else:
            text = " ".join(texts[stem].read_text(encoding="utf-8").split())
            if text:
                pairs.append((stem, audio[stem], text))
            else:
                skips.add("empty text", str(texts[stem]))
    return pairs


def _build(root: Path, language: str, split: str, corpus: str, skips: Skips) -> Iterable[Utterance]:
    """The records of the folder."""
    pairs = _pairs(root, skips)
    infos = probe_audio([audio for _, audio, _ in pairs], skips)
    for (stem, audio, text), info in zip(pairs, infos, strict=True):
        if info is None:
            continue
        yield Utterance(
            id=stem,
            audio=str(audio),
            duration=info.duration_s,
            sample_rate=info.sample_rate,
            language=language,
            text=text,
            corpus=corpus,
            split=split,
        )


def prepare_folder(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    languages: Sequence[str] | None = None,
    exclude_languages: Sequence[str] = (),
    *,
    language: str,
    split: str = "train",
    corpus: str = CORPUS,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write the manifest of a folder of audio files with ``.txt`` transcripts.

    Args:
        source: the folder; see the module docstring.
        out_dir: where the manifest goes (created when missing).
        languages: if given, the folder is imported only when ``language`` is among them.
        exclude_languages: the folder is not imported when ``language`` is among them.
        language: the language spoken in every file, ISO 639-1 (``"nl"``) or a code that maps to
            it (``"nl-NL"``).
        split: the split the records belong to.
        corpus: the name in the records' ``corpus`` field and the manifest's name.
        overwrite: rebuild the manifest even when it is up to date.

    Returns:
        ``{"<language>_<split>": path}``.

    Raises:
        FileNotFoundError: if ``source`` does not exist.
        ValueError: if ``language``, ``split`` or ``corpus`` is malformed, or the filters leave
            the folder's language out.
    """
    for name, value in (("split", split), ("corpus", corpus)):
        if not _NAME.match(value):
            raise ValueError(
                f"{name} must be letters, digits, '.' and '-', e.g. 'train', got {value!r}"
            )
    iso = iso639_1(language)
    root = source_dir(source, corpus)
    selection = LanguageSelection.of(languages, exclude_languages)
    written = {}
    if selection.selects(language):
        written[f"{iso}_{split}"] = write_split(
            Path(out_dir),
            corpus,
            iso,
            split,
            # Every file is an input: a new, removed or edited clip or transcript rebuilds.
            _files(root),
            partial(_build, root, iso, split, corpus),
            overwrite=overwrite,
        )
    return check_found(written, corpus, root, selection, [language], LAYOUT)
