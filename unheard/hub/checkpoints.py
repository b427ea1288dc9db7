"""Checkpoints by name: a local folder, or a Hugging Face hub id (``USER/NAME``) fetched into the
hub's own cache.

A published checkpoint is the folder ``unheard export`` writes: ``unheard.json``,
``trained.safetensors``, a model card, and any small frozen model it ships (``./llm``). Only
those files are fetched — the config first, to learn which ``./`` folders it names — through
``huggingface_hub.snapshot_download``, which honours ``HF_HUB_OFFLINE``, ``HF_HUB_CACHE`` and the
user's token. The snapshot folder it returns is an ordinary checkpoint folder, so ``./llm`` in
its config resolves inside the snapshot as in any copied folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

# the checkpoint's files (unheard.checkpoint's CONFIG_NAME and WEIGHTS_NAME: the hub layer sits
# below it, and a test keeps the two equal)
CONFIG_FILE = "unheard.json"
WEIGHTS_FILE = "trained.safetensors"
CARD_FILE = "README.md"
_PATH_PREFIXES = ("/", "./", "../", "~", ".\\", "..\\")


def checkpoint_folder(name: str | os.PathLike[str], cache_dir: str | Path | None = None) -> Path:
    """The local folder of checkpoint ``name``: a directory as it is, or a hub model's snapshot.

    Args:
        name: a checkpoint folder, or the hub id of an exported checkpoint (``USER/NAME``).
        cache_dir: the hub cache (default: ``HF_HUB_CACHE``, as huggingface_hub's).

    Returns:
        ``name`` itself when it exists on disk, else the snapshot folder in the hub cache
        holding the checkpoint's config, weights, model card and shipped ``./`` models.

    Raises:
        FileNotFoundError: ``name`` is not on disk and, as a hub id, not in the cache while the
            hub is off (``HF_HUB_OFFLINE``) or unreachable, not on the hub, or not a checkpoint.
        ValueError: ``name`` is neither on disk nor a valid hub id.
    """
    path = Path(name).expanduser()
    if path.exists():
        return path
    name = os.fspath(name)
    if not is_hub_id(name):
        raise ValueError(
            f"checkpoint {name!r} is neither a local folder nor a Hugging Face hub id (USER/NAME)"
        )
    snapshot = _download(name, [CONFIG_FILE], cache_dir)
    config = snapshot / CONFIG_FILE
    if not config.is_file():
        raise FileNotFoundError(
            f"hub model {name!r} is not an unheard checkpoint (no {CONFIG_FILE})"
        )
    shipped = [f"{folder}/*" for folder in shipped_folders(json.loads(config.read_text()))]
    snapshot = _download(name, [CONFIG_FILE, WEIGHTS_FILE, CARD_FILE, *shipped], cache_dir)
    if not (snapshot / WEIGHTS_FILE).is_file():
        raise FileNotFoundError(
            f"the cached copy of hub model {name!r} has no {WEIGHTS_FILE}: "
            f"fetch it whole with `hf download {name}`"
        )
    return snapshot


def is_hub_id(name: str) -> bool:
    """Whether ``name`` has the form of a hub model id (``USER/NAME`` or ``NAME``) rather than
    of a path (``./x``, ``/x``, ``~/x``, ``a/b/c``)."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    if name.startswith(_PATH_PREFIXES):
        return False
    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def shipped_folders(meta: dict) -> list[str]:
    """The folders a checkpoint config names as ``./folder`` for its encoder or LLM (models
    shipped inside the checkpoint), as paths relative to it.

    Args:
        meta: the content of ``unheard.json``.
    """
    folders = []
    for key in ("encoder", "llm"):
        value = meta.get("model", {}).get(key)
        if isinstance(value, str) and value.startswith("./"):
            folder = value[2:].strip("/")
            if folder and folder not in folders:
                folders.append(folder)
    return folders


def _download(name: str, patterns: list[str], cache_dir: str | Path | None) -> Path:
    # snapshot_download's errors are long and several lines: one line each, naming the way out
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"checkpoint {name!r} is not a local folder, and the Hugging Face hub model {name!r}"
    try:
        return Path(snapshot_download(name, allow_patterns=patterns, cache_dir=cache_dir))
    except HFValidationError as e:
        raise ValueError(
            f"checkpoint {name!r} is neither a local folder nor a Hugging Face hub id (USER/NAME)"
        ) from e
    except GatedRepoError as e:
        raise FileNotFoundError(
            f"{where} is gated: accept its terms on the hub and log in with `hf auth login`"
        ) from e
    except (RepositoryNotFoundError, RevisionNotFoundError) as e:
        raise FileNotFoundError(
            f"{where} does not exist (or is private: log in with `hf auth login`)"
        ) from e
    except LocalEntryNotFoundError as e:  # offline or unreachable, and not (wholly) cached
        cache = cache_dir or constants.HF_HUB_CACHE
        if constants.is_offline_mode():
            reason = f"is not in the local cache ({cache}) and HF_HUB_OFFLINE is set"
        else:
            reason = f"could not be reached and is not in the local cache ({cache})"
        raise FileNotFoundError(
            f"{where} {reason}: fetch it where the hub is reachable with `hf download {name}`"
        ) from e
    except HfHubHTTPError as e:  # refused (401, 403) or failing (5xx)
        first_line = (str(e).splitlines() or [""])[0][:160]
        raise FileNotFoundError(f"{where} could not be fetched: {first_line}") from e
