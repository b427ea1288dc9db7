"""Run logging: a JSONL log, the experiment trackers' scalars (TensorBoard by default; see
`unheard.recipes.trackers`) and a progress bar with ETA, on the main process."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from tqdm.auto import tqdm

log = logging.getLogger("unheard.train")


class RunLogger:
    """Writes ``log.jsonl`` under the run directory and the same scalars to the accelerator's
    trackers (``accelerator.log``: ``train/<key>``, ``layer_weights/<i>`` one scalar per layer,
    ``dev/<metric>``); silent off the main process.

    Args:
        out: the run directory.
        accelerator: the run's accelerator, its trackers started (`start_trackers`).
        progress: show a progress bar.
        total_steps: the run's optimizer steps (for the bar's ETA).
    """

    def __init__(
        self, out: Path, accelerator: Accelerator, progress: bool, total_steps: int
    ) -> None:
        self.accelerator = accelerator
        self.main = accelerator.is_main_process
        self.total_steps = total_steps
        self.progress = progress
        self.bar: tqdm | None = None
        self.jsonl = None
        self.started = time.time()
        if self.main:
            self.jsonl = (out / "log.jsonl").open("a", encoding="utf-8")

    def start(self, step: int, description: str) -> None:
        """Announce the run and open the progress bar at ``step``."""
        self.info(description)
        if self.main and self.progress:
            # disable=None: no bar when stderr is not a terminal (CI logs), the log lines remain
            self.bar = tqdm(
                total=self.total_steps, initial=step, desc="train", unit="step", disable=None
            )

    def info(self, message: str) -> None:
        """A human-readable line (above the progress bar)."""
        if not self.main:
            return
        if self.bar is not None:
            self.bar.write(message)
        else:
            print(message, flush=True)
        log.info(message)

    def advance(self) -> None:
        """One optimizer step done."""
        if self.bar is not None:
            self.bar.update(1)

    def log(self, step: int, values: dict[str, float], layer_weights: torch.Tensor) -> None:
        """Training scalars of the last window of steps."""
        if not self.main:
            return
        weights = [round(w, 5) for w in layer_weights.detach().float().tolist()]
        self._write({"step": step, "kind": "train", **values, "layer_weights": weights})
        scalars = {f"train/{key}": value for key, value in values.items()}
        scalars.update({f"layer_weights/{i:02d}": w for i, w in enumerate(weights)})
        self.accelerator.log(scalars, step=step)
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{values['loss']:.3f}", lr=f"{values['lr']:.2e}")
        else:
            self.info(f"step {step}: loss {values['loss']:.4f} lr {values['lr']:.2e}")

    def log_validation(self, step: int, metrics: dict[str, Any]) -> None:
        """Validation results."""
        if not self.main:
            return
        self._write({"step": step, "kind": "validation", **metrics})
        self.accelerator.log({f"dev/{k}": v for k, v in _flatten(metrics).items()}, step=step)
        shown = ", ".join(f"{k} {v:.3f}" for k, v in _flatten(metrics).items())
        self.info(f"validation at step {step}: {shown}")

    def close(self) -> None:
        """Close the bar and the JSONL log (``accelerator.end_training()`` closes the trackers)."""
        if self.bar is not None:
            self.bar.close()
        if self.jsonl is not None:
            self.jsonl.close()

    def _write(self, record: dict[str, Any]) -> None:
        record["time_s"] = round(time.time() - self.started, 3)
        self.jsonl.write(json.dumps(record) + "\n")
        self.jsonl.flush()


def _flatten(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    flat = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}/"))
        elif isinstance(value, int | float):
            flat[f"{prefix}{key}"] = float(value)
    return flat
