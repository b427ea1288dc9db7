"""Language-independent items of the synthetic corpus, and the seeded stream that draws them.

An item is what is said, before any language: the number 1234, the year 1987, the date
2021-03-05, 25 kilometres per hour, the country DE. `unheard.data.synth.render` writes it in each
language; the same item in two languages is a truly parallel pair, and its English rendering is
the ST reference of every other language's.

The corpus is split *by item* (``unheard.data.synth.selection``): a test item must be said in no
language's training data. Items that would read the same are tied through their ``group``: the
cardinal 1987, the ordinal 1987th and the year 1987 share a group, because French says the year
as the cardinal ("mille neuf cent quatre-vingt-sept").
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from babel import Locale

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
)

# Share of each kind in the stream (renormalised as kinds run out of items).
KIND_WEIGHTS: dict[str, float] = {
    CARDINAL: 0.20,
    ORDINAL: 0.10,
    YEAR: 0.10,
    DECIMAL: 0.10,
    CURRENCY: 0.10,
    DATE: 0.20,
    UNIT: 0.10,
    TERRITORY: 0.05,
    LANGUAGE_NAME: 0.05,
}
CURRENCIES = ("EUR", "USD")
FIRST_DATE = datetime.date(1950, 1, 1)
LAST_DATE = datetime.date(2049, 12, 31)
# CLDR long unit names that every corpus language has and that read without symbols.
UNITS = (
    "length-kilometer",
    "length-meter",
    "length-centimeter",
    "length-millimeter",
    "length-mile",
    "mass-kilogram",
    "mass-gram",
    "mass-tonne",
    "duration-hour",
    "duration-minute",
    "duration-second",
    "duration-day",
    "duration-week",
    "duration-month",
    "duration-year",
    "volume-liter",
    "speed-kilometer-per-hour",
    "temperature-celsius",
    "area-hectare",
    "area-square-meter",
)
# Counts said with a unit: 5 and more and not ending in 1-4, because below that many languages
# make the number agree with the unit's gender ("dos"/"dues", "trije"/"tri"), which num2words'
# plain cardinal cannot do.
UNIT_COUNTS = tuple(n for n in range(5, 100) if n % 10 == 0 or n % 10 >= 5)
# Regions that are not places one names in a sentence (unknown, pseudo, "Outlying Oceania").
_NOT_TERRITORIES = frozenset({"ZZ", "XA", "XB", "QO", "EU", "EZ", "UN"})
# Tries of a random draw in a large pool before its unseen values are taken as used up.
_MAX_TRIES = 1000


@dataclass(frozen=True, order=True)
class Item:
    """One thing to say, in no language yet."""

    kind: str  # one of `unheard.data.synth.languages.KINDS`
    key: str  # canonical value: "1234", "3.25", "EUR_12.50", "2021-03-05", "length-meter_25", "DE"

    @property
    def id(self) -> str:
        """Unique over the corpus and usable in a file name, e.g. ``"date-2021-03-05"``."""
        return f"{self.kind}-{self.key}"

    @property
    def group(self) -> str:
        """Items of one group always share a split (numbers that read alike)."""
        if self.kind in (CARDINAL, ORDINAL, YEAR):
            return f"number-{self.key}"
        return self.id


@functools.cache
def territory_codes() -> tuple[str, ...]:
    """Two-letter CLDR territory codes (countries and the like), sorted."""
    names = Locale("en").territories
    return tuple(
        sorted(
            code
            for code in names
            if len(code) == 2 and code.isalpha() and code.isupper() and code not in _NOT_TERRITORIES
        )
    )


@functools.cache
def language_codes() -> tuple[str, ...]:
    """Two-letter (ISO 639-1) codes of the languages CLDR names in English, sorted."""
    return tuple(sorted(code for code in Locale("en").languages if len(code) == 2))


def _decimal_key(hundredths: int) -> str | None:
    """ "3.25" for 325, "3.2" for 320; None for whole numbers (they are cardinals)."""
    whole, fraction = divmod(hundredths, 100)
    if fraction == 0:
        return None
    return f"{whole}.{fraction:02d}".rstrip("0")


class _Bucket:
    """Values 0..size-1 drawn without replacement: by a permutation when small, else at random.

    ``make`` turns a value into an item, or None for a value that is skipped.
    """

    _PERMUTE_UP_TO = 100_000

    def __init__(self, size: int, weight: float, make: Callable[[int], Item | None]) -> None:
        self.size, self.weight, self.make = size, weight, make
        self.order: np.ndarray | None = None  # the permutation, made on first use
        self.next = 0
        self.seen: set[int] = set()
        self.exhausted = False

    def draw(self, rng: np.random.Generator) -> Item | None:
        """The next unseen item, or None (and ``exhausted``) when none is left."""
        if self.size <= self._PERMUTE_UP_TO:
            if self.order is None:
                self.order = rng.permutation(self.size)
            while self.next < self.size:
                item = self.make(int(self.order[self.next]))
                self.next += 1
                if item is not None:
                    return item
        else:
            for _ in range(_MAX_TRIES):
                value = int(rng.integers(self.size))
                if value in self.seen:
                    continue
                self.seen.add(value)
                item = self.make(value)
                if item is not None:
                    return item
        self.exhausted = True
        return None


def _buckets(kind: str, rng: np.random.Generator) -> list[_Bucket]:
    """The pools of one kind; several buckets weight small numbers up, as people say them."""
    if kind == CARDINAL:
        spans = [(0, 100), (100, 1000), (1000, 10_000), (10_000, 1_000_000)]
        return [
            _Bucket(hi - lo, 1.0, lambda v, lo=lo: Item(CARDINAL, str(lo + v))) for lo, hi in spans
        ]
    if kind == ORDINAL:
        spans = [(1, 101), (101, 1001)]
        return [
            _Bucket(hi - lo, 1.0, lambda v, lo=lo: Item(ORDINAL, str(lo + v))) for lo, hi in spans
        ]
    if kind == YEAR:
        return [_Bucket(1000, 1.0, lambda v: Item(YEAR, str(1100 + v)))]
    if kind == DECIMAL:

        def decimal(v: int, lo: int) -> Item | None:
            key = _decimal_key(lo + v)
            return None if key is None else Item(DECIMAL, key)

        spans = [(1, 2100), (2100, 100_000)]
        return [_Bucket(hi - lo, 1.0, functools.partial(decimal, lo=lo)) for lo, hi in spans]
    if kind == CURRENCY:

        def amount(v: int, lo: int) -> Item | None:
            code, cents = CURRENCIES[v % len(CURRENCIES)], lo + v // len(CURRENCIES)
            # Whole amounts read "twelve euro, zero cents" in num2words: leave them out.
            if cents % 100 == 0:
                return None
            return Item(CURRENCY, f"{code}_{cents // 100}.{cents % 100:02d}")

        spans = [(100, 2100), (2100, 100_000)]
        n = len(CURRENCIES)
        return [_Bucket((hi - lo) * n, 1.0, functools.partial(amount, lo=lo)) for lo, hi in spans]
    if kind == DATE:
        first = FIRST_DATE.toordinal()
        days = LAST_DATE.toordinal() - first + 1
        return [
            _Bucket(
                days, 1.0, lambda v: Item(DATE, datetime.date.fromordinal(first + v).isoformat())
            )
        ]
    if kind == UNIT:
        n = len(UNIT_COUNTS)
        return [
            _Bucket(
                len(UNITS) * n, 1.0, lambda v: Item(UNIT, f"{UNITS[v // n]}_{UNIT_COUNTS[v % n]}")
            )
        ]
    if kind == TERRITORY:
        codes = territory_codes()
        return [_Bucket(len(codes), 1.0, lambda v: Item(TERRITORY, codes[v]))]
    if kind == LANGUAGE_NAME:
        codes = language_codes()
        return [_Bucket(len(codes), 1.0, lambda v: Item(LANGUAGE_NAME, codes[v]))]
    raise ValueError(f"unknown item kind {kind!r}; known: {', '.join(KIND_WEIGHTS)}")


def item_stream(seed: int, kinds: Sequence[str] | None = None) -> Iterator[Item]:
    """Items in a seeded order, each at most once, kinds mixed by `KIND_WEIGHTS`.

    The order depends on the seed and ``kinds`` only, so a larger corpus with the same seed
    starts with (much) the same items as a smaller one. The stream ends when every pool is used up (the
    cardinals alone hold a million items, so in practice it is cut by the reader).

    Args:
        seed: the seed of the order.
        kinds: the kinds to draw (default: all of `KIND_WEIGHTS`).

    Yields:
        Distinct items.

    Raises:
        ValueError: for an unknown kind.
    """
    rng = np.random.default_rng([seed, 0x5EED])
    chosen = list(KIND_WEIGHTS) if kinds is None else list(dict.fromkeys(kinds))
    pools = {kind: _buckets(kind, rng) for kind in chosen}
    while True:
        live = [k for k in chosen if any(not b.exhausted for b in pools[k])]
        if not live:
            return
        weights = np.array([KIND_WEIGHTS[k] for k in live])
        kind = live[int(rng.choice(len(live), p=weights / weights.sum()))]
        buckets = [b for b in pools[kind] if not b.exhausted]
        bucket_weights = np.array([b.weight for b in buckets])
        bucket = buckets[int(rng.choice(len(buckets), p=bucket_weights / bucket_weights.sum()))]
        item = bucket.draw(rng)
        if item is not None:
            yield item
