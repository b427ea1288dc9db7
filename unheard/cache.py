"""unheard's on-disk cache: models built once (tiny models, converted packaged weights)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch

from unheard.files import atomic_directory


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
    try:
        # real tensors even when called inside `with torch.device("meta")` (unheard plan); and
        # the caller's random state untouched: a tiny model built on first use (it seeds and
        # draws) must not change how a run that asked for it initialises its own parts
        with (
            torch.device("cpu"),
            torch.random.fork_rng(devices=[]),
            atomic_directory(target) as tmp,
        ):
            build(tmp)
    except OSError:
        if not target.is_dir():
            raise
        # another process won the race (the rename found its folder): use its copy
    return target
