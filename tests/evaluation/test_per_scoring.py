"""Phone error rate in ``unheard evaluate``: phon hypotheses against their reference phones, ASR
decoded through phones by its first pass against the G2P of its transcript; per language, seen
and unseen, in metrics.json and the report; phones kept out of the output-language count."""

from __future__ import annotations

import json

import pytest

from unheard.cli import main
from unheard.decoding.hypotheses import Hypothesis, append_hypotheses
from unheard.evaluation.evaluate import EvaluationOptions, evaluate
from unheard.evaluation.report import render_report


def _h(id_: str, task: str, lang: str, hyp: str, ref: str | None, phonemes: str | None = None):
    return Hypothesis(id=id_, task=task, language=lang, target_language=lang, hypothesis=hyp,
                      reference=ref, phonemes=phonemes)  # fmt: skip


PHON = [  # seen Spanish: the phones pass alone, referenced by the transcript's G2P
    _h("es0", "phon", "es", "k wa t ɾ o", "k wa t ɾ o"),  # cuatro: 5 phones, no edit
    _h("es1", "phon", "es", "b e n t i d o s", "b ei n t i d o s"),  # veintidós: 8, 1 sub
]
VIA = [  # unseen Catalan, ASR through phones: phonemize("vint-i-nou") = "b i n t i n ɔ uw"
    _h("ca0", "asr", "ca", "vint i nou", "vint-i-nou", "b i n t i | n o uw"),  # 8 phones, 1 sub
    # "trenta-dos" = "t ɾ ə n t ə ð o s": 9 phones, 3 subs
    _h("ca1", "asr", "ca", "trenta dos", "trenta-dos", "t ɾ e n t a d o s"),
    _h("ca2", "asr", "ca", "tres", "tres"),  # decoded directly: no phones to score
    _h("ja0", "asr", "ja", "ichi", "ichi", "i tɕ i"),  # no G2P for Japanese: left out of PER
]


def test_per_pools_phon_answers_and_the_first_pass_of_asr_per_language_and_group():
    m = evaluate([*PHON, *VIA], EvaluationOptions(seen=("es",))).metrics
    by = m["by_language"]
    assert by["es"]["per"] == pytest.approx(100 * 1 / 13)  # 7.69
    assert by["ca"]["per"] == pytest.approx(100 * 4 / 17)  # 23.53
    assert by["ja"]["per"] is None and by["ja"]["wer"] == 0.0
    assert m["seen"]["per"] == pytest.approx(100 / 13)
    assert m["unseen"]["per"] == pytest.approx(100 * 4 / 17)  # ca and ja; ja has no phones
    assert m["overall"]["per"] == pytest.approx(100 * 5 / 30)  # 16.67: edits over all phones
    assert m["overall"]["macro"]["per"] == pytest.approx(50 * (1 / 13 + 4 / 17))
    assert m["overall"]["scored"] == {"st": 0, "asr": 4, "per": 4}
    assert (m["overall"]["phon"], m["overall"]["asr"]) == (2, 4)
    # the text pass of the same hypotheses is scored by WER as any ASR
    assert by["ca"]["wer"] is not None and by["es"]["wer"] is None
    # phones are in no language: they take no part in the right-language count
    assert by["es"]["language_accuracy"] is None
    assert sum(sum(row.values()) for row in m["language_confusion"].values()) == 4


def test_without_phones_there_is_no_per():
    m = evaluate([VIA[2]], EvaluationOptions()).metrics
    assert m["overall"]["per"] is None and m["overall"]["scored"]["per"] == 0


def test_report_shows_per(tmp_path):
    evaluation = evaluate([*PHON, *VIA], EvaluationOptions(seen=("es",)))
    report = render_report(evaluation, ["h.jsonl"], {})
    assert "| PER |" in report and "(4 ASR, 0 ST, 2 phones)" in report
    row = next(line for line in report.splitlines() if line.startswith("| ca (unseen)"))
    assert "| 23.5 |" in row
    assert "PER: jiwer over phone tokens" in report


def test_evaluate_cli_writes_per_from_hypothesis_files(tmp_path, capsys):
    phon, via = tmp_path / "phon.jsonl", tmp_path / "via.jsonl"
    for path, records in ((phon, PHON), (via, VIA)):
        with open(path, "w", encoding="utf-8") as file:
            append_hypotheses(file, records)
    out = tmp_path / "eval"
    assert main(["evaluate", str(phon), str(via), "--out", str(out), "--unseen", "ca", "ja"]) == 0
    assert "PER 16.7" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["by_language"]["ca"]["per"] == pytest.approx(100 * 4 / 17)
    assert metrics["seen"]["per"] == pytest.approx(100 / 13) and "per" in metrics["units"]
    # a file of phones alone: no language to identify, the summary says so
    assert main(["evaluate", str(phon), "--out", str(tmp_path / "phon")]) == 0
    assert "PER 7.7; right language –" in capsys.readouterr().out
