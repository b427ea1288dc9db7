"""Experiment trackers through HF Accelerate: TensorBoard by default; wandb, mlflow, ... by name.

``run.log_with`` names the trackers. Accelerate leaves out, without a word, a tracker whose
package is missing, so `require_trackers` checks first and names the package to install. The
whole `TrainConfig` reaches the trackers as flat hyper-parameters named as ``key=value``
overrides name them (``optim.lr``, ``model.lora.r``). TensorBoard writes its events to
``output_dir/tensorboard/<run.project_name>/`` (`tensorboard --logdir output_dir/tensorboard`),
the hyper-parameters to a dated folder beside them; wandb keeps its files in ``output_dir/wandb``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from accelerate import Accelerator
from accelerate.utils import ProjectConfiguration

from unheard.config import to_dict
from unheard.data.extras import MissingExtraError
from unheard.recipes.train_config import RunConfig, TrainConfig

TENSORBOARD_DIR = "tensorboard"  # under output_dir; accelerate's logging_dir

HyperParameter = bool | int | float | str | None


def require_trackers(names: tuple[str, ...]) -> None:
    """Check that the package of every tracker in ``names`` is installed.

    Raises:
        MissingExtraError: naming the first tracker whose package is missing and the
            ``pip install`` that brings it.
    """
    for name in names:
        if importlib.util.find_spec(name) is None:  # each tracker's module bears its name
            raise MissingExtraError(
                f"run.log_with names {name!r}, but its package is not installed: pip install "
                f"{name} (or leave it out of run.log_with)"
            )


def project_configuration(run_cfg: RunConfig) -> ProjectConfiguration:
    """Accelerate's project folders: the run's output directory, and TensorBoard's under it."""
    out = Path(run_cfg.output_dir)
    return ProjectConfiguration(project_dir=str(out), logging_dir=str(out / TENSORBOARD_DIR))


def start_trackers(accelerator: Accelerator, config: TrainConfig) -> None:
    """Open the run in every tracker of ``config.run.log_with`` (main process) with the config
    as hyper-parameters. Wandb and mlflow name the run after the output directory.

    Raises:
        RuntimeError: if accelerate refused a tracker whose package is installed (e.g. an
            unsupported version of it).
    """
    run_cfg = config.run
    refused = sorted(set(run_cfg.log_with) - {str(t) for t in accelerator.log_with})
    if refused:
        raise RuntimeError(
            f"accelerate cannot use the tracker(s) {refused} of run.log_with although their "
            f"packages are installed; check that their versions suit this accelerate"
        )
    out = Path(run_cfg.output_dir).resolve()
    accelerator.init_trackers(
        run_cfg.project_name,
        config=hyperparameters(config),
        init_kwargs={
            "wandb": {"dir": str(out), "name": out.name},
            "mlflow": {"run_name": out.name},
        },
    )


def hyperparameters(config: TrainConfig) -> dict[str, HyperParameter]:
    """The whole config, flat: nested keys joined by dots (``model.lora.r``); a list or an empty
    mapping as its JSON text, since trackers take scalars (TensorBoard's hparams nothing else).

    Returns:
        e.g. ``{"optim.lr": 0.003, "data.tasks": '["asr", "st"]', "run.init_from": None, ...}``.
    """
    return _flat(to_dict(config))


def _flat(mapping: dict[str, Any], prefix: str = "") -> dict[str, HyperParameter]:
    flat: dict[str, HyperParameter] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flat(value, f"{name}."))
        elif value is None or isinstance(value, bool | int | float | str):
            flat[name] = value
        else:
            flat[name] = json.dumps(value)
    return flat
