"""The offline zero-resource benchmark: one protocol, two tracks, each step resumable.

Protocol (the paper's, on the synthetic corpus): train on paired audio of the *seen* languages
only (es, fr, it, pt, de, en); test ASR and ST (into English) in every language, the *unseen* ca
and nl included. Stage 1 trains the layer mix and adapter with the LLM frozen; stage 2 adds LoRA
and trains ASR and ST together. The systems (``main`` and the ablations, `systems`) are each
compared by paired bootstrap on the same test utterances; ``chance`` is a random item of the
right kind in the right language (`chance`). With several training seeds (``--seeds 0 1 2``) each
system is trained, decoded and scored per seed, reported as mean ± sd over seeds and compared by a
paired bootstrap over seeds and utterances (`seeds`).

Tracks: ``mini`` (Whisper base → adapter → a small mT5 unheard pretrains on the corpus text,
`mini_llm`) and ``real-llm`` (Whisper base → adapter → Gemma 3 270M + LoRA). Each stage runs its
track's config (``configs/<track>/``, `tracks`: the seen and unseen languages, steps, learning
rates and the LLM are the YAML's) with only this run's paths and the system's changes on top.
Every step writes its result into ``OUT`` and is skipped when that result exists, so a killed
run continues where it stopped and a rerun only rebuilds what is missing. Training runs as
``unheard train`` subprocesses (their own checkpoints resume too); all share one encoder-output
cache.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unheard.benchmark.corpus import build_corpus, corpus_differences
from unheard.benchmark.options import BenchmarkOptions
from unheard.benchmark.seeds import headline, seed_folder, seed_name, summarize_systems
from unheard.benchmark.systems import System, bridge_of, system
from unheard.benchmark.tracks import Track, track
from unheard.config import load_yaml
from unheard.files import write_atomic


@dataclass
class Benchmark:
    """Where one track's benchmark lives, and the wall time of each step it ran."""

    out: Path
    options: BenchmarkOptions
    log: Callable[[str], None] = print
    timings: dict[str, float] = field(default_factory=dict)
    # the LLM's own text probe per system (`unheard.benchmark.text_probe`)
    text_probes: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    @property
    def corpus(self) -> Path:
        return self.out / "corpus"

    @property
    def track(self) -> Track:
        """The track's recipes (``configs/<track>/``)."""
        return track(self.options.track, self.options.configs)

    @property
    def seen(self) -> tuple[str, ...]:
        """The languages with paired training audio (the track's config)."""
        return self.track.seen

    @property
    def unseen(self) -> tuple[str, ...]:
        """The zero-resource languages (the track's config)."""
        return self.track.unseen

    @property
    def languages(self) -> tuple[str, ...]:
        """Every language of the corpus: the seen ones, then the unseen."""
        return (*self.seen, *self.unseen)

    @property
    def llm(self) -> str:
        """The LLM: the config's (real-llm), or the mini mT5 (``--mt5``, else pretrained here)."""
        if self.options.track != "mini":
            return self.track.llm
        return self.options.mt5 or str(self.out / "mt5" / "model")

    def system_dir(self, system: str) -> Path:
        return self.out / "systems" / system

    def run_dir(self, system: str, seed: int | None = None) -> Path:
        """A system's runs with one training seed (None: the first of ``seeds``): its
        ``systems/<name>/`` for ``--seed``, else ``systems/<name>/seed-<S>/`` (`seed_folder`)."""
        seed = self.options.seeds[0] if seed is None else seed
        return seed_folder(self.system_dir(system), seed, self.options.seed)

    def _label(self, folder: Path) -> str:
        """A folder as the timings name it: ``main/stage1``, ``main/seed-1/stage1``."""
        return str(folder.relative_to(self.out / "systems"))

    def _timed(self, name: str, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = work()
        self.timings[name] = round(time.perf_counter() - started, 1)
        self.log(f"[{name}] {self.timings[name]:.0f} s")
        return result

    # -- the steps ------------------------------------------------------------------------

    def corpus_differences(self) -> dict[str, tuple[Any, Any]]:
        """How the corpus already in ``corpus/`` differs from these options (`corpus`)."""
        return corpus_differences(self.corpus, self.options)

    def build_corpus(self) -> None:
        """Synthesize the corpus (kept wavs are reused; another corpus there is refused)."""
        self._timed("corpus", lambda: build_corpus(self.corpus, self.languages, self.options))

    def pretrain_llm(self) -> None:
        """Mini track: make the mT5 from the corpus text (`mini_llm`: ``mt5/``, skipped when its
        model exists and resumed when it was cut), unless ``--mt5`` names one."""
        if self.options.track != "mini" or self.options.mt5 is not None:
            return
        from unheard.benchmark.mini_llm import MINI_LLM, pretrain_mini_llm

        o = self.options
        recipe = MINI_LLM.adjusted(o.text_steps, o.instruct_steps, o.llm_languages, o.seed)
        pretrain_mini_llm(self.corpus, self.out, recipe, self._timed, self.log)

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
        final = _final_checkpoint(out, steps)
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

    def decode_system(self, name: str, checkpoint: Path, seed: int | None = None) -> list[Path]:
        """Decode every test set in both tasks into the seed's folder, a bridge system's unseen
        ASR through phones (`hypotheses`: kept while all stays the same); returns the files."""
        from unheard.benchmark.hypotheses import (
            decode_test_sets,
            hypothesis_files,
            kept_hypotheses,
        )

        hyps = self.run_dir(name, seed) / "hyps"
        files = hypothesis_files(hyps, self.languages)
        bridge = bridge_of(name)
        via = {lang: bridge for lang in self.unseen} if bridge else {}
        if not kept_hypotheses(hyps, checkpoint, self.corpus, via):
            cache = self.out / "encoder-cache" if self.options.encoder_cache else None
            self._timed(
                f"{self._label(hyps.parent)}/decode",
                lambda: decode_test_sets(
                    checkpoint, self.corpus, files, cache, self.options.progress, via
                ),
            )
        return files

    def baseline(self, name: str) -> str:
        """The system a system is tested against: the first of its baselines that runs too
        (`systems.SYSTEMS`: main against chance, each ablation against main, text-unseen against
        lora-all when that runs, the same LoRA without the text)."""
        running = {"chance", "main", *self.options.ablations}
        return next(b for b in system(name).baselines if b in running)

    def evaluate_system(
        self, system: str, files: Sequence[Path], checkpoint: Path | None, compare: str = "",
        seed: int | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Score a system's hypotheses of one seed; with ``compare`` (a system already decoded
        with that seed), also paired bootstrap tests against it on the same utterances."""
        from unheard.evaluation.files import evaluate_files

        baseline = None
        if compare:
            baseline = self.run_dir(compare, seed) / "all-hyps.jsonl"
            hyps = sorted((self.run_dir(compare, seed) / "hyps").glob("*_*.jsonl"))
            baseline.write_text("".join(p.read_text(encoding="utf-8") for p in hyps))
        metrics = evaluate_files(
            files, self.run_dir(system, seed) / "eval", seen=self.seen, unseen=self.unseen,
            compare=baseline, checkpoint=checkpoint, lid_languages=self.languages, verbose=False,
        )  # fmt: skip
        return {**metrics, "baseline": compare} if compare else metrics

    def probe_text(self, name: str, checkpoint: Path) -> None:
        """The LLM's own text translation into English per language (`text_probe`), cached."""
        from unheard.benchmark.text_probe import cached_text_probe

        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")  # "llm (stage 1)" → llm-stage-1
        out = self.out / "text-probe" / f"{slug}.json"
        self.text_probes[name] = self._timed(
            f"{name}/text-probe",
            lambda: cached_text_probe(out, checkpoint, self.corpus, self.languages),
        )

    def chance(self, seed: int | None = None) -> dict[str, Any]:
        """Write and score the chance baseline, its draws seeded by the training seed."""
        from unheard.benchmark.chance import write_chance

        seed = self.options.seeds[0] if seed is None else seed
        files = write_chance(
            self.corpus, self.languages, self.run_dir("chance", seed) / "hyps", seed=seed
        )
        return self.evaluate_system("chance", files, None, seed=seed)

    def run(self) -> dict[str, dict[str, Any]]:
        """Every step of the track, for each training seed.

        Returns:
            One seed: each system's metrics (``metrics.json``). Several: each system's
            `summarize_seeds` summary, with its ``comparison`` over seeds against its baseline.
            Their headline is in ``results.json``.
        """
        self.out.mkdir(parents=True, exist_ok=True)
        self.build_corpus()
        self.pretrain_llm()
        seeds = self.options.seeds
        per_seed = {seed: self.run_seed(seed) for seed in seeds}
        summary: dict[str, Any] = {"options": {**self.options.__dict__}}
        if len(seeds) == 1:
            results = per_seed[seeds[0]]
        else:
            results, extra = summarize_systems(
                per_seed, {n: self.baseline(n) for n in ("main", *self.options.ablations)},
                lambda name, seed: sorted((self.run_dir(name, seed) / "hyps").glob("*_*.jsonl")),
                self.seen, self.unseen, self._timed,
            )  # fmt: skip
            summary |= extra
        summary |= {
            "timings_s": self.timings,
            "systems": {n: headline(m) for n, m in results.items()},
            "text_probe": self.text_probes,
        }
        write_atomic(self.out / "results.json", json.dumps(summary, indent=2) + "\n")
        return results

    def run_seed(self, seed: int) -> dict[str, dict[str, Any]]:
        """Train, decode and score every system with one training seed (each step skipped when
        its result exists); returns each system's metrics, chance's included."""
        alone = len(self.options.seeds) == 1  # several seeds: compared over all of them, in `run`
        results = {"chance": self.chance(seed)}
        for name in ("main", *self.options.ablations):
            checkpoint = self.train_system(name, seed)
            files = self.decode_system(name, checkpoint, seed)
            compare = self.baseline(name) if alone else ""
            results[name] = self._timed(
                f"{self._label(self.run_dir(name, seed))}/evaluate",
                lambda n=name, f=files, c=checkpoint, b=compare: self.evaluate_system(
                    n, f, c, b, seed
                ),
            )
            # the frozen LLM (stage 1 has no LoRA) before any tuning: the same for every seed
            if name == "main" and seed == self.options.seeds[0]:
                stage1 = self.run_dir("main", seed) / "stage1"
                self.probe_text(
                    "llm (stage 1)", _final_checkpoint(stage1, self.options.stage1_steps)
                )
            self.probe_text(seed_name(name, seed, self.options.seed), checkpoint)
        return results


def _init_from(checkpoint: Path | None) -> str:
    """The ``run.init_from`` override: a stage to start from, or none (a fresh bridge)."""
    return f"run.init_from={checkpoint}" if checkpoint else "run.init_from=null"


def _final_checkpoint(stage_dir: Path, steps: int) -> Path:
    """Where ``unheard train`` writes a stage's last checkpoint."""
    return stage_dir / "checkpoints" / f"step-{steps}"


def _run(command: Sequence[str]) -> None:
    done = subprocess.run(command)
    if done.returncode:
        raise RuntimeError(
            f"unheard train exited with {done.returncode} (its output is above); rerun the "
            "benchmark to resume from its last checkpoint"
        )


def run_benchmark(
    out: str | os.PathLike[str],
    options: BenchmarkOptions,
    log: Callable[[str], None] = print,
) -> tuple[Benchmark, dict[str, dict[str, Any]]]:
    """Run (or continue) one track of the benchmark in ``out``.

    Returns:
        The benchmark (paths, timings) and each system's metrics.
    """
    bench = Benchmark(Path(out), options, log)
    return bench, bench.run()
