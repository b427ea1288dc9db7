"""What every corpus importer shares: manifest names, rebuilding only what changed, skip counts.

Manifest names. Each importer writes one manifest per spoken language (or language pair, for
speech translation) and split::

    OUT_DIR/<corpus>_<key>_<split>.jsonl.gz

with ``<key>`` the ISO 639-1 code of the spoken language (``fleurs_nl_test``) or the pair
``<source>-<target>`` (``covost2_ca-en_train``), and ``<split>`` the corpus's own split name
(``train``, ``dev``, ``test``, ``train-noisy``, …). Importers return ``{"<key>_<split>": path}``.

Rebuilding. Next to each manifest lies a small stamp, ``OUT_DIR/.<manifest name>.inputs.json``,
recording the size and modification time of the metadata files it was built from, the options
that shape it, and the modification time of each folder where an audio file was missing. A rerun
keeps a manifest, without reading any audio, when its stamp still matches; it rebuilds it when the
metadata changed, when a folder of missing audio changed (the audio may have been extracted
since), or when asked to.

Skips. A record whose audio file is missing or unreadable, or whose text is empty, is skipped and
counted by reason, never raised: one warning per manifest gives the counts and an example each.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from unheard.data.audio import AudioInfo, audio_info
from unheard.data.importers.languages import LanguageSelection
from unheard.data.manifest import Utterance, write_manifest
from unheard.files import write_json_atomic

log = logging.getLogger(__name__)

MANIFEST_SUFFIX = ".jsonl.gz"
# Bumped whenever an importer's output changes for the same input, so that old manifests rebuild.
RECIPE_VERSION = 1
# Threads reading audio headers: the work is file I/O, which releases the GIL.
PROBE_THREADS = 8
# Other toolkits' names of the split every unheard importer calls "dev".
SPLIT_ALIASES = {"validation": "dev", "valid": "dev", "val": "dev"}

# Sentences in Common Voice reach a few hundred characters; the csv module's default cap of 128 KiB
# per field is far above that, but a broken quote-free file can make one huge field.
csv.field_size_limit(1 << 24)


class Skips:
    """Records left out of a manifest, counted by reason, with the first example of each."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, str] = {}
        self.missing_dirs: set[Path] = set()  # folders where audio was missing

    def add(self, reason: str, example: str) -> None:
        """Count one skipped record.

        Args:
            reason: why, e.g. ``"empty text"``.
            example: what identifies the record: its audio path or id.
        """
        self.counts[reason] += 1
        self.examples.setdefault(reason, example)

    def add_missing_audio(self, path: Path) -> None:
        """Count a record skipped because its audio file does not exist, and watch its folder."""
        self.add("missing audio", str(path))
        self.missing_dirs.add(path.parent)

    @property
    def total(self) -> int:
        """How many records were skipped."""
        return sum(self.counts.values())

    def summary(self) -> str:
        """The counts in words: ``"2 missing audio (e.g. x.mp3), 1 empty text (e.g. id7)"``."""
        return ", ".join(
            f"{count} {reason} (e.g. {self.examples[reason]})"
            for reason, count in sorted(self.counts.items())
        )


def manifest_path(out_dir: Path, corpus: str, key: str, split: str) -> Path:
    """Where the manifest of one language (or pair) and split goes; see the module docstring."""
    return out_dir / f"{corpus}_{key}_{split}{MANIFEST_SUFFIX}"


def split_name(raw: str) -> str:
    """A split's name from another toolkit as manifest names use it: lower case, ``-`` for ``_``
    and odd characters, and ``dev`` for ``validation``, ``valid`` and ``val``.

    ``"validation"`` → ``"dev"``, ``"test_clean"`` → ``"test-clean"``, ``"Train"`` → ``"train"``.

    Raises:
        ValueError: if nothing of the name is left.
    """
    name = re.sub(r"[^a-z0-9.-]+", "-", raw.strip().lower().replace("_", "-")).strip("-.")
    if not name:
        raise ValueError(f"not a split name: {raw!r}")
    return SPLIT_ALIASES.get(name, name)


def _stamp_path(manifest: Path) -> Path:
    return manifest.with_name(f".{manifest.name}.inputs.json")


def _state(path: Path) -> list[int] | None:
    """A file's size and modification time, or None when it does not exist."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return [status.st_size, status.st_mtime_ns]


def _stamp(inputs: Iterable[Path], options: Mapping[str, object], watched: Iterable[Path]) -> dict:
    """What a manifest was built from, as JSON: metadata files, options, folders to watch."""
    return {
        "version": RECIPE_VERSION,
        "inputs": {str(path.absolute()): _state(path) for path in inputs},
        "options": dict(options),
        # A file appearing in a folder changes the folder's mtime: missing audio may be back.
        "watched": {str(path.absolute()): _state(path) for path in watched},
    }


def _is_current(manifest: Path, inputs: Sequence[Path], options: Mapping[str, object]) -> bool:
    """Whether a manifest exists and its stamp matches its inputs as they are now."""
    stamp_file = _stamp_path(manifest)
    if not manifest.is_file() or not stamp_file.is_file():
        return False
    try:
        stamp = json.loads(stamp_file.read_text(encoding="utf-8"))
        watched = [Path(path) for path in stamp.get("watched", {})]
    except (OSError, ValueError, AttributeError):
        return False  # a damaged stamp: rebuild
    return stamp == _stamp(inputs, options, watched)


def _write_stamp(manifest: Path, stamp: dict) -> None:
    """Write the stamp atomically, after the manifest: a killed run leaves no stamp, so reruns."""
    write_json_atomic(_stamp_path(manifest), stamp, sort_keys=True)


def write_split(
    out_dir: Path,
    corpus: str,
    key: str,
    split: str,
    inputs: Sequence[Path],
    build: Callable[[Skips], Iterable[Utterance]],
    options: Mapping[str, object] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write one manifest, unless it is already up to date with its inputs.

    Args:
        out_dir: the folder of the manifests.
        corpus: the corpus's name in manifest names, e.g. ``"covost2"``.
        key: the language (``"nl"``) or pair (``"ca-en"``).
        split: the split, e.g. ``"train"``.
        inputs: the metadata files the records come from; a change to any rebuilds the manifest.
        build: makes the records, counting the ones it leaves out in the `Skips` it is given.
        options: JSON-serializable importer options that change the records (a change rebuilds).
        overwrite: rebuild even when the manifest is up to date.

    Returns:
        The manifest's path.
    """
    options = dict(options or {})
    path = manifest_path(out_dir, corpus, key, split)
    if not overwrite and _is_current(path, inputs, options):
        log.info("%s is up to date with its inputs; kept (pass overwrite=True to rebuild)", path)
        return path
    skips = Skips()
    utterances = list(build(skips))
    write_manifest(path, utterances)
    _write_stamp(path, _stamp(inputs, options, sorted(skips.missing_dirs)))
    if skips.total:
        log.warning(
            "%s %s %s: skipped %d of %d records: %s",
            corpus,
            key,
            split,
            skips.total,
            skips.total + len(utterances),
            skips.summary(),
        )
    log.info("wrote %d utterances to %s", len(utterances), path)
    return path


def probe_audio(paths: Sequence[Path], skips: Skips) -> list[AudioInfo | None]:
    """Read the headers of many audio files in parallel, counting the ones that fail.

    Args:
        paths: the audio files.
        skips: where a missing file counts as ``"missing audio"`` and one that cannot be read as
            ``"unreadable audio"``.

    Returns:
        One `AudioInfo` per path, in order, or ``None`` where the file was skipped.
    """

    def probe(path: Path) -> AudioInfo | Exception:
        try:
            return audio_info(path)
        except (OSError, ValueError) as e:
            return e

    with ThreadPoolExecutor(max_workers=max(1, min(PROBE_THREADS, len(paths)))) as pool:
        results = list(pool.map(probe, paths))
    infos: list[AudioInfo | None] = []
    for path, result in zip(paths, results, strict=True):
        if isinstance(result, FileNotFoundError):
            skips.add_missing_audio(path)
            result = None
        elif isinstance(result, Exception):
            skips.add("unreadable audio", f"{path}: {result}")
            result = None
        infos.append(result)
    return infos


def audio_exists(path: Path, skips: Skips) -> bool:
    """Whether an audio file exists; counts it as ``"missing audio"`` when it does not."""
    if path.is_file():
        return True
    skips.add_missing_audio(path)
    return False


def read_tsv(path: Path, escapechar: str | None = None) -> list[dict[str, str]]:
    """Read a tab-separated file with a header line, with quoting off.

    Quoting must be off for corpus TSVs: their sentences hold unbalanced ``"`` characters, which a
    quoting reader would take for the start of a field running over many lines.

    Args:
        path: the file, UTF-8.
        escapechar: the character escaping tabs and itself, where the writer used one (CoVoST's
            TSVs are written with ``\\``); ``None`` takes every character literally.

    Returns:
        One dict per row, column name to value; missing trailing values are empty strings.
    """
    with open(path, encoding="utf-8", newline="") as file:
        reader = csv.DictReader(
            file, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar=escapechar, restval=""
        )
        return [dict(row) for row in reader]


def read_tsv_rows(path: Path) -> list[list[str]]:
    """Read a tab-separated file without a header line, quoting off; one list per row."""
    with open(path, encoding="utf-8", newline="") as file:
        return [row for row in csv.reader(file, delimiter="\t", quoting=csv.QUOTE_NONE) if row]


def source_dir(source: str | os.PathLike[str], corpus: str) -> Path:
    """The corpus folder as an absolute path, checked to exist.

    Raises:
        FileNotFoundError: if it does not exist.
        ValueError: if it is not a folder.
    """
    # Absolute: manifests store audio paths outside their folder as given, and a path relative to
    # the current directory would not resolve from anywhere else.
    path = Path(source).absolute()
    if not path.exists():
        raise FileNotFoundError(f"{corpus} source folder {path} does not exist")
    if not path.is_dir():
        raise ValueError(f"{corpus} source {path} is not a folder; give the corpus's root folder")
    return path


def check_found(
    written: dict[str, Path],
    corpus: str,
    source: Path,
    selection: LanguageSelection,
    found: Iterable[str],
    layout: str,
) -> dict[str, Path]:
    """Warn about requested languages the corpus lacks; fail when nothing was imported at all.

    Args:
        written: the manifests written, by ``<key>_<split>``.
        corpus: the corpus's name.
        source: the corpus folder.
        selection: the language filter.
        found: the corpus's own codes of every language found under ``source``.
        layout: the expected layout in words, for the error message.

    Returns:
        ``written``, sorted by key.

    Raises:
        ValueError: if nothing was written, saying what was found and what was expected.
    """
    found = sorted(set(found))
    missing = selection.unmatched(found)
    if missing:
        log.warning("%s: no data for language(s) %s under %s", corpus, ", ".join(missing), source)
    if not written:
        if not found:
            raise ValueError(f"found no {corpus} data under {source}; expected {layout}")
        wanted = "all" if selection.include is None else sorted(selection.include)
        raise ValueError(
            f"imported nothing from {source} with languages={wanted} "
            f"exclude_languages={sorted(selection.exclude)} (see any warnings above); "
            f"{corpus} languages found: {', '.join(found)}"
        )
    return dict(sorted(written.items()))
