"""Text-only parallel data of the synthetic corpus: ``OUT/text/<lang>_<split>.jsonl``.

One JSON object a line: ``{"id", "item", "language", "text", "translation", "kind"}``; ``text`` is
in ``language``, ``translation`` is its English rendering, ``item`` names the language-independent
item (the same in every language's file, so that a reader can pair languages or check a split).
Text-only training (text → translation, denoising) and the pretraining of a small LM read these.
The split is the corpus's: no test item is in any language's train or dev file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from unheard.files import write_atomic


@dataclass(frozen=True)
class ParallelText:
    """One line of a text file: an item written in one language, with its English."""

    id: str  # "<language>-<item>", the id of the same utterance in the manifests
    item: str  # the item, e.g. "date-2021-03-05"
    language: str  # e.g. "ca"
    text: str  # in `language`
    translation: str  # in English
    kind: str  # e.g. "date"


def parallel_text_path(out_dir: str | os.PathLike[str], language: str, split: str) -> Path:
    """Where the text of one language and split lies in a corpus folder."""
    return Path(out_dir) / "text" / f"{language}_{split}.jsonl"


def write_parallel_text(path: str | os.PathLike[str], rows: Iterable[ParallelText]) -> None:
    """Write a text file atomically, rows in order.

    Args:
        path: the file; missing folders are created.
        rows: the lines.

    Raises:
        OSError: if it cannot be written (an existing file is left as it was).
    """
    lines = (json.dumps(asdict(row), ensure_ascii=False) + "\n" for row in rows)
    write_atomic(Path(path), "".join(lines).encode("utf-8"))


def read_parallel_text(path: str | os.PathLike[str]) -> list[ParallelText]:
    """Read a text file.

    Args:
        path: the file.

    Returns:
        Its rows in order.

    Raises:
        FileNotFoundError: if it does not exist.
        ValueError: naming the line that is not a row of this format.
    """
    names = {f.name for f in fields(ParallelText)}
    rows = []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            try:
                record = json.loads(line)
                if not isinstance(record, dict) or set(record) != names:
                    raise ValueError(f"expected the fields {sorted(names)}")
                rows.append(ParallelText(**record))
            except ValueError as e:
                raise ValueError(f"{path}:{number}: {e}") from e
    return rows
