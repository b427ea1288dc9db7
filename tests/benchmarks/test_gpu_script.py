"""benchmarks/gpu.py's dry run: every part's code path at small shapes on the CPU."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gpu_acceptance_dry_run_runs_every_part(tmp_path):
    out = tmp_path / "gpu.json"
    command = [sys.executable, "benchmarks/gpu.py", "--device", "cpu", "--quick", "--steps", "2",
               "--serve-seconds", "1", "--out", str(out)]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert sorted(result["parts"]) == list("abcde") and not result["errors"]
    assert all(result["checks"].values()) and len(result["checks"]) == 8
    a = result["parts"]["a"]
    assert a["killed_at_step"] < 30 and a["max_abs_diff"] == 0.0  # the CPU is deterministic
    xxl, gemma = result["parts"]["c"]["mt0-xxl"], result["parts"]["c"]["gemma3-1b"]
    assert [r["batch"] for r in xxl["rows"]] == [2, 2]  # the simulated OOM halved 4 -> 2
    assert [r["gradient_checkpointing"] for r in gemma["rows"]] == [False, True]
    row = result["parts"]["b"]["mt0-xl"]["rows"][0]
    # the formula leaves out attention scores, which torch's counter includes
    assert 1.0 < row["counted_over_formula"] < 1.5
    assert row["mfu"] is None and row["peak_gib"] is None  # CUDA only
    serve = result["parts"]["e"]
    assert serve["batching on"]["mean_batch"] > serve["batching off"]["mean_batch"] == 1.0
