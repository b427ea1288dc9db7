"""Utterance records and the JSON Lines manifests that hold them.

Every corpus becomes the same manifest: one JSON object a line (gzipped when the file name ends in
``.gz``), one utterance each, with the fields of `Utterance`; absent fields are ``null``. The
``audio`` path of a record is stored relative to the manifest's folder when the audio lies under
it, so that a corpus folder can be moved or copied as a whole, and is made absolute on reading.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import math
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from unheard.files import atomic_open

# Fields a record must carry; all others may be null or absent.
REQUIRED_FIELDS = ("id", "audio", "duration", "language")


@dataclass(frozen=True, kw_only=True)
class Utterance:
    """One utterance: a stretch of an audio file with its transcript and translation.

    Fields are keyword-only, so that records read the same wherever they are made.
    """

    id: str  # unique within a corpus, e.g. "es-0007"
    audio: str  # path of the audio file (absolute after `read_manifest`)
    offset: float = 0.0  # seconds from the start of the file to the utterance
    duration: float  # seconds of audio from `offset`
    sample_rate: int | None = None  # the file's sampling rate in Hz, when known
    language: str  # spoken language, ISO 639-1 where one exists ("es")
    text: str | None = None  # transcript in `language`
    translation: str | None = None  # translation of the transcript
    translation_language: str | None = None  # language of `translation` ("en")
    speaker: str | None = None  # speaker (or synthetic voice) id
    corpus: str | None = None  # source corpus, e.g. "covost2"
    split: str | None = None  # "train", "dev", "test", …

    def __post_init__(self) -> None:
        """Check the values, so that a bad record fails where it is made.

        Raises:
            ValueError: if a field has the wrong type, or a time is negative or not finite.
        """
        for name in ("id", "audio", "language"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty string, got {value!r}")
        for name in ("text", "translation", "translation_language", "speaker", "corpus", "split"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a string or null, got {value!r}")
        for name in ("offset", "duration"):
            value = getattr(self, name)
            # bool is an int subclass; true/false in a manifest is a mistake, not a time.
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number of seconds, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite, non-negative number, got {value!r}")
        rate = self.sample_rate
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0):
            raise ValueError(f"sample_rate must be a positive integer or null, got {rate!r}")


FIELDS = tuple(field.name for field in dataclasses.fields(Utterance))


def _utterance_from_record(record: Any, folder: Path) -> Utterance:
    """Build an utterance from one decoded JSON line.

    Args:
        record: the decoded JSON value of the line.
        folder: the manifest's folder, against which relative audio paths are resolved.

    Returns:
        The utterance, with an absolute ``audio`` path.

    Raises:
        ValueError: naming the problem (not an object, missing or unknown field, bad value).
    """
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    missing = [name for name in REQUIRED_FIELDS if record.get(name) is None]
    if missing:
        raise ValueError(f"missing required field(s) {', '.join(missing)}")
    unknown = sorted(set(record) - set(FIELDS))
    if unknown:
        raise ValueError(
            f"unknown field(s) {', '.join(unknown)}; known fields: {', '.join(FIELDS)}"
        )
    values = {name: value for name, value in record.items() if value is not None}
    audio = values["audio"]
    if isinstance(audio, str) and audio and not os.path.isabs(audio):
        values["audio"] = os.path.normpath(folder / audio)
    return Utterance(**values)


def _open_binary(path: Path) -> IO[bytes]:
    """Open a manifest for reading bytes, through gzip when its name ends in ``.gz``."""
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


@dataclass(frozen=True)
class BadRecord:
    """A record that was skipped, and why."""

    id: str | None  # the record's id, when it could be read
    source: str  # "manifest:line", or the audio path for a record whose audio failed
    reason: str  # what is wrong, e.g. "audio file missing"


def read_manifest(path: str | os.PathLike[str]) -> list[Utterance]:
    """Read and validate every utterance of a JSON Lines manifest.

    Args:
        path: the manifest (``.jsonl``, or ``.jsonl.gz`` for gzip). Blank lines are ignored.

    Returns:
        The utterances in file order; relative ``audio`` paths are resolved against the
        manifest's folder.

    Raises:
        FileNotFoundError: if the manifest does not exist.
        ValueError: for the first bad line, naming the file, the line number and the problem
            (bad JSON, missing required field, unknown field, negative duration, …).
    """
    utterances = []
    for item in _parse(Path(path)):
        if isinstance(item, BadRecord):
            raise ValueError(f"{item.source}: {item.reason}")
        utterances.append(item)
    return utterances


def read_manifest_lenient(
    path: str | os.PathLike[str],
) -> tuple[list[Utterance], list[BadRecord]]:
    """Read a manifest, skipping bad lines instead of raising.

    Args:
        path: the manifest.

    Returns:
        The good utterances in file order, and one `BadRecord` per bad line (its id when the
        line still names one, e.g. a record with text that is not UTF-8).

    Raises:
        FileNotFoundError: if the manifest does not exist.
        ValueError: if the file is a broken gzip stream (no line can be trusted).
    """
    good, bad = [], []
    for item in _parse(Path(path)):
        (bad if isinstance(item, BadRecord) else good).append(item)
    return good, bad


def _parse(path: Path) -> Iterator[Utterance | BadRecord]:
    if not path.is_file():
        raise FileNotFoundError(f"manifest {path} does not exist")
    folder = path.absolute().parent
    try:
        with _open_binary(path) as lines:
            # Lines are decoded one by one (not through a text wrapper, which decodes in chunks)
            # so that a bad byte is reported on its own line.
            for number, raw in enumerate(lines, start=1):
                if raw.strip():
                    yield _parse_line(raw, folder, f"{path}:{number}")
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise ValueError(f"{path}: broken gzip file: {e}") from e


def _parse_line(raw: bytes, folder: Path, source: str) -> Utterance | BadRecord:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        # name the record if the rest of the line still parses
        return BadRecord(_guess_id(raw), source, f"not UTF-8: {e}")
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        return BadRecord(None, source, f"bad JSON: {e.msg} at column {e.colno}")
    try:
        return _utterance_from_record(record, folder)
    except (TypeError, ValueError) as e:
        return BadRecord(_guess_id(raw), source, str(e))


def _guess_id(raw: bytes) -> str | None:
    try:
        record = json.loads(raw.decode("utf-8", errors="replace"))
    except json.JSONDecodeError:
        return None
    value = record.get("id") if isinstance(record, dict) else None
    return value if isinstance(value, str) else None


def _stored_audio_path(audio: str, folder: Path) -> str:
    """The ``audio`` value to write: relative to the manifest's folder when the file is under it."""
    absolute = Path(os.path.abspath(audio))
    if absolute.is_relative_to(folder):
        # as_posix keeps manifests portable between operating systems.
        return absolute.relative_to(folder).as_posix()
    return audio


def write_manifest(path: str | os.PathLike[str], utterances: Iterable[Utterance]) -> None:
    """Write utterances as a JSON Lines manifest, atomically.

    The file is written to a temporary name in the same folder and then renamed over ``path``,
    so that a reader never sees half a manifest, even if the writer is killed.

    Args:
        path: the manifest to write; gzip-compressed when the name ends in ``.gz``. Missing
            parent folders are created.
        utterances: the records, written in order. Relative ``audio`` paths are taken relative to
            the current directory; audio under the manifest's folder is stored relative to it.

    Raises:
        OSError: if the file cannot be written (the old manifest, if any, is left as it was).
    """
    path = Path(path)
    folder = path.absolute().parent
    with atomic_open(path, "wb", durable=True) as raw:
        # mtime=0 and no file name in the gzip header: the same records give the same bytes.
        binary = (
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
            if path.name.endswith(".gz")
            else raw
        )
        with io.TextIOWrapper(binary, encoding="utf-8", newline="\n") as text:
            for utterance in utterances:
                record = dataclasses.asdict(utterance)
                record["audio"] = _stored_audio_path(utterance.audio, folder)
                text.write(json.dumps(record, ensure_ascii=False) + "\n")
            text.flush()
            if binary is not raw:
                binary.close()  # writes the gzip trailer before the file is closed
