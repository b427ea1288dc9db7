"""The scores of one group of hypotheses (a language, the seen or unseen ones, all of them).

A group may mix tasks: BLEU and chrF come from its ST hypotheses, WER and CER from its ASR ones,
output-language accuracy and degenerate counts from all of them; a metric with nothing to score
is ``None``. Only hypotheses with a reference are scored. All scores are percentages.

- BLEU: sacreBLEU corpus BLEU with the tokenizer of the target language. A group whose target
  languages need different tokenizers (say Chinese and English) has no pooled BLEU: one
  tokenizer would be wrong for some of it; its per-language BLEU and their mean remain.
- WER, CER: jiwer over the whole group (all edits / all reference words or characters), after
  Whisper-style normalisation (``wer``, ``cer``) and on the raw text (``wer_raw``, ``cer_raw``).
  A reference that is empty (after normalisation, for the normalised scores) is left out.
- ST exact, ASR exact: the share of hypotheses equal to their reference after the same
  normalisation (for short answers — numbers, dates — the strictest measure of content).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from unheard.data.prompts import Prompts
from unheard.decoding.hypotheses import Hypothesis
from unheard.evaluation.bootstrap import paired_bootstrap_sacrebleu, paired_bootstrap_wer
from unheard.evaluation.confusion import language_confusion
from unheard.evaluation.degenerate import count_degenerate
from unheard.evaluation.metrics import bleu, bleu_tokenizer, cer, chrf, exact_match, wer
from unheard.evaluation.normalizers import normalize

METRICS = ("bleu", "chrf", "st_exact", "wer", "cer", "asr_exact", "language_accuracy")


def score_group(
    records: Sequence[Hypothesis], detected: Sequence[str], prompts: Sequence[Prompts]
) -> dict[str, Any]:
    """Score one group.

    Args:
        records: the group's hypotheses.
        detected: the identified language of each hypothesis.
        prompts: the test prompts, for prompt-echo counting.

    Returns:
        ``bleu``, ``chrf``, ``st_exact``, ``wer``, ``cer``, ``asr_exact``, ``language_accuracy``
        (None where nothing applies),
        ``wer_raw``, ``cer_raw``, ``bleu_tokenizer``, counts of utterances by task and of those
        scored, and ``degenerate`` counts.
    """
    st = [r for r in records if r.task == "st" and r.reference is not None]
    asr = [r for r in records if r.task == "asr" and r.reference is not None]
    out: dict[str, Any] = {
        "utterances": len(records),
        "asr": sum(r.task == "asr" for r in records),
        "st": sum(r.task == "st" for r in records),
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
    confusion = language_confusion([r.target_language for r in records], detected)
    accuracy = confusion.accuracy
    out["language_accuracy"] = None if accuracy is None else 100 * accuracy
    out["scored"] = {"st": len(st), "asr": len(asr)}
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
