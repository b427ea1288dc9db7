"""evaluate(): overall, seen, unseen and per-language groups, nulls where a metric does not apply,
and the report a person reads."""

from __future__ import annotations

import pytest
import sacrebleu

from unheard.decoding.hypotheses import Hypothesis
from unheard.evaluation.evaluate import EvaluationOptions, evaluate
from unheard.evaluation.metrics import wer
from unheard.evaluation.report import render_report

ES = "Mañana por la mañana vamos a visitar a mis abuelos que viven en el campo."
CA = "Demà al matí anirem a veure els meus avis, que viuen a la muntanya."
EN = "Tomorrow morning we are going to visit my grandparents who live in the country."
ZH = "明天早上我们要坐火车去北京看望奶奶。"


def _records() -> list[Hypothesis]:
    def h(i: int, task: str, lang: str, target: str, hyp: str, ref: str | None) -> Hypothesis:
        return Hypothesis(id=f"{lang}{i}", task=task, language=lang, target_language=target,
                          hypothesis=hyp, reference=ref)  # fmt: skip

    return [
        h(0, "asr", "es", "es", ES, ES),
        h(1, "asr", "es", "es", ES.replace("campo", "pueblo"), ES),
        h(2, "st", "es", "en", EN, EN),
        h(0, "asr", "ca", "ca", ES, CA),  # Catalan written as Spanish: confusion
        h(1, "st", "ca", "en", EN.replace("country", "mountains"), EN),
        h(2, "st", "ca", "zh", ZH, ZH),  # a second ST target needing another BLEU tokenizer
        h(3, "asr", "ca", "ca", CA, None),  # no reference: identified, not scored
    ]


def test_groups_hold_the_metrics_with_nulls_where_they_do_not_apply():
    m = evaluate(_records(), EvaluationOptions(seen=("es",))).metrics
    assert set(m) >= {"overall", "seen", "unseen", "by_language", "language_confusion"}
    for group in (m["overall"], m["seen"], m["unseen"], *m["by_language"].values()):
        assert set(group) >= {"bleu", "chrf", "wer", "cer", "language_accuracy"}
    # only seen declared: every other language is unseen
    assert m["seen_languages"] == ["es"] and m["unseen_languages"] == ["ca"]
    assert m["by_language"]["ca"]["split"] == "unseen"

    es = m["by_language"]["es"]
    norm = ES.lower().rstrip(".")  # what the basic normaliser leaves of it
    assert es["wer"] == pytest.approx(
        100 * wer([norm, norm], [norm, norm.replace("campo", "pueblo")])
    )
    assert es["bleu"] == pytest.approx(100.0) and es["bleu_tokenizer"] == "13a"
    assert es["language_accuracy"] == pytest.approx(100.0)

    ca = m["by_language"]["ca"]
    assert ca["scored"] == {"st": 2, "asr": 1, "per": 0} and ca["utterances"] == 4
    # targets en and zh need 13a and zh: no single pooled BLEU, but chrF and the ASR scores
    assert ca["bleu"] is None and ca["bleu_tokenizer"] == "mixed: 13a, zh"
    # chrF pools both targets: sacreBLEU's corpus chrF over ca's two ST pairs, computed here
    wrong = EN.replace("country", "mountains")
    expected = sacrebleu.corpus_chrf([wrong, ZH], [[EN, ZH]]).score
    assert ca["chrf"] == pytest.approx(expected, abs=1e-9) == pytest.approx(91.6224, abs=1e-4)
    assert es["chrf"] == pytest.approx(100.0) and ca["wer"] > 0
    assert ca["language_accuracy"] == pytest.approx(75.0)  # the Spanish one is wrong
    assert m["language_confusion"]["ca"] == {"ca": 1, "es": 1}

    overall = m["overall"]
    pooled = sacrebleu.corpus_chrf([EN, wrong, ZH], [[EN, EN, ZH]]).score  # 95.3562
    assert overall["chrf"] == pytest.approx(pooled, abs=1e-9)
    assert overall["utterances"] == 7 and overall["language_accuracy"] == pytest.approx(600 / 7)
    assert overall["macro"]["language_accuracy"] == pytest.approx((100 + 75) / 2)
    assert m["signatures"]["bleu"]["zh"].count("tok:zh") == 1


def test_asr_only_has_no_bleu_and_no_seen_groups_without_declarations():
    records = [r for r in _records() if r.task == "asr"]
    m = evaluate(records).metrics
    assert m["seen"] is None and m["unseen"] is None
    assert m["overall"]["bleu"] is None and m["overall"]["chrf"] is None
    assert m["overall"]["wer"] is not None and m["by_language"]["es"]["split"] is None


def test_declaring_both_leaves_other_languages_out_and_rejects_overlap():
    options = EvaluationOptions(seen=("es",), unseen=("fr",))
    m = evaluate(_records(), options).metrics
    assert m["unseen"] is None and m["by_language"]["ca"]["split"] is None
    with pytest.raises(ValueError, match=r"\['es'\] are declared both"):
        EvaluationOptions(seen=("es_VE",), unseen=("es",))


def test_report_has_the_tables_and_the_comparison():
    records = _records()
    baseline = [
        Hypothesis(**{**r.__dict__, "hypothesis": "no"}) if r.task == "asr" else r for r in records
    ]
    evaluation = evaluate(records, EvaluationOptions(unseen=("ca",)), baseline=baseline)
    comparison = evaluation.metrics["comparison"]
    assert comparison["overall"]["paired"] == 6 and comparison["unpaired"] == 0
    assert comparison["overall"]["wer"]["system"] < comparison["overall"]["wer"]["baseline"]
    report = render_report(evaluation, ["h.jsonl"], {"scores": "s.png"}, [0.2, 0.5, 0.3], "b.jsonl")
    for text in (
        "## Summary", "| **seen** (es)", "| ca (unseen)", "## Output language",
        "## Degenerate outputs", "## Comparison", "## Learned layer weights", "tok:13a",
        "![per-language scores](s.png)", "most weight, 0.500, is on layer 1",
    ):  # fmt: skip
        assert text in report, text


def test_language_lists_accept_spaces_commas_and_both():
    from unheard.evaluation.commands import language_list

    assert language_list(["es", "fr"]) == language_list(["es,fr"]) == ("es", "fr")
    assert language_list(["es, fr"]) == ("es", "fr")  # the space was kept before
    assert language_list(None) == ()
