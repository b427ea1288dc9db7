"""Hypothesis files: what ``unheard decode`` writes and ``unheard evaluate`` reads.

JSON Lines, one utterance a line, with the fields of `Hypothesis`:
``{"id", "task", "language", "target_language", "hypothesis", "reference"}``; ``reference`` is
the transcript (ASR), the translation (ST) or the transcript's phones (``phon``), ``null`` when
the manifest has none. An ASR line decoded through phones (``unheard decode --via-phonemes``)
also holds ``phonemes``, the phones its text was written from; other lines leave it out, so
files written before it existed read as they are. A file is
appended to batch by batch, so a killed run leaves at most one half-written last line, which
`repair_and_read_done` cuts off before the run resumes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from unheard.data.prompts import TASKS

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Hypothesis:
    """One decoded utterance."""

    id: str  # the manifest's utterance id
    task: str  # "asr", "st" or "phon" (`unheard.data.prompts.TASKS`)
    language: str  # spoken language of the audio
    target_language: str  # language the answer should be in
    hypothesis: str  # what the model wrote
    reference: str | None = None  # transcript, translation or phones; None when unknown
    phonemes: str | None = None  # ASR through phones: the phones the text was written from

    def __post_init__(self) -> None:
        """Check the values, so that a bad line fails where it is read.

        Raises:
            ValueError: for a missing or mistyped field or an unknown task.
        """
        for name in ("id", "task", "language", "target_language"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty string, got {value!r}")
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if not isinstance(self.hypothesis, str):
            raise ValueError(f"hypothesis must be a string, got {self.hypothesis!r}")
        for name in ("reference", "phonemes"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a string or null, got {value!r}")

    @property
    def key(self) -> tuple[str, str]:
        """What identifies the line within a run: one answer per utterance and task."""
        return (self.id, self.task)


# the fields every line has (``reference`` may be null); `OPTIONAL_FIELDS` only where set
OPTIONAL_FIELDS = ("phonemes",)
FIELDS = tuple(f.name for f in dataclasses.fields(Hypothesis) if f.name not in OPTIONAL_FIELDS)


def _from_line(line: str, where: str) -> Hypothesis:
    try:
        record: Any = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where}: bad JSON: {e.msg} at column {e.colno}") from e
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(record).__name__}")
    missing = [f for f in FIELDS if f not in record and f != "reference"]
    if missing:
        raise ValueError(f"{where}: missing field(s) {', '.join(missing)}")
    try:
        # unknown fields are allowed: other tools may annotate hypothesis files
        return Hypothesis(**{f: record.get(f) for f in (*FIELDS, *OPTIONAL_FIELDS)})
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from e


def read_hypotheses(path: str | os.PathLike[str]) -> list[Hypothesis]:
    """Read every line of a hypothesis file.

    Args:
        path: a file written by ``unheard decode`` (or by anything writing the same fields).

    Returns:
        The hypotheses in file order.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: for the first bad line (file and line number named) or a repeated
            ``(id, task)``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"hypothesis file {path} does not exist")
    out: list[Hypothesis] = []
    seen: set[tuple[str, str]] = set()
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            record = _from_line(line, f"{path}:{number}")
            if record.key in seen:
                raise ValueError(f"{path}:{number}: {record.task} of {record.id!r} appears twice")
            seen.add(record.key)
            out.append(record)
    return out


def repair_and_read_done(path: str | os.PathLike[str]) -> set[tuple[str, str]]:
    """The ``(id, task)`` pairs an existing output file already holds, ready to append to.

    A last line without its newline is what a killed run leaves; it is cut off (with a log line)
    so that its utterance is decoded again and the next append starts on a fresh line.

    Args:
        path: the output file; a missing file holds nothing.

    Returns:
        The pairs already done.

    Raises:
        ValueError: for a bad complete line (that is not an interrupted write).
    """
    path = Path(path)
    if not path.is_file():
        return set()
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        log.warning("%s: dropping a half-written last line (%d bytes)", path, len(data) - keep)
        with open(path, "r+b") as f:
            f.truncate(keep)
    return {h.key for h in read_hypotheses(path)}


def append_hypotheses(file: IO[str], records: Iterable[Hypothesis]) -> None:
    """Append records to an open text file and flush, so a killed run loses no finished batch."""
    for record in records:
        fields = dataclasses.asdict(record)
        for name in OPTIONAL_FIELDS:  # left out when unset: such lines stay as they always were
            if fields[name] is None:
                del fields[name]
        file.write(json.dumps(fields, ensure_ascii=False) + "\n")
    file.flush()
    os.fsync(file.fileno())
