"""The zero-resource protocol's guard: no paired audio in an unseen language reaches training.

Text alone in an unseen language is allowed (the LLM may know the language from text): it is
counted by `count_unseen_text` and reported, never refused.

Both sides are compared as ISO 639-1 codes (`iso639_1`): the corpora and the user spell one
language many ways (``ca``, ``CA``, ``ca-ES``, FLEURS' ``ca_es``, ISO 639-2/3 ``cat``), and a
verbatim comparison let every spelling but the configured one through."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence

from unheard.data.importers.languages import iso639_1
from unheard.data.manifest import Utterance


def unseen_codes(unseen: Sequence[str]) -> frozenset[str]:
    """The unseen languages as ISO 639-1 codes (`iso639_1`; 639-3 where 639-1 has none).

    Args:
        unseen: the run's unseen languages as configured: ``["CA", "nl_nl", "cat"]``.

    Returns:
        Their codes: ``{"ca", "nl"}``.

    Raises:
        ValueError: naming a value that is not a language code.
    """
    codes = set()
    for code in unseen:
        try:
            codes.add(iso639_1(code))
        except (ValueError, AttributeError) as e:
            raise ValueError(
                f"unseen_languages: {code!r} is not a language code; expected e.g. 'ca' or 'nl'"
            ) from e
    return frozenset(codes)


@functools.cache
def _code(language: str | None) -> str | None:
    # a record's language as `unseen_codes` spells it; one that is no code cannot match any
    try:
        return iso639_1(language) if language else None
    except ValueError:
        return language


def check_no_unseen_audio(utterances: Sequence[Utterance], unseen: Sequence[str]) -> None:
    """Refuse training data with paired audio (a transcript or a translation) in an unseen
    language.

    Args:
        utterances: the training records.
        unseen: the run's unseen (zero-resource) languages, in any spelling `iso639_1` reads.

    Raises:
        ValueError: naming each leaking language, its count and a few ids; or an unseen value
            that is not a language code.
    """
    if not unseen:
        return
    codes = unseen_codes(unseen)
    leaks = [u for u in utterances if _code(u.language) in codes and (u.text or u.translation)]
    if not leaks:
        return
    counts = Counter(_code(u.language) for u in leaks)
    details = "; ".join(
        f"{lang}: {n}{_spellings(leaks, lang)} "
        f"(e.g. {', '.join(u.id for u in leaks if _code(u.language) == lang)[:80]})"
        for lang, n in sorted(counts.items())
    )
    raise ValueError(
        f"training data holds paired audio in unseen language(s) — {details}. Remove them "
        f"(e.g. `unheard data import … --exclude-languages {','.join(sorted(counts))}`) or "
        "drop the language from `unseen`"
    )


def count_unseen_text(languages: Iterable[str], unseen: Sequence[str]) -> dict[str, int]:
    """Text-only training records per unseen language (allowed; reported in the run summary).

    Args:
        languages: the language of each training text record.
        unseen: the run's unseen (zero-resource) languages, in any spelling `iso639_1` reads.

    Returns:
        ``{language: records}`` for each unseen language with text, by its ISO 639-1 code
        (`unseen_codes`), sorted by language.
    """
    codes = unseen_codes(unseen)
    counts = Counter(code for lang in languages if (code := _code(lang)) in codes)
    return dict(sorted(counts.items()))


def _spellings(leaks: Sequence[Utterance], code: str) -> str:
    # how the records spell the language, when not as the message does: " as ca_es, cat"
    spelled = sorted({u.language for u in leaks if _code(u.language) == code} - {code})
    return f" as {', '.join(spelled)}" if spelled else ""
