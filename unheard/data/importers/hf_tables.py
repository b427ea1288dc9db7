"""A local Hugging Face dataset as Arrow tables: finding its files, naming their splits, reading.

Layouts found, under a folder given or as files given (folders starting with ``.``, such as the
``.cache/`` that ``hf download --local-dir`` leaves, are not searched)::

    DIR/dataset_dict.json, DIR/<split>/data-00000-of-00001.arrow    DatasetDict.save_to_disk
    DIR/state.json, DIR/data-00000-of-00001.arrow                   Dataset.save_to_disk
    DIR/data/<split>-00000-of-00002.parquet                         the hub's parquet
    DIR/<config>/<split>/0000.parquet                               the hub's parquet conversion
    DIR/<split>.parquet, FILE.parquet, FILE.arrow                   any other Parquet or Arrow file

``save_to_disk`` folders are read with ``datasets.load_from_disk`` (memory-mapped), Parquet and
Arrow files with pyarrow; either way without ``datasets``' audio decoding, which needs torchcodec.

Splits. A ``save_to_disk`` DatasetDict names its splits. Elsewhere a file's split comes from its
name, ``<split>-NNNNN-of-NNNNN`` (``train-00000-of-00001.parquet``), a whole name that is a split
(``test.parquet``), or a name ending in one (the ``datasets`` cache's ``fleurs-test.arrow``); else
from the nearest folder named like a split (``ca_en/validation/0000.parquet``); else it is
``train``, as ``datasets`` names data without splits. Split names become manifest names through
`unheard.data.importers.recipe.split_name` (``validation`` → ``dev``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unheard.data.extras import require
from unheard.data.importers.recipe import split_name

EXTRA = "datasets"
PURPOSE = "reading a Hugging Face dataset"
# Words that name a split in file and folder names, first words of longer names included
# ("train-clean-100", "test.other"). Common Voice adds validated, invalidated and other.
SPLIT_WORDS = ("train", "validation", "valid", "val", "dev", "test", "validated", "invalidated")
DEFAULT_SPLIT = "train"
# Rows per batch read: bounds memory when a column holds audio (~100 kB a row).
BATCH_ROWS = 256
_SHARD = re.compile(r"^(?P<name>.+?)-\d{5}-of-\d{5}(?:-[0-9a-f]+)?$")  # train-00000-of-00002
_SPLIT_START = re.compile(rf"^(?:{'|'.join(SPLIT_WORDS)})(?:$|[-_.])")
_SPLIT_END = re.compile(rf"[-_.](?P<split>{'|'.join(SPLIT_WORDS)})$")
_FILE_SUFFIXES = (".parquet", ".arrow")


def split_of_file(path: Path, root: Path) -> str:
    """The split a Parquet or Arrow file holds, by its name or folders (see the module docstring).

    Args:
        path: the file.
        root: the folder searched; folders above it are not looked at.
    """
    stem = path.name.removesuffix(path.suffix)
    shard = _SHARD.match(stem)
    name = shard["name"] if shard else stem
    if _SPLIT_START.match(name.lower()):
        return split_name(name)
    end = _SPLIT_END.search(name.lower())
    if end:
        return split_name(end["split"])
    for folder in path.parents:
        if folder == root or root not in folder.parents:
            break
        if _SPLIT_START.match(folder.name.lower()):
            return split_name(folder.name)
    return DEFAULT_SPLIT


@dataclass(frozen=True)
class TablePart:
    """One table of a dataset: a Parquet or Arrow file, or one split of a ``save_to_disk`` folder."""

    name: str  # for messages: the file, or "FOLDER[split]"
    files: tuple[Path, ...]  # what it is read from; a change to any rebuilds its manifests
    folder: Path  # where the audio paths it holds, when relative, are looked for first
    split: str  # the split, from the layout
    columns: dict[str, Any]  # column name to its pyarrow type
    # columns ("audio.path" for a field) → RecordBatches of them, in order; a field is read as
    # its struct column holding that field alone, or all its fields
    _batches: Callable[[list[str]], Iterator[Any]]

    def read(self, columns: Sequence[str]) -> Iterator[dict[str, list]]:
        """The values of some columns, a batch of rows at a time.

        Args:
            columns: column names; ``"audio.path"`` reads one field of a struct column, without
                the rest (the audio's bytes are never read for it).

        Returns:
            An iterator of ``{column: values}``, each the same number of rows, in table order.
        """
        compute = require("pyarrow.compute", EXTRA, PURPOSE)
        for batch in self._batches(list(columns)):
            values = {}
            for column in columns:
                top, _, field = column.partition(".")
                array = batch.column(top)
                if field:
                    array = compute.struct_field(array, field)
                values[column] = array.to_pylist()
            yield values


def _parquet_part(path: Path, root: Path) -> TablePart:
    parquet = require("pyarrow.parquet", EXTRA, PURPOSE)
    schema = parquet.read_schema(path)

    def batches(columns: list[str]) -> Iterator[Any]:
        # A field of a struct ("audio.path") is read alone: Parquet stores fields apart, so the
        # audio's bytes are not even decompressed.
        yield from parquet.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=columns)

    columns = {field.name: field.type for field in schema}
    return TablePart(str(path), (path,), path.parent, split_of_file(path, root), columns, batches)


def _read_arrow(path: Path) -> Any:
    """An Arrow file as a memory-mapped table: an IPC stream, as ``datasets`` writes, or a file."""
    arrow = require("pyarrow", EXTRA, PURPOSE)
    try:
        with arrow.memory_map(str(path)) as source:
            return arrow.ipc.open_stream(source).read_all()
    except arrow.ArrowInvalid:
        with arrow.memory_map(str(path)) as source:
            return arrow.ipc.open_file(source).read_all()


def _table_batches(load: Callable[[], Any]) -> Callable[[list[str]], Iterator[Any]]:
    def batches(columns: list[str]) -> Iterator[Any]:
        # Memory-mapped: selecting a whole struct column copies nothing, its bytes included.
        tops = list(dict.fromkeys(column.split(".", 1)[0] for column in columns))
        yield from load().select(tops).to_batches(max_chunksize=BATCH_ROWS)

    return batches


def _arrow_part(path: Path, root: Path) -> TablePart:
    try:
        schema = _read_arrow(path).schema
    except Exception as e:  # pyarrow raises ArrowInvalid, OSError, …: all mean "not Arrow"
        raise ValueError(f"{path} is not an Arrow file: {e}") from e
    columns = {field.name: field.type for field in schema}
    batches = _table_batches(lambda: _read_arrow(path))
    return TablePart(str(path), (path,), path.parent, split_of_file(path, root), columns, batches)


def _saved_parts(folder: Path) -> list[TablePart]:
    """The splits of a ``save_to_disk`` folder (a DatasetDict, or a Dataset as one split)."""
    datasets = require("datasets", EXTRA, PURPOSE)
    try:
        loaded = datasets.load_from_disk(str(folder))
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read the save_to_disk folder {folder}: {e}") from e
    if isinstance(loaded, datasets.DatasetDict):
        named = {split: (folder / split, dataset) for split, dataset in loaded.items()}
    else:
        named = {loaded.split or DEFAULT_SPLIT: (folder, loaded)}
    parts = []
    for split, (split_folder, dataset) in sorted(named.items()):

        def load(path: Path = split_folder) -> Any:
            # format "arrow" hands out the memory-mapped table: no audio is decoded or copied.
            return datasets.load_from_disk(str(path)).with_format("arrow")[:]

        files = tuple(sorted(p for p in split_folder.iterdir() if p.is_file()))
        schema = dataset.data.schema
        columns = {field.name: field.type for field in schema}
        parts.append(
            TablePart(
                f"{folder}[{split}]",
                files,
                folder,
                split_name(str(split)),
                columns,
                _table_batches(load),
            )
        )
    return parts


def _is_saved(folder: Path) -> bool:
    return (folder / "dataset_dict.json").is_file() or (
        (folder / "state.json").is_file() and (folder / "dataset_info.json").is_file()
    )


def _scan(folder: Path, root: Path) -> list[TablePart]:
    if _is_saved(folder):
        return _saved_parts(folder)
    parts = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            parts += _scan(entry, root)
        elif entry.suffix == ".parquet":
            parts.append(_parquet_part(entry, root))
        elif entry.suffix == ".arrow":
            parts.append(_arrow_part(entry, root))
    return parts


def not_local(source: str) -> FileNotFoundError:
    """The error for a source that is not a local path: how to download it first, in one line."""
    local = re.sub(r"[^A-Za-z0-9._-]+", "-", source.rstrip("/").rsplit("/", 1)[-1]) or "dataset"
    return FileNotFoundError(
        f"{source} is not a local path, and unheard never downloads: if it is a Hugging Face hub "
        f'dataset, download it first, e.g. python -c "import datasets; '
        f"datasets.load_dataset('{source}').save_to_disk('{local}')\" (name a config after the "
        f"id where it has several), or hf download --repo-type dataset {source} --local-dir "
        f"{local} (huggingface-cli download in older huggingface_hub); then import {local}"
    )


def find_tables(sources: Sequence[Path]) -> list[TablePart]:
    """Every table of the datasets given, in a stable order.

    Args:
        sources: folders (searched as the module docstring says) and ``.parquet``/``.arrow`` files.

    Returns:
        One `TablePart` per file, or per split of a ``save_to_disk`` folder.

    Raises:
        FileNotFoundError: for a source that does not exist, saying how to download a hub
            dataset first.
        ValueError: for a file that is neither Parquet nor Arrow, or when nothing is found.
        MissingExtraError: if ``pyarrow`` (or ``datasets``, for ``save_to_disk`` folders) is
            not installed.
    """
    parts: list[TablePart] = []
    for source in sources:
        path = Path(source)
        if not path.exists():
            raise not_local(str(source))
        path = path.absolute()
        if path.is_dir():
            found = _scan(path, path)
            if not found:
                raise ValueError(
                    f"found no Hugging Face dataset under {path}: expected a save_to_disk folder "
                    f"(dataset_dict.json or state.json) or .parquet/.arrow files"
                )
            parts += found
        elif path.suffix in _FILE_SUFFIXES:
            # A file given alone: its split may come from its own folder's name, not from above.
            read = _parquet_part if path.suffix == ".parquet" else _arrow_part
            parts.append(read(path, path.parent.parent))
        else:
            raise ValueError(
                f"{path} is not a Hugging Face dataset: give a save_to_disk folder, a folder of "
                f"{' or '.join(_FILE_SUFFIXES)} files, or such files"
            )
    return parts
