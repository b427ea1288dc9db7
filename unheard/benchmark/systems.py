"""The benchmark's systems: ``main`` (the paper's stage 1 then stage 2) and the ablations, each a
typed change of main's recipe; the numbers themselves are the track's configs'
(`unheard.benchmark.tracks`).

- the paper's ablations: ``no-stage1`` (stage 2 alone, for as many steps as both stages),
  ``no-lora`` (stage 2 without LoRA), ``st-only`` (stage 2 on ST only);
- beyond the paper: ``lora-all`` (LoRA on every linear layer of the LLM, not only q and v) and
  ``text-unseen`` (the same LoRA; from main's stage 1, a text-only LoRA stage on the corpus's
  training text — ca and nl, and the seen languages' as replay against forgetting —, then stage
  2 with the same text mixed in: text in an unseen language is allowed, its paired audio is not).
"""

from __future__ import annotations

from dataclasses import dataclass

# LoRA on every linear layer of the LLM (attention and feed-forward), for lora-all and
# text-unseen: on the paper's q and v alone, 600 text-only steps lifted the mini LLM's Catalan
# text probe from 6 to 9 BLEU; on every linear layer (and at twice the lr), to 31
# (docs/benchmark.md, issue 9 round 5)
ALL_LINEAR = ("all-linear",)


@dataclass(frozen=True)
class System:
    """One system: what it changes in main's recipe, and what it is tested against."""

    name: str
    stage1: bool = True  # from main's stage 1; False: stage 2 alone, for both stages' steps
    lora: bool = True  # False: stage 2 trains the layer mix and adapter only
    tasks: tuple[str, ...] | None = None  # stage 2's tasks (None: the config's)
    lora_targets: tuple[str, ...] | None = None  # LoRA's target modules (None: the config's)
    text_stage: bool = False  # a text-only LoRA stage before stage 2, whose text it mixes in
    # the systems it is compared with by paired bootstrap: the first of them that runs too
    baselines: tuple[str, ...] = ("main",)

    def __post_init__(self) -> None:
        if not self.baselines or self.name in self.baselines:
            raise ValueError(f"system {self.name!r} needs baselines other than itself")
        if self.text_stage and not self.lora:
            raise ValueError(f"system {self.name!r}: a text stage trains LoRA, which is off")

    def overrides(self) -> list[str]:
        """Its changes to stage 2 (and to its text stage) as ``key=value`` overrides."""
        changes = []
        if not self.lora:
            changes.append("model.lora.enabled=false")
        if self.tasks is not None:
            changes.append(f"data.tasks=[{','.join(self.tasks)}]")
        if self.lora_targets is not None:
            changes.append(f"model.lora.target_modules=[{','.join(self.lora_targets)}]")
        return changes


SYSTEMS = (
    System("main", baselines=("chance",)),  # is it above chance?
    System("no-stage1", stage1=False),
    System("no-lora", lora=False),
    System("st-only", tasks=("st",)),
    System("lora-all", lora_targets=ALL_LINEAR),
    # against lora-all when both run: the same LoRA without the text, the text's own effect
    System("text-unseen", lora_targets=ALL_LINEAR, text_stage=True, baselines=("lora-all", "main")),
)
# run in this order: a system's baseline is decoded before it
ABLATIONS = tuple(s.name for s in SYSTEMS if s.name != "main")


def system(name: str) -> System:
    """The system called ``name``.

    Raises:
        ValueError: for an unknown system.
    """
    for known in SYSTEMS:
        if known.name == name:
            return known
    raise ValueError(f"unknown system {name!r}; known: {[s.name for s in SYSTEMS]}")
