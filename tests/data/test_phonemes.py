"""The G2P of the phoneme bridge: pinned phones per language, the number words of the corpus kept
whole, caching, bad languages, and proof that it is not espeak-ng (the corpus's synthesiser)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import unicodedata

import jiwer
import pytest
from num2words import num2words

from unheard.data.phonemes import (
    G2P_LANGUAGES,
    STRESS_MARKS,
    WORD_BOUNDARY,
    g2p_files,
    phone_tokens,
    phonemize,
)

# one pinned phonemization per language: lexicon words and CRF-guessed compounds
EXPECTED = {
    "ca": ("vint-i-nou tres-cents", "b i n t i n ɔ uw | t ɾ ə s e n s"),
    "de": ("neunundzwanzig", "n ɔ ɔʏ̯ n ʊ n t t s v a n t s ɪ ç"),
    "en": ("twenty-nine thousand, eight", "t w ɛ n t i | n aɪ n | θ aʊ z ə n d | eɪ t"),
    "es": ("veintinueve", "b ei n t i n we b e"),
    "fr": ("vingt-neuf", "v ɛ̃ t n œ f"),
    "it": ("ventinove", "v e n t i n o v e"),
    "nl": ("negenentwintig", "n e ɣ ə n ə n t w ɪ n t ə x"),
    "pt": ("vinte e nove", "v ĩ t ʃ i | i | n o v i"),
}
NUMBERS = (7, 23, 58, 99, 142, 389, 1024, 2025, 7567, 20780)


@pytest.mark.parametrize("language", sorted(EXPECTED))
def test_pinned_phones_per_language(language):
    text, phones = EXPECTED[language]
    assert phonemize(text, language) == phones
    assert not set(phonemize(text, language)) & set(STRESS_MARKS)


def test_hyphenated_catalan_compounds_stay_whole_words():
    # "vint-i-nou" (29) and "tres-cents" (300): one word each, every part spoken
    for n in (29, 300, 1999, 45678):
        text = num2words(n, lang="ca")
        phones = phonemize(text, "ca")
        assert phones.count(WORD_BOUNDARY) == len(text.split()) - 1, (text, phones)
    assert phonemize("vint-i-nou", "ca") == "b i n t i n ɔ uw"  # "i" of "-i-" kept
    assert phonemize("mil nou-cents noranta-nou", "ca").split(f" {WORD_BOUNDARY} ") == [
        "m i l", "n u uw s e n s", "n u ɾ ə n t ə n ɔ uw",
    ]  # fmt: skip


@pytest.mark.parametrize("language", ["ca", "nl", "de", "es", "fr", "it", "pt"])
def test_number_words_are_neither_dropped_nor_reverbalised(language):
    for n in NUMBERS:
        text = num2words(n, lang=language)
        words = phonemize(text, language).split(f" {WORD_BOUNDARY} ")
        assert len(words) == len(text.split()), (text, words)
        assert all(words), text


def test_deterministic_and_cached():
    phonemize.cache_clear()
    first = phonemize("quaranta-dos", "ca")
    assert phonemize("quaranta-dos", "ca") == first == "k w ə ɾ ə n t ə ð o s"
    info = phonemize.cache_info()
    assert (info.hits, info.misses) == (1, 1)


def test_phone_tokens_drop_word_boundaries():
    assert phone_tokens("d o s | m i l") == ["d", "o", "s", "m", "i", "l"]
    assert phone_tokens("") == []
    assert phonemize("", "es") == ""


@pytest.mark.parametrize("language", ["ja", "xx", "", "CA"])
def test_a_language_without_a_g2p_is_a_value_error(language):
    with pytest.raises(
        ValueError, match=f"no grapheme-to-phoneme converter for language '{language}'"
    ):
        phonemize("hola", language)


@pytest.mark.parametrize("language", sorted(G2P_LANGUAGES))
def test_the_g2p_loads_gruuts_own_data_not_the_espeak_made_one(language):
    lexicon, crf = g2p_files(language)
    package = f"gruut_lang_{language}"
    assert lexicon.name == "lexicon.db" and lexicon.parent.name == package
    assert crf.parts[-3:] == (package, "g2p", "model.crf")
    assert "espeak" not in lexicon.parts and "espeak" not in crf.parts


def test_the_g2p_runs_with_espeak_ng_out_of_reach(tmp_path):
    """With no espeak-ng on PATH and no program allowed to start, the phones are the same, and
    no espeak library is mapped (gruut_ipa.espeak, imported by gruut, is a notation table)."""
    script = (
        "import subprocess, sys\n"
        "def refuse(*args, **kwargs):\n"
        "    raise RuntimeError(f'started a program: {args}')\n"
        "subprocess.Popen.__init__ = refuse\n"
        "from unheard.data.phonemes import phonemize\n"
        "for lang, text in [('ca', 'vint-i-nou tres-cents'), ('nl', 'negenentwintig')]:\n"
        "    print(phonemize(text, lang))\n"
        "maps = open('/proc/self/maps').read()\n"
        "print('espeak mapped' if 'espeak' in maps else 'no espeak')\n"
        "print(sorted(m for m in sys.modules if 'espeak' in m or 'phonemizer' in m))\n"
    )
    env = {"PATH": str(tmp_path), "PYTHONPATH": os.environ.get("PYTHONPATH", ""), "HOME": "/"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == [EXPECTED["ca"][1], EXPECTED["nl"][1], "no espeak", "['gruut_ipa.espeak']"]


def _squash(ipa: str) -> str:
    """IPA without stress, separators or spaces, for a character error rate between G2Ps."""
    ipa = unicodedata.normalize("NFC", ipa)
    return "".join(c for c in ipa if c not in STRESS_MARKS + "|_-" and not c.isspace())


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
@pytest.mark.parametrize(
    ("language", "at_least"), [("ca", 0.25), ("nl", 0.28), ("es", 0.17), ("de", 0.27)]
)
def test_the_phones_are_not_espeak_ngs(language, at_least):
    """Our phones differ from the synthesiser's own IPA by 17-28% CER, while gruut's espeak-made
    data (never loaded by unheard) reproduces espeak-ng to within 4%: the G2P is not espeak."""
    import gruut

    texts = [num2words(n, lang=language) for n in NUMBERS]
    espeak = [
        _squash(
            subprocess.run(
                ["espeak-ng", "-q", "--ipa", "-v", language],
                input=t, capture_output=True, text=True, check=True,
            ).stdout
        )
        for t in texts
    ]  # fmt: skip
    ours = [_squash(phonemize(t, language)) for t in texts]
    assert jiwer.cer(espeak, ours) >= at_least
    if language != "ca":  # gruut has no espeak-made Catalan data at all
        options = {"major_breaks": False, "minor_breaks": False, "punctuations": False}
        made = [
            _squash(" ".join(
                p for s in gruut.sentences(t, lang=language, espeak=True, **options)
                for w in s.words for p in w.phonemes or ()
            ))
            for t in texts
        ]  # fmt: skip
        assert jiwer.cer(espeak, made) < 0.05
