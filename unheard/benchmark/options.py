"""The benchmark's protocol constants (seen and unseen languages, tasks, tracks, ablations) and
`BenchmarkOptions`: what to run and how long each part trains."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SEEN = ("es", "fr", "it", "pt", "de", "en")
UNSEEN = ("ca", "nl")
TASKS = ("asr", "st")
STAGE_STEPS = {"mini": (2500, 1200), "real-llm": (600, 400)}  # default stage 1 and 2 steps
TRACKS = ("mini", "real-llm")
# run in this order: text-unseen is compared with lora-all (the same LoRA, no text) when both run
ABLATIONS = ("no-stage1", "no-lora", "st-only", "lora-all", "text-unseen")
# LoRA on every linear layer of the LLM (attention and feed-forward), for lora-all and
# text-unseen: on the paper's q and v alone, 600 text-only steps lifted the mini LLM's Catalan
# text probe from 6 to 9 BLEU; on every linear layer (and at twice the lr), to 31
# (docs/benchmark.md, issue 9 round 5)
LORA_ALL = "model.lora.target_modules=[all-linear]"


def configs_dir() -> Path:
    """The repository's ``configs/`` folder (the benchmark's recipes live there)."""
    here = Path(__file__).resolve().parents[2] / "configs"
    if not here.is_dir():
        raise FileNotFoundError(
            f"{here} not found: the benchmark reads its recipes from the repository's configs/; "
            "run it from a clone of unheard"
        )
    return here


@dataclass(frozen=True)
class BenchmarkOptions:
    """What to run, and how long each part trains."""

    track: str = "mini"
    per_language: int = 1000  # training utterances per language (test: a tenth)
    # the corpus's item kinds (`unheard.data.synth.KINDS`; None: all nine). Numbers and years:
    # on all nine kinds (~150 word types per language, 300 clips each) the bridge stayed at
    # chance; on these it learns (docs/benchmark.md, round 4)
    kinds: tuple[str, ...] | None = ("cardinal", "year")
    # mini: text pretraining steps of the mT5 (translation, span corruption and a quarter of
    # instructions; 16 min on 2 cores), then instruction tuning in the speech prompts (as mT0)
    text_steps: int = 1000
    instruct_steps: int = 400
    mt5: str | None = None  # mini: an already pretrained mT5 folder instead of pretraining
    # mini: the languages whose text the mT5 learns (None: all 8); e.g. the seen ones only, for an
    # LLM that barely knows the unseen languages (its tokenizer still covers them)
    llm_languages: tuple[str, ...] | None = None
    # None: the track's default (`STAGE_STEPS`): the mini track's bridge needs 2,500 + 1,200 steps
    # to beat chance (600 + 400 did not); the real-LLM track's step is ~10x dearer
    stage1_steps: int | None = None
    stage2_steps: int | None = None
    # the text-unseen system's text-only LoRA stage between stage 1 and 2 (0: none, the text only
    # mixed into stage 2). Mixed in alone, 1,200 steps of stage 2 left the LLM's Catalan and
    # Dutch where they were (docs/benchmark.md, issue 9 rounds 2-4): most of its draws are speech
    text_stage_steps: int = 600
    text_stage_lr: float = 2e-3  # its peak learning rate (stage 2's is 1e-3)
    # text-unseen reads the seen languages' text too, in its text stage and stage 2 (replay):
    # on ca/nl text alone the text stage made the LLM forget the seen languages (Spanish text
    # probe 48 -> 12% exact) and seen ST fell 10.0 BLEU against lora-all; with every language's
    # text, 4.0 (docs/benchmark.md, issue 9 rounds 5-6). False: ca and nl text only
    text_replay: bool = True
    ablations: tuple[str, ...] = ()
    encoder_cache: bool = True
    seed: int = 0
    overrides: tuple[str, ...] = ()  # more ``key=value`` for every training run
    progress: bool = True

    def __post_init__(self) -> None:
        if self.track not in TRACKS:
            raise ValueError(f"track must be one of {TRACKS}, got {self.track!r}")
        unknown = set(self.ablations) - set(ABLATIONS)
        if unknown:
            raise ValueError(f"unknown ablation(s) {sorted(unknown)}; known: {ABLATIONS}")
        defaults = STAGE_STEPS.get(self.track, (600, 400))
        if self.stage1_steps is None:
            object.__setattr__(self, "stage1_steps", defaults[0])
        if self.stage2_steps is None:
            object.__setattr__(self, "stage2_steps", defaults[1])
        steps = (self.text_steps, self.instruct_steps, self.stage1_steps, self.stage2_steps)
        if min(self.per_language, *steps) < 1:
            raise ValueError("per_language and the step counts must be at least 1")
        if self.text_stage_steps < 0 or self.text_stage_lr <= 0:
            raise ValueError(
                f"text_stage_steps must be >= 0 and text_stage_lr > 0, got "
                f"{self.text_stage_steps} and {self.text_stage_lr}"
            )
        # the ablations in ABLATIONS order (a system's baseline is decoded before it)
        object.__setattr__(self, "ablations", tuple(sorted(self.ablations, key=ABLATIONS.index)))
