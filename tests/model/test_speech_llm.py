"""SpeechLLM on tiny models of every encoder family and both LLM kinds."""

from __future__ import annotations

import pytest
import torch
from speech_setup import setup_speech_llm

from unheard.build import build_speech_llm
from unheard.data.collate import Example
from unheard.model.lora import is_lora_parameter
from unheard.tiny import ENCODERS, LLMS


def _examples(clips):
    targets = ["uno", "hello world", "un deux trois quatre"]
    langs = ["es", "en", "fr"]
    return [
        Example(f"u{i}", clip, task, lang, "en" if task == "st" else lang, target)
        for i, (clip, target, lang, task) in enumerate(
            zip(clips, targets, langs, ["asr", "st", "asr"], strict=True)
        )
    ]


@pytest.mark.parametrize("llm", ["mt5", "qwen2"])
@pytest.mark.parametrize("encoder", ["whisper", "w2v-bert"])
def test_padding_does_not_change_results(encoder, llm, tiny_models, clips):
    model, collator, _ = setup_speech_llm(tiny_models(encoder, llm))
    examples = _examples(clips)
    # the short clip cut to 4 lengths one encoder frame (20 ms) apart, so the padding starts at
    # every phase of the adapter's stride-4 conv; each is padded to the longest clip in the batch
    shorts = [
        Example(f"short{k}", clips[0][: len(clips[0]) - 320 * k], "asr", "es", "es", "uno")
        for k in range(4)
    ]
    batch = collator([*shorts, examples[2]])
    with torch.no_grad():
        a_batch, n_batch = model.embed_audio(batch["features"], batch["feature_mask"])
        out_batch = model(**batch)
    for i, short in enumerate(shorts):
        alone = collator([short])
        with torch.no_grad():
            a_alone, n_alone = model.embed_audio(alone["features"], alone["feature_mask"])
            out_alone = model(**alone)
        assert n_batch[i] == n_alone[0] < n_batch.max()
        n = int(n_alone[0])
        torch.testing.assert_close(a_batch[i, :n], a_alone[0, :n], atol=1e-4, rtol=0)
        valid = out_alone.labels[0] != -100
        assert valid.sum() >= 2
        # the item's sequence sits at the same positions alone and in the batch
        width = out_alone.logits.shape[1]
        torch.testing.assert_close(
            out_batch.logits[i, :width][valid], out_alone.logits[0][valid], atol=1e-4, rtol=0
        )
        torch.testing.assert_close(out_batch.labels[i, :width], out_alone.labels[0])
    # the cuts really gave 4 different encoder lengths
    frames = model.encoder(batch["features"], batch["feature_mask"]).lengths
    assert len(set(frames[:4].tolist())) == 4


@pytest.mark.parametrize("llm", LLMS)
@pytest.mark.parametrize("encoder", ENCODERS)
def test_forward_backward_generate_and_gradients(encoder, llm, tiny_models, clips):
    model, collator, tokenizer = setup_speech_llm(tiny_models(encoder, llm))
    model.train()
    batch = collator(_examples(clips))
    out = model(**batch)
    assert torch.isfinite(out.loss) and out.loss.item() > 0
    out.loss.backward()

    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trained == {
        n
        for n, _ in model.named_parameters()
        if n.startswith(("layer_mix.", "adapter.")) or is_lora_parameter(n)
    }
    assert any(is_lora_parameter(n) for n in trained)
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None, name
            assert p.grad.abs().sum() > 0, name
        else:
            assert p.grad is None, name

    model.eval()
    prompt = {k: v for k, v in batch.items() if not k.startswith("target")}
    ids = model.generate(**prompt, max_new_tokens=5, pad_token_id=tokenizer.pad_token_id)
    assert ids.shape[0] == 3 and 1 <= ids.shape[1] <= 5
    assert int(ids.max()) < len(tokenizer)


@pytest.mark.parametrize("llm", ["mt5", "llama"])
def test_batched_greedy_equals_one_at_a_time(llm, tiny_models, clips):
    model, collator, tokenizer = setup_speech_llm(tiny_models("whisper", llm))
    examples = [
        Example(e.id, e.audio, e.task, e.language, e.target_language, None)
        for e in _examples(clips)
    ]
    kwargs = dict(max_new_tokens=6, pad_token_id=tokenizer.pad_token_id, eos_token_id=-1)
    batched = model.generate(**collator(examples), **kwargs)
    for i, e in enumerate(examples):
        single = model.generate(**collator([e]), **kwargs)
        assert batched[i].tolist() == single[0].tolist()


def test_frozen_encoder_stores_no_graph(tiny_models, clips):
    model, collator, _ = setup_speech_llm(tiny_models("w2v-bert", "mt5"))
    model.train()
    batch = collator(_examples(clips))
    enc = model.encoder(batch["features"], batch["feature_mask"])
    assert all(h.grad_fn is None and not h.requires_grad for h in enc.hidden_states)
    assert not model.encoder.model.training  # dropout stays off in the frozen encoder


def test_half_precision_frozen_parts_train_in_fp32(tiny_models, clips):
    from dataclasses import replace

    config = replace(tiny_models("whisper", "qwen2"), dtype="bfloat16")
    model, collator, _ = setup_speech_llm(config)
    assert next(model.encoder.parameters()).dtype == torch.bfloat16
    assert model.adapter.conv1.weight.dtype == torch.float32  # trained parts stay fp32
    lora = [p for n, p in model.llm.named_parameters() if ".lora_" in n]
    assert lora and all(p.dtype == torch.float32 and p.requires_grad for p in lora)
    out = model.train()(**collator(_examples(clips)))
    out.loss.backward()
    assert torch.isfinite(out.loss)
    assert model.adapter.conv1.weight.grad.abs().sum() > 0
    assert all(p.grad is not None for p in lora)


def test_trainable_encoder_ablation_gets_gradients(tiny_models, clips):
    from dataclasses import replace

    model, collator, _ = setup_speech_llm(
        replace(tiny_models("whisper", "mt5"), encoder_trainable=True)
    )
    model.train()
    assert model.encoder.model.training
    model(**collator(_examples(clips))).loss.backward()
    grads = [p.grad for p in model.encoder.parameters()]
    assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0


def test_whisper_real_length_matches_the_window_and_ignores_padding(tiny_models, clips):
    from dataclasses import replace

    from unheard.data.features import extract_features
    from unheard.model.encoder import SpeechEncoder

    model, collator, _ = setup_speech_llm(tiny_models("whisper", "mt5"))
    real = SpeechEncoder(model.encoder.model, whisper_real_length=True)
    extractor = collator.feature_extractor
    # a clip filling the whole window: the two paths are the same computation
    window = torch.randn(extractor.window_frames * 160).numpy() * 0.1
    features, mask = extract_features(extractor, [window])
    for a, b in zip(model.encoder(features, mask).hidden_states, real(features, mask).hidden_states,
                    strict=True):  # fmt: skip
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    # a short clip alone and inside a batch with a longer one
    batch_f, batch_m = extract_features(extractor, [clips[0], clips[2]])
    alone_f, alone_m = extract_features(extractor, [clips[0]])
    batched, alone = real(batch_f, batch_m), real(alone_f, alone_m)
    n = int(alone.lengths[0])
    assert batched.lengths[0] == n < batched.lengths[1]
    assert alone.hidden_states[0].shape[1] == n  # only the real frames were encoded
    for a, b in zip(batched.hidden_states, alone.hidden_states, strict=True):
        torch.testing.assert_close(a[0, :n], b[0, :n], atol=1e-4, rtol=1e-4)
    config = replace(tiny_models("whisper", "mt5"), whisper_real_length=True)
    assert build_speech_llm(config).encoder.whisper_real_length


def _same_training_after(model, batch, switch):
    """The outputs before and after ``switch(model)``, having checked that both give the same
    loss and gradients of every trained parameter."""
    before = model(**batch)
    before.loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    model.zero_grad()
    switch(model)
    after = model(**batch)
    after.loss.backward()
    torch.testing.assert_close(after.loss, before.loss, atol=1e-5, rtol=1e-5)
    for name, p in model.named_parameters():
        if p.requires_grad:
            torch.testing.assert_close(p.grad, grads[name], atol=1e-5, rtol=1e-4)
    return before, after


@pytest.mark.parametrize("llm", ["qwen2", "gemma3"])
def test_answer_logits_only_gives_the_same_loss_and_gradients(llm, tiny_models, clips):
    model, collator, _ = setup_speech_llm(tiny_models("whisper", llm))
    batch = collator(_examples(clips))
    full, kept = _same_training_after(
        model, batch, lambda m: setattr(m, "answer_logits_only", True)
    )
    # only positions where some item has an answer token got logits
    answer_positions = (full.labels != -100).any(0).sum()
    assert kept.logits.shape[1] == answer_positions < full.logits.shape[1]
    torch.testing.assert_close(
        kept.logits[kept.labels != -100], full.logits[full.labels != -100], atol=1e-5, rtol=1e-5
    )


@pytest.mark.parametrize("llm", ["qwen2", "gemma3"])
def test_packed_sequences_give_the_padded_loss_and_gradients(llm, tiny_models, clips):
    """One row of the items back to back (no padding) trains exactly as the padded batch."""
    model, collator, _ = setup_speech_llm(tiny_models("whisper", llm))
    model.answer_logits_only = True  # as the recipe trains
    batch = collator(_examples(clips))
    padded, packed = _same_training_after(
        model, batch, lambda m: setattr(m, "pack_sequences", True)
    )
    # one row, holding each answer token once, in the items' order
    assert packed.logits.shape[0] == 1
    answers = padded.labels[padded.labels != -100]
    assert torch.equal(packed.labels[packed.labels != -100], answers)
    assert (packed.labels != -100).sum() == (batch.target_mask == 1).sum()
