"""Batched decoding: duration batches, the length limit, and batched greedy hypotheses equal to
one-at-a-time ones on tiny models whose trained parts are perturbed (so they write something)."""

from __future__ import annotations

import pytest
import torch

from unheard.build import build_speech_llm, load_tokenizer
from unheard.data.collate import Example, SpeechCollator
from unheard.data.features import feature_extractor_for
from unheard.decoding.batching import duration_batches
from unheard.decoding.decode import DecodeOptions, decode
from unheard.evaluation.degenerate import is_looping


def _setup(config):
    model = build_speech_llm(config)
    torch.manual_seed(1)
    with torch.no_grad():  # random adapter, LoRA B non-zero: non-trivial, varied answers
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.5)
    tokenizer = load_tokenizer(config)
    extractor = feature_extractor_for(model.encoder.model.config)
    return model.eval(), SpeechCollator(tokenizer, extractor, model.is_encoder_decoder), tokenizer


def _examples(clips) -> list[Example]:
    # 3 real clips plus cuts of them: 7 lengths, both tasks, so batches carry real padding
    audios = [*clips, clips[1][:12000], clips[2][:20000], clips[2][:9000], clips[1][:5000]]
    langs = ["es", "en", "fr", "en", "fr", "fr", "en"]
    return [
        Example(f"u{i}", a, task, lang, "en" if task == "st" else lang, None)
        for i, (a, lang, task) in enumerate(zip(audios, langs, ["asr", "st"] * 3 + ["asr"], strict=True))
    ]  # fmt: skip


def test_duration_batches_are_longest_first_and_capped():
    durations = [1.0, 5.0, 3.0, 5.0, 2.0, 0.5]
    assert duration_batches(durations, 2) == [[1, 3], [2, 4], [0, 5]]  # ties in input order
    # 8 padded seconds per batch at most: 5+5 > 8, so the 5 s clips go alone
    assert duration_batches(durations, 4, max_batch_seconds=8.0) == [[1], [3], [2, 4], [0, 5]]
    assert sorted(i for b in duration_batches(durations, 3) for i in b) == list(range(6))
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        duration_batches(durations, 0)


def test_length_limit_follows_the_duration_up_to_the_cap():
    options = DecodeOptions(length_base=16, tokens_per_second=8, max_new_tokens=100)
    assert options.token_limit(0.0) == 16
    assert options.token_limit(2.1) == 33  # ceil(16 + 16.8)
    assert options.token_limit(60.0) == 100
    with pytest.raises(ValueError, match="num_beams must be >= 1, got 0"):
        DecodeOptions(num_beams=0)
    with pytest.raises(ValueError, match="repetition_penalty"):
        DecodeOptions(repetition_penalty=0.0)


@pytest.mark.parametrize(("encoder", "llm"), [("whisper", "mt5"), ("w2v-bert", "qwen2")])
def test_batched_greedy_equals_one_at_a_time(encoder, llm, tiny_models, clips):
    model, collator, tokenizer = _setup(tiny_models(encoder, llm))
    examples = _examples(clips)
    options = DecodeOptions(batch_size=16, length_base=6, tokens_per_second=4)
    batched = decode(model, collator, tokenizer, examples, options)
    alone = decode(model, collator, tokenizer, examples, DecodeOptions(batch_size=1, length_base=6, tokens_per_second=4))  # fmt: skip
    assert batched == alone
    assert len({h for h in batched if h}) >= 4, batched  # non-trivial, varied answers
    # greedy is prefix-consistent: a tighter length limit gives a prefix of each answer
    short = decode(model, collator, tokenizer, examples, DecodeOptions(length_base=2, tokens_per_second=0))  # fmt: skip
    assert all(b.startswith(s) for s, b in zip(short, batched, strict=True))
    assert short != batched


@pytest.mark.parametrize("llm", ["mt5", "qwen2"])
def test_beam_search_and_repetition_guards_run_on_both_llm_kinds(llm, tiny_models, clips):
    model, collator, tokenizer = _setup(tiny_models("whisper", llm))
    examples = _examples(clips)[:4]
    short = {"length_base": 12, "tokens_per_second": 2}
    beams = decode(model, collator, tokenizer, examples, DecodeOptions(num_beams=3, **short))
    assert len(beams) == 4 and all(isinstance(h, str) for h in beams)
    plain = decode(model, collator, tokenizer, examples, DecodeOptions(**short))
    guarded = decode(
        model, collator, tokenizer, examples, DecodeOptions(no_repeat_ngram_size=2, **short)
    )
    # the random model loops; forbidding repeated token pairs breaks the loops
    assert any(is_looping(h) for h in plain)
    assert guarded != plain and sum(map(is_looping, guarded)) < sum(map(is_looping, plain))
