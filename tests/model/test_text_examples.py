"""Text-only examples in SpeechLLM: the LLM reads its own token embeddings of the source text,
and a batch mixing speech and text gives each item what it gets alone."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from speech_setup import setup_speech_llm

from unheard.data.collate import Example, TextExample
from unheard.model.speech_llm import pack_segments

TEXTS = [
    TextExample("t0", "uno dos tres", "translate", "es", "en", "one two three"),
    TextExample("t1", "bonjour monde", "denoise", "fr", "fr", "bonjour le monde"),
]


def _speech(clips):
    return [
        Example("s0", clips[0], "asr", "es", "es", "uno"),
        Example("s1", clips[1], "st", "en", "en", "hello world"),
    ]


@pytest.mark.parametrize("llm", ["mt5", "qwen2", "gemma3"])
def test_a_text_example_is_the_llm_reading_its_own_embeddings_of_the_prompt(llm, tiny_models):
    model, collator, tokenizer = setup_speech_llm(tiny_models("whisper", llm))
    batch = collator(TEXTS)
    assert "features" not in batch and "speech_rows" not in batch  # no audio, no encoder
    table = model.llm.get_input_embeddings()
    segments = model.prompt_segments(**{k: v for k, v in batch.items() if "target" not in k})
    assert len(segments) == 3  # prefix, source text, suffix
    text_embeddings, text_mask = segments[1]
    for i, example in enumerate(TEXTS):
        ids = tokenizer(example.source, add_special_tokens=False).input_ids
        assert batch["text_ids"][i][text_mask[i]].tolist() == ids
        scale = getattr(table, "embed_scale", 1.0)  # Gemma scales its embeddings
        torch.testing.assert_close(
            text_embeddings[i][text_mask[i]], table.weight[ids] * scale, atol=0, rtol=0
        )
    # end to end: the same loss as the plain LLM given the whole prompt as token ids
    out = model(**batch)
    prompt_ids = [
        torch.cat([batch[f"{part}_ids"][i][batch[f"{part}_mask"][i].bool()]
                   for part in ("prefix", "text", "suffix")])
        for i in range(len(TEXTS))
    ]  # fmt: skip
    losses, tokens = [], 0
    for i, ids in enumerate(prompt_ids):
        target = batch["target_ids"][i][batch["target_mask"][i].bool()]
        with torch.no_grad():
            if model.is_encoder_decoder:
                logits = model.llm(input_ids=ids[None], labels=target[None]).logits[0]
                losses.append(F.cross_entropy(logits, target, reduction="sum"))
            else:
                logits = model.llm(input_ids=torch.cat([ids, target])[None]).logits[0]
                losses.append(F.cross_entropy(logits[len(ids) - 1 : -1], target, reduction="sum"))
        tokens += len(target)
    assert out.loss.item() == pytest.approx((sum(losses) / tokens).item(), rel=1e-5)


@pytest.mark.parametrize("llm", ["mt5", "qwen2"])
def test_a_mixed_batch_gives_the_token_weighted_mean_of_its_parts(llm, tiny_models, clips):
    model, collator, _ = setup_speech_llm(tiny_models("w2v-bert", llm))
    speech, texts = _speech(clips), TEXTS
    mixed = [texts[0], speech[0], texts[1], speech[1]]  # text rows between speech rows
    batch = collator(mixed)
    assert batch["speech_rows"].tolist() == [1, 3] and batch["features"].shape[0] == 2
    assert batch["text_mask"][[1, 3]].sum() == 0  # speech rows carry no source text
    with torch.no_grad():
        out = model(**batch)
        parts = [model(**collator(speech)), model(**collator(texts))]
        alone = [model(**collator([e])) for e in mixed]
    counts = [int(collator(p)["target_mask"].sum()) for p in (speech, texts)]
    mean = sum(p.loss.item() * n for p, n in zip(parts, counts, strict=True)) / sum(counts)
    assert out.loss.item() == pytest.approx(mean, rel=1e-5)
    for i, single in enumerate(alone):  # each row as it is alone
        valid = single.labels[0] != -100
        width = single.logits.shape[1]
        torch.testing.assert_close(
            out.logits[i, :width][valid], single.logits[0][valid], atol=1e-4, rtol=0
        )


def test_gradients_reach_the_adapter_from_speech_only(tiny_models, clips):
    model, collator, _ = setup_speech_llm(tiny_models("whisper", "mt5"))
    model.train()
    model(**collator(TEXTS)).loss.backward()
    assert all(p.grad is None for p in [*model.adapter.parameters(), *model.layer_mix.parameters()])
    lora = [p for n, p in model.llm.named_parameters() if "lora_" in n]
    assert all(p.grad is not None for p in lora) and sum(p.grad.abs().sum() for p in lora) > 0
    model.zero_grad(set_to_none=True)
    model(**collator([TEXTS[0], _speech(clips)[0]])).loss.backward()
    assert all(p.grad.abs().sum() > 0 for p in model.adapter.parameters())


def test_batched_greedy_of_a_mixed_batch_equals_one_at_a_time(tiny_models, clips):
    model, collator, tokenizer = setup_speech_llm(tiny_models("whisper", "llama"))
    mixed = [*TEXTS, *_speech(clips)]
    mixed = [type(e)(**{**e.__dict__, "target": None}) for e in mixed]
    kwargs = dict(max_new_tokens=6, pad_token_id=tokenizer.pad_token_id, eos_token_id=-1)
    batched = model.generate(**collator(mixed), **kwargs)
    for i, e in enumerate(mixed):
        assert batched[i].tolist() == model.generate(**collator([e]), **kwargs)[0].tolist()
    packed, mask, _ = pack_segments(model.prompt_segments(**collator(mixed)), left_pad=True)
    assert packed.shape[0] == 4 and bool((mask.sum(1) > 0).all())
