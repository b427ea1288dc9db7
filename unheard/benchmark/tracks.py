"""The benchmark's tracks, read from their recipes in ``configs/<track>/``.

What a track trains with — its LLM, the seen and unseen languages, each stage's steps, learning
rate and every other setting — is what its YAML says (``stage1.yaml``, ``stage2.yaml``,
``text-stage.yaml``), and nowhere else: ``unheard benchmark`` runs those files with only its own
paths (corpus, output folders) and the systems' changes (`unheard.benchmark.systems`) on top, so
that a config's header command and the benchmark train the same thing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loaded on first use: `unheard --help` imports this module
    from unheard.recipes.train_config import TrainConfig

TRACKS = ("mini", "real-llm")
# a track's stages, each one YAML in its configs folder
STAGES = ("stage1", "stage2", "text-stage")


def configs_dir() -> Path:
    """The repository's ``configs/`` folder (the benchmark's recipes live there).

    Raises:
        FileNotFoundError: outside a clone of unheard (an installed package has no configs/).
    """
    here = Path(__file__).resolve().parents[2] / "configs"
    if not here.is_dir():
        raise FileNotFoundError(
            f"{here} not found: the benchmark reads its recipes from the repository's configs/; "
            "run it from a clone of unheard"
        )
    return here


@dataclass(frozen=True)
class Track:
    """One track of the benchmark and its recipes in ``configs/<folder>/``."""

    name: str  # as ``unheard benchmark`` names it: mini or real-llm
    folder: str  # its folder in configs/
    root: Path | None = None  # the configs folder (None: the repository's, `configs_dir`)

    def __post_init__(self) -> None:
        if self.name not in TRACKS:
            raise ValueError(f"track must be one of {TRACKS}, got {self.name!r}")

    def config_path(self, stage: str) -> Path:
        """``configs/<folder>/<stage>.yaml``.

        Raises:
            ValueError: for a stage not in `STAGES`.
        """
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
        return (self.root or configs_dir()) / self.folder / f"{stage}.yaml"

    def config(self, stage: str) -> TrainConfig:
        """The stage's training config as its YAML says (no overrides).

        Raises:
            ValueError: for an unknown stage or an invalid config.
            FileNotFoundError: if the YAML is missing.
        """
        return _load(self.config_path(stage))

    @property
    def seen(self) -> tuple[str, ...]:
        """The languages with paired training audio: stage 1's ``data.languages``.

        Raises:
            ValueError: if the config does not name them.
        """
        seen = self.config("stage1").data.languages
        if not seen:
            raise ValueError(
                f"{self.config_path('stage1')} must name the seen languages in data.languages"
            )
        return seen

    @property
    def unseen(self) -> tuple[str, ...]:
        """The zero-resource languages: stage 1's ``data.unseen_languages``."""
        return self.config("stage1").data.unseen_languages

    @property
    def llm(self) -> str:
        """The LLM the track's configs name (the mini track's benchmark trains its own)."""
        return self.config("stage1").model.llm

    def steps(self, stage: str) -> int:
        """The stage's ``run.max_steps``."""
        return self.config(stage).run.max_steps

    def lr(self, stage: str) -> float:
        """The stage's peak learning rate, ``optim.lr``."""
        return self.config(stage).optim.lr


def track(name: str, root: str | Path | None = None) -> Track:
    """The track called ``name`` (``mini``: ``configs/mini/``; ``real-llm``: ``configs/real/``).

    Args:
        name: ``mini`` or ``real-llm``.
        root: the folder holding the tracks' config folders (None: the repository's configs/).

    Raises:
        ValueError: for an unknown track.
    """
    return Track(name, "real" if name == "real-llm" else name, Path(root) if root else None)


@functools.cache
def _load(path: Path) -> TrainConfig:
    from unheard.recipes.train_config import load_train_config

    return load_train_config(path)
