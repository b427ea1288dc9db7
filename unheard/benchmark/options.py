"""`BenchmarkOptions`: what the benchmark runs. Every number left unset is its recipe's: the
track's configs (`unheard.benchmark.tracks`) and the mini LLM's recipe
(`unheard.benchmark.mini_llm`), so the defaults live in one place each."""

from __future__ import annotations

from dataclasses import dataclass

from unheard.benchmark.systems import ABLATIONS
from unheard.benchmark.tracks import TRACKS

TASKS = ("asr", "st")


@dataclass(frozen=True)
class BenchmarkOptions:
    """What to run, and how long each part trains (None: the recipe's)."""

    track: str = "mini"
    per_language: int = 1000  # training utterances per language (test: a tenth)
    # the corpus's item kinds (`unheard.data.synth.KINDS`; None: all nine). Numbers and years:
    # on all nine kinds (~150 word types per language, 300 clips each) the bridge stayed at
    # chance; on these it learns (docs/benchmark.md, round 4)
    kinds: tuple[str, ...] | None = ("cardinal", "year")
    # mini: steps of the mT5's run from scratch, and of an instruction tuning after it (0: none,
    # as `MINI_LLM` has); None: `MINI_LLM`'s (3,000 steps, 75-96 min on 2 cores)
    text_steps: int | None = None
    instruct_steps: int | None = None
    # mini: an mT5 to use instead of pretraining one (a folder, a hub id or unheard:mini-mt5)
    mt5: str | None = None
    # mini: the languages whose text the mT5 learns (None: all 8); e.g. the seen ones only, for an
    # LLM that barely knows the unseen languages (its tokenizer still covers them)
    llm_languages: tuple[str, ...] | None = None
    # None: the track's configs' run.max_steps (stage1.yaml, stage2.yaml): the mini track's
    # bridge needs 2,500 + 1,200 steps to beat chance (600 + 400 did not); the real-LLM track's
    # step is ~10x dearer (600 + 400)
    stage1_steps: int | None = None
    stage2_steps: int | None = None
    # the text-unseen system's text-only LoRA stage between stage 1 and 2 (0: none, the text only
    # mixed into stage 2; None: text-stage.yaml's 600). Mixed in alone, 1,200 steps of stage 2
    # left the LLM's Catalan and Dutch where they were (docs/benchmark.md, issue 9 rounds 2-4):
    # most of its draws are speech
    text_stage_steps: int | None = None
    text_stage_lr: float | None = None  # its peak learning rate (None: text-stage.yaml's 2e-3)
    # text-unseen reads the seen languages' text too, in its text stage and stage 2 (replay):
    # on ca/nl text alone the text stage made the LLM forget the seen languages (Spanish text
    # probe 48 -> 12% exact) and seen ST fell 10.0 BLEU against lora-all; with every language's
    # text, 4.0 (docs/benchmark.md, issue 9 rounds 5-6). False: ca and nl text only
    text_replay: bool = True
    ablations: tuple[str, ...] = ()
    encoder_cache: bool = True
    # the corpus's, the mini LLM's and (without ``seeds``) the one training run's seed
    seed: int = 0
    # training seeds (``run.seed``): every system is trained, decoded and scored once per seed,
    # and reported as mean ± sd over them (None: ``seed`` alone, the one run of earlier rounds).
    # One recipe moved seen ST by 7.1 BLEU with the seed alone (docs/benchmark.md, round 6)
    seeds: tuple[int, ...] | None = None
    overrides: tuple[str, ...] = ()  # more ``key=value`` for every training run
    configs: str | None = None  # the recipes' folder (<configs>/mini/…; None: the repository's)
    progress: bool = True

    def __post_init__(self) -> None:
        """Validate once, and fill each unset number from its recipe.

        Raises:
            ValueError: naming an unknown track or ablation, a count or rate out of range, or
                seeds that repeat or are negative.
        """
        from unheard.benchmark.mini_llm import MINI_LLM
        from unheard.benchmark.tracks import track

        if self.track not in TRACKS:
            raise ValueError(f"track must be one of {TRACKS}, got {self.track!r}")
        unknown = set(self.ablations) - set(ABLATIONS)
        if unknown:
            raise ValueError(f"unknown ablation(s) {sorted(unknown)}; known: {ABLATIONS}")
        if self.seeds is None:
            object.__setattr__(self, "seeds", (self.seed,))
        object.__setattr__(self, "seeds", tuple(self.seeds))
        repeated = sorted({s for s in self.seeds if self.seeds.count(s) > 1})
        if not self.seeds or repeated or min(self.seeds) < 0:
            raise ValueError(
                f"seeds must be distinct non-negative integers, at least one, got {self.seeds}"
                + (f" ({repeated} repeated)" if repeated else "")
            )
        recipe = track(self.track, self.configs)
        defaults = {
            "text_steps": MINI_LLM.base.steps,
            "instruct_steps": MINI_LLM.instruct.steps if MINI_LLM.instruct else 0,
            "stage1_steps": recipe.steps("stage1"),
            "stage2_steps": recipe.steps("stage2"),
            "text_stage_steps": recipe.steps("text-stage"),
            "text_stage_lr": recipe.lr("text-stage"),
        }
        for name, value in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        steps = (self.text_steps, self.stage1_steps, self.stage2_steps)
        if min(self.per_language, *steps) < 1 or self.instruct_steps < 0:
            raise ValueError(
                f"per_language and the step counts must be at least 1 (instruct_steps 0), got "
                f"{self.per_language}, {steps} and {self.instruct_steps}"
            )
        MINI_LLM.adjusted(self.text_steps, self.instruct_steps)  # refuses steps it has no run for
        if self.text_stage_steps < 0 or self.text_stage_lr <= 0:
            raise ValueError(
                f"text_stage_steps must be >= 0 and text_stage_lr > 0, got "
                f"{self.text_stage_steps} and {self.text_stage_lr}"
            )
        # the ablations in ABLATIONS order (a system's baseline is decoded before it)
        object.__setattr__(self, "ablations", tuple(sorted(self.ablations, key=ABLATIONS.index)))
