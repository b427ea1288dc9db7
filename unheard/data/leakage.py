"""The zero-resource protocol's guard: no paired audio in an unseen language reaches training.

Text alone in an unseen language is allowed (the LLM may know the language from text): it is
counted by `count_unseen_text` and reported, never refused."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from unheard.data.manifest import Utterance


def check_no_unseen_audio(utterances: Sequence[Utterance], unseen: Sequence[str]) -> None:
    """Refuse training data with paired audio (a transcript or a translation) in an unseen
    language.

    Args:
        utterances: the training records.
        unseen: the run's unseen (zero-resource) languages.

    Raises:
        ValueError: naming each leaking language, its count and a few ids.
    """
    if not unseen:
        return
    unseen_set = set(unseen)
    leaks = [u for u in utterances if u.language in unseen_set and (u.text or u.translation)]
    if not leaks:
        return
    counts = Counter(u.language for u in leaks)
    details = "; ".join(
        f"{lang}: {n} (e.g. {', '.join(u.id for u in leaks if u.language == lang)[:80]})"
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
        unseen: the run's unseen (zero-resource) languages.

    Returns:
        ``{language: records}`` for each unseen language with text, sorted by language.
    """
    counts = Counter(lang for lang in languages if lang in set(unseen))
    return dict(sorted(counts.items()))
