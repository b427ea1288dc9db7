"""Write an item in one language, as words only: num2words for numbers, Babel (CLDR) for the rest.

espeak-ng reads words well and digits and symbols badly ("5." or "km/h" come out as it guesses),
and an ASR reference must be what was said, so every rendering is words: dates are CLDR's full
date pattern ("EEEE, d 'de' MMMM 'de' y") with its weekday and month names kept and its day and
year written out by num2words; unit phrases are CLDR's long unit pattern ("{0} kilómetros por
hora") around the count in words. A rendering that still holds a digit or a symbol, or that a
tool cannot make in this language, raises `Unrenderable` and the item is left out of that
language.
"""

from __future__ import annotations

import datetime
import functools
import re

from babel import Locale
from babel.dates import format_date, get_date_format, parse_pattern
from babel.numbers import format_decimal
from babel.units import UnknownUnitError, format_unit
from num2words import num2words

from unheard.data.synth.items import Item
from unheard.data.synth.languages import (
    CARDINAL,
    CURRENCY,
    DATE,
    DECIMAL,
    LANGUAGE_NAME,
    ORDINAL,
    TERRITORY,
    UNIT,
    YEAR,
    LanguageSpec,
    language_spec,
)

# What num2words raises where a language lacks a kind or a currency: NotImplementedError mostly,
# but also TypeError (an unexpected `currency=`), IndexError, AttributeError, KeyError.
_NUM2WORDS_FAILURES = (NotImplementedError, TypeError, IndexError, AttributeError, KeyError)
# Words of letters (any script) joined by inner hyphens, apostrophes or Catalan's middle dot; words apart by a space,
# optionally after a comma. No digits, no other symbols.
_WORD = r"[^\W\d_]+(?:[-'·][^\W\d_]+)*"
_SPEAKABLE = re.compile(rf"{_WORD}(?:,? {_WORD})*")
_FIELD = re.compile(r"%\((\w+)\)s")
_SPACES_AND_APOSTROPHES = str.maketrans(
    {"\u00a0": " ", "\u202f": " ", "\u2019": "'", "\u02bc": "'"}
)


class Unrenderable(ValueError):
    """This item cannot be said in this language with these tools."""


def speakable(text: str) -> bool:
    """Whether a text is words only (letters, inner hyphens and apostrophes, spaces, commas)."""
    return _SPEAKABLE.fullmatch(text) is not None


def render(item: Item, language: str) -> str:
    """The item in words of one language.

    Args:
        item: what to say.
        language: a corpus language code (`unheard.data.synth.languages.LANGUAGES`).

    Returns:
        The text: words, single spaces, commas where the language's pattern puts them.

    Raises:
        Unrenderable: if the language does not do this kind of item, or a tool cannot write
            this particular one (a missing currency, a CLDR name with symbols, …).
        ValueError: if the language is not in the corpus.
    """
    spec = language_spec(language)
    if item.kind not in spec.kinds:
        raise Unrenderable(f"{language} does not render {item.kind} items")
    text = _RENDERERS[item.kind](item.key, spec)
    # CLDR puts no-break and narrow no-break spaces between a number and its unit, and writes
    # apostrophes as U+2019 or U+02BC, where num2words writes "'": one apostrophe for both, and
    # the one espeak-ng reads (it spells Ukrainian "пʼять" letter by letter).
    text = text.translate(_SPACES_AND_APOSTROPHES)
    text = " ".join(text.split())
    if not speakable(text):
        raise Unrenderable(f"{item.id} in {language} is not words only: {text!r}")
    return text


@functools.cache
def _locale(name: str) -> Locale:
    return Locale.parse(name)


def _words(number: int | float, spec: LanguageSpec, to: str = "cardinal", **kwargs: str) -> str:
    try:
        return num2words(number, lang=spec.num2words, to=to, **kwargs)
    except _NUM2WORDS_FAILURES as e:
        raise Unrenderable(f"num2words cannot write {number} as {to} in {spec.code}: {e}") from e


def _cardinal(key: str, spec: LanguageSpec) -> str:
    return _words(int(key), spec)


def _ordinal(key: str, spec: LanguageSpec) -> str:
    return _words(int(key), spec, to="ordinal")


def _year(key: str, spec: LanguageSpec) -> str:
    year = int(key)
    if spec.year_as_cardinal_from is None:
        return _words(year, spec, to="year")
    if year >= spec.year_as_cardinal_from:
        return _words(year, spec)
    if spec.year_hundreds is None:
        raise Unrenderable(f"{spec.code} says no years before {spec.year_as_cardinal_from}")
    # "nittonhundraåttiosju": the century, the word for hundred, the rest, as one word.
    century, rest = divmod(year, 100)
    return _words(century, spec) + spec.year_hundreds + (_words(rest, spec) if rest else "")


def _decimal(key: str, spec: LanguageSpec) -> str:
    # A float, not a Decimal or a string: num2words' Italian drops the fraction of those.
    return _words(float(key), spec)


def _currency(key: str, spec: LanguageSpec) -> str:
    code, amount = key.split("_")
    # A float: an int would be read as cents.
    return _words(float(amount), spec, to="currency", currency=code)


def _day(day: int, spec: LanguageSpec) -> str:
    if day == 1 and spec.first_day:
        return spec.first_day
    if spec.day_style == "ordinal":
        return _words(day, spec, to="ordinal") + spec.day_suffix
    return _words(day, spec)


def _date(key: str, spec: LanguageSpec) -> str:
    date = datetime.date.fromisoformat(key)
    locale = _locale(spec.babel)
    pattern = parse_pattern(get_date_format("full", locale=locale).pattern).format
    # Split into literal, field, literal, field, …, literal.
    parts = _FIELD.split(pattern)
    words = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            # Literals: separators and words ("de", "den"); the dots of "5." and "2021." mark
            # an ordinal day or year that is written out instead.
            words.append(part.replace("%%", "%").replace(".", ""))
        elif part[0] in "Ec" and len(part) == 4:  # weekday name
            words.append(format_date(date, part, locale=locale))
        elif part[0] in "ML" and len(part) == 4:  # month name (Catalan's comes as "de març")
            words.append(format_date(date, part, locale=locale))
        elif part in ("d", "dd"):
            words.append(_day(date.day, spec))
        elif part in ("y", "yyyy"):
            words.append(_year(str(date.year), spec))
        else:
            raise Unrenderable(f"the {spec.babel} full date has a field {part!r} not said in words")
    return "".join(words)


def _unit(key: str, spec: LanguageSpec) -> str:
    unit, count_text = key.rsplit("_", 1)
    count = int(count_text)
    locale = _locale(spec.babel)
    # CLDR picks the plural form for the count ("25 kilometrów", "25 de kilometri"); the digits
    # it writes are then replaced by the words.
    for length in ("long", "short"):
        try:
            phrase = format_unit(count, unit, length=length, locale=locale)
        except UnknownUnitError as e:
            raise Unrenderable(f"CLDR has no {unit} in {spec.babel}") from e
        # Where the locale lacks this plural form, Babel falls back to "48 length-mile"; Babel's
        # Portuguese, e.g., has long names for miles but only short ones ("60 anos") for years.
        # A short name that is an abbreviation ("р.") fails the words-only check in `render`.
        if unit not in phrase:
            break
    else:
        raise Unrenderable(f"CLDR has no {unit} for {count} in {spec.babel}: {phrase!r}")
    digits = format_decimal(count, locale=locale)
    if phrase.count(digits) != 1:
        raise Unrenderable(
            f"CLDR's {unit} in {spec.babel} does not hold the count once: {phrase!r}"
        )
    return phrase.replace(digits, _words(count, spec))


def _territory(key: str, spec: LanguageSpec) -> str:
    name = _locale(spec.babel).territories.get(key)
    if name is None:
        raise Unrenderable(f"CLDR has no {spec.babel} name for territory {key}")
    return name


def _language_name(key: str, spec: LanguageSpec) -> str:
    name = _locale(spec.babel).languages.get(key)
    if name is None:
        raise Unrenderable(f"CLDR has no {spec.babel} name for language {key}")
    return name


_RENDERERS = {
    CARDINAL: _cardinal,
    ORDINAL: _ordinal,
    YEAR: _year,
    DECIMAL: _decimal,
    CURRENCY: _currency,
    DATE: _date,
    UNIT: _unit,
    TERRITORY: _territory,
    LANGUAGE_NAME: _language_name,
}
