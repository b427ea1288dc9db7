"""The mini track's LLM: a small mT5 that unheard pretrains on the corpus text (translation into
English + span corruption, ``mt5-base/``), then tunes in the speech tasks' prompts with the text
where the audio goes (``mt5/``), as mT0 is mT5 tuned on prompted tasks.

`MINI_LLM` is its recipe and the one place its numbers live: the ``unheard pretrain-text``
commands in the headers of ``configs/mini/*.yaml`` spell it out, and a test keeps them equal
(tests/recipes/test_configs.py). The shipped ``unheard:mini-mt5`` was made by it (round 4 of
docs/benchmark.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from unheard.recipes.pretrain_text import TextPretrainOptions, pretrain_text

# the transcribe prompt (text → the same text) weighs double in every instruction share, and a
# quarter of the pretraining is instructions already: a model pretrained on translation alone and
# tuned after learnt to translate under the speech prompts but hardly to copy (0-14% exact
# outside English, docs/benchmark.md round 3). This one still copies less well than it translates
# (round 4), hence ASR + ST in the mini stage 1
INSTRUCT_WEIGHTS = {"asr": 2.0, "st": 1.0, "translate": 1.0}


@dataclass(frozen=True)
class MiniLLMRecipe:
    """The two text runs that make the mini LLM."""

    base: TextPretrainOptions  # mt5-base/: from scratch
    instruct: TextPretrainOptions  # mt5/: from mt5-base (its init is set when it runs)

    def adjusted(
        self,
        base_steps: int | None = None,
        instruct_steps: int | None = None,
        languages: tuple[str, ...] | None = None,
        seed: int = 0,
    ) -> MiniLLMRecipe:
        """The recipe with other step counts (None: the recipe's), text languages and seed.

        Args:
            base_steps: steps of the pretraining.
            instruct_steps: steps of the instruction tuning.
            languages: the languages whose text the model learns (None: all).
            seed: both runs' seed.

        Returns:
            The adjusted recipe.
        """
        steps = (base_steps or self.base.steps, instruct_steps or self.instruct.steps)
        return MiniLLMRecipe(
            replace(self.base, steps=steps[0], languages=languages, seed=seed),
            replace(self.instruct, steps=steps[1], languages=languages, seed=seed),
        )


MINI_LLM = MiniLLMRecipe(
    base=TextPretrainOptions(
        steps=1000, lr=1e-3, warmup_steps=200, denoise_share=0.25, instruct_share=0.25,
        instruct_weights=INSTRUCT_WEIGHTS,
    ),
    # peak lr 1e-3 as in pretraining: at 3e-4 the speech prompts' translation was learnt but
    # copying was not (0-2% exact outside English)
    instruct=TextPretrainOptions(
        steps=400, lr=1e-3, warmup_steps=50, denoise_share=0.1, instruct_share=0.6,
        instruct_weights=INSTRUCT_WEIGHTS,
    ),
)  # fmt: skip


def pretrain_mini_llm(
    corpus: Path,
    out: Path,
    recipe: MiniLLMRecipe,
    timed: Callable[[str, Callable[[], Any]], Any],
    log: Callable[[str], None] = print,
) -> Path:
    """Make the mini LLM from the corpus text: ``out/mt5-base`` then ``out/mt5``, each skipped
    when its model exists and resumed when it was cut.

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
    if not (base / "model" / "config.json").exists():
        timed("pretrain-text", lambda: pretrain_text(train, dev, base, recipe.base, log=log))
    tune = replace(recipe.instruct, init=str(base / "model"))
    timed("instruct-text", lambda: pretrain_text(train, dev, final, tune, log))
    return final / "model"
