"""CoVoST 2: speech translation TSVs over Common Voice clips (MP3).

Layout. CoVoST 2 ships one TSV per direction, ``covost_v2.<src>_<tgt>.tsv`` (from
``covost_v2.<src>_<tgt>.tsv.tar.gz``), with the columns ``path``, ``sentence``, ``translation``,
``client_id`` and ``split`` (``train``, ``dev``, ``test``; ``train_covost`` counts as ``train``,
as in CoVoST's own ``get_covost_splits.py``); copies without ``sentence`` and ``client_id`` take
them from Common Voice's ``validated.tsv``, as CoVoST's scripts do. The audio is Common Voice 4's
clips of the source language. The importer looks for the TSVs in ``SOURCE`` and its sub-folders
one level down, and for each TSV's clips, in this order, in::

    <TSV folder>/clips/                 the TSV inside the Common Voice locale folder (fairseq, HF)
    <TSV folder>/<src>/clips/           the TSVs next to a Common Voice release
    SOURCE/<src>/clips/
    SOURCE/clips/

and for ``validated.tsv`` next to ``clips/``, then next to the TSV. The per-split TSVs that
``get_covost_splits.py`` writes (``covost_v2.<src>_<tgt>.<split>.tsv``) are read too, where the
full TSV is absent. TSVs are read with quoting off and ``\\`` as the escape character, as CoVoST
writes them. Durations come from ``clip_durations.tsv`` next to ``clips/`` where the Common Voice
release has one, else from each MP3's header.

Records: ``id`` the clip's name without ``.mp3`` (the same id as in the Common Voice manifests),
``language`` the source's ISO 639-1 code, ``text`` the transcript, ``translation`` in
``translation_language``, ``speaker`` the ``client_id``. Manifests:
``covost2_<src>-<tgt>_<split>.jsonl.gz`` in ISO 639-1 codes (``covost2_zh-en_train`` for
``zh-CN``).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path

from unheard.data.importers.commonvoice import clip_file, measure_clips, read_clip_durations
from unheard.data.importers.languages import LanguageSelection, iso639_1
from unheard.data.importers.recipe import Skips, check_found, read_tsv, source_dir, write_split
from unheard.data.manifest import Utterance

log = logging.getLogger(__name__)

CORPUS = "covost2"
SPLITS = ("train", "dev", "test")
SPLIT_ALIASES = {"train_covost": "train"}  # CoVoST's extra training clips beyond Common Voice's
LAYOUT = "covost_v2.<src>_<tgt>.tsv files and the source language's Common Voice clips/"
_CODE = r"[A-Za-z]+(?:-[A-Za-z]+)*"  # a Common Voice locale: "fr", "zh-CN"
_TSV_NAME = re.compile(rf"^covost_v2\.(?P<src>{_CODE})_(?P<tgt>{_CODE})(?:\.(?P<split>\w+))?\.tsv$")


class _Pair:
    """One translation direction: its TSVs, clips folder, and rows (read once, when needed)."""

    def __init__(self, root: Path, src: str, tgt: str, tsvs: dict[str | None, Path]) -> None:
        self.src, self.tgt = src, tgt
        # None keys the full TSV (with a split column); split names key get_covost_splits' files.
        self.tsvs = {None: tsvs[None]} if None in tsvs else tsvs
        self.folder = folder = next(iter(self.tsvs.values())).parent
        candidates = [
            folder / "clips",
            folder / src / "clips",
            root / src / "clips",
            root / "clips",
        ]
        self.clips = next((path for path in candidates if path.is_dir()), None)
        self.candidates = candidates
        self._rows: dict[str, list[dict[str, str]]] | None = None

    @property
    def locale_dir(self) -> Path:
        assert self.clips is not None, "only pairs with clips are imported"
        return self.clips.parent

    def inputs(self, split: str) -> list[Path]:
        """The files a split's manifest comes from."""
        tsv = self.tsvs.get(None) or self.tsvs[split]
        extra = [self.locale_dir / "validated.tsv", self.folder / "validated.tsv"]
        extra.append(self.locale_dir / "clip_durations.tsv")
        return [tsv] + [path for path in extra if path.is_file()]

    def splits(self) -> list[str]:
        if None in self.tsvs:
            return list(SPLITS)
        return sorted({SPLIT_ALIASES.get(split, split) for split in self.tsvs if split})

    def rows(self, split: str) -> list[dict[str, str]]:
        """The TSV rows of a split, with ``sentence`` and ``client_id`` filled in."""
        if self._rows is None:
            self._rows = self._read()
        return self._rows.get(split, [])

    def release(self) -> None:
        """Forget the rows: an English TSV holds 300,000 of them, and there are 15 directions."""
        self._rows = None

    def _read(self) -> dict[str, list[dict[str, str]]]:
        by_split: dict[str, list[dict[str, str]]] = {}
        for name, tsv in self.tsvs.items():
            for row in read_tsv(tsv, escapechar="\\"):
                # The full TSV names each row's split; a per-split file's name names them all.
                given = row.get("split") or name or ""
                by_split.setdefault(SPLIT_ALIASES.get(given, given), []).append(row)
        rows = [row for split_rows in by_split.values() for row in split_rows]
        if rows and not {"sentence", "client_id"} <= rows[0].keys():
            self._fill_from_validated(rows)
        unknown = sorted(set(by_split) - set(SPLITS))
        if unknown:
            log.warning("%s: rows of unknown split(s) %s left out", self.tsvs, unknown)
        return by_split

    def _fill_from_validated(self, rows: list[dict[str, str]]) -> None:
        """Take transcripts and speakers from Common Voice, as CoVoST's own scripts do."""
        # Next to the clips (a Common Voice locale folder), or next to the TSV, where CoVoST's
        # instructions put it for get_covost_splits.py.
        candidates = [self.locale_dir / "validated.tsv", self.folder / "validated.tsv"]
        validated = next((path for path in candidates if path.is_file()), None)
        if validated is None:
            raise ValueError(
                f"{self.tsvs} has no sentence column, and there is no validated.tsv to take the "
                f"transcripts from at {candidates[0]} or {candidates[1]}; put the Common Voice "
                f"{self.src} release's validated.tsv next to its clips/ folder"
            )
        by_path = {row["path"]: row for row in read_tsv(validated)}
        for row in rows:
            known = by_path.get(row.get("path", ""), {})
            row.setdefault("sentence", known.get("sentence", ""))
            row.setdefault("client_id", known.get("client_id", ""))


def _find_pairs(root: Path) -> list[_Pair]:
    """Every direction with a TSV in ``root`` or one folder down, by (src, tgt)."""
    found: dict[tuple[str, str], dict[str | None, Path]] = {}
    for tsv in sorted(root.glob("covost_v2.*.tsv")) + sorted(root.glob("*/covost_v2.*.tsv")):
        match = _TSV_NAME.match(tsv.name)
        if match:
            tsvs = found.setdefault((match["src"], match["tgt"]), {})
            tsvs.setdefault(match["split"], tsv)  # the first found wins: SOURCE before sub-folders
    return [_Pair(root, src, tgt, tsvs) for (src, tgt), tsvs in sorted(found.items())]


def _build(pair: _Pair, split: str, skips: Skips) -> Iterable[Utterance]:
    """The records of one direction and split."""
    assert pair.clips is not None
    rows = []
    for row in pair.rows(split):
        sentence, translation = row.get("sentence", "").strip(), row.get("translation", "").strip()
        if not row.get("path"):
            skips.add("row without a clip path", str(pair.tsvs))
        elif not sentence:
            skips.add("empty text", row["path"])
        elif not translation:
            skips.add("empty translation", row["path"])
        else:
            rows.append((row, sentence, translation))
    paths = [clip_file(pair.clips, row["path"]) for row, _, _ in rows]
    measured = measure_clips(paths, read_clip_durations(pair.locale_dir), skips)
    for (row, sentence, translation), path, sizes in zip(rows, paths, measured, strict=True):
        if sizes is None:
            continue
        yield Utterance(
            id=path.stem,
            audio=str(path),
            duration=sizes[0],
            sample_rate=sizes[1],
            language=iso639_1(pair.src),
            text=sentence,
            translation=translation,
            translation_language=iso639_1(pair.tgt),
            speaker=row.get("client_id") or None,
            corpus=CORPUS,
            split=split,
        )


def prepare_covost2(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    languages: Sequence[str] | None = None,
    exclude_languages: Sequence[str] = (),
    *,
    target_languages: Sequence[str] | None = None,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write CoVoST 2 manifests, one per direction and split.

    Args:
        source: the folder of the ``covost_v2.<src>_<tgt>.tsv`` files and Common Voice clips (see
            the module docstring for where clips are looked for).
        out_dir: where the manifests go (created when missing).
        languages: source (spoken) languages to import, by ISO 639-1 or Common Voice code
            (``"zh"`` or ``"zh-CN"``); ``None`` imports every direction found.
        exclude_languages: spoken languages never to import; wins over ``languages``.
        target_languages: translation languages to import (``["en"]`` for X→En only); ``None``
            imports all.
        overwrite: rebuild manifests even when they are up to date.

    Returns:
        The manifest paths by ``"<src>-<tgt>_<split>"``, e.g. ``"ca-en_train"``.

    Raises:
        FileNotFoundError: if ``source`` does not exist.
        ValueError: if no direction matching the filters has clips, or a TSV without transcripts
            has no ``validated.tsv`` to take them from.
    """
    root = source_dir(source, CORPUS)
    out = Path(out_dir)
    selection = LanguageSelection.of(languages, exclude_languages)
    targets = LanguageSelection.of(target_languages)
    pairs = _find_pairs(root)
    written = {}
    for pair in pairs:
        if not (selection.selects(pair.src) and targets.selects(pair.tgt)):
            continue
        if pair.clips is None:
            log.warning(
                "covost2 %s_%s: no clips folder at any of %s; direction left out",
                pair.src,
                pair.tgt,
                ", ".join(map(str, pair.candidates)),
            )
            continue
        key = f"{iso639_1(pair.src)}-{iso639_1(pair.tgt)}"
        for split in pair.splits():
            written[f"{key}_{split}"] = write_split(
                out,
                CORPUS,
                key,
                split,
                pair.inputs(split),
                partial(_build, pair, split),
                overwrite=overwrite,
            )
        pair.release()
    return check_found(written, CORPUS, root, selection, [pair.src for pair in pairs], LAYOUT)
