"""Corpus-level metrics: sacreBLEU BLEU and chrF, jiwer WER and CER, phone error rate, exact match.

BLEU tokenises by the target language, as sacreBLEU recommends: ``zh`` for Chinese,
``ja-mecab`` for Japanese (MeCab with the IPA dictionary: the ``mecab-python3`` and ``ipadic``
packages; without them Japanese falls back to ``char`` and `bleu_tokenizer` says so), ``13a``
for everything else. chrF needs no tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import jiwer
import sacrebleu
from sacrebleu.metrics import BLEU, CHRF

from unheard.data.phonemes import phone_tokens
from unheard.evaluation.languages import base_language

DEFAULT_TOKENIZER = "13a"


def _check(references: Sequence[str], hypotheses: Sequence[str]) -> None:
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    if not references:
        raise ValueError("no references to score")


@lru_cache(maxsize=1)
def ja_mecab_available() -> bool:
    """Whether sacreBLEU's ``ja-mecab`` tokenizer can run here."""
    try:
        BLEU(tokenize="ja-mecab")
    except (RuntimeError, ImportError, AssertionError):
        return False
    return True


def bleu_tokenizer(target_language: str) -> tuple[str, str | None]:
    """sacreBLEU's tokenizer for BLEU into a language.

    Args:
        target_language: the language of the references.

    Returns:
        The tokenizer name and, when the recommended one is unavailable, a note saying what was
        used instead.
    """
    language = base_language(target_language)
    if language == "zh":
        return "zh", None
    if language == "ja":
        if ja_mecab_available():
            return "ja-mecab", None
        return "char", "ja-mecab needs mecab-python3 and ipadic; Japanese BLEU used char instead"
    return DEFAULT_TOKENIZER, None


def bleu_signature(tokenize: str = DEFAULT_TOKENIZER) -> str:
    """sacreBLEU's signature of corpus BLEU with one reference and ``tokenize``."""
    metric = BLEU(tokenize=tokenize)
    metric.corpus_score(["a"], [["a"]])  # the signature names the reference count once scored
    return metric.get_signature().format()


def chrf_signature() -> str:
    """sacreBLEU's signature of corpus chrF with one reference."""
    metric = CHRF()
    metric.corpus_score(["a"], [["a"]])
    return metric.get_signature().format()


def bleu(references: Sequence[str], hypotheses: Sequence[str], tokenize: str = "13a") -> float:
    """Corpus BLEU (0-100) with sacreBLEU's defaults and the given tokenizer."""
    _check(references, hypotheses)
    return sacrebleu.corpus_bleu(list(hypotheses), [list(references)], tokenize=tokenize).score


def chrf(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus chrF (0-100) with sacreBLEU's defaults."""
    _check(references, hypotheses)
    return sacrebleu.corpus_chrf(list(hypotheses), [list(references)]).score


def wer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus word error rate (0-1+) over the strings as given: all edits / all reference words."""
    _check(references, hypotheses)
    return jiwer.wer(list(references), list(hypotheses))


def cer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus character error rate (0-1+) over the strings as given, spaces included."""
    _check(references, hypotheses)
    return jiwer.cer(list(references), list(hypotheses))


def phone_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus phone error rate (0-1+): phone edits / reference phones, word boundaries ignored.

    Args:
        references: the G2P of each reference text (`unheard.data.phonemes.phonemize`): phones
            separated by spaces, words by ``|``.
        hypotheses: phones in the same form (the phoneme pass's output).

    Returns:
        Substitutions + deletions + insertions of phones over all reference phones.

    Raises:
        ValueError: for unequal lengths, no pairs, or references without a single phone.
    """
    _check(references, hypotheses)
    refs = [" ".join(phone_tokens(r)) for r in references]
    if not any(refs):
        raise ValueError("the references hold no phones to score against")
    out = jiwer.process_words(refs, [" ".join(phone_tokens(h)) for h in hypotheses])
    edits = out.substitutions + out.deletions + out.insertions
    return edits / (out.hits + out.substitutions + out.deletions)


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """Word edits (substitutions + deletions + insertions) and reference words of one pair: the
    sufficient statistics of corpus WER, for resampling."""
    out = jiwer.process_words(reference, hypothesis)
    return (
        out.substitutions + out.deletions + out.insertions,
        out.hits + out.substitutions + out.deletions,
    )


def exact_match(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Share of hypotheses equal to their reference after stripping outer whitespace."""
    _check(references, hypotheses)
    return sum(r.strip() == h.strip() for r, h in zip(references, hypotheses, strict=True)) / len(
        references
    )
