"""Language codes as evaluation compares them: the base ISO 639 code of a manifest's language."""

from __future__ import annotations

import re

# Languages written without spaces between words: WER over "words" means nothing for them, so
# their normalised WER is computed over characters (as Whisper's evaluation does).
NO_SPACE_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "my", "km", "yue", "bo"})


def base_language(code: str) -> str:
    """The base language of a code: ``"pt_BR"`` → ``"pt"``, ``"zh-CN"`` → ``"zh"``, ``"EN"`` → ``"en"``.

    Manifests carry region or voice variants (espeak-ng's ``es_VE``, Common Voice's ``zh-CN``);
    a language identifier answers with base codes. Comparing base codes keeps a correct output
    from counting as confusion.

    Args:
        code: a language code.

    Returns:
        The lower-cased part before the first ``-`` or ``_``.
    """
    return re.split(r"[-_]", code.strip(), maxsplit=1)[0].lower()


def writes_without_spaces(language: str) -> bool:
    """True for languages whose script puts no spaces between words (zh, ja, th, ...)."""
    return base_language(language) in NO_SPACE_LANGUAGES
