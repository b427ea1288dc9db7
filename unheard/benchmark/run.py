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

import functools
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unheard.benchmark.corpus import build_corpus, corpus_differences
from unheard.benchmark.options import BenchmarkOptions
from unheard.benchmark.seeds import headline, seed_folder, seed_name, summarize_systems
from unheard.benchmark.systems import bridge_of, system
from unheard.benchmark.tracks import Track, track
from unheard.benchmark.training import SystemTraining, final_checkpoint
from unheard.files import write_atomic


@dataclass
class Benchmark(SystemTraining):
    """Where one track's benchmark lives, and the wall time of each step it ran."""

    out: Path
    options: BenchmarkOptions
    log: Callable[[str], None] = print
    timings: dict[str, float] = field(default_factory=dict)
    # the LLM's own text probe per system (`unheard.benchmark.text_probe`)
    text_probes: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    # a decoder-only LLM's few-shot text probe per system (`unheard.benchmark.few_shot_probe`)
    few_shot_probes: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

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
        """The LLM's own text translation into English and copying per language, cached: under
        the speech prompts with the text where the audio goes (`text_probe`), and for a
        decoder-only (pretrained) LLM also few-shot in plain text (`few_shot_probe`)."""
        from unheard.benchmark.few_shot_probe import cached_few_shot_probe
        from unheard.benchmark.text_probe import cached_text_probe

        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")  # "llm (stage 1)" → llm-stage-1
        out = self.out / "text-probe" / f"{slug}.json"
        self.text_probes[name] = self._timed(
            f"{name}/text-probe",
            lambda: cached_text_probe(out, checkpoint, self.corpus, self.languages),
        )
        if self.decoder_only:
            out = self.out / "few-shot-probe" / f"{slug}.json"
            self.few_shot_probes[name] = self._timed(
                f"{name}/few-shot-probe",
                lambda: cached_few_shot_probe(out, checkpoint, self.corpus, self.languages),
            )

    @functools.cached_property
    def decoder_only(self) -> bool:
        """Whether the LLM is decoder-only (Gemma: probed few-shot too)."""
        from transformers import AutoConfig

        from unheard.build import resolve_model

        return not AutoConfig.from_pretrained(resolve_model(self.llm)).is_encoder_decoder

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
            "few_shot_probe": self.few_shot_probes,
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
                    "llm (stage 1)", final_checkpoint(stage1, self.options.stage1_steps)
                )
            self.probe_text(seed_name(name, seed, self.options.seed), checkpoint)
        return results


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
