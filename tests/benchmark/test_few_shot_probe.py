"""The few-shot text probe: its prompts, batched generation cut at the line's end, the examples
drawn from training text only (the real Gemma's answers: tests/hub/test_gemma_packaged.py)."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForCausalLM

from unheard.benchmark.few_shot_probe import few_shot_probe, few_shot_prompt, generate_lines
from unheard.build import load_tokenizer, resolve_model
from unheard.data.synth.parallel_text import ParallelText, write_parallel_text


def _row(lang, n, text, english):
    return ParallelText(f"{lang}-n{n}", f"n{n}", lang, text, english, "cardinal")


def test_prompts_show_the_shots_then_ask_for_the_rest_of_the_line():
    shots = [_row("ca", 1, "u", "one"), _row("ca", 2, "dos", "two")]
    query = _row("ca", 3, "tres", "three")
    assert few_shot_prompt("translate", "ca", shots, query) == (
        "Catalan: u\nEnglish: one\n\nCatalan: dos\nEnglish: two\n\nCatalan: tres\nEnglish:"
    )
    assert few_shot_prompt("copy", "ca", shots[:1], query) == (
        "Catalan: u\nCatalan again: u\n\nCatalan: tres\nCatalan again:"
    )
    with pytest.raises(ValueError, match="few-shot task must be one of"):
        few_shot_prompt("summarize", "ca", shots, query)


def test_batched_generation_equals_one_prompt_at_a_time(tiny_models):
    config = tiny_models("whisper", "gemma3")
    tokenizer = load_tokenizer(config)
    torch.manual_seed(0)
    llm = AutoModelForCausalLM.from_pretrained(resolve_model(config.llm)).eval()
    prompts = ["uno dos tres", "cuatro", "cinco seis siete ocho nueve diez"]  # unequal lengths
    batched = generate_lines(llm, tokenizer, prompts, batch_size=3, max_new_tokens=6)
    alone = [generate_lines(llm, tokenizer, [p], max_new_tokens=6)[0] for p in prompts]
    assert batched == alone
    assert any(batched) and all("\n" not in line for line in batched)
    assert tokenizer.padding_side == "right"  # padded on the left only while generating


def test_a_language_without_enough_training_text_is_refused(tmp_path, tiny_models):
    text = tmp_path / "text"
    write_parallel_text(text / "ca_train.jsonl", [_row("ca", 1, "u", "one")])
    write_parallel_text(text / "ca_test.jsonl", [_row("ca", 3, "tres", "three")])
    config = tiny_models("whisper", "gemma3")
    llm = AutoModelForCausalLM.from_pretrained(resolve_model(config.llm)).eval()
    with pytest.raises(ValueError, match="'ca' needs test text and 4 training items"):
        few_shot_probe(llm, load_tokenizer(config), tmp_path, ["ca"])


def test_the_benchmark_probes_a_decoder_only_llm_few_shot_too(tmp_path, tiny_models):
    """Beside the speech-prompt probe, a decoder-only LLM is probed few-shot, per system, cached
    by the checkpoint's content; an encoder-decoder one is not."""
    from unheard.benchmark.run import Benchmark, BenchmarkOptions
    from unheard.build import build_speech_llm
    from unheard.checkpoint import save_checkpoint

    corpus = tmp_path / "bench" / "corpus"
    for lang in ("es", "fr", "it", "pt", "de", "en", "ca", "nl"):  # the mini track's languages
        for split, numbers in (("train", range(1, 6)), ("test", range(10, 12))):
            write_parallel_text(corpus / "text" / f"{lang}_{split}.jsonl", [
                _row(lang, n, f"{lang} {n}", f"en {n}") for n in numbers
            ])  # fmt: skip
    probed = {}
    for llm in ("gemma3", "mt5"):
        config = tiny_models("whisper", llm)
        checkpoint = save_checkpoint(build_speech_llm(config), config, tmp_path / llm)
        options = BenchmarkOptions(track="mini", mt5=config.llm, progress=False)
        bench = Benchmark(tmp_path / "bench", options, log=lambda _: None)
        bench.probe_text(f"{llm} (stage 1)", checkpoint)
        assert sorted(bench.text_probes[f"{llm} (stage 1)"]) == sorted(bench.languages)
        probed[llm] = bench.few_shot_probes
    assert probed["mt5"] == {}
    scores = probed["gemma3"]["gemma3 (stage 1)"]
    assert sorted(scores) == sorted(bench.languages) and scores["ca"]["n"] == 2
    saved = tmp_path / "bench" / "few-shot-probe" / "gemma3-stage-1.json"
    assert json.loads(saved.read_text())["scores"] == scores
