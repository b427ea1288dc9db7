"""Evaluate hypothesis files: scores overall, for the seen and the unseen languages and per
language, the language-confusion matrix, and optionally a paired comparison with another system.

Seen and unseen are the zero-resource protocol's two sides (DESIGN §2.4). Declaring only
``seen`` makes every other language unseen, and the other way round; declaring both leaves any
language in neither list out of both groups (it still counts overall). Declaring neither gives
no seen/unseen groups. Languages are matched on their base code (``es_VE`` is ``es``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from unheard.data.prompts import Prompts
from unheard.decoding.hypotheses import Hypothesis
from unheard.evaluation.confusion import LanguageConfusion, language_confusion
from unheard.evaluation.language_id import LanguageIdentifier, LanguageIdOptions
from unheard.evaluation.languages import base_language
from unheard.evaluation.metrics import bleu_signature, bleu_tokenizer, chrf_signature
from unheard.evaluation.scoring import compare_group, macro_average, score_group

GROUPS = ("overall", "seen", "unseen")
UNITS = {
    "bleu": "sacreBLEU corpus BLEU, 0-100",
    "chrf": "sacreBLEU corpus chrF2, 0-100",
    "wer": "corpus word error rate in %, after Whisper-style normalisation",
    "cer": "corpus character error rate in %, after Whisper-style normalisation",
    "wer_raw": "corpus word error rate in %, raw text",
    "cer_raw": "corpus character error rate in %, raw text",
    "per": "corpus phone error rate in % of phone answers (phon, and ASR's phonemes) against the "
    "G2P of the transcript, word boundaries ignored",
    "language_accuracy": "% of hypotheses identified as written in their target language",
}


@dataclass(frozen=True)
class EvaluationOptions:
    """What to evaluate and how."""

    seen: tuple[str, ...] = ()  # languages with paired audio in training
    unseen: tuple[str, ...] = ()  # languages without (zero-resource)
    language_id: LanguageIdOptions = field(default_factory=LanguageIdOptions)
    # test prompts a hypothesis may echo; the defaults of `Prompts` are always included
    prompts: tuple[Prompts, ...] = ()

    def __post_init__(self) -> None:
        """Validate once.

        Raises:
            ValueError: if a language is declared both seen and unseen.
        """
        both = {base_language(s) for s in self.seen} & {base_language(u) for u in self.unseen}
        if both:
            raise ValueError(f"languages {sorted(both)} are declared both seen and unseen")

    def split(self, language: str) -> str | None:
        """``"seen"``, ``"unseen"`` or None (in neither group) for a spoken language."""
        seen = {base_language(s) for s in self.seen}
        unseen = {base_language(u) for u in self.unseen}
        base = base_language(language)
        if base in seen:
            return "seen"
        if base in unseen:
            return "unseen"
        if seen and not unseen:
            return "unseen"  # only the seen ones declared: everything else is zero-resource
        if unseen and not seen:
            return "seen"
        return None


@dataclass(frozen=True)
class Evaluation:
    """Everything ``unheard evaluate`` writes."""

    metrics: dict[str, Any]  # the content of metrics.json
    confusion: LanguageConfusion  # expected vs detected language, all hypotheses
    splits: dict[str, str | None]  # spoken language → "seen", "unseen" or None


def evaluate(
    records: Sequence[Hypothesis],
    options: EvaluationOptions | None = None,
    baseline: Sequence[Hypothesis] | None = None,
) -> Evaluation:
    """Score hypotheses overall, seen, unseen and per spoken language.

    Args:
        records: the hypotheses (of any tasks: ``asr``, ``st``, ``phon``).
        options: seen/unseen languages, language identification, prompts.
        baseline: another system's hypotheses of the same utterances, for paired bootstrap
            tests (``comparison`` in the metrics).

    Returns:
        The metrics, the confusion matrix and the seen/unseen split of each language.

    Raises:
        ValueError: if there are no hypotheses.
    """
    if not records:
        raise ValueError("no hypotheses to evaluate")
    options = options or EvaluationOptions()
    prompts = (Prompts(), *options.prompts)
    detected = LanguageIdentifier(options.language_id).identify_all([r.hypothesis for r in records])
    languages = sorted({r.language for r in records})
    splits = {language: options.split(language) for language in languages}

    by_language = {
        language: score_group(*_subset(records, detected, _in_language, language), prompts)
        for language in languages
    }
    metrics: dict[str, Any] = {}
    for group in GROUPS:
        group_records, group_detected = _subset(records, detected, _in_group, group, splits)
        if not group_records:
            metrics[group] = None
            continue
        metrics[group] = score_group(group_records, group_detected, prompts)
        in_group = sorted({r.language for r in group_records})
        metrics[group]["languages"] = in_group
        metrics[group]["macro"] = macro_average({k: by_language[k] for k in in_group})
    metrics["by_language"] = by_language
    for language, split in splits.items():
        by_language[language]["split"] = split
    written = [i for i, r in enumerate(records) if r.task != "phon"]  # phones are in no language
    confusion = language_confusion(
        [records[i].target_language for i in written], [detected[i] for i in written]
    )
    metrics["language_confusion"] = confusion.to_dict()
    metrics["seen_languages"] = [k for k, v in splits.items() if v == "seen"]
    metrics["unseen_languages"] = [k for k, v in splits.items() if v == "unseen"]
    metrics["signatures"] = _signatures(records)
    metrics["units"] = UNITS
    if baseline is not None:
        metrics["comparison"] = _compare(records, baseline, splits, languages)
    return Evaluation(metrics=metrics, confusion=confusion, splits=splits)


def _in_language(r: Hypothesis, language: str) -> bool:
    return r.language == language


def _in_group(r: Hypothesis, group: str, splits: dict[str, str | None]) -> bool:
    return group == "overall" or splits[r.language] == group


def _subset(
    records: Sequence[Hypothesis], detected: Sequence[str], keep: Callable[..., bool], *args: Any
) -> tuple[list[Hypothesis], list[str]]:
    chosen = [i for i, r in enumerate(records) if keep(r, *args)]
    return [records[i] for i in chosen], [detected[i] for i in chosen]


def _signatures(records: Sequence[Hypothesis]) -> dict[str, Any]:
    targets = sorted({r.target_language for r in records if r.task == "st" and r.reference})
    if not targets:
        return {"bleu": {}, "chrf": None, "notes": []}
    choices = {t: bleu_tokenizer(t) for t in targets}
    return {
        "bleu": {t: bleu_signature(tok) for t, (tok, _) in choices.items()},
        "chrf": chrf_signature(),
        "notes": sorted({note for _, note in choices.values() if note}),
    }


def _compare(
    records: Sequence[Hypothesis],
    baseline: Sequence[Hypothesis],
    splits: dict[str, str | None],
    languages: Sequence[str],
) -> dict[str, Any]:
    by_key = {b.key: b for b in baseline}
    out: dict[str, Any] = {
        "unpaired": sum(r.key not in by_key for r in records),
        "by_language": {},
    }
    for group in GROUPS:
        chosen = [r for r in records if _in_group(r, group, splits)]
        out[group] = compare_group(chosen, by_key) if chosen else None
    for language in languages:
        out["by_language"][language] = compare_group(
            [r for r in records if r.language == language], by_key
        )
    return out
