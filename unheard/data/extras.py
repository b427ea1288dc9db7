"""Optional dependencies: the packages behind ``pip install 'unheard[datasets]'`` and ``[lhotse]``.

Reading a local Hugging Face dataset needs ``pyarrow`` (and ``datasets`` for ``save_to_disk``
folders); importing or exporting lhotse CutSets needs ``lhotse``. Neither is needed for anything
else, so they are extras, imported where they are used through `require`, which turns a missing
package into a one-line message naming the extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtraError(ImportError, RuntimeError):
    """An optional package is not installed. An ImportError for Python callers; a RuntimeError,
    so that the command line reports it in one line like any other failure."""


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import an optional package, or say which extra installs it.

    Args:
        module: the module to import, e.g. ``"lhotse"`` or ``"pyarrow.parquet"``.
        extra: the unheard extra that installs it, e.g. ``"lhotse"``.
        purpose: what needs it, in words, e.g. ``"reading lhotse CutSets"``.

    Returns:
        The imported module.

    Raises:
        MissingExtraError: if it cannot be imported, naming ``pip install 'unheard[<extra>]'``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingExtraError(
            f"{purpose} needs the {module.split('.')[0]!r} package, which is not installed: "
            f"pip install 'unheard[{extra}]'"
        ) from e
