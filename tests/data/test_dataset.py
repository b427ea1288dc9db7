"""Multi-task examples, mixing weights, prompt pools, augmentation, the loader with workers."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from unheard.data.augment import Augmentation, add_noise, speed_perturb
from unheard.data.collate import SpeechCollator
from unheard.data.dataset import MixingWeights, SpeechDataset, example_refs, make_loader, set_epoch
from unheard.data.features import feature_extractor_for
from unheard.data.leakage import check_no_unseen_audio
from unheard.data.loading import SkipLog
from unheard.data.manifest import Utterance
from unheard.data.prompts import AUDIO, NAMED_SOURCE_POOLS, PROMPT_POOLS, Prompts, source_marker
from unheard.data.sampler import SamplerOptions
from unheard.tiny import encoder_config, train_tokenizer


def _utterances(tmp_path, n=12):
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        seconds = 0.5 + 0.1 * i
        path = tmp_path / f"u{i}.wav"
        sf.write(path, (0.1 * rng.standard_normal(int(16000 * seconds))).astype(np.float32), 16000)
        lang = ["es", "fr", "de"][i % 3]
        out.append(
            Utterance(
                id=f"u{i}", audio=str(path), duration=seconds, language=lang,
                text=f"text {i}", translation=f"translation {i}" if i % 2 == 0 else None,
                translation_language="en", corpus="c1" if i < 8 else "c2", split="train",
            )
        )  # fmt: skip
    return out


def test_multi_task_examples_and_mixing_weights(tmp_path):
    utts = _utterances(tmp_path)
    refs = example_refs(utts, ("asr", "st"))
    assert len(refs) == 12 + 6  # every utterance has a transcript, even ones a translation
    assert sum(r.task == "st" for r in refs) == 6
    assert len(example_refs(utts, ("st",))) == 6
    ids, weights = MixingWeights(task={"st": 2.0}, corpus={"c2": 0.0}).groups(utts, refs)
    by_group = {}
    for r, g in zip(refs, ids, strict=True):
        by_group.setdefault(g, set()).add((utts[r.utterance].corpus, r.task))
    for g, keys in by_group.items():
        ((corpus, task),) = {(c, t) for c, t in keys}
        n = sum(1 for i in ids if i == g)
        assert weights[g] == n * (2.0 if task == "st" else 1.0) * (0.0 if corpus == "c2" else 1.0)


def test_prompt_pools_are_sampled_in_training_and_fixed_at_test(tmp_path):
    assert all(len(set(pool)) >= 10 for pool in PROMPT_POOLS.values())
    assert all(p.count(AUDIO) == 1 for pool in PROMPT_POOLS.values() for p in pool)
    utts = _utterances(tmp_path)
    refs = example_refs(utts, ("asr",))
    train = SpeechDataset(utts, refs, sample_prompts=True, seed=0)
    prompts = {train[i].prompt for i in range(len(refs))}
    assert len(prompts) >= 5 and prompts <= set(PROMPT_POOLS["asr"])
    assert train[3].prompt == SpeechDataset(utts, refs, sample_prompts=True, seed=0)[3].prompt
    test = SpeechDataset(utts, refs)
    assert {test[i].prompt for i in range(len(refs))} == {None}
    prefix, suffix = Prompts().render("st", None, "en", "Audio: <audio> {target} translation:")
    assert (prefix, suffix) == ("Audio: ", " English translation:")


def test_prompts_name_the_spoken_language_only_when_asked(tmp_path):
    # every paraphrase that names it says {source}, once its source marker; the default pools
    # name no language
    assert set(NAMED_SOURCE_POOLS) == {"asr", "st", "phon", "phon+asr", "translate", "denoise", "p2g"}  # fmt: skip
    assert {len(set(pool)) for pool in NAMED_SOURCE_POOLS.values()} == {12}
    assert all(
        p.count(source_marker(task)) == 1 and "{source}" in p
        for task, pool in NAMED_SOURCE_POOLS.items()
        for p in pool
    )
    assert all("{source}" not in p for pool in PROMPT_POOLS.values() for p in pool)
    utts = _utterances(tmp_path)
    refs = example_refs(utts, ("asr", "st"))
    named = SpeechDataset(utts, refs, sample_prompts=True, seed=0, name_source=True)
    drawn = [named[i] for i in range(len(refs))]
    assert all(e.prompt in NAMED_SOURCE_POOLS[e.task] for e in drawn)
    # the collator puts the language's name into the prompt, the fixed one at test too
    texts = [p.format(source="Spanish", target="English") for p in NAMED_SOURCE_POOLS["asr"]]
    tokenizer = train_tokenizer(texts * 20, tmp_path / "tok", vocab_size=200)
    collator = SpeechCollator(
        tokenizer, feature_extractor_for(encoder_config("wav2vec2")), True, None, True
    )
    assert collator.prompts == Prompts.naming_source()
    assert collator.prompts.render("asr", "ca", "ca") == ("Transcribe the Catalan audio. ", "")
    assert collator.prompts.render("st", "nl", "en") == (
        "Translate the Dutch audio into English. ",
        "",
    )
    assert collator.prompts.render("denoise", "ca", "ca") == (
        "Restore the missing words of the Catalan text. ",
        "",
    )  # text tasks name the text's language too: "Catalan" comes to mean Catalan text
    assert Prompts().render("asr", "ca", "ca") == ("Transcribe the audio. ", "")  # unnamed
    with pytest.raises(ValueError, match="names the spoken language"):
        collator.prompts.render("asr", None, "")
    batch = collator([drawn[0]])
    prefix = tokenizer.decode(batch["prefix_ids"][0][batch["prefix_mask"][0].bool()])
    assert "Spanish" in prefix, prefix  # u0 is Spanish


def test_augmentation_is_off_by_default_and_does_what_it_says():
    assert not Augmentation().enabled
    rng = np.random.default_rng(0)
    x = np.sin(np.arange(16000) / 10).astype(np.float32)
    assert len(speed_perturb(x, 1.1)) == pytest.approx(16000 / 1.1, abs=2)
    noisy = add_noise(x, 10.0, rng)
    snr = 10 * np.log10(np.mean(x**2) / np.mean((noisy - x) ** 2))
    assert snr == pytest.approx(10.0, abs=0.01)


def test_loader_with_workers_skips_bad_records_and_counts_them(tmp_path):
    utts = _utterances(tmp_path)
    (tmp_path / "u5.wav").unlink()  # one missing file: 2 examples (asr) + 0 (no st for odd)
    (tmp_path / "u4.wav").write_bytes(b"")  # empty: asr + st examples
    refs = example_refs(utts, ("asr", "st"))
    tok = train_tokenizer(
        [u.text for u in utts] + [u.translation or "" for u in utts] * 3, tmp_path / "tok", 64
    )
    collator = SpeechCollator(tok, feature_extractor_for(encoder_config("wav2vec2")), True)
    dataset = SpeechDataset(utts, refs, sample_prompts=True)
    results = {}
    for workers in (0, 2):
        loader, sampler = make_loader(
            dataset, collator, SamplerOptions(max_duration_s=4.0), num_workers=workers
        )
        set_epoch(dataset, sampler, 1)
        skipped, seen = SkipLog(), []
        for batch in loader:
            skipped.extend(batch.skipped)
            seen.extend(batch.ids)
            if not batch.empty:
                assert batch.features.shape[0] == batch.size == len(batch.ids)
        results[workers] = (sorted(seen), skipped.count, skipped.by_reason())
    assert results[0] == results[2]  # same batches, same skips with and without workers
    seen, count, reasons = results[0]
    assert count == 3 and reasons == {"audio file missing": 1, "audio file is empty (0 bytes)": 2}
    assert len(seen) == len(refs) - 3


def test_leakage_check_refuses_paired_audio_in_unseen_languages(tmp_path):
    utts = _utterances(tmp_path)
    check_no_unseen_audio(utts, ["ca", "nl"])  # none there: fine
    with pytest.raises(ValueError, match=r"unseen language\(s\) — de: 4"):
        check_no_unseen_audio(utts, ["de", "nl"])
