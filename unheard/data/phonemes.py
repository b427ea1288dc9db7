"""Grapheme-to-phoneme conversion: text → IPA phones, the language-independent layer of the phoneme
bridge (audio → phones → text for languages with no paired audio).

The G2P is gruut (``pip install 'unheard[phonemes]'``), not espeak-ng: espeak-ng synthesises the
offline corpus, so its own phonemes would be the very input the synthesiser spoke from, an unfair
shortcut. Each language's G2P is gruut's own data, the default files of its ``gruut-lang-*``
package: a pronunciation lexicon built from open data (Kyubyong's pron_dictionaries, from
Wiktionary), looked up first, and a CRF grapheme-to-phoneme model (python-crfsuite) trained on
that lexicon for words it lacks. gruut also ships lexicons and CRF models made *with* espeak-ng
(``gruut_lang_*/espeak/``, chosen by ``espeak=True`` / ``model_prefix="espeak"``; they agree with
espeak-ng's IPA to 0.1–4% CER); they are never loaded here (`g2p_files` names what is), and
gruut never runs the espeak-ng program or library.

| code | gruut | variety | what the number words mostly go through |
|---|---|---|---|
| ca | ca-ce | Central Catalan | the CRF (a small lexicon) |
| de | de-de | German | lexicon, CRF for compounds |
| en | en-us | US English | lexicon (CMU-based) |
| es | es-es | Castilian Spanish | lexicon |
| fr | fr-fr | French | lexicon |
| it | it-it | Italian | lexicon, CRF for compounds |
| nl | nl | Dutch | lexicon, CRF for compounds |
| pt | pt | Portuguese, Brazilian pronunciation (gruut has no European one) | lexicon |

Output: phones separated by spaces, words by `WORD_BOUNDARY`, stress marks removed (gruut's
lexicons mark stress differently per language, Catalan with ``'``, the others with ``ˈ``; kept,
a stressed vowel would be a phone of its own). Numbers are expected as words already, as the
corpus writes them; gruut would verbalise digits itself.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from unheard.data.extras import MissingExtraError, require

WORD_BOUNDARY = "|"  # the token between words' phones
STRESS_MARKS = "ˈˌ'"  # primary and secondary stress (ˈ ˌ), and the Catalan lexicon's '
# unheard's language code → gruut's
G2P_LANGUAGES = {
    "ca": "ca-ce", "de": "de-de", "en": "en-us", "es": "es-es",
    "fr": "fr-fr", "it": "it-it", "nl": "nl", "pt": "pt",
}  # fmt: skip
_LOCK = threading.Lock()  # gruut's text processors are not thread-safe


def check_language(language: str) -> str:
    """gruut's code of an unheard language code.

    Raises:
        ValueError: for a language without a G2P here, naming those with one.
    """
    if language not in G2P_LANGUAGES:
        raise ValueError(
            f"no grapheme-to-phoneme converter for language {language!r}; phonemes exist for "
            f"{', '.join(sorted(G2P_LANGUAGES))}"
        )
    return G2P_LANGUAGES[language]


def g2p_files(language: str) -> tuple[Path, Path]:
    """The lexicon and the CRF model the G2P of a language loads: gruut's default ones.

    Returns:
        ``(lexicon.db, g2p/model.crf)`` of the language's ``gruut-lang-*`` package.

    Raises:
        ValueError: for a language without a G2P.
        MissingExtraError: when gruut or the language's package is not installed.
    """
    settings = _processor(language).get_settings(check_language(language))
    return _lexicon_path(language), Path(settings.guess_phonemes.model_path)


@functools.lru_cache(maxsize=1 << 18)
def phonemize(text: str, language: str) -> str:
    """The IPA phones of a text, e.g. ``phonemize("vint-i-nou", "ca") == "b i n t i n ɔ uw"``.

    Deterministic and cached: the same text gives the same phones, computed once a process.

    Args:
        text: the text, numbers written as words.
        language: its ISO 639-1 code (`G2P_LANGUAGES`).

    Returns:
        Phones separated by spaces, words by `` | `` (`WORD_BOUNDARY`); empty for a text with
        no words.

    Raises:
        ValueError: for a language without a G2P.
        MissingExtraError: when gruut or the language's package is not installed.
    """
    gruut_language = check_language(language)
    processor = _processor(language)
    with _LOCK:
        graph, root = processor(text, lang=gruut_language)
        sentences = list(
            processor.sentences(
                graph, root, major_breaks=False, minor_breaks=False, punctuations=False
            )
        )
    words = []
    for sentence in sentences:
        for word in sentence.words:
            phones = [p.strip(STRESS_MARKS) for p in word.phonemes or ()]
            if phones := [p for p in phones if p]:
                words.append(" ".join(phones))
    return f" {WORD_BOUNDARY} ".join(words)


def phone_tokens(phonemes: str) -> list[str]:
    """The phones of a `phonemize` output, word boundaries dropped (what phone error rate
    compares)."""
    return [p for p in phonemes.split() if p != WORD_BOUNDARY]


@functools.cache
def _processor(language: str) -> Any:
    """gruut's text processor for one language, on its default (not espeak) lexicon and CRF."""
    gruut = require("gruut", "phonemes", "phonemizing text (the phoneme tasks)")
    phonemize_module = require("gruut.phonemize", "phonemes", "phonemizing text")
    utils = require("gruut.utils", "phonemes", "phonemizing text")
    # gruut's lexicon tables have no index on the word: a look-up scans the table (10 ms a word
    # in German). An indexed copy in memory makes it ~1000 items/s (tens of MB a language).
    source = sqlite3.connect(f"file:{_lexicon_path(language)}?mode=ro", uri=True)
    lexicon = sqlite3.connect(":memory:", check_same_thread=False)
    source.backup(lexicon)
    source.close()
    lexicon.execute("CREATE INDEX IF NOT EXISTS word_index ON word_phonemes (word)")
    # gruut's own fallbacks for a word missing as written (lang.get_settings)
    transforms = [
        str.lower,
        utils.remove_non_word_chars,
        lambda word: utils.remove_non_word_chars(word.lower()),
    ]
    lookup = phonemize_module.SqlitePhonemizer(lexicon, word_transform_funcs=transforms)
    # model_prefix "": the default data, not the espeak-made one under gruut_lang_*/espeak/
    return gruut.TextProcessor(
        default_lang=G2P_LANGUAGES[language], model_prefix="", lookup_phonemes=lookup
    )


def _lexicon_path(language: str) -> Path:
    utils = require("gruut.utils", "phonemes", "phonemizing text")
    directory = utils.find_lang_dir(check_language(language))
    if directory is None or not (Path(directory) / "lexicon.db").is_file():
        package = f"gruut-lang-{language}"
        raise MissingExtraError(
            f"phonemizing {language} text needs the {package!r} package, which is not installed: "
            "pip install 'unheard[phonemes]'"
        )
    return Path(directory) / "lexicon.db"


@functools.cache
def phone_inventory(language: str) -> tuple[str, ...]:
    """Every phone the G2P of a language can emit (`unheard.data.phonemes.g2p_files`): those of
    its lexicon and the labels of its CRF model (read from gruut's files:
    its lexicon table and the CRF's base64-coded labels), stress marks removed as `phonemize` does.

    Raises:
        ValueError: for a language without a G2P.
        MissingExtraError: when gruut or the language's package is not installed.
    """
    lexicon_path, crf_path = g2p_files(language)
    lexicon = sqlite3.connect(f"file:{lexicon_path}?mode=ro", uri=True)
    try:
        strings = [row[0] for row in lexicon.execute("SELECT DISTINCT phonemes FROM word_phonemes")]
    finally:
        lexicon.close()
    crfsuite = require("pycrfsuite", "phonemes", "reading the G2P's phone inventory")
    g2p = require("gruut.g2p", "phonemes", "reading the G2P's phone inventory")
    tagger = crfsuite.Tagger()
    tagger.open(str(crf_path))
    # a CRF label is one grapheme's phones, base64-coded, joined by "|"; "_" is no phone
    labels = [g2p.GraphemesToPhonemes.decode_string(label) for label in tagger.labels()]
    strings += [label.replace(g2p.PHONEME_JOIN, " ") for label in labels]
    phones = {p.strip(STRESS_MARKS) for s in strings for p in s.split()} - {g2p.EPS_PHONEME, ""}
    return tuple(sorted(phones))


def check_round_trip(tokenizer: Any, phones: Sequence[str], what: str, fix: str) -> None:
    """Refuse a tokenizer that does not read phones back exactly (``<unk>`` or a changed symbol):
    an LLM on it could neither read nor write them.

    Args:
        tokenizer: a transformers tokenizer.
        phones: `phonemize` outputs.
        what: the tokenizer, as the message names it ("of runs/x/model").
        fix: what to do about it, for the message.

    Raises:
        ValueError: naming how many strings failed and one of them, as the tokenizer read it.
    """
    failed = [
        (p, back)
        for p in phones
        if (back := tokenizer.decode(tokenizer(p).input_ids, skip_special_tokens=True)) != p
    ]
    if failed:
        phone, back = failed[0]
        raise ValueError(
            f"the tokenizer {what} cannot write phones: {len(failed)} of {len(phones)} phone "
            f"strings do not round-trip (e.g. {phone!r} reads back as {back!r}); {fix}"
        )
