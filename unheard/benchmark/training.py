"""The benchmark's training: each system's stages as ``unheard train`` subprocesses on the track's
configs (`tracks`), with the system's changes (`systems`) and this run's paths on top; each stage
skipped when it finished, resumed from its checkpoints when it was cut, and refused when its
folder holds a run of other settings."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from unheard.benchmark.seeds import seed_name
from unheard.benchmark.systems import System, system
from unheard.config import load_yaml
from unheard.files import write_atomic

if TYPE_CHECKING:
    from unheard.benchmark.options import BenchmarkOptions
    from unheard.benchmark.tracks import Track


class SystemTraining:
    """The training steps of `unheard.benchmark.run.Benchmark` (its base class), which gives
    them its paths, options and timer."""

    if TYPE_CHECKING:  # what `Benchmark` provides
        out: Path
        options: BenchmarkOptions
        track: Track
        corpus: Path
        seen: tuple[str, ...]
        unseen: tuple[str, ...]
        llm: str
        log: Callable[[str], None]

        def run_dir(self, system: str, seed: int | None = None) -> Path: ...
        def _label(self, folder: Path) -> str: ...
        def _timed(self, name: str, work: Callable[[], Any]) -> Any: ...
        def probe_text(self, name: str, checkpoint: Path) -> None: ...

    def train_system(self, name: str, seed: int | None = None) -> Path:
        """Train a system's stages with one training seed (None: the first of ``seeds``),
        skipping finished ones; returns its final checkpoint."""
        o, chosen = self.options, system(name)
        chosen.check_llm(self.llm, self.corpus)
        seed = o.seeds[0] if seed is None else seed
        steps = (o.stage1_steps, o.stage2_steps)
        if not chosen.stage1:  # stage 2 alone, for as many steps as both stages
            steps = (0, o.stage1_steps + o.stage2_steps)
        # the ablations share main's stage 1 of the same seed
        stage1 = self.run_dir("main", seed) / "stage1"
        init = stage1 if steps[0] else None
        if steps[0]:
            self.train_stage("stage1", stage1, steps[0], [], seed=seed)
        extra = chosen.overrides()
        if chosen.reads_text:
            extra += self.text_overrides()
        if chosen.text_stage:
            if o.text_stage_steps:
                init = self.train_text_stage(chosen, init, seed)
        stage2 = self.run_dir(name, seed) / "stage2"
        return self.train_stage("stage2", stage2, steps[1], [_init_from(init), *extra], seed=seed)

    def text_overrides(self) -> list[str]:
        """Training overrides that add the corpus's *training* text (translation into English
        and denoising): ca and nl text, and with ``text_replay`` the seen languages' too; the test
        manifests are named so that training refuses any text that holds a test sentence."""
        languages = None if self.options.text_replay else list(self.unseen)  # None: every one
        return [
            f"data.text={json.dumps([str(self.corpus / 'text' / '*_train.jsonl')])}",
            f"data.text_languages={json.dumps(languages)}",
            f"data.text_dev={json.dumps([str(self.corpus / 'text' / '*_dev.jsonl')])}",
            f"data.test={json.dumps([str(self.corpus / 'unheard-synth_*_test.jsonl.gz')])}",
        ]

    def train_text_stage(self, chosen: System, init: Path | None, seed: int) -> Path:
        """The system's text-only LoRA stage (``text-stage.yaml``, no speech): from ``init``
        (stage 1's layer mix and adapter, which pass through untouched), LoRA reads text alone
        (`text_overrides`: ca and nl, and the seen languages' as replay). Its LLM is probed on
        text (`probe_text`); returns its final checkpoint, which stage 2 starts from."""
        out = self.run_dir(chosen.name, seed) / "text-stage"
        final = self.train_stage(
            "text-stage", out, self.options.text_stage_steps,
            [_init_from(init), *chosen.overrides(), *self.text_overrides(),
             f"optim.lr={self.options.text_stage_lr}"],
            speech=False, seed=seed,
        )  # fmt: skip
        self.probe_text(seed_name(f"{chosen.name} (text stage)", seed, self.options.seed), final)
        return final

    def train_stage(
        self, stage: str, out: Path, steps: int, extra: Sequence[str], speech: bool = True,
        seed: int | None = None,
    ) -> Path:  # fmt: skip
        """Run ``unheard train`` on the track's stage config into ``out`` (skipped when it
        finished before; resumed from its checkpoints when it was cut short).

        Args:
            stage: which of the track's configs (`tracks.STAGES`: ``stage1``, ``stage2``,
                ``text-stage``).
            out: the run's folder.
            steps: its steps.
            extra: more ``key=value`` overrides (before the user's).
            speech: False: no speech at all (``data.train=[]``; a text-only stage, whose text
                ``extra`` names).
            seed: its ``run.seed`` (None: the first of ``seeds``).

        Returns:
            The final checkpoint.

        Raises:
            ValueError: when ``out`` holds a run of other settings (its ``recipe.json``).
        """
        final = final_checkpoint(out, steps)
        config = self.track.config_path(stage)
        shown = config.relative_to(config.parents[2])  # configs/<track>/<stage>.yaml
        data = [str(self.corpus / f"unheard-synth_{lang}_train.jsonl.gz") for lang in self.seen]
        overrides = [
            f"model.llm={self.llm}",
            f"data.train={json.dumps(data if speech else [])}",
            f"data.dev={json.dumps([str(self.corpus / 'unheard-synth_*_dev.jsonl.gz')])}",
            f"run.output_dir={out}",
            f"run.max_steps={steps}",
            f"run.seed={self.options.seeds[0] if seed is None else seed}",
            f"run.progress={str(self.options.progress).lower()}",
            *(
                [f"run.encoder_cache={self.out / 'encoder-cache'}"]
                if self.options.encoder_cache
                else []
            ),  # fmt: skip
            *extra,
            *self.options.overrides,
        ]
        # what the run is, progress bars aside: a rerun with other settings (e.g. --no-text-replay
        # into the same --out, or an edited value in the YAML, which holds the numbers) must not
        # pass the old run off as the new one, nor resume it
        recipe = {
            "config": str(shown),
            "settings": load_yaml(config),
            "overrides": [x for x in overrides if not x.startswith("run.progress=")],
        }
        stamp = out / "recipe.json"
        if stamp.exists() and json.loads(stamp.read_text()) != recipe:
            raise ValueError(
                f"{out} holds a run of other settings ({stamp}); remove it, or benchmark into "
                "another --out"
            )
        if (out / "summary.json").exists() and final.exists():
            return final
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(stamp, json.dumps(recipe, indent=1) + "\n")
        command = [sys.executable, "-m", "unheard", "train", str(config), *overrides]
        self.log(f"$ unheard train {shown} {' '.join(overrides)}")
        self._timed(self._label(out), lambda: _run(command))
        return final


def _init_from(checkpoint: Path | None) -> str:
    """The ``run.init_from`` override: a stage to start from, or none (a fresh bridge)."""
    return f"run.init_from={checkpoint}" if checkpoint else "run.init_from=null"


def final_checkpoint(stage_dir: Path, steps: int) -> Path:
    """Where ``unheard train`` writes a stage's last checkpoint."""
    return stage_dir / "checkpoints" / f"step-{steps}"


def _run(command: Sequence[str]) -> None:
    done = subprocess.run(command)
    if done.returncode:
        raise RuntimeError(
            f"unheard train exited with {done.returncode} (its output is above); rerun the "
            "benchmark to resume from its last checkpoint"
        )
