"""Run logging: a JSONL log, TensorBoard scalars and a progress bar with ETA (main process)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

log = logging.getLogger("unheard.train")


class RunLogger:
    """Writes ``log.jsonl`` and ``tensorboard/`` under the run directory; silent off the main
    process.

    Args:
        out: the run directory.
        main: whether this is the main process.
        progress: show a progress bar.
        total_steps: the run's optimizer steps (for the bar's ETA).
    """

    def __init__(self, out: Path, main: bool, progress: bool, total_steps: int) -> None:
        self.main = main
        self.total_steps = total_steps
        self.progress = progress
        self.bar: tqdm | None = None
        self.writer = None
        self.jsonl = None
        self.started = time.time()
        if main:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(out / "tensorboard"))
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
        for key, value in values.items():
            self.writer.add_scalar(f"train/{key}", value, step)
        for i, w in enumerate(weights):
            self.writer.add_scalar(f"layer_weights/{i:02d}", w, step)
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{values['loss']:.3f}", lr=f"{values['lr']:.2e}")
        else:
            self.info(f"step {step}: loss {values['loss']:.4f} lr {values['lr']:.2e}")

    def log_validation(self, step: int, metrics: dict[str, Any]) -> None:
        """Validation results."""
        if not self.main:
            return
        self._write({"step": step, "kind": "validation", **metrics})
        for key, value in _flatten(metrics).items():
            self.writer.add_scalar(f"dev/{key}", value, step)
        shown = ", ".join(f"{k} {v:.3f}" for k, v in _flatten(metrics).items())
        self.info(f"validation at step {step}: {shown}")

    def close(self) -> None:
        """Flush and close everything."""
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()
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
