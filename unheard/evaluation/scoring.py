"""The scores of one group of hypotheses (a language, the seen or unseen ones, all of them).

A group may mix tasks: BLEU and chrF come from its ST hypotheses, WER and CER from its ASR ones,
PER from its phones, output-language accuracy from all but ``phon`` ones (phones are in no
language), degenerate counts from all of them; a metric with nothing to score is ``None``. Only
hypotheses with a reference are scored. All scores are percentages.

- BLEU: sacreBLEU corpus BLEU with the tokenizer of the target language. A group whose target
  languages need different tokenizers (say Chinese and English) has no pooled BLEU: one
  tokenizer would be wrong for some of it; its per-language BLEU and their mean remain.
- WER, CER: jiwer over the whole group (all edits / all reference words or characters), after
  Whisper-style normalisation (``wer``, ``cer``) and on the raw text (``wer_raw``, ``cer_raw``).
  A reference that is empty (after normalisation, for the normalised scores) is left out.
- ST exact, ASR exact: the share of hypotheses equal to their reference after the same
  normalisation (for short answers — numbers, dates — the strictest measure of content).
- PER: phone error rate over the whole group (`unheard.evaluation.metrics.phone_error_rate`,
  word boundaries ignored) of every phone answer: a ``phon`` hypothesis against its reference
  (the transcript's G2P), and the first pass of ASR decoded through phones (its ``phonemes``)
  against the G2P of its reference transcript (`unheard.data.phonemes.phonemize`). A reference
  in a language without a G2P, or without a phone, is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from unheard.data.phonemes import G2P_LANGUAGES, phone_tokens, phonemize
from unheard.data.prompts import Prompts
from unheard.decoding.hypotheses import Hypothesis
from unheard.evaluation.bootstrap import paired_bootstrap_sacrebleu, paired_bootstrap_wer
from unheard.evaluation.confusion import language_confusion
from unheard.evaluation.degenerate import count_degenerate
from unheard.evaluation.languages import base_language
from unheard.evaluation.metrics import (
    bleu,
    bleu_tokenizer,
    cer,
    chrf,
    exact_match,
    phone_error_rate,
    wer,
)
from unheard.evaluation.normalizers import normalize

METRICS = ("bleu", "chrf", "st_exact", "wer", "cer", "asr_exact", "per", "language_accuracy")


def score_group(
    records: Sequence[Hypothesis], detected: Sequence[str], prompts: Sequence[Prompts]
) -> dict[str, Any]:
    """Score one group.

    Args:
        records: the group's hypotheses.
        detected: the identified language of each hypothesis.
        prompts: the test prompts, for prompt-echo counting.

    Returns:
        ``bleu``, ``chrf``, ``st_exact``, ``wer``, ``cer``, ``asr_exact``, ``per``,
        ``language_accuracy`` (None where nothing applies),
        ``wer_raw``, ``cer_raw``, ``bleu_tokenizer``, counts of utterances by task and of those
        scored, and ``degenerate`` counts.
    """
    st = [r for r in records if r.task == "st" and r.reference is not None]
    asr = [r for r in records if r.task == "asr" and r.reference is not None]
    phones = phone_pairs(records)
    out: dict[str, Any] = {
        "utterances": len(records),
        "asr": sum(r.task == "asr" for r in records),
        "st": sum(r.task == "st" for r in records),
        "phon": sum(r.task == "phon" for r in records),
        "bleu": None,
        "chrf": None,
        "bleu_tokenizer": None,
    }
    if st:
        tokenizers = {bleu_tokenizer(r.target_language)[0] for r in st}
        refs, hyps = [r.reference or "" for r in st], [r.hypothesis for r in st]
        if len(tokenizers) == 1:
            out["bleu_tokenizer"] = tokenizers.pop()
            out["bleu"] = bleu(refs, hyps, tokenize=out["bleu_tokenizer"])
        else:
            out["bleu_tokenizer"] = "mixed: " + ", ".join(sorted(tokenizers))
        out["chrf"] = chrf(refs, hyps)
    out.update(_error_rates(asr))
    for name, group in (("st_exact", st), ("asr_exact", asr)):
        pairs = normalized_pairs(group, for_words=True)
        out[name] = 100 * exact_match(*zip(*pairs, strict=True)) if pairs else None
    out["per"] = 100 * phone_error_rate(*zip(*phones, strict=True)) if phones else None
    written = [i for i, r in enumerate(records) if r.task != "phon"]  # phones are in no language
    confusion = language_confusion(
        [records[i].target_language for i in written], [detected[i] for i in written]
    )
    accuracy = confusion.accuracy
    out["language_accuracy"] = None if accuracy is None else 100 * accuracy
    out["scored"] = {"st": len(st), "asr": len(asr), "per": len(phones)}
    out["degenerate"] = count_degenerate(records, prompts).to_dict()
    return out


def macro_average(by_language: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """Unweighted mean over languages of each metric (languages without it left out)."""
    out: dict[str, float | None] = {}
    for metric in (*METRICS, "wer_raw", "cer_raw"):
        values = [s[metric] for s in by_language.values() if s.get(metric) is not None]
        out[metric] = sum(values) / len(values) if values else None
    return out


def normalized_pairs(records: Sequence[Hypothesis], for_words: bool) -> list[tuple[str, str]]:
    """``(reference, hypothesis)`` after normalisation in each record's target language, for
    records whose normalised reference is not empty."""
    pairs = []
    for r in records:
        ref = normalize(r.reference or "", r.target_language, for_words)
        if ref:
            pairs.append((ref, normalize(r.hypothesis, r.target_language, for_words)))
    return pairs


def phone_pairs(records: Sequence[Hypothesis]) -> list[tuple[str, str]]:
    """``(reference phones, hypothesis phones)`` of every phone answer of a group (see the module
    docstring): ``phon`` hypotheses, and the ``phonemes`` of ASR decoded through phones."""
    pairs = []
    for r in records:
        if r.reference is None:
            continue
        if r.task == "phon":
            pairs.append((r.reference, r.hypothesis))
        elif r.task == "asr" and r.phonemes is not None:
            language = base_language(r.language)  # the G2P's codes are base codes ("es_VE": es)
            if language in G2P_LANGUAGES:
                pairs.append((phonemize(r.reference, language), r.phonemes))
    return [(ref, hyp) for ref, hyp in pairs if phone_tokens(ref)]


def compare_group(
    records: Sequence[Hypothesis], baseline: dict[tuple[str, str], Hypothesis]
) -> dict[str, Any]:
    """Paired bootstrap tests of a group against a baseline system's hypotheses.

    Args:
        records: the system's hypotheses of the group.
        baseline: the baseline's hypotheses by ``(id, task)``.

    Returns:
        ``{"paired": n, "bleu"/"chrf"/"wer": comparison dict}`` for the metrics the group has.
    """
    pairs = [(r, baseline[r.key]) for r in records if r.key in baseline and r.reference]
    out: dict[str, Any] = {"paired": len(pairs)}
    st = [(r, b) for r, b in pairs if r.task == "st"]
    tokenizers = {bleu_tokenizer(r.target_language)[0] for r, _ in st}
    if st and len(tokenizers) == 1:
        tests = paired_bootstrap_sacrebleu(
            [r.reference or "" for r, _ in st],
            [b.hypothesis for _, b in st],
            [r.hypothesis for r, _ in st],
            tokenize=tokenizers.pop(),
        )
        out.update({name: test.to_dict() for name, test in tests.items()})
    asr = [(r, b) for r, b in pairs if r.task == "asr"]
    triples = []
    for r, b in asr:
        ref = normalize(r.reference or "", r.target_language, for_words=True)
        if ref:
            triples.append(
                (ref, *(normalize(h.hypothesis, r.target_language, True) for h in (b, r)))
            )
    if triples:
        refs, base, system = zip(*triples, strict=True)
        out["wer"] = paired_bootstrap_wer(refs, base, system).to_dict()
    return out


def _error_rates(asr: Sequence[Hypothesis]) -> dict[str, float | None]:
    out: dict[str, float | None] = dict.fromkeys(("wer", "cer", "wer_raw", "cer_raw"))
    raw = [(r.reference or "", r.hypothesis) for r in asr if (r.reference or "").strip()]
    for name, pairs, rate in (
        ("wer", normalized_pairs(asr, for_words=True), wer),
        ("cer", normalized_pairs(asr, for_words=False), cer),
        ("wer_raw", raw, wer),
        ("cer_raw", raw, cer),
    ):
        if pairs:
            refs, hyps = zip(*pairs, strict=True)
            out[name] = 100 * rate(list(refs), list(hyps))
    return out
