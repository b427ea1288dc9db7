"""Output-language accuracy and the language-confusion matrix (expected vs detected language).

The paper's main zero-resource error is output in the wrong language: an unseen language's
speech transcribed in a related seen language, or a translation left in the source language.
Rows are the language each answer should be in (the hypothesis's ``target_language``), columns
the language the identifier found; the diagonal is correct output.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from unheard.evaluation.language_id import EMPTY, UNDETERMINED, comparable


@dataclass(frozen=True)
class LanguageConfusion:
    """Counts of (expected, detected) languages."""

    expected: tuple[str, ...]  # row labels, sorted
    detected: tuple[str, ...]  # column labels: the expected ones first, then others, und, empty
    counts: tuple[tuple[int, ...], ...]  # (rows, columns)

    @property
    def total(self) -> int:
        """Number of hypotheses counted."""
        return sum(map(sum, self.counts))

    @property
    def correct(self) -> int:
        """Hypotheses in the expected language."""
        columns = {label: j for j, label in enumerate(self.detected)}
        return sum(
            row[columns[label]] for label, row in zip(self.expected, self.counts, strict=True)
        )

    @property
    def accuracy(self) -> float | None:
        """Share of hypotheses in the expected language (0-1), None when there are none."""
        return self.correct / self.total if self.total else None

    def row(self, expected: str) -> dict[str, int]:
        """Detected-language counts of one expected language, zeros left out."""
        counts = self.counts[self.expected.index(expected)]
        return {label: n for label, n in zip(self.detected, counts, strict=True) if n}

    def to_dict(self) -> dict[str, dict[str, int]]:
        """``{expected: {detected: count}}`` with zeros left out, for JSON."""
        return {label: self.row(label) for label in self.expected}


def language_confusion(expected: Sequence[str], detected: Sequence[str]) -> LanguageConfusion:
    """Count expected against detected languages.

    Args:
        expected: the language each hypothesis should be in (any variant code).
        detected: the identifier's answer for each (see ``language_id``).

    Returns:
        The confusion matrix.

    Raises:
        ValueError: if the sequences differ in length.
    """
    if len(expected) != len(detected):
        raise ValueError(f"{len(expected)} expected languages but {len(detected)} detected")
    pairs = Counter((comparable(e), d) for e, d in zip(expected, detected, strict=True))
    rows = sorted({e for e, _ in pairs})
    others = Counter(d for (_, d), n in pairs.items() for _ in range(n) if d not in rows)
    special = [label for label in (UNDETERMINED, EMPTY) if label in others]
    by_count = sorted(
        (d for d in others if d not in special), key=lambda d: (-others[d], d)
    )  # most frequent wrong languages first
    columns = [*rows, *by_count, *special]
    counts = tuple(tuple(pairs.get((e, d), 0) for d in columns) for e in rows)
    return LanguageConfusion(tuple(rows), tuple(columns), counts)
