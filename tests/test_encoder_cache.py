"""The encoder-output cache: same results as the encoder, hits across batches, runs and disk; a
directory refuses any other encoder (one middle weight changed is enough) and is shared by
decoding whatever storage dtype training chose."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from unheard.build import build_speech_llm, load_tokenizer
from unheard.data.collate import Example, SpeechCollator
from unheard.data.features import feature_extractor_for
from unheard.encoder_cache import (
    CachedSpeechEncoder,
    EncoderCache,
    EncoderCacheOptions,
    cache_encoder,
    encoder_identity,
)


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
    cache = cache_encoder(model, EncoderCacheOptions(dtype="float32"))
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
    half = cache_encoder(model, EncoderCacheOptions(dtype="float16"))
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
    first = cache_encoder(model, EncoderCacheOptions(str(tmp_path / "cache"), "float32"))
    expected = model.encoder(batch["features"], batch["feature_mask"])
    assert len(first) == 3 and first.stats.misses == 3
    # a new model object with the same weights: everything comes from disk
    again, _ = _model(tiny_models("whisper", "mt5"))
    second = cache_encoder(again, EncoderCacheOptions(str(tmp_path / "cache"), "float32"))
    got = again.encoder(batch["features"], batch["feature_mask"])
    assert (second.stats.hits, second.stats.misses) == (3, 0)
    for a, b in zip(got.hidden_states, expected.hidden_states, strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    # another encoder (different weights) must not read these states
    other, _ = _model(tiny_models("w2v-bert", "mt5"))
    with pytest.raises(ValueError, match="was made for"):
        cache_encoder(other, EncoderCacheOptions(str(tmp_path / "cache"), "float32"))
    with pytest.raises(ValueError, match="was made for"):  # nor another storage dtype
        cache_encoder(again, EncoderCacheOptions(str(tmp_path / "cache"), "float16"))


def test_changed_audio_misses_and_a_trainable_encoder_refuses(tiny_models, clips):
    model, collator = _model(tiny_models("whisper", "mt5"))
    cache = cache_encoder(model, EncoderCacheOptions())
    example = _examples(clips)[1]
    model.encoder(**_features(collator, [example]))
    louder = replace(example, audio=example.audio * 0.5)  # e.g. augmentation
    model.encoder(**_features(collator, [louder]))
    assert (cache.stats.hits, cache.stats.misses) == (0, 2)
    encoder = model.encoder.encoder
    encoder.trainable = True
    with pytest.raises(ValueError, match="frozen encoder"):
        CachedSpeechEncoder(encoder, EncoderCache({}, EncoderCacheOptions()))
    with pytest.raises(ValueError, match="frozen encoder"):
        cache_encoder(model, EncoderCacheOptions())


def _features(collator, examples):
    batch = collator(examples)
    return {"features": batch["features"], "feature_mask": batch["feature_mask"]}


def test_options_are_validated_once_and_read_the_config_setting(tmp_path):
    with pytest.raises(ValueError, match="'int8'"):
        EncoderCacheOptions(dtype="int8")
    for where in ("", "memory"):  # None is memory; a directory named "memory" is a trap
        with pytest.raises(ValueError, match=repr(where)):
            EncoderCacheOptions(where)
    assert EncoderCacheOptions.from_setting("") is None
    assert EncoderCacheOptions.from_setting("memory", "float32") == EncoderCacheOptions(
        None, "float32"
    )
    assert EncoderCacheOptions.from_setting(str(tmp_path)).where == str(tmp_path)


def test_one_changed_middle_weight_is_another_encoder(tmp_path, tiny_models, clips):
    # the same tiny Whisper twice, the second with one weight of its middle layer changed: its
    # states differ, so the first one's directory must not serve it
    model, collator = _model(tiny_models("whisper", "mt5"))
    batch = collator(_examples(clips))
    options = EncoderCacheOptions(str(tmp_path / "cache"), "float32")
    cache_encoder(model, options)
    stale = model.encoder(batch["features"], batch["feature_mask"])
    changed, _ = _model(tiny_models("whisper", "mt5"))
    layers = changed.encoder.model.layers
    params = list(changed.encoder.model.parameters())
    middle = layers[len(layers) // 2].fc1.weight
    assert all(middle is not p for p in (params[0], params[-1]))
    with torch.no_grad():
        middle[0, 0] += 1.0
    fresh = changed.encoder(batch["features"], batch["feature_mask"])
    n = int(fresh.lengths[0])
    assert not torch.allclose(
        fresh.hidden_states[-1][0, :n], stale.hidden_states[-1][0, :n], atol=1e-3
    )
    with pytest.raises(ValueError, match="was made for"):
        cache_encoder(changed, options)
    assert encoder_identity(changed.encoder) != encoder_identity(model.encoder.encoder)
    # in a directory of its own it misses and gives its own states
    cache = cache_encoder(changed, EncoderCacheOptions(str(tmp_path / "other"), "float32"))
    got = changed.encoder(batch["features"], batch["feature_mask"])
    assert (cache.stats.hits, cache.stats.misses) == (0, 3)
    for a, b in zip(got.hidden_states, fresh.hidden_states, strict=True):
        for i, n in enumerate(fresh.lengths.tolist()):
            torch.testing.assert_close(a[i, :n], b[i, :n], atol=1e-5, rtol=1e-5)


def test_the_wrapper_keeps_the_trained_weights_names_and_comes_off(tiny_models, clips):
    from unheard.checkpoint import trained_state_dict
    from unheard.model.encoder import SpeechEncoder

    model, collator = _model(tiny_models("whisper", "mt5"))
    plain = model.encoder
    trained = sorted(trained_state_dict(model))
    cache_encoder(model, EncoderCacheOptions())
    assert isinstance(model.encoder, CachedSpeechEncoder) and model.encoder.encoder is plain
    assert sorted(trained_state_dict(model)) == trained  # checkpoints keep their key names
    assert model.encoder.model is plain.model and not model.encoder.trainable
    assert (model.encoder.hidden_size, model.encoder.num_hidden_states) == (
        plain.hidden_size, plain.num_hidden_states,
    )  # fmt: skip
    cache_encoder(model, EncoderCacheOptions())  # a new cache replaces the old, not wraps it
    assert model.encoder.encoder is plain
    assert cache_encoder(model, None) is None
    assert model.encoder is plain and isinstance(model.encoder, SpeechEncoder)


def test_decoding_reads_the_cache_in_the_dtype_training_wrote(tmp_path, tiny_models):
    # a run with run.encoder_cache_dtype=float32 fills the benchmark's shared directory; the
    # benchmark's decoding must read it (it asked for float16 and was refused before)
    import gzip

    from unheard.benchmark.hypotheses import decode_test_sets
    from unheard.checkpoint import save_checkpoint
    from unheard.data.audio import load_audio
    from unheard.data.espeak import make_number_corpus
    from unheard.data.manifest import read_manifest

    manifest = make_number_corpus(tmp_path / "corpus", ("en",), 2, seed=0)
    test_set = tmp_path / "corpus" / "unheard-synth_en_test.jsonl.gz"
    test_set.write_bytes(gzip.compress(manifest.read_bytes()))
    config = tiny_models("whisper", "mt5")
    model, collator = _model(config)
    checkpoint = save_checkpoint(model, config, tmp_path / "checkpoint")
    directory = tmp_path / "encoder-cache"
    written = cache_encoder(model, EncoderCacheOptions.from_setting(str(directory), "float32"))
    utterances = read_manifest(test_set)
    examples = [
        Example(u.id, load_audio(u.audio, u.offset, u.duration), "asr", "en", "en", u.text)
        for u in utterances
    ]
    model.encoder(**_features(collator, examples))  # what training stored
    assert len(written) == len(utterances) == 2

    hyps = tmp_path / "hyps" / "asr_en.jsonl"
    decode_test_sets(checkpoint, tmp_path / "corpus", [hyps], directory, progress=False)
    assert len(hyps.read_text().splitlines()) == 2
    assert EncoderCacheOptions.for_directory(directory).dtype == "float32"
    assert len(written) == 2  # decoding found every utterance's states: nothing new stored


def test_a_training_run_caches_as_its_config_says_and_reports_the_stats(tmp_path):
    from pathlib import Path

    from unheard.data.espeak import make_number_corpus
    from unheard.recipes.train import train
    from unheard.recipes.train_config import load_train_config

    corpus = make_number_corpus(tmp_path / "corpus", ("en",), 4, seed=0)
    directory = tmp_path / "encoder-cache"
    overrides = [
        f"data.train=[{corpus}]", "data.dev=[]", f"run.output_dir={tmp_path / 'run'}",
        "run.progress=false", "run.max_steps=6", "run.log_with=[]",
        f"run.encoder_cache={directory}", "run.encoder_cache_dtype=float32",
    ]  # fmt: skip
    config = load_train_config(Path(__file__).parents[1] / "configs/tiny.yaml", overrides)
    summary = train(config)
    stats = summary["encoder_cache"]
    # each of the 4 clips encoded once, though a batch holds its ASR and its ST example
    assert stats["misses"] == 4
    assert stats["hits"] > 0 and stats["hit_rate"] == round(stats["hits"] / (stats["hits"] + 4), 4)
    assert EncoderCacheOptions.for_directory(directory).dtype == "float32"
