"""Writing files and folders so that no reader ever sees half of one.

Everything unheard writes for others to read — manifests, hypotheses, checkpoints, stamps, audio
made once, exported models — goes through a temporary sibling and one ``os.replace``: a reader
sees the old version or the new one, and a writer killed midway leaves the old one (plus, at
worst, a hidden ``.<name>.*.tmp`` sibling). One helper means one permission rule: new files get
the usual ``0o666 & ~umask`` and folders ``0o777 & ~umask``, as ``open`` and ``mkdir`` would give
them (``tempfile`` makes them private, which hid shared corpora from other users).

Written by hand because the standard library has no atomic write, and the packages that do
(``atomicwrites``: archived; ``safer``) neither create folders nor handle writers that want a path
(``soundfile``, ``safetensors``) rather than an open file.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

TMP_SUFFIX = ".tmp"  # temporary siblings are ".<name>.<random>.tmp"


def _umask() -> int:
    """The process's umask (reading it means setting it: put it back at once)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, durable: bool = False) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed over ``path`` when the block ends.

    For writers that take a path (``soundfile.write``, ``safetensors.torch.save_file``). Missing
    parent folders are created. If the block raises, the temporary file is removed and ``path``
    keeps its old content.

    Args:
        path: the file to (re)place.
        durable: fsync the data before the rename (a crash of the machine, not just of the
            process, then leaves the old or the new file).

    Yields:
        The temporary file's path (it exists, empty).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    os.close(descriptor)
    temporary = Path(name)
    try:
        yield temporary
        if durable:
            with open(temporary, "rb") as file:
                os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_open(
    path: str | os.PathLike[str], mode: str = "w", *, durable: bool = False
) -> Iterator[IO[Any]]:
    """``open(path, mode)`` for writing, replacing ``path`` only when the block ends without error.

    Args:
        path: the file to (re)place.
        mode: ``"w"`` (UTF-8 text, ``\\n`` line ends) or ``"wb"``.
        durable: fsync before the rename (see `atomic_path`).

    Yields:
        The open file.

    Raises:
        ValueError: for another mode (appending cannot be atomic).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes a whole file: mode 'w' or 'wb', not {mode!r}")
    with atomic_path(path, durable=durable) as temporary:
        if mode == "w":
            with open(temporary, "w", encoding="utf-8", newline="\n") as file:
                yield file
        else:
            with open(temporary, "wb") as file:
                yield file


def write_atomic(path: str | os.PathLike[str], data: bytes | str, *, durable: bool = False) -> None:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` atomically; see `atomic_path`."""
    with atomic_open(path, "wb" if isinstance(data, bytes) else "w", durable=durable) as file:
        file.write(data)


def write_json_atomic(path: str | os.PathLike[str], value: Any, **dump: Any) -> None:
    """Write ``value`` as JSON (``json.dump`` keyword arguments in ``dump``) atomically."""
    with atomic_open(path, "w") as file:
        json.dump(value, file, **dump)


@contextmanager
def atomic_directory(path: str | os.PathLike[str], *, replace: bool = False) -> Iterator[Path]:
    """A temporary folder beside ``path`` to fill; renamed to ``path`` when the block ends.

    Args:
        path: the folder to create.
        replace: an existing ``path`` is deleted just before the rename (a reader may then, for
            an instant, find no folder, never half of one); otherwise it must not exist.

    Yields:
        The temporary folder (empty).

    Raises:
        FileExistsError: ``path`` exists and ``replace`` is false (raised at the rename; the
            temporary folder is removed).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX))
    try:
        yield temporary
        temporary.chmod(0o777 & ~_umask())
        if path.exists():
            if not replace:
                raise FileExistsError(f"{path} exists; not replacing it")
            shutil.rmtree(path)
        os.replace(temporary, path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def remove_leftovers(folder: str | os.PathLike[str], name: str = "*") -> int:
    """Delete the temporary siblings a killed writer left in ``folder`` (for ``name``).

    Returns:
        How many were removed.
    """
    removed = 0
    for leftover in Path(folder).glob(f".{name}.*{TMP_SUFFIX}"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
        removed += 1
    return removed
