"""The mini track's LLM recipe: one run from scratch into ``mt5/`` (what `MINI_LLM` is), or a
pretraining into ``mt5-base/`` then an instruction tuning from it into ``mt5/``."""

from __future__ import annotations

from dataclasses import replace

import pytest
from transformers import AutoTokenizer

from unheard.benchmark.mini_llm import MINI_LLM, MiniLLMRecipe, pretrain_mini_llm
from unheard.benchmark.options import BenchmarkOptions
from unheard.data.phonemes import phonemize
from unheard.recipes.pretrain_text import TextPretrainOptions
from unheard.recipes.text_tasks import PHONEME_TASKS


def _small(options: TextPretrainOptions) -> TextPretrainOptions:
    """``options`` at a size and length a test trains in seconds (tasks and optimizer kept)."""
    return replace(options, steps=2, batch_size=4, d_model=32, d_ff=64, layers=1, heads=2,
                   warmup_steps=1, probe_every=0, phoneme_sample=10)  # fmt: skip


def test_the_recipe_is_one_adafactor_run_with_the_phoneme_tasks_and_no_tuning():
    assert MINI_LLM.instruct is None
    base = MINI_LLM.base
    assert (base.optimizer, base.lr) == ("adafactor", 1e-2) and base.tie_head and base.phonemes
    assert set(PHONEME_TASKS) <= set(base.instruct_weights)
    assert BenchmarkOptions().instruct_steps == 0  # the benchmark's default follows the recipe
    with pytest.raises(ValueError, match="has no instruction tuning"):
        BenchmarkOptions(instruct_steps=100)
    with pytest.raises(ValueError, match="has no instruction tuning"):
        MINI_LLM.adjusted(instruct_steps=100)
    adjusted = MINI_LLM.adjusted(base_steps=10, instruct_steps=0, languages=("es",), seed=3)
    assert adjusted.instruct is None
    assert (adjusted.base.steps, adjusted.base.languages, adjusted.base.seed) == (10, ("es",), 3)


def test_one_run_writes_the_llm_to_mt5_and_it_writes_phones(numbers_corpus, tmp_path):
    corpus, out, timed = numbers_corpus, tmp_path / "bench", {}
    recipe = MiniLLMRecipe(_small(MINI_LLM.base))
    made = pretrain_mini_llm(corpus, out, recipe, lambda n, work: timed.setdefault(n, work()))
    assert made == out / "mt5" / "model" and (made / "config.json").is_file()
    assert not (out / "mt5-base").exists() and list(timed) == ["pretrain-text"]
    tokenizer = AutoTokenizer.from_pretrained(made)
    phones = phonemize("veintitrés", "es")
    assert tokenizer.decode(tokenizer(phones).input_ids, skip_special_tokens=True) == phones
    # a second call finds the model and trains nothing
    assert pretrain_mini_llm(corpus, out, recipe, lambda n, work: 1 / 0) == made


def test_a_recipe_with_tuning_pretrains_then_tunes_from_the_base(numbers_corpus, tmp_path):
    corpus, out, timed = numbers_corpus, tmp_path / "bench", {}
    plain = _small(TextPretrainOptions(vocab_size=300, instruct_share=0.5))
    recipe = MiniLLMRecipe(plain, replace(plain, denoise_share=0.0, instruct_share=1.0))
    made = pretrain_mini_llm(corpus, out, recipe, lambda n, work: timed.setdefault(n, work()))
    assert made == out / "mt5" / "model" and (out / "mt5-base" / "model" / "config.json").is_file()
    assert list(timed) == ["pretrain-text", "instruct-text"]
    assert MiniLLMRecipe(plain, plain).adjusted(instruct_steps=5).instruct.steps == 5
