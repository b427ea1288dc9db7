"""Building the synthetic corpus: manifests, wavs, text files, determinism (needs espeak-ng)."""

import dataclasses
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
import soundfile

from unheard.data.manifest import read_manifest
from unheard.data.synth import (
    LANGUAGES,
    SPLITS,
    Item,
    SynthOptions,
    build_synth_corpus,
    parse_snr_range,
    read_parallel_text,
    render,
    select_items,
)

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (apt-get install espeak-ng)",
)

OPTIONS = SynthOptions(
    languages=("en", "es", "de", "ca"), per_language=4, text_per_language=40, min_eval=2, seed=7
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build_synth_corpus(tmp_path_factory.mktemp("synth"), OPTIONS)


def test_manifests_are_valid_and_durations_match_the_wavs(corpus):
    assert set(corpus.manifests) == {
        (lang, split) for lang in OPTIONS.languages for split in SPLITS
    }
    total = 0
    for (language, split), path in corpus.manifests.items():
        assert path.name == f"unheard-synth_{language}_{split}.jsonl.gz"
        utterances = read_manifest(path)
        assert len(utterances) == {"train": 4, "dev": 2, "test": 2}[split]
        for u in utterances:
            info = soundfile.info(u.audio)
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            assert u.duration == info.frames / 16000 and 0.3 < u.duration < 12
            assert (u.language, u.split, u.corpus, u.sample_rate) == (
                language,
                split,
                "unheard-synth",
                16000,
            )
            assert u.translation_language == "en" and u.text and u.translation
            assert u.id.startswith(f"{language}-") and not any(c.isdigit() for c in u.text)
            voice, speed, pitch = u.speaker.rsplit("-", 2)
            assert voice.split("+")[0] in LANGUAGES[language].voices
            assert speed.startswith("s") and pitch.startswith("p")
            if language == "en":
                assert u.text == u.translation
            total += 1
    assert corpus.utterances == total
    assert (
        len({u.speaker for p in corpus.manifests.values() for u in read_manifest(p)}) > 0.8 * total
    )


def test_same_item_is_parallel_in_every_language(corpus):
    translations = {}
    for path in corpus.manifests.values():
        for u in read_manifest(path):
            item = u.id.split("-", 1)[1]
            assert translations.setdefault(item, u.translation) == u.translation
    spanish = {
        u.id.split("-", 1)[1]: u.text for u in read_manifest(corpus.manifests["es", "train"])
    }
    german = {u.id.split("-", 1)[1]: u.text for u in read_manifest(corpus.manifests["de", "train"])}
    assert set(spanish) & set(german)  # the same items, said in both


def test_text_files_hold_the_speech_and_keep_test_items_out_of_training(corpus):
    items = {split: set() for split in SPLITS}
    for (language, split), path in corpus.texts.items():
        assert path == corpus.out_dir / "text" / f"{language}_{split}.jsonl"
        line = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
        assert set(line) == {"id", "item", "language", "text", "translation", "kind"}
        rows = read_parallel_text(path)
        assert len(rows) == {"train": 40, "dev": 4, "test": 4}[split]
        assert all(r.language == language and r.id == f"{language}-{r.item}" for r in rows)
        manifest = read_manifest(corpus.manifests[language, split])
        speech = [(u.id, u.text, u.translation) for u in manifest]
        assert speech == [(r.id, r.text, r.translation) for r in rows[: len(speech)]]
        items[split] |= {r.item for r in rows}
    assert not items["test"] & (items["train"] | items["dev"])
    assert not items["dev"] & items["train"]
    summary = json.loads(corpus.summary.read_text())
    assert summary["languages"]["es"]["utterances"] == {"train": 4, "dev": 2, "test": 2}
    assert summary["languages"]["es"]["text_items"] == {"train": 40, "dev": 4, "test": 4}


def test_same_seed_gives_identical_files_and_a_rerun_synthesises_nothing(corpus, tmp_path):
    again = build_synth_corpus(tmp_path / "again", OPTIONS)
    for key, path in corpus.manifests.items():
        assert again.manifests[key].read_bytes() == path.read_bytes()
        assert again.texts[key].read_bytes() == corpus.texts[key].read_bytes()
    assert again.summary.read_bytes() == corpus.summary.read_bytes()
    first = read_manifest(corpus.manifests["es", "test"])[0]
    second = read_manifest(again.manifests["es", "test"])[0]
    assert open(first.audio, "rb").read() == open(second.audio, "rb").read()

    before = {p: p.read_bytes() for p in corpus.manifests.values()}
    rerun = build_synth_corpus(corpus.out_dir, OPTIONS)
    assert rerun.synthesized == 0 and again.synthesized == again.utterances
    assert {p: p.read_bytes() for p in rerun.manifests.values()} == before

    other = build_synth_corpus(tmp_path / "other", dataclasses.replace(OPTIONS, seed=8))
    assert (
        other.manifests["es", "train"].read_bytes() != corpus.manifests["es", "train"].read_bytes()
    )


def test_noise_is_added_at_the_drawn_snr(corpus, tmp_path):
    options = dataclasses.replace(OPTIONS, noise_snr_db=(10.0, 20.0))
    noisy = build_synth_corpus(tmp_path / "noisy", options)
    clean_utts = read_manifest(corpus.manifests["de", "train"])
    noisy_utts = read_manifest(noisy.manifests["de", "train"])
    for clean, dirty in zip(clean_utts, noisy_utts, strict=True):
        assert clean.speaker == dirty.speaker  # the voice does not depend on the noise
        signal, _ = soundfile.read(clean.audio, dtype="float64")
        mixed, _ = soundfile.read(dirty.audio, dtype="float64")
        snr = 10 * np.log10(np.mean(signal**2) / np.mean((mixed - signal) ** 2))
        assert 9.5 < snr < 20.5


def test_a_numbers_only_corpus_speaks_and_reports_only_its_kinds(tmp_path):
    options = dataclasses.replace(OPTIONS, kinds=("cardinal",))
    numbers = build_synth_corpus(tmp_path / "numbers", options)
    summary = json.loads(numbers.summary.read_text())
    assert summary["options"]["kinds"] == ["cardinal"]
    for language, info in summary["languages"].items():
        assert info["kinds"] == ["cardinal"]
        utterances = read_manifest(numbers.manifests[language, "train"])
        assert utterances and all(u.id.startswith(f"{language}-cardinal-") for u in utterances)


def test_quotas_follow_the_shares():
    options = SynthOptions(per_language=300)
    assert options.speech_quotas() == {"train": 300, "dev": 30, "test": 30}
    assert options.text_quotas() == {"train": 6000, "dev": 600, "test": 600}
    tiny = SynthOptions(per_language=3, text_per_language=10, dev_share=0.0)
    assert tiny.speech_quotas() == {"train": 3, "dev": 0, "test": 5}  # at least min_eval
    assert tiny.text_quotas() == {"train": 10, "dev": 0, "test": 5}


def test_options_are_checked():
    with pytest.raises(ValueError, match="not in the synthetic corpus"):
        SynthOptions(languages=("tr",))
    with pytest.raises(ValueError, match="at least per_language"):
        SynthOptions(per_language=10, text_per_language=5)
    with pytest.raises(ValueError, match="low, high"):
        SynthOptions(noise_snr_db=(20.0, 10.0))
    with pytest.raises(ValueError, match="kinds must name some of"):
        SynthOptions(kinds=("cardinal", "poem"))
    assert parse_snr_range("10,30") == (10.0, 30.0) and parse_snr_range("15") == (15.0, 15.0)
    with pytest.raises(ValueError, match="LO,HI"):
        parse_snr_range("loud")


def test_espeak_reads_every_language_without_switching_to_another():
    # espeak-ng marks a word it reads in another language's rules with "(en)" in its phonemes;
    # CLDR's Ukrainian apostrophe U+02BC once made it spell "пʼятниця" letter by letter in English.
    selection = select_items(tuple(LANGUAGES), {"train": 8}, seed=2, dev_share=0.1, test_share=0.1)
    for language, splits in selection.items():
        voice = LANGUAGES[language].voices[0]
        for r in splits["train"]:
            phonemes = subprocess.run(
                ["espeak-ng", "-q", "-x", "-v", voice],
                input=r.text.encode("utf-8"),
                capture_output=True,
                check=True,
            ).stdout.decode("utf-8")
            switches = set(re.findall(r"\(([a-z-]+)\)", phonemes)) - {language, voice, "no"}
            assert not switches, (language, r.text, phonemes)
    vietnam = render(Item("territory", "VN"), "uk")  # CLDR: "Вʼєтнам", with U+02BC
    assert vietnam == "В'єтнам"
    phonemes = subprocess.run(
        ["espeak-ng", "-q", "-x", "-v", "uk"], input=vietnam.encode(), capture_output=True
    ).stdout.decode("utf-8")
    assert "(en)" not in phonemes
