"""Which items go into which split of which language: split by item across all languages.

The zero-resource benchmark asks whether the model can say in an unseen language what it never
heard in it; if the number 1234 is in Spanish training audio and in Catalan test audio, the test
measures recall, not transfer. So every item (more exactly, every item *group*: the cardinal,
ordinal and year of one number) is assigned to one split by a seeded hash, the same in every
language, and a text that a split already holds (in any language, or as an English translation)
is never taken into another split: an item whose rendering would cross splits is dropped.

Items are taken in the seeded order of `unheard.data.synth.items.item_stream`, and each language
takes the first ones of each split that it can say, until its quota is full. So the languages'
selections overlap as far as their kinds do (the same item in every language: parallel data),
and a larger corpus with the same seed and shares starts with much the same items as a smaller
one (not exactly: a text the smaller one never wrote cannot block an item of another split).
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from unheard.data.synth.items import Item, item_stream
from unheard.data.synth.languages import KINDS, language_spec
from unheard.data.synth.render import Unrenderable, render

SPLITS = ("train", "dev", "test")
TRANSLATION_LANGUAGE = "en"
# Stop when this many items in a row fill no quota (the languages left can say no more).
_PATIENCE = 20_000


@dataclass(frozen=True)
class Rendered:
    """An item written in one language, with its English reference."""

    item: Item
    language: str
    text: str  # in `language`
    translation: str  # the English rendering (equal to `text` for English)

    @property
    def id(self) -> str:
        """The utterance id: ``"<language>-<item id>"``, unique over the corpus."""
        return f"{self.language}-{self.item.id}"


def split_of(item: Item, seed: int, dev_share: float, test_share: float) -> str:
    """The split of an item, the same in every language: a seeded hash of its group.

    Args:
        item: the item.
        seed: the corpus seed.
        dev_share: the share of item groups that go to dev.
        test_share: the share of item groups that go to test.

    Returns:
        ``"train"``, ``"dev"`` or ``"test"``.
    """
    # blake2b, not hash(): Python salts str hashes per process.
    digest = hashlib.blake2b(f"{seed}\0{item.group}".encode(), digest_size=8).digest()
    u = int.from_bytes(digest, "big") / 2**64  # uniform in [0, 1)
    if u < test_share:
        return "test"
    if u < test_share + dev_share:
        return "dev"
    return "train"


def normalize(text: str) -> str:
    """A text as compared for "the same sentence": case, punctuation and spacing ignored."""
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


def select_items(
    languages: Sequence[str],
    quotas: Mapping[str, int],
    seed: int,
    dev_share: float,
    test_share: float,
    kinds: Sequence[str] | None = None,
) -> dict[str, dict[str, list[Rendered]]]:
    """Choose and render the items of every language and split.

    Args:
        languages: corpus language codes.
        quotas: items wanted per language for each split, e.g. ``{"train": 6000, "dev": 600,
            "test": 600}``.
        seed: the seed of the item order and of the split hash.
        dev_share: the share of item groups hashed to dev.
        test_share: the share of item groups hashed to test.
        kinds: draw only these item kinds (None: every kind some language renders).

    Returns:
        ``{language: {split: [Rendered, …]}}`` in the stream's order. Every item is in one split
        only; no normalised text (of any language, or English translation) is in two splits; no
        language holds one text twice in a split. A language that runs out of items it can say
        has fewer (with a warning).

    Raises:
        ValueError: for an unknown language or split, or shares outside [0, 1) with a sum < 1.
    """
    unknown = set(quotas) - set(SPLITS)
    if unknown:
        raise ValueError(f"unknown split(s) {sorted(unknown)}; known: {', '.join(SPLITS)}")
    if not (0 <= dev_share < 1 and 0 <= test_share < 1 and dev_share + test_share < 1):
        raise ValueError(
            f"dev_share and test_share must be in [0, 1) with a sum below 1, "
            f"got {dev_share} and {test_share}"
        )
    specs = {language: language_spec(language) for language in languages}
    kinds = sorted(set().union(*(spec.kinds for spec in specs.values())) & set(kinds or KINDS))
    chosen: dict[str, dict[str, list[Rendered]]] = {
        language: {split: [] for split in SPLITS} for language in languages
    }
    texts_by_language: dict[str, set[str]] = {language: set() for language in languages}
    split_of_text: dict[str, str] = {}  # normalised text (any language) → its split

    def wanted(split: str) -> list[str]:
        return [
            language
            for language in languages
            if len(chosen[language][split]) < quotas.get(split, 0)
        ]

    idle = 0
    for item in item_stream(seed, kinds):
        if not any(wanted(split) for split in SPLITS):
            break
        idle += 1
        if idle > _PATIENCE:
            break
        split = split_of(item, seed, dev_share, test_share)
        takers = [language for language in wanted(split) if item.kind in specs[language].kinds]
        if not takers:
            continue
        try:
            translation = render(item, TRANSLATION_LANGUAGE)
        except Unrenderable:
            continue
        texts = {}
        for language in takers:
            try:
                texts[language] = render(item, language)
            except Unrenderable:
                pass
        if not texts:
            continue
        keys = {normalize(text) for text in texts.values()} | {normalize(translation)}
        if any(split_of_text.get(key, split) != split for key in keys):
            continue  # reads like an item of another split: keep the splits apart
        for language, text in texts.items():
            key = normalize(text)
            if key in texts_by_language[language]:
                continue  # the same words as an earlier item (the year 1987 said as 1987)
            texts_by_language[language].add(key)
            chosen[language][split].append(Rendered(item, language, text, translation))
            idle = 0
        for key in keys:
            split_of_text[key] = split
    short = [
        f"{language} {split} {len(chosen[language][split])}/{quotas[split]}"
        for language in languages
        for split in quotas
        if len(chosen[language][split]) < quotas[split]
    ]
    if short:
        warnings.warn(
            f"ran out of items to say: {', '.join(short)} (a larger share or fewer items helps)",
            stacklevel=2,
        )
    return chosen
