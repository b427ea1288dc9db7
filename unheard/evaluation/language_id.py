"""Which language a hypothesis is written in: an offline language identifier.

The identifier is langid.py's naive Bayes model over byte n-grams, through its maintained fork
``py3langid`` (the model ships inside the package: no download, ~0.5 s to load, ~10k texts/s).
It knows 140 languages (ISO 639-1 where one exists). It is reliable on a sentence and a guess
on one or two words: a "wrong language" verdict on a three-word hypothesis is weak evidence,
which `LanguageIdOptions.min_confidence` can turn into an explicit ``und`` (undetermined).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from py3langid.langid import MODEL_FILE
from py3langid.langid import LanguageIdentifier as Langid

from unheard.evaluation.languages import base_language

EMPTY = "empty"  # the label of an empty hypothesis: there is no language to identify
UNDETERMINED = "und"  # ISO 639-2 "undetermined": below the confidence threshold
# codes a manifest may use for what the identifier calls otherwise
ALIASES = {"nb": "no", "iw": "he", "in": "id", "fil": "tl", "cmn": "zh"}


def comparable(code: str) -> str:
    """The form in which expected and detected languages are compared (``pt_BR`` → ``pt``)."""
    base = base_language(code)
    return ALIASES.get(base, base)


@dataclass(frozen=True)
class LanguageIdOptions:
    """How to identify languages."""

    # restrict the identifier to these languages (None: all it knows). Restricting to the
    # evaluation's languages makes it more accurate but blind to confusion with any other.
    languages: tuple[str, ...] | None = None
    # below this posterior probability the answer is "und" (0: always name a language)
    min_confidence: float = 0.0

    def __post_init__(self) -> None:
        """Validate once.

        Raises:
            ValueError: for a threshold outside [0, 1) or an empty language list.
        """
        if not 0.0 <= self.min_confidence < 1.0:
            raise ValueError(f"min_confidence must be in [0, 1), got {self.min_confidence}")
        if self.languages is not None and not self.languages:
            raise ValueError("languages must name at least one language, or be None for all")


@lru_cache(maxsize=1)
def _shared_model() -> Langid:
    # normalised probabilities, so that a confidence threshold means the same at any length
    return Langid.from_model_file(MODEL_FILE, norm_probs=True)


class LanguageIdentifier:
    """Identifies the language of texts.

    Args:
        options: restriction and confidence threshold.

    Raises:
        ValueError: if ``options.languages`` names a language the model does not know.
    """

    def __init__(self, options: LanguageIdOptions | None = None) -> None:
        self.options = options or LanguageIdOptions()
        # a shallow copy: restricting languages replaces the copy's arrays, never the shared ones
        self._model = copy.copy(_shared_model())
        if self.options.languages is not None:
            wanted = sorted({comparable(code) for code in self.options.languages})
            unknown = [code for code in wanted if code not in self._model.labels]
            if unknown:
                raise ValueError(
                    f"the language identifier does not know {unknown}; it knows "
                    f"{', '.join(sorted(self._model.labels))}"
                )
            self._model.set_languages(wanted)

    @property
    def labels(self) -> list[str]:
        """The languages it can answer."""
        return sorted(self._model.labels)

    def identify(self, text: str) -> str:
        """The language of one text.

        Args:
            text: any text.

        Returns:
            A language code, `EMPTY` for an empty or blank text, or `UNDETERMINED` below the
            confidence threshold.
        """
        if not text.strip():
            return EMPTY
        language, confidence = self._model.classify(text)
        if confidence < self.options.min_confidence:
            return UNDETERMINED
        return comparable(language)

    def identify_all(self, texts: Sequence[str]) -> list[str]:
        """`identify` for each text, in order."""
        return [self.identify(t) for t in texts]
