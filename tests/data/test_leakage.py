"""The zero-resource guard compares languages, not spellings: a FLEURS code (``ca_es``), a locale
(``ca-ES``), upper case (``CA``) and ISO 639-2/3 (``cat``) are all Catalan, on the records' side
and on the configured side alike."""

from __future__ import annotations

import pytest

from unheard.data.leakage import check_no_unseen_audio, count_unseen_text, unseen_codes
from unheard.data.manifest import Utterance


def _utterance(i: int, language: str, text: str | None = "hola") -> Utterance:
    return Utterance(id=f"u{i}", audio=f"/a/u{i}.wav", duration=1.0, language=language, text=text)


@pytest.mark.parametrize("spelled", ["ca", "CA", "ca-ES", "ca_es", "cat", " Ca_ES "])
def test_paired_audio_in_an_unseen_language_is_refused_however_the_record_spells_it(spelled):
    records = [_utterance(0, "es"), _utterance(1, spelled), _utterance(2, "fr")]
    with pytest.raises(ValueError, match=r"unseen language\(s\) — ca: 1.*u1"):
        check_no_unseen_audio(records, ["ca", "nl"])


@pytest.mark.parametrize("configured", ["ca", "CA", "ca-ES", "ca_es", "cat"])
def test_the_unseen_setting_is_read_in_any_spelling_too(configured):
    records = [_utterance(0, "ca"), _utterance(1, "ca_es"), _utterance(2, "es")]
    with pytest.raises(ValueError, match=r"— ca: 2 as ca_es \(e\.g\. u0, u1\)"):
        check_no_unseen_audio(records, [configured])
    assert unseen_codes([configured, "nl_nl", "dut"]) == {"ca", "nl"}


def test_other_languages_and_audio_without_text_pass():
    # Spanish and Czech are not Catalan; a clip with neither transcript nor translation pairs
    # nothing with the audio
    records = [_utterance(0, "es_419"), _utterance(1, "cs"), _utterance(2, "ca_es", text=None)]
    check_no_unseen_audio(records, ["ca", "nl"])
    check_no_unseen_audio(records, [])


def test_unseen_text_is_counted_under_one_code():
    languages = ["ca", "ca_es", "CAT", "es", "nl-BE", "en"]
    assert count_unseen_text(languages, ["ca_ES", "nld"]) == {"ca": 3, "nl": 1}


def test_a_setting_that_is_no_language_code_is_refused_by_name():
    with pytest.raises(ValueError, match="unseen_languages: '12' is not a language code"):
        check_no_unseen_audio([_utterance(0, "es")], ["ca", "12"])
