"""The benchmark's systems: ``main`` (the paper's stage 1 then stage 2) and the ablations, each a
typed change of main's recipe; the numbers themselves are the track's configs'
(`unheard.benchmark.tracks`).

- the paper's ablations: ``no-stage1`` (stage 2 alone, for as many steps as both stages),
  ``no-lora`` (stage 2 without LoRA), ``st-only`` (stage 2 on ST only);
- beyond the paper: ``lora-all`` (LoRA on every linear layer of the LLM, not only q and v) and
  ``text-unseen`` (the same LoRA; from main's stage 1, a text-only LoRA stage on the corpus's
  training text — ca and nl, and the seen languages' as replay against forgetting —, then stage
  2 with the same text mixed in: text in an unseen language is allowed, its paired audio is not);
- beyond the paper, issue 21: ``named`` (main with the spoken language named in every prompt, in
  training and at test: a real user often knows it); the phoneme bridge ``phonemes`` (stage 2
  also learns audio → phones, task ``phon``, on the seen languages' speech and phones → text,
  ``p2g``, on every language's text; unseen ASR is decoded through phones in two passes),
  ``phonemes-1pass`` (one answer "phones => text", task ``phon+asr``), ``phonemes-named`` (the
  bridge, language named) and ``phonemes-text`` (the bridge on text-unseen's recipe: its text
  stage and LoRA, with p2g among the text tasks). The bridge needs an LLM whose tokenizer writes
  phones (``unheard pretrain-text --phonemes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from unheard.data.prompts import BRIDGES, ONE_PASS, TWO_PASS

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
    # the text tasks of the text it reads (`unheard.data.prompts.TEXT_TASKS`; None: no text, or
    # the config's with a text stage); text without a text stage is mixed into stage 2
    text_tasks: tuple[str, ...] | None = None
    # the phoneme bridge its unseen-language ASR is decoded through (`BRIDGES`; None: directly)
    bridge: str | None = None
    language_named: bool = False  # the spoken language is named in the prompts
    # the systems it is compared with by paired bootstrap: the first of them that runs too
    baselines: tuple[str, ...] = ("main",)

    def __post_init__(self) -> None:
        if not self.baselines or self.name in self.baselines:
            raise ValueError(f"system {self.name!r} needs baselines other than itself")
        if self.text_stage and not self.lora:
            raise ValueError(f"system {self.name!r}: a text stage trains LoRA, which is off")
        if self.bridge is not None and self.bridge not in BRIDGES:
            raise ValueError(f"system {self.name!r}: bridge must be one of {BRIDGES}")
        needed = {TWO_PASS: "phon", ONE_PASS: "phon+asr"}.get(self.bridge or "")
        if needed and (needed not in (self.tasks or ()) or "p2g" not in (self.text_tasks or ())):
            raise ValueError(
                f"system {self.name!r}: the {self.bridge} bridge trains the {needed} task and "
                "reads text with p2g"
            )

    @property
    def reads_text(self) -> bool:
        """Whether its stage 2 (and its text stage) reads the corpus's training text."""
        return self.text_stage or self.text_tasks is not None

    def check_llm(self, llm: str, corpus: Path) -> None:
        """Refuse, before any training, an LLM a bridge system cannot use: its tokenizer must
        write the phones of the corpus's text (as `unheard train` checks at stage 2).

        Args:
            llm: the LLM's hub id or path (``model.llm``).
            corpus: the synthetic corpus (its ``text/*_train.jsonl``).

        Raises:
            ValueError: naming the LLM and how to make one that writes phones.
        """
        if self.bridge is None:
            return
        from transformers import AutoTokenizer

        from unheard.build import resolve_model
        from unheard.data.text import read_text_records
        from unheard.recipes.run_data import check_writes_phones

        records = read_text_records([str(corpus / "text" / "*_train.jsonl")])
        tokenizer = AutoTokenizer.from_pretrained(resolve_model(llm))
        texts = [(r.text, r.language) for r in records]
        try:
            check_writes_phones(tokenizer, texts, f"system {self.name}")
        except ValueError as e:  # the mini track's own mT5 recipe learns no phones
            raise ValueError(f"{e}, and give it to the benchmark with --mt5") from e

    def overrides(self) -> list[str]:
        """Its changes to stage 2 (and to its text stage) as ``key=value`` overrides."""
        changes = []
        if not self.lora:
            changes.append("model.lora.enabled=false")
        if self.tasks is not None:
            changes.append(f"data.tasks=[{','.join(self.tasks)}]")
        if self.lora_targets is not None:
            changes.append(f"model.lora.target_modules=[{','.join(self.lora_targets)}]")
        if self.text_tasks is not None:
            changes.append(f"data.text_tasks=[{','.join(self.text_tasks)}]")
        if self.language_named:
            changes.append("data.name_source_language=true")
        return changes


# the two-pass phoneme bridge: audio → phones on the seen languages' speech beside ASR and ST,
# phones → text on every language's text (unseen ones included: text, not audio)
PHONEMES = {"bridge": TWO_PASS, "tasks": ("asr", "st", "phon"), "text_tasks": ("p2g",)}

SYSTEMS = (
    System("main", baselines=("chance",)),  # is it above chance?
    System("no-stage1", stage1=False),
    System("no-lora", lora=False),
    System("st-only", tasks=("st",)),
    System("lora-all", lora_targets=ALL_LINEAR),
    # against lora-all when both run: the same LoRA without the text, the text's own effect
    System("text-unseen", lora_targets=ALL_LINEAR, text_stage=True, baselines=("lora-all", "main")),
    System("named", language_named=True),
    System("phonemes", **PHONEMES),
    System("phonemes-1pass", **{**PHONEMES, "bridge": ONE_PASS, "tasks": ("asr", "st", "phon+asr")},
           baselines=("phonemes", "main")),
    System("phonemes-named", **PHONEMES, language_named=True, baselines=("phonemes", "main")),
    System("phonemes-text", **{**PHONEMES, "text_tasks": ("translate", "denoise", "p2g")},
           lora_targets=ALL_LINEAR, text_stage=True, baselines=("phonemes", "text-unseen", "main")),
)  # fmt: skip
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


def bridge_of(name: str) -> str | None:
    """The phoneme bridge a system's unseen-language ASR is decoded through: None for direct
    decoding, and for a checkpoint that is no benchmark system (the demo's shipped one)."""
    return next((s.bridge for s in SYSTEMS if s.name == name), None)
