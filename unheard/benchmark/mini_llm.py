"""The mini track's LLM: a small mT5 that unheard trains from scratch on the corpus text
(translation into English, span corruption, and the speech tasks' prompts with the text where
the audio goes, phoneme tasks included) into ``mt5/``. A recipe may also tune it after, from
``mt5-base/`` (as mT0 is mT5 tuned on prompted tasks).

`MINI_LLM` is its recipe and the one place its numbers live: the ``unheard pretrain-text``
commands in the headers of ``configs/mini/*.yaml`` spell it out, and a test keeps them equal
(tests/recipes/test_configs.py). The shipped ``unheard:mini-mt5`` was made by an earlier one
(round 4 of docs/benchmark.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from unheard.recipes.pretrain_text import TextPretrainOptions, pretrain_text

# copying ("asr": the transcribe prompt, text → the same text) weighs 3 of 7 in the instruction
# share: the frozen LLM of stage 1 must copy the adapter's output for ASR. p2g and phon teach it
# the phoneme bridge's text half (its tokenizer learns the phones)
INSTRUCT_WEIGHTS = {"asr": 3.0, "st": 1.0, "translate": 1.0, "p2g": 1.0, "phon": 1.0}


@dataclass(frozen=True)
class MiniLLMRecipe:
    """The text runs that make the mini LLM: one from scratch, and optionally an instruction
    tuning from it (as mT5 → mT0)."""

    base: TextPretrainOptions  # from scratch: mt5-base/, or mt5/ when there is no tuning
    instruct: TextPretrainOptions | None = None  # mt5/: from mt5-base (its init set when it runs)

    def adjusted(
        self,
        base_steps: int | None = None,
        instruct_steps: int | None = None,
        languages: tuple[str, ...] | None = None,
        seed: int = 0,
    ) -> MiniLLMRecipe:
        """The recipe with other step counts (None: the recipe's), text languages and seed.

        Args:
            base_steps: steps of the run from scratch.
            instruct_steps: steps of the instruction tuning (0: none).
            languages: the languages whose text the model learns (None: all).
            seed: both runs' seed.

        Returns:
            The adjusted recipe.

        Raises:
            ValueError: for instruction steps asked of a recipe that has no tuning run.
        """
        base = replace(self.base, steps=base_steps or self.base.steps, languages=languages,
                       seed=seed)  # fmt: skip
        if instruct_steps == 0:
            return MiniLLMRecipe(base)
        if self.instruct is None:
            if instruct_steps is not None:
                raise ValueError(
                    "this mini LLM recipe has no instruction tuning: its one run learns the "
                    "instructions from scratch (give --text-steps, or --instruct-steps 0)"
                )
            return MiniLLMRecipe(base)
        steps = instruct_steps or self.instruct.steps
        return MiniLLMRecipe(
            base, replace(self.instruct, steps=steps, languages=languages, seed=seed)
        )


# One run from scratch, every task mixed (issue 21, docs/benchmark.md round 4). Adafactor, as T5
# was trained: under AdamW this mT5's attention saturated and it copied 43% of held-out items at
# best; with Adafactor, copy only, 99.5%. The tied head, a 500-piece vocabulary of pieces up to 8
# characters and length-balanced draws each measured better in rounds 2-3. Round 4's recipe
# (AdamW, 1,000 steps + 400 of instruction tuning, 23 min) made the shipped unheard:mini-mt5
MINI_LLM = MiniLLMRecipe(
    base=TextPretrainOptions(
        steps=3000, vocab_size=500, max_piece_length=8, tie_head=True, optimizer="adafactor",
        lr=1e-2, warmup_steps=200, denoise_share=0.1, instruct_share=0.8,
        instruct_weights=INSTRUCT_WEIGHTS, balance_lengths=True, phonemes=True,
    ),
)  # fmt: skip


def pretrain_mini_llm(
    corpus: Path,
    out: Path,
    recipe: MiniLLMRecipe,
    timed: Callable[[str, Callable[[], Any]], Any],
    log: Callable[[str], None] = print,
) -> Path:
    """Make the mini LLM from the corpus text: ``out/mt5`` (or ``out/mt5-base`` then ``out/mt5``
    with an instruction tuning), each run skipped when its model exists and resumed when it was
    cut.

    Args:
        corpus: the synthetic corpus (its ``text/*_train.jsonl`` and ``text/*_dev.jsonl``).
        out: the benchmark's folder.
        recipe: `MINI_LLM`, or an adjusted copy.
        timed: runs a named step and records its wall time.
        log: where lines go.

    Returns:
        The model's folder, ``out/mt5/model``.
    """
    text = corpus / "text"
    train, dev = [str(text / "*_train.jsonl")], [str(text / "*_dev.jsonl")]
    base, final = out / "mt5-base", out / "mt5"
    if (final / "model" / "config.json").exists():
        return final / "model"
    if recipe.instruct is None:
        timed("pretrain-text", lambda: pretrain_text(train, dev, final, recipe.base, log=log))
        return final / "model"
    if not (base / "model" / "config.json").exists():
        timed("pretrain-text", lambda: pretrain_text(train, dev, base, recipe.base, log=log))
    tune = replace(recipe.instruct, init=str(base / "model"))
    timed("instruct-text", lambda: pretrain_text(train, dev, final, tune, log))
    return final / "model"
