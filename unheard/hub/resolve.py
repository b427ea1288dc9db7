"""Turn a model name into something ``from_pretrained`` loads, with or without a model hub.

``resolve(name)`` tries, in order:

1. ``unheard:<name>``: a model unheard ships in its package (``unheard.hub.packaged.SHIPPED``:
   ``unheard:mini-mt5``, the mini track's mT5 in ``unheard/assets/mini/mt5``), never looked up
   on the hub. A scheme rather than ``USER/NAME``, so that it cannot be taken for a hub id.
2. A local directory: returned as is.
3. The Hugging Face hub: the name is returned as is when the model is in the local HF cache or
   the hub answers for it. Asking costs one metadata request with a short timeout, and is asked
   once per name and process: letting ``from_pretrained`` find out instead costs ~30 s on a
   machine without a hub, where huggingface_hub retries five times with back-off.
4. A packaged copy (``unheard.hub.packaged``): ``openai/whisper-base`` and ``google/gemma-3-270m``,
   or their ``offline:`` aliases, which skip step 3. Converted once into
   ``$UNHEARD_CACHE/hub/<name>`` (default ``~/.cache/unheard/hub``): about 15 s for Whisper base
   and about a minute for Gemma on two cores; later resolves return the directory at once.

Anything else raises an ``OSError`` naming what was tried and why each failed. ``tiny:<kind>``
names (random test models) are built above this layer, by ``unheard.build.resolve_model``: they
need the data package's prompts for their tokenizer, and the hub sits below data.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from unheard.cache import build_once, cache_root
from unheard.hub.packaged import (
    INSTALL_HINT,
    OFFLINE_SCHEME,
    PACKAGED,
    SHIPPED_SCHEME,
    packaged_model,
    shipped_model,
)

log = logging.getLogger(__name__)

HUB_TIMEOUT_S = 5.0  # one metadata request; a reachable hub answers in well under a second


def resolve(name: str, cache: str | Path | None = None) -> str:
    """A local path or hub id that ``from_pretrained`` can load for ``name``.

    Args:
        name: a local directory, a hub id, ``offline:whisper-base`` / ``offline:gemma-3-270m``
            (the packaged copies), or ``unheard:mini-mt5`` (shipped in unheard).
        cache: the unheard cache root (default: see `cache_root`).

    Returns:
        ``name`` itself for a local directory or a hub model that can be downloaded (or is in
        the HF cache); the package's folder for a shipped model; otherwise the directory of the
        converted packaged copy.

    Raises:
        OSError: when ``name`` is not a local directory, not available from the hub and not
            packaged, or packaged but its packages are not installed (the message says which
            to install), or ``unheard:`` but not a model unheard ships.
    """
    if name.startswith(SHIPPED_SCHEME):
        return str(shipped_model(name))
    if Path(name).expanduser().is_dir():
        return name
    packaged = packaged_model(name)
    if name.startswith(OFFLINE_SCHEME):
        hub = f"not asked ({OFFLINE_SCHEME} names only the packaged copy)"
    else:
        hub = hub_unavailable(name)
        if hub is None:
            return name
    if packaged is None:
        known = ", ".join(f"{m.hub_id} ({m.alias})" for m in PACKAGED)
        raise OSError(
            f"cannot load model {name!r}: it is not a local directory; Hugging Face hub: {hub}; "
            f"and unheard has no packaged copy of it (packaged: {known})"
        )
    try:
        return str(build_packaged(name, cache))
    except ModuleNotFoundError as e:
        raise OSError(
            f"cannot load model {name!r}: it is not a local directory; Hugging Face hub: {hub}; "
            f"and {e}"
        ) from e


def build_packaged(name: str, cache: str | Path | None = None) -> Path:
    """The converted directory of a packaged model, converting it on first use.

    The conversion is written to a temporary folder beside the target and renamed into place,
    so concurrent processes (e.g. ranks) never see half a model; the loser of a race uses the
    winner's copy.

    Args:
        name: the model's hub id or ``offline:`` alias.
        cache: the unheard cache root.

    Returns:
        ``<cache>/hub/<directory>``.

    Raises:
        KeyError: if ``name`` is not packaged.
        ModuleNotFoundError: if it is not converted yet and its packages are not installed.
    """
    model = packaged_model(name)
    if model is None:
        raise KeyError(f"{name!r} is not a packaged model")
    target = cache_root(cache) / "hub" / model.directory
    if (target / "config.json").is_file():
        return target
    missing = model.missing()
    if missing:
        raise ModuleNotFoundError(
            f"the packaged copy of {model.hub_id} needs {', '.join(missing)}: {INSTALL_HINT}"
        )
    log.warning("converting the packaged copy of %s into %s (once)", model.hub_id, target)
    return build_once(target, model.build)


def hub_unavailable(name: str) -> str | None:
    """Why ``name`` cannot be loaded from the Hugging Face hub, or None when it can.

    It can when its files are in the local HF cache, or when the hub answers for it (and, for a
    gated model, grants access with the current token). ``HF_HUB_OFFLINE=1`` is respected.

    Args:
        name: a hub id.

    Returns:
        None, or a short reason for an error message.
    """
    from huggingface_hub import constants, snapshot_download

    try:
        snapshot_download(name, local_files_only=True)
        return None
    except Exception:  # not cached, or not a valid repo id: ask the hub below
        pass
    if constants.is_offline_mode():
        return "not in the local cache, and HF_HUB_OFFLINE is set"
    return _ask_hub(name)


@functools.cache
def _ask_hub(name: str) -> str | None:
    from huggingface_hub import auth_check, model_info
    from huggingface_hub.errors import GatedRepoError, HFValidationError, RepositoryNotFoundError

    try:
        if model_info(name, timeout=HUB_TIMEOUT_S).gated:
            auth_check(name)
    except GatedRepoError:
        return "gated, and the current token has no access"
    except RepositoryNotFoundError:
        return "no such model (or it is private)"
    except HFValidationError:
        return "not a valid hub id"
    except Exception as e:  # connection errors, invalid ids, HTTP errors: all mean "not there"
        first_line = (str(e).splitlines() or [""])[0][:120]
        return f"unreachable ({e.__class__.__name__}: {first_line})"
    return None
