"""Language codes: from each corpus's own codes to ISO 639-1, and the language filter of importers.

Manifests name the spoken language by its ISO 639-1 code where one exists, whatever the corpus
calls it. The corpora use:

- Common Voice and CoVoST 2: ISO 639-1, or 639-3 where 639-1 has none (``kab``, ``ckb``), with a
  region or variant after a hyphen for some (``sv-SE``, ``zh-CN``, ``rm-sursilv``);
- FLEURS: a locale, language and region joined by underscores (``ca_es``, ``nl_nl``,
  ``cmn_hans_cn``);
- Multilingual LibriSpeech: English names of languages in its folder names (``mls_dutch``);
- Europarl-ST and VoxPopuli: ISO 639-1 already (VoxPopuli adds ``en_accented``).

`iso639_1` maps them all: the part before the first ``-`` or ``_``, lower-cased, through
`ISO639_3_TO_1` where that part is an ISO 639-3 code with a 639-1 equivalent (FLEURS' ``cmn`` is
``zh``), else through CLDR's language aliases (Babel's copy: every ISO 639-2/B and 639-3 code with
a 639-1 equivalent, ``dut`` and ``nld`` → ``nl``, and the deprecated ``iw`` → ``he``); codes
without a 639-1 equivalent stay as they are (``ast``, ``ckb``, ``fil``). Two exceptions in
`SPECIAL_CODES`: Common Voice's ``zh-HK`` is Cantonese (``yue``), not Mandarin, and MLS names go
through `MLS_LANGUAGES`. The leakage guard (`unheard.data.leakage`) compares languages through
`iso639_1` too, so that ``CA``, ``ca-ES``, ``ca_es`` and ``cat`` are all Catalan there.

Exports that name languages in English (lhotse's LibriSpeech recipe says ``"English"``, FLEURS on
the Hugging Face hub ``"Catalan"``) go through `language_code`, which also knows CLDR's English
names of languages.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# ISO 639-3 (or 639-2) codes that the corpora use where ISO 639-1 has a code.
ISO639_3_TO_1 = {
    "cmn": "zh",  # Mandarin, FLEURS "cmn_hans_cn"
    "eng": "en",
    "deu": "de",
    "fra": "fr",
    "spa": "es",
    "cat": "ca",
    "nld": "nl",
    "ita": "it",
    "por": "pt",
    "pol": "pl",
    "zho": "zh",
}
# Whole codes (lower-cased) whose language is not the one their first part names.
SPECIAL_CODES = {"zh-hk": "yue"}  # Common Voice "zh-HK": Cantonese, spoken in Hong Kong
# Multilingual LibriSpeech folder names, "mls_<name>", to ISO 639-1.
MLS_LANGUAGES = {
    "english": "en",
    "german": "de",
    "dutch": "nl",
    "french": "fr",
    "spanish": "es",
    "italian": "it",
    "portuguese": "pt",
    "polish": "pl",
}


def iso639_1(code: str) -> str:
    """The ISO 639-1 code of a corpus's language code, or the code's language part if none exists.

    Args:
        code: a corpus's own code: ``"nl"``, ``"sv-SE"``, ``"ca_es"``, ``"cmn_hans_cn"``,
            ``"dutch"`` (an MLS name), ``"en_accented"``.

    Returns:
        The lower-case code: ``"nl"``, ``"sv"``, ``"ca"``, ``"zh"``, ``"nl"``, ``"en"``.

    Raises:
        ValueError: if ``code`` is empty or has no letters before its first separator.
    """
    lowered = code.strip().lower()
    if lowered in SPECIAL_CODES:
        return SPECIAL_CODES[lowered]
    if lowered in MLS_LANGUAGES:
        return MLS_LANGUAGES[lowered]
    language = re.split(r"[-_]", lowered, maxsplit=1)[0]
    if not language.isalpha():
        raise ValueError(f"not a language code: {code!r}; expected e.g. 'nl', 'sv-SE' or 'ca_es'")
    return ISO639_3_TO_1.get(language) or _cldr_aliases().get(language, language)


@functools.cache
def _cldr_aliases() -> dict[str, str]:
    """CLDR's aliases of 2- and 3-letter language codes that have an ISO 639-1 code."""
    from babel.core import get_global

    aliases = {}
    for alias, target in get_global("language_aliases").items():
        # the target may carry a script or region ("sh" → "sr_Latn"): its language is enough
        language = target.split("_", 1)[0]
        if len(alias) in (2, 3) and alias.isalpha() and len(language) == 2:
            aliases[alias] = language
    return aliases


@functools.cache
def _english_names() -> dict[str, str]:
    """CLDR's English names of languages, lower-cased, to their codes (two-letter codes first)."""
    from babel import Locale

    names: dict[str, str] = {}
    # Two-letter codes first, so that "Chinese" is "zh", not a three-letter code sharing the name.
    for code, name in sorted(Locale("en").languages.items(), key=lambda item: len(item[0])):
        if "_" not in code:
            names.setdefault(name.lower(), code)
    return names


def language_code(value: str) -> str:
    """The ISO 639-1 code of a language given by a code or by its English name.

    Args:
        value: a code as `iso639_1` takes it (``"ca"``, ``"ca_es"``, ``"sv-SE"``) or an English
            name as CLDR spells it (``"Catalan"``, ``"Chinese"``), in any case.

    Returns:
        The code, e.g. ``"ca"``.

    Raises:
        ValueError: if ``value`` is neither a code nor a known English name.
    """
    try:
        code = iso639_1(value)
    except ValueError:
        code = None
    if code is not None and len(code) <= 3:
        return code
    named = _english_names().get(" ".join(value.split()).lower())
    if named is None:
        raise ValueError(f"not a language code or English language name: {value!r}")
    return iso639_1(named)


def _normalized(codes: Iterable[str], name: str) -> frozenset[str]:
    """Lower-cased codes, each checked to be a non-empty string."""
    normalized = set()
    for code in codes:
        if not isinstance(code, str) or not code.strip():
            raise ValueError(f"{name} must be language codes such as 'nl' or 'ca', got {code!r}")
        normalized.add(code.strip().lower())
    return frozenset(normalized)


@dataclass(frozen=True)
class LanguageSelection:
    """Which of a corpus's languages an importer imports.

    A language is named by its ISO 639-1 code or by the corpus's own code (``"nl"`` and
    ``"nl_nl"`` both select FLEURS' Dutch), case-insensitively. Exclusion wins over inclusion, so
    that a language held out of training can never slip in.
    """

    include: frozenset[str] | None = None  # codes to import; None imports every language
    exclude: frozenset[str] = frozenset()  # codes never to import

    @classmethod
    def of(
        cls, languages: Sequence[str] | None = None, exclude_languages: Sequence[str] = ()
    ) -> LanguageSelection:
        """Build a selection from an importer's ``languages`` and ``exclude_languages`` arguments.

        Raises:
            ValueError: if a code is empty or not a string, or if a bare string is given where a
                list of codes is expected.
        """
        for name, value in (("languages", languages), ("exclude_languages", exclude_languages)):
            # A bare string is a sequence of letters: "nl" would select "n" and "l".
            if isinstance(value, str):
                raise ValueError(f"{name} must be a list of codes, e.g. [{value!r}], got {value!r}")
        include = None if languages is None else _normalized(languages, "languages")
        return cls(include, _normalized(exclude_languages, "exclude_languages"))

    def selects(self, native: str) -> bool:
        """Whether to import a language, given the corpus's own code for it."""
        codes = {native.lower(), iso639_1(native)}
        if codes & self.exclude:
            return False
        return self.include is None or bool(codes & self.include)

    def group(self, natives: Iterable[str]) -> dict[str, list[str]]:
        """The selected languages by ISO 639-1 code, each with the corpus's codes that map to it.

        Args:
            natives: the corpus's own codes, e.g. Common Voice's ``["zh-CN", "zh-TW", "nl"]``.

        Returns:
            ``{"nl": ["nl"], "zh": ["zh-CN", "zh-TW"]}``, keys and codes sorted.
        """
        groups: dict[str, list[str]] = {}
        for native in sorted(set(natives)):
            if self.selects(native):
                groups.setdefault(iso639_1(native), []).append(native)
        return dict(sorted(groups.items()))

    def unmatched(self, natives: Iterable[str]) -> list[str]:
        """The requested codes that none of the corpus's languages answers to, sorted."""
        if self.include is None:
            return []
        found = set()
        for native in natives:
            found |= {native.lower(), iso639_1(native)}
        return sorted(self.include - found)
