"""The encoder-output cache: same results as the encoder, hits across batches, runs and disk."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from unheard.build import build_speech_llm, load_tokenizer
from unheard.data.collate import Example, SpeechCollator
from unheard.data.features import feature_extractor_for
from unheard.model.encoder_cache import EncoderCache, attach_encoder_cache


def _model(config):
    torch.manual_seed(0)
    model = build_speech_llm(config).eval()
    collator = SpeechCollator(
        load_tokenizer(config),
        feature_extractor_for(model.encoder.model.config),
        model.is_encoder_decoder,
    )
    return model, collator


def _examples(clips):
    targets = ["uno", "hello world", "un deux trois quatre"]
    langs = ["es", "en", "fr"]
    return [
        Example(f"u{i}", clip, "asr", lang, lang, target)
        for i, (clip, target, lang) in enumerate(zip(clips, targets, langs, strict=True))
    ]


@pytest.mark.parametrize(
    ("encoder", "real_length"), [("whisper", False), ("whisper", True), ("w2v-bert", False)]
)
def test_cached_outputs_equal_the_encoder_in_any_batch(encoder, real_length, tiny_models, clips):
    config = replace(tiny_models(encoder, "mt5"), whisper_real_length=real_length)
    model, collator = _model(config)
    examples = _examples(clips)
    full = collator(examples)
    with torch.no_grad():
        plain = model.encoder(full["features"], full["feature_mask"])
        plain_loss = model(**full).loss
    cache = attach_encoder_cache(model.encoder, "memory", "float32")
    # first two items alone (2 misses), then the whole batch (2 hits, 1 miss)
    pair = collator(examples[:2])
    model.encoder(pair["features"], pair["feature_mask"])
    assert (cache.stats.hits, cache.stats.misses) == (0, 2)
    with torch.no_grad():
        cached = model.encoder(full["features"], full["feature_mask"])
        cached_loss = model(**full).loss
    assert cache.stats.hits == 2 + 3 and cache.stats.misses == 3  # the forward hit all three
    assert cached.lengths.tolist() == plain.lengths.tolist()
    for a, b in zip(cached.hidden_states, plain.hidden_states, strict=True):
        for i, n in enumerate(plain.lengths.tolist()):
            torch.testing.assert_close(a[i, :n], b[i, :n], atol=1e-4, rtol=1e-4)
        assert a.shape[1] == max(plain.lengths.tolist())  # padded to the longest, not the window
    torch.testing.assert_close(cached_loss, plain_loss, atol=1e-4, rtol=1e-4)


def test_float16_storage_is_close_and_halves_memory(tiny_models, clips):
    model, collator = _model(tiny_models("whisper", "mt5"))
    batch = collator(_examples(clips))
    plain = model.encoder(batch["features"], batch["feature_mask"])
    half = attach_encoder_cache(model.encoder, "memory", "float16")
    model.encoder(batch["features"], batch["feature_mask"])
    again = model.encoder(batch["features"], batch["feature_mask"])
    n = plain.lengths
    for a, b in zip(again.hidden_states, plain.hidden_states, strict=True):
        for i in range(3):
            torch.testing.assert_close(a[i, : n[i]], b[i, : n[i]], atol=2e-2, rtol=2e-3)
    frames = int(n.sum())
    states = model.encoder.num_hidden_states
    assert half.memory_bytes == frames * states * model.encoder.hidden_size * 2


def test_a_directory_serves_a_later_run_and_refuses_another_encoder(tmp_path, tiny_models, clips):
    model, collator = _model(tiny_models("whisper", "mt5"))
    batch = collator(_examples(clips))
    first = attach_encoder_cache(model.encoder, str(tmp_path / "cache"), "float32")
    expected = model.encoder(batch["features"], batch["feature_mask"])
    assert len(first) == 3 and first.stats.misses == 3
    # a new model object with the same weights: everything comes from disk
    again, _ = _model(tiny_models("whisper", "mt5"))
    second = attach_encoder_cache(again.encoder, str(tmp_path / "cache"), "float32")
    got = again.encoder(batch["features"], batch["feature_mask"])
    assert (second.stats.hits, second.stats.misses) == (3, 0)
    for a, b in zip(got.hidden_states, expected.hidden_states, strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    # another encoder (different weights) must not read these states
    other, _ = _model(tiny_models("w2v-bert", "mt5"))
    with pytest.raises(ValueError, match="was made for"):
        attach_encoder_cache(other.encoder, str(tmp_path / "cache"), "float32")
    with pytest.raises(ValueError, match="was made for"):  # nor another storage dtype
        attach_encoder_cache(again.encoder, str(tmp_path / "cache"), "float16")


def test_changed_audio_misses_and_a_trainable_encoder_refuses(tiny_models, clips):
    model, collator = _model(tiny_models("whisper", "mt5"))
    cache = attach_encoder_cache(model.encoder, "memory")
    example = _examples(clips)[1]
    model.encoder(**_features(collator, [example]))
    louder = replace(example, audio=example.audio * 0.5)  # e.g. augmentation
    model.encoder(**_features(collator, [louder]))
    assert (cache.stats.hits, cache.stats.misses) == (0, 2)
    model.encoder.trainable = True
    with pytest.raises(ValueError, match="frozen encoder"):
        model.encoder.use_cache(EncoderCache(model.encoder.cache_identity()))
    with pytest.raises(ValueError, match="dtype"):
        EncoderCache({}, dtype="int8")


def _features(collator, examples):
    batch = collator(examples)
    return {"features": batch["features"], "feature_mask": batch["feature_mask"]}
