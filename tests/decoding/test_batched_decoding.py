"""Batched decoding: duration batches, the length limit, batched greedy hypotheses equal to
one-at-a-time ones, greedy equal to the model's argmax step by step, and beam search finding
answers the model scores at least as high as greedy's, on tiny models whose trained parts are
perturbed (so they write something)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from unheard.build import build_speech_llm, load_tokenizer
from unheard.data.collate import Example, SpeechCollator
from unheard.data.features import feature_extractor_for
from unheard.decoding.batching import duration_batches
from unheard.decoding.decode import DecodeOptions, decode
from unheard.encoders import SAMPLE_RATE
from unheard.evaluation.degenerate import is_looping
from unheard.model.speech_llm import IGNORE_INDEX
from unheard.tiny import perturb_trained


def _setup(config):
    torch.manual_seed(1)  # before building: the adapter's and LoRA's initial draws too
    model = build_speech_llm(config)
    perturb_trained(model)  # random adapter, LoRA B non-zero: non-trivial, varied answers
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


def _decode_ids(model, collator, tokenizer, examples, options) -> tuple[list[str], list[list[int]]]:
    """`decode`'s hypotheses and the answer ids its ``generate`` calls returned (each up to and
    including EOS, in the order of ``examples``): the real calls, recorded on their way out."""
    rows: list[list[int]] = []  # in batch order: longest utterances first
    order: list[int] = []
    generate = model.generate

    def recording(**kwargs):
        ids = generate(**kwargs)
        rows.extend(ids.tolist())
        return ids

    model.generate = recording
    try:
        texts = decode(model, collator, tokenizer, examples, options, on_batch=lambda i, _: order.extend(i))  # fmt: skip
    finally:
        del model.generate
    eos = tokenizer.eos_token_id
    by_example = dict(zip(order, rows, strict=True))
    answers = []
    for i, example in enumerate(examples):
        row = by_example[i]
        row = row[: row.index(eos) + 1] if eos in row else row
        # an answer at its limit gets an EOS forced by `AnswerLengthLimit` (logit 0 in the
        # search, not the model's): the answer is its first `limit` tokens, as a cut one was
        answers.append(row[: options.token_limit(len(example.audio) / SAMPLE_RATE)])
    return texts, answers


def _answer_log_probs(model, collator, example, ids: list[int]) -> torch.Tensor:
    """``(len(ids), vocab)`` log-probabilities of each answer position given the tokens before it,
    by a teacher-forced forward pass (independent of ``generate``)."""
    batch = collator([replace(example, target=None)])
    target = torch.tensor([ids])
    batch = replace(batch, target_ids=target, target_mask=torch.ones_like(target))
    with torch.no_grad():
        out = model(**batch)
    return out.logits.float().log_softmax(-1)[out.labels != IGNORE_INDEX]


def _argmax_answer(model, collator, example, eos: int, limit: int) -> list[int]:
    ids: list[int] = []
    while len(ids) < limit and (not ids or ids[-1] != eos):
        # the last position predicts the token after ``ids`` (its own target is a placeholder)
        ids.append(int(_answer_log_probs(model, collator, example, [*ids, eos])[-1].argmax()))
    return ids


TWO_KINDS = [("whisper", "mt5"), ("whisper", "qwen2")]  # beams change answers of both


@pytest.mark.parametrize(("encoder", "llm"), TWO_KINDS)
def test_greedy_search_is_the_models_argmax_at_every_step(encoder, llm, tiny_models, clips):
    model, collator, tokenizer = _setup(tiny_models(encoder, llm))
    examples = _examples(clips)
    options = DecodeOptions(num_beams=1, batch_size=1, length_base=8, tokens_per_second=0)
    texts, ids = _decode_ids(model, collator, tokenizer, examples, options)
    for example, text, row in zip(examples, texts, ids, strict=True):
        expected = _argmax_answer(model, collator, example, tokenizer.eos_token_id, limit=8)
        assert row == expected, example.id
        assert text == tokenizer.decode(expected, skip_special_tokens=True).strip()


@pytest.mark.parametrize(("encoder", "llm"), TWO_KINDS)
def test_beam_search_scores_at_least_greedys_and_batches_like_one_at_a_time(
    encoder, llm, tiny_models, clips
):
    model, collator, tokenizer = _setup(tiny_models(encoder, llm))
    examples = _examples(clips)
    # one length limit for all (tokens_per_second=0): see the duration-limit test below
    same = {"length_base": 8, "tokens_per_second": 0}
    greedy, greedy_ids = _decode_ids(model, collator, tokenizer, examples, DecodeOptions(batch_size=1, **same))  # fmt: skip
    beam, beam_ids = _decode_ids(model, collator, tokenizer, examples, DecodeOptions(num_beams=4, batch_size=1, **same))  # fmt: skip
    batched = decode(model, collator, tokenizer, examples, DecodeOptions(num_beams=4, batch_size=16, **same))  # fmt: skip
    assert batched == beam

    def score(example, ids: list[int]) -> float:
        # what transformers' beam search ranks finished answers by: the summed log-probability
        # over the answer's tokens (EOS included) / length ** length_penalty (DecodeOptions: 1.0)
        log_probs = _answer_log_probs(model, collator, example, ids)
        return float(log_probs.gather(1, torch.tensor(ids)[:, None]).sum()) / len(ids)

    gains = [
        score(e, b) - score(e, g) for e, b, g in zip(examples, beam_ids, greedy_ids, strict=True)
    ]
    # 4 beams keep greedy's answer in view or one scored higher (not a theorem of beam search,
    # which may drop greedy's prefix; true of every answer here, seen: gains 0 to 0.19 nats/token)
    assert min(gains) > -1e-5, gains
    assert max(gains) > 1e-3 and beam != greedy  # and the beams changed some answers


def test_batched_beam_search_with_duration_limits_equals_one_at_a_time(tiny_models, clips):
    # beam search is not prefix-consistent: a batch searched up to its longest utterance's limit,
    # then cut, gave answers that depended on the rest of the batch; each answer now ends at its
    # own limit inside the search (`AnswerLengthLimit`)
    model, collator, tokenizer = _setup(tiny_models("whisper", "qwen2"))
    examples = _examples(clips)
    by_duration = {"num_beams": 4, "length_base": 8, "tokens_per_second": 2}
    batched = decode(model, collator, tokenizer, examples, DecodeOptions(batch_size=16, **by_duration))  # fmt: skip
    alone = decode(model, collator, tokenizer, examples, DecodeOptions(batch_size=1, **by_duration))  # fmt: skip
    assert batched == alone
