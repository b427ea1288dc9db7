"""espeak-ng synthesis and the spoken-number corpus (needs the espeak-ng program)."""

import shutil

import numpy as np
import pytest
import soundfile
from num2words import num2words

from unheard.data.espeak import make_number_corpus, synthesize
from unheard.data.manifest import read_manifest

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (apt-get install espeak-ng)",
)


def test_synthesize_gives_16k_speech_of_plausible_length():
    waveform = synthesize("hola", "es")
    assert waveform.dtype == np.float32 and waveform.ndim == 1
    assert 0.3 <= len(waveform) / 16000 <= 5.0
    assert np.abs(waveform).max() > 0.05  # speech, not silence
    # Deterministic: the same settings give the same audio.
    np.testing.assert_array_equal(waveform, synthesize("hola", "es"))


def test_speed_changes_duration():
    slow = synthesize("veintitrés", "es", speed=120)
    fast = synthesize("veintitrés", "es", speed=240)
    assert len(fast) < 0.8 * len(slow)


def test_unknown_voice_is_a_runtime_error():
    with pytest.raises(RuntimeError, match="espeak-ng failed.*does not exist"):
        synthesize("hello", "xx")  # "no-such-voice" would fall back to Norwegian


def test_empty_text_is_a_value_error():
    with pytest.raises(ValueError, match="empty"):
        synthesize("  ", "en-us")


def test_number_corpus(tmp_path):
    manifest = make_number_corpus(tmp_path, languages=("en", "es", "de"), per_language=4, seed=3)
    assert manifest == tmp_path / "manifest.jsonl"
    utterances = read_manifest(manifest)
    assert len(utterances) == 12
    assert [u.language for u in utterances] == ["en"] * 4 + ["es"] * 4 + ["de"] * 4
    for u in utterances:
        number = int(u.id.split("-")[1])
        assert u.id == f"{u.language}-{number:04d}" and 0 <= number <= 99
        assert u.text == num2words(number, lang=u.language)
        assert u.translation == num2words(number, lang="en")
        assert u.translation_language == "en"
        assert (u.corpus, u.split, u.sample_rate, u.offset) == ("espeak-numbers", "train", 16000, 0)
        info = soundfile.info(u.audio)
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert u.duration == info.frames / 16000
        assert 0.2 < u.duration < 5.0
    assert len({u.id for u in utterances}) == 12  # distinct numbers within each language
    # Speed and pitch vary within their ranges, and appear in the speaker name.
    speakers = {u.speaker for u in utterances}
    assert len(speakers) > 1
    assert any(s.startswith("es-s") for s in speakers)


def test_number_corpus_is_deterministic_and_idempotent(tmp_path):
    manifest = make_number_corpus(tmp_path / "a", languages=("es", "fr"), per_language=4, seed=7)
    first = read_manifest(manifest)
    mtimes = {u.id: (tmp_path / "a" / "audio" / f"{u.id}.wav").stat().st_mtime_ns for u in first}

    again = make_number_corpus(tmp_path / "a", languages=("es", "fr"), per_language=4, seed=7)
    assert read_manifest(again) == first
    assert {u.id: (tmp_path / "a" / "audio" / f"{u.id}.wav").stat().st_mtime_ns for u in first} == (
        mtimes
    )

    # The draw of one language does not depend on the others: Spanish alone gives the same records.
    alone = read_manifest(
        make_number_corpus(tmp_path / "b", languages=("es",), per_language=4, seed=7)
    )
    assert [(u.id, u.speaker) for u in alone] == [
        (u.id, u.speaker) for u in first if u.language == "es"
    ]


def test_number_corpus_rejects_too_many_per_language(tmp_path):
    with pytest.raises(ValueError, match="per_language"):
        make_number_corpus(tmp_path, per_language=101)
