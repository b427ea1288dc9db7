"""Corpus-level metrics: sacreBLEU BLEU and chrF, jiwer WER and CER, exact match."""

from __future__ import annotations

from collections.abc import Sequence

import jiwer
import sacrebleu


def _check(references: Sequence[str], hypotheses: Sequence[str]) -> None:
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    if not references:
        raise ValueError("no references to score")


def bleu(references: Sequence[str], hypotheses: Sequence[str], tokenize: str = "13a") -> float:
    """Corpus BLEU (0-100) with sacreBLEU's defaults and the given tokenizer."""
    _check(references, hypotheses)
    return sacrebleu.corpus_bleu(list(hypotheses), [list(references)], tokenize=tokenize).score


def chrf(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus chrF (0-100) with sacreBLEU's defaults."""
    _check(references, hypotheses)
    return sacrebleu.corpus_chrf(list(hypotheses), [list(references)]).score


def wer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus word error rate (0-1+) over the raw strings."""
    _check(references, hypotheses)
    return jiwer.wer(list(references), list(hypotheses))


def cer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus character error rate (0-1+) over the raw strings."""
    _check(references, hypotheses)
    return jiwer.cer(list(references), list(hypotheses))


def exact_match(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Share of hypotheses equal to their reference after stripping outer whitespace."""
    _check(references, hypotheses)
    return sum(r.strip() == h.strip() for r, h in zip(references, hypotheses, strict=True)) / len(
        references
    )
