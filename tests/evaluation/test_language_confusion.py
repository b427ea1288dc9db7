"""Output-language accuracy and the confusion matrix on hypotheses of known language."""

from __future__ import annotations

import pytest

from unheard.evaluation.confusion import language_confusion
from unheard.evaluation.language_id import (
    EMPTY,
    UNDETERMINED,
    LanguageIdentifier,
    LanguageIdOptions,
)

# Sentences long enough for the identifier to be sure of them (each identified at p > 0.85).
TEXT = {
    "en": [
        "The weather is lovely today, so we are going to walk along the river after lunch.",
        "Please remember to close the windows before you leave the house this evening.",
    ],
    "es": [
        "Mañana por la mañana vamos a visitar a mis abuelos que viven en el campo.",
        "El tren de las ocho llegó con retraso porque había nieve en las vías.",
    ],
    "fr": [
        "Nous avons acheté du pain frais et du fromage au marché ce matin.",
        "Il faut absolument que tu viennes dîner chez nous la semaine prochaine.",
    ],
    "de": [
        "Wir haben gestern Abend einen sehr langen Spaziergang durch den Wald gemacht.",
        "Kannst du mir bitte sagen, wann der nächste Zug nach Berlin abfährt?",
    ],
    "it": ["Domani andremo al mare con i nostri amici se il tempo sarà bello."],
    "pt": ["Ontem à noite jantámos num restaurante muito simpático perto da praia."],
    "nl": ["Morgen gaan we met de fiets naar het strand als het niet regent."],
    "ca": ["Demà al matí anirem a veure els meus avis, que viuen a la muntanya."],
    "zh": ["明天早上我们要坐火车去北京看望奶奶。"],
    "ja": ["明日の朝、私たちは電車で東京に行って祖母に会います。"],
}

# (language the output should be in, language it is written in): the paper's confusions —
# an unseen language written as a related seen one, a translation left untranslated, nothing.
FIXTURE = [
    ("en", "en", 0), ("en", "en", 1), ("en", "fr", 0),  # ST into English left in French
    ("es", "es", 0), ("es", "es", 1),
    ("fr", "fr", 1), ("de", "de", 0),
    ("ca", "ca", 0), ("ca", "es", 1),  # Catalan speech transcribed as Spanish
    ("nl", "nl", 0), ("nl", "de", 1),  # Dutch speech transcribed as German
    ("pt_BR", "pt", 0), ("pt_BR", "es", 0),  # a variant code: compared as "pt"
    ("it", "it", 0), ("it", None, 0),  # an empty output
    ("zh-CN", "zh", 0), ("ja", "ja", 0),
]  # fmt: skip


def _fixture() -> tuple[list[str], list[str]]:
    expected = [e for e, _, _ in FIXTURE]
    texts = ["" if w is None else TEXT[w][k] for _, w, k in FIXTURE]
    return expected, texts


def test_identifier_names_the_language_of_each_sentence():
    identifier = LanguageIdentifier()
    for language, sentences in TEXT.items():
        for sentence in sentences:
            assert identifier.identify(sentence) == language, sentence
    assert identifier.identify("   ") == EMPTY


def test_confusion_matrix_and_accuracy_have_the_exact_counts():
    expected, texts = _fixture()
    detected = LanguageIdentifier().identify_all(texts)
    confusion = language_confusion(expected, detected)
    assert confusion.expected == ("ca", "de", "en", "es", "fr", "it", "ja", "nl", "pt", "zh")
    # the expected languages first, then the other detected ones, EMPTY last
    assert confusion.detected == (*confusion.expected, EMPTY)
    assert confusion.to_dict() == {
        "ca": {"ca": 1, "es": 1},
        "de": {"de": 1},
        "en": {"en": 2, "fr": 1},
        "es": {"es": 2},
        "fr": {"fr": 1},
        "it": {"it": 1, EMPTY: 1},
        "ja": {"ja": 1},
        "nl": {"nl": 1, "de": 1},
        "pt": {"pt": 1, "es": 1},
        "zh": {"zh": 1},
    }
    assert confusion.total == 17 and confusion.correct == 12
    assert confusion.accuracy == pytest.approx(12 / 17)


def test_wrong_languages_outside_the_expected_ones_get_their_own_columns():
    confusion = language_confusion(["en", "en", "en", "es"], ["en", "ru", "ru", "pl"])
    assert confusion.detected == ("en", "es", "ru", "pl")  # ru is more frequent than pl
    assert confusion.row("en") == {"en": 1, "ru": 2}
    assert confusion.accuracy == pytest.approx(1 / 4)


def test_restriction_and_confidence_threshold():
    sentence = TEXT["ca"][0]
    # restricted to Spanish and French, a Catalan sentence must be one of them
    restricted = LanguageIdentifier(LanguageIdOptions(languages=("es", "fr")))
    assert restricted.identify(sentence) in ("es", "fr")
    assert restricted.labels == ["es", "fr"]
    # a two-word output is a guess: a high threshold makes it "und"
    strict = LanguageIdentifier(LanguageIdOptions(min_confidence=0.9))
    assert strict.identify("veinte dos") == UNDETERMINED
    assert strict.identify(sentence) == "ca"
    with pytest.raises(ValueError, match="does not know"):
        LanguageIdentifier(LanguageIdOptions(languages=("tlh",)))
