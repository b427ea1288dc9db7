"""The languages of the synthetic corpus: how each of the three tools names it, and what it can say.

A language is in the corpus only where all three tools cover it: num2words writes its numbers,
Babel (CLDR) its dates, units and names, and espeak-ng speaks it. Each tool has its own code
(num2words calls Norwegian Bokmål ``no``, Babel ``nb``; European Portuguese is Babel's ``pt_PT``),
and not every tool does every kind of item well in every language, so each `LanguageSpec` lists
the kinds that were checked to render as real words of that language (no English fallback, no
digits), and ``tests/data/synth/test_synth_render.py`` checks them again against the installed
num2words and Babel.

Left out on purpose:

- ``tr``: num2words writes Turkish numbers run together ("ikibinyirmibir", "üçvirgülyirmibeş"),
  not as Turkish is written; and it has no euro amounts.
- ``vi``: num2words has no Vietnamese years or ordinals (it raises), and CLDR writes the month
  as a number ("tháng 3").
- ``ar``, ``he``, ``fa``: espeak-ng reads unvocalised abjad script poorly.
- ``is``, ``sr``, ``kk`` and others: num2words lacks most kinds (``is``: no ordinals, years,
  currency) or the tools disagree on the script (Babel's ``sr`` is Cyrillic, num2words' Latin).
- ``zh``, ``ja``, ``ko``: espeak-ng falls back badly on Han characters.
"""

from __future__ import annotations

from dataclasses import dataclass

# The kinds of item (see `unheard.data.synth.items`).
CARDINAL = "cardinal"  # "one thousand, two hundred and thirty-four"
ORDINAL = "ordinal"  # "twenty-third"
YEAR = "year"  # "nineteen eighty-seven"
DECIMAL = "decimal"  # "three point two five"
CURRENCY = "currency"  # "twelve euro, fifty cents"
DATE = "date"  # "Friday, March fifth, twenty twenty-one"
UNIT = "unit"  # "twenty-five kilometers per hour"
TERRITORY = "territory"  # "Germany"
LANGUAGE_NAME = "language"  # "French"
KINDS = (CARDINAL, ORDINAL, YEAR, DECIMAL, CURRENCY, DATE, UNIT, TERRITORY, LANGUAGE_NAME)

_ALL = frozenset(KINDS)


@dataclass(frozen=True)
class LanguageSpec:
    """One corpus language: its code for each tool, its voices, and the kinds it renders."""

    code: str  # the manifest's language code (ISO 639-1), e.g. "nb"
    num2words: str  # num2words' code, e.g. "no"
    babel: str  # Babel locale, e.g. "pt_PT"
    voices: tuple[str, ...]  # espeak-ng voices (accents) to draw from, e.g. ("es", "es-419")
    kinds: frozenset[str]  # item kinds checked to render well
    # How the day of a date is said: "ordinal" ("March fifth") or "cardinal" ("5 mars" → "cinq")
    day_style: str = "cardinal"
    first_day: str | None = None  # the word for day 1 where it is not the cardinal ("premier")
    day_suffix: str = ""  # appended to an ordinal day ("fünfte" → "fünfter", no article)
    # Where num2words has no (or a wrong) `to="year"`: years from this one on are said as
    # cardinals (Swedish 2021 "tvåtusentjugoett"; Slovenian: every year, from 0) …
    year_as_cardinal_from: int | None = None
    # … and earlier ones as century + this word + rest, one word ("nittonhundraåttiosju").
    year_hundreds: str | None = None

    def __post_init__(self) -> None:
        unknown = self.kinds - _ALL
        if unknown:
            raise ValueError(f"unknown kinds {sorted(unknown)} for {self.code}; known: {KINDS}")
        if self.day_style not in ("ordinal", "cardinal"):
            raise ValueError(f"day_style must be 'ordinal' or 'cardinal', got {self.day_style!r}")


def _kinds(*drop: str) -> frozenset[str]:
    return _ALL - frozenset(drop)


# Why a kind is dropped, per language: currency — num2words has no euro amounts there (it raises,
# or writes English "cents"); date — the day and year take a case ending that num2words cannot
# write (Slavic, Baltic, Finnic, Hungarian); ordinal — num2words raises; unit — numbers agree in
# gender with the unit (Baltic "penki"/"penkios"). Slovenian years are said as cardinals, since
# num2words' Slovenian `to="year"` writes German "hundert".
LANGUAGES: dict[str, LanguageSpec] = {
    spec.code: spec
    for spec in (
        LanguageSpec(
            "en",
            "en",
            "en",
            ("en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland", "en-us-nyc", "en-029"),
            _ALL,
            day_style="ordinal",
        ),
        LanguageSpec("es", "es", "es", ("es", "es-419"), _ALL, first_day="primero"),
        LanguageSpec("fr", "fr", "fr", ("fr-fr", "fr-be", "fr-ch"), _ALL, first_day="premier"),
        LanguageSpec("it", "it", "it", ("it",), _ALL, first_day="primo"),
        LanguageSpec("pt", "pt", "pt_PT", ("pt", "pt-br"), _ALL, first_day="primeiro"),
        LanguageSpec("de", "de", "de", ("de",), _ALL, day_style="ordinal", day_suffix="r"),
        LanguageSpec("nl", "nl", "nl", ("nl",), _ALL),
        LanguageSpec("ca", "ca", "ca", ("ca",), _ALL, first_day="primer"),
        LanguageSpec("ro", "ro", "ro", ("ro",), _kinds(CURRENCY), first_day="întâi"),
        LanguageSpec(
            "sv",
            "sv",
            "sv",
            ("sv",),
            _kinds(CURRENCY),
            day_style="ordinal",
            year_as_cardinal_from=2000,
            year_hundreds="hundra",
        ),
        LanguageSpec("da", "da", "da", ("da",), _kinds(CURRENCY), day_style="ordinal"),
        LanguageSpec("nb", "no", "nb", ("nb",), _kinds(CURRENCY), day_style="ordinal"),
        LanguageSpec("id", "id", "id", ("id",), _kinds(CURRENCY)),
        LanguageSpec("pl", "pl", "pl", ("pl",), _kinds(DATE)),
        LanguageSpec("ru", "ru", "ru", ("ru",), _kinds(DATE)),
        LanguageSpec("uk", "uk", "uk", ("uk",), _kinds(DATE)),
        LanguageSpec("cs", "cs", "cs", ("cs",), _kinds(DATE, ORDINAL)),
        LanguageSpec("sk", "sk", "sk", ("sk",), _kinds(DATE, ORDINAL)),
        LanguageSpec("sl", "sl", "sl", ("sl",), _kinds(DATE, CURRENCY), year_as_cardinal_from=0),
        LanguageSpec("fi", "fi", "fi", ("fi",), _kinds(DATE)),
        LanguageSpec("hu", "hu", "hu", ("hu",), _kinds(DATE, CURRENCY)),
        LanguageSpec("lt", "lt", "lt", ("lt",), _kinds(DATE, ORDINAL, UNIT)),
        LanguageSpec("lv", "lv", "lv", ("lv",), _kinds(DATE, ORDINAL, UNIT)),
    )
}
# The offline benchmark's languages (seen es fr it pt de en, unseen ca nl): the CLI's default.
DEFAULT_LANGUAGES = ("en", "es", "fr", "it", "pt", "de", "nl", "ca")


def language_spec(code: str) -> LanguageSpec:
    """The spec of one corpus language.

    Args:
        code: the manifest language code, e.g. ``"es"``.

    Returns:
        Its `LanguageSpec`.

    Raises:
        ValueError: if the language is not in the corpus, naming the ones that are.
    """
    try:
        return LANGUAGES[code]
    except KeyError:
        raise ValueError(
            f"language {code!r} is not in the synthetic corpus; known: {', '.join(LANGUAGES)}"
        ) from None
