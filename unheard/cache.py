"""unheard's on-disk cache: models built once (tiny models, converted packaged weights)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch


def cache_root(cache: str | Path | None = None) -> Path:
    """The cache folder: ``cache``, else ``$UNHEARD_CACHE``, else ``~/.cache/unheard``."""
    return Path(cache or os.environ.get("UNHEARD_CACHE") or Path.home() / ".cache" / "unheard")


def build_once(target: Path, build: Callable[[Path], None]) -> Path:
    """Run ``build(folder)`` into a temporary sibling of ``target`` and rename it into place.

    Concurrent processes (distributed ranks, parallel tests) never see half a folder: the
    rename is atomic, and a process that loses the race discards its copy and uses the
    winner's. A build that fails leaves nothing behind.

    Returns:
        ``target``.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    try:
        # real tensors even when called inside `with torch.device("meta")` (unheard plan); and
        # the caller's random state untouched: a tiny model built on first use (it seeds and
        # draws) must not change how a run that asked for it initialises its own parts
        with torch.device("cpu"), torch.random.fork_rng(devices=[]):
            build(tmp)
        tmp.chmod(0o755)  # mkdtemp's 0700 would hide a shared cache from other users
        try:
            os.rename(tmp, target)
        except OSError:  # another process won the race: use its copy
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
