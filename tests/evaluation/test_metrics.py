"""Metrics equal what the sacrebleu and jiwer command-line tools print on the same files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from unheard.data.phonemes import phonemize
from unheard.decoding.hypotheses import Hypothesis
from unheard.evaluation.metrics import (
    bleu,
    bleu_signature,
    bleu_tokenizer,
    cer,
    chrf,
    exact_match,
    phone_error_rate,
    wer,
)
from unheard.evaluation.normalizers import normalize
from unheard.evaluation.scoring import normalized_pairs, score_group

REFS = ["the cat sat on the mat today", "one two three four five", "hello there my friend"]
HYPS = ["the cat sat on a mat today", "one two three four five", "hello here my friend"]

# An ASR fixture with case, punctuation and British spelling, so raw and normalised WER differ.
ASR_REFS = [
    "The colour of the sky is grey today.",
    "Mr. Smith said he won't come to the meeting.",
    "We walked along the river for two hours",
    "She doesn't like coffee, she prefers tea!",
]
ASR_HYPS = [
    "the color of the sky is gray today",
    "Mister Smith said he will not come to meeting",
    "we walked along the river for 2 hours and",
    "she does not like coffee she prefer tea",
]
ZH_REFS = ["今天天气很好，我们去公园散步吧。", "这本书非常有意思，我已经看了两遍。"]
ZH_HYPS = ["今天天气很好，我们去公园走走吧。", "这本书很有意思，我看了两遍。"]
JA_REFS = ["今日はとても良い天気ですね。", "明日の朝、東京に行きます。"]
JA_HYPS = ["今日はとても良い天気です。", "明日、東京へ行きます。"]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _sacrebleu_cli(refs: Path, hyps: Path, tokenize: str) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-m", "sacrebleu", str(refs), "-i", str(hyps), "-m", "bleu", "chrf",
         "-b", "-w", "6", "--tokenize", tokenize],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    cli_bleu, cli_chrf = json.loads(out)  # with two metrics and -b, a JSON list of scores
    return cli_bleu, cli_chrf


def _jiwer_cli(refs: Path, hyps: Path, characters: bool = False) -> float:
    # the jiwer 4 command-line tool is the `jiwer` entry point installed beside python
    command = [str(Path(sys.executable).with_name("jiwer")), "-r", str(refs), "-h", str(hyps)]
    out = subprocess.run(
        command + (["-c"] if characters else []), capture_output=True, text=True, check=True
    )
    return float(out.stdout)


@pytest.mark.parametrize(
    ("language", "refs", "hyps", "expected_tokenizer"),
    [("en", REFS, HYPS, "13a"), ("zh", ZH_REFS, ZH_HYPS, "zh"), ("ja", JA_REFS, JA_HYPS, "ja-mecab")],
)  # fmt: skip
def test_bleu_and_chrf_equal_the_sacrebleu_command_line(
    tmp_path, language, refs, hyps, expected_tokenizer
):
    # MeCab is a dependency (pyproject: sacrebleu[ja]): the char fallback would hide a broken
    # install, so it fails here rather than being expected
    tokenize, note = bleu_tokenizer(language)
    assert (tokenize, note) == (expected_tokenizer, None)
    cli_bleu, cli_chrf = _sacrebleu_cli(
        _write(tmp_path / "ref.txt", refs), _write(tmp_path / "hyp.txt", hyps), tokenize
    )
    assert bleu(refs, hyps, tokenize=tokenize) == pytest.approx(cli_bleu, abs=1e-5)
    assert chrf(refs, hyps) == pytest.approx(cli_chrf, abs=1e-5)
    assert 10 < cli_bleu < 95  # a real, non-trivial score
    if language == "ja":  # MeCab really segmented the words: not what char scoring gives
        assert abs(bleu(refs, hyps, tokenize="char") - cli_bleu) > 1
    assert f"tok:{tokenize}" in bleu_signature(tokenize)
    # the group scorer uses the same tokenizer and reports in the same units
    records = [
        Hypothesis(id=str(i), task="st", language="xx", target_language=language,
                   hypothesis=h, reference=r)
        for i, (r, h) in enumerate(zip(refs, hyps, strict=True))
    ]  # fmt: skip
    scores = score_group(records, [language] * len(records), ())
    assert scores["bleu"] == pytest.approx(cli_bleu, abs=1e-5)
    assert scores["chrf"] == pytest.approx(cli_chrf, abs=1e-5)
    assert scores["bleu_tokenizer"] == tokenize and scores["wer"] is None


def test_wer_and_cer_equal_the_jiwer_command_line_raw_and_normalised(tmp_path):
    raw_refs, raw_hyps = _write(tmp_path / "r.txt", ASR_REFS), _write(tmp_path / "h.txt", ASR_HYPS)
    cli_wer, cli_cer = _jiwer_cli(raw_refs, raw_hyps), _jiwer_cli(raw_refs, raw_hyps, True)
    assert wer(ASR_REFS, ASR_HYPS) == pytest.approx(cli_wer, abs=1e-9)
    assert cer(ASR_REFS, ASR_HYPS) == pytest.approx(cli_cer, abs=1e-9)

    records = [
        Hypothesis(id=str(i), task="asr", language="en", target_language="en",
                   hypothesis=h, reference=r)
        for i, (r, h) in enumerate(zip(ASR_REFS, ASR_HYPS, strict=True))
    ]  # fmt: skip
    pairs = normalized_pairs(records, for_words=True)
    norm_refs = _write(tmp_path / "nr.txt", [r for r, _ in pairs])
    norm_hyps = _write(tmp_path / "nh.txt", [h for _, h in pairs])
    scores = score_group(records, ["en"] * 4, ())
    assert scores["wer_raw"] == pytest.approx(100 * cli_wer, abs=1e-9)
    assert scores["cer_raw"] == pytest.approx(100 * cli_cer, abs=1e-9)
    assert scores["wer"] == pytest.approx(100 * _jiwer_cli(norm_refs, norm_hyps), abs=1e-9)
    assert scores["cer"] == pytest.approx(100 * _jiwer_cli(norm_refs, norm_hyps, True), abs=1e-9)
    # normalisation forgives colour/color, grey/gray, Mr./Mister, won't/will not, two/2, case
    # and punctuation: left are "the" deleted, "and" inserted, "prefers"→"prefer" in 34 words
    assert scores["wer"] < scores["wer_raw"] / 2
    assert scores["wer"] == pytest.approx(100 * 3 / 34)
    assert scores["bleu"] is None and scores["chrf"] is None and scores["st_exact"] is None
    # exact after normalisation: only the hypotheses without an edit left
    exact = sum(r == h for r, h in pairs) / len(pairs)
    assert 0 < exact < 1 and scores["asr_exact"] == pytest.approx(100 * exact)


def test_exact_match_forgives_case_and_punctuation_only():
    refs = ["Friday, May first.", "twenty-one dollars", "nine hundred"]
    hyps = ["friday may first", "twenty one dollars", "nine hundred and one"]
    records = [
        Hypothesis(id=str(i), task="st", language="es", target_language="en",
                   hypothesis=h, reference=r)
        for i, (r, h) in enumerate(zip(refs, hyps, strict=True))
    ]  # fmt: skip
    scores = score_group(records, ["en"] * 3, ())
    assert scores["st_exact"] == pytest.approx(100 * 2 / 3) and scores["asr_exact"] is None


def test_normalisers_are_whispers():
    assert normalize("Mr. Smith's colour, it's twenty-two (laughs) [noise]!", "en") == (
        "mister smith is color it is 22"  # Whisper reads every 's as "is"
    )
    assert normalize("¡Hola, señor! ¿Cómo está?", "es_VE") == "hola señor cómo está"
    assert normalize("今天天气很好。", "zh-CN") == "今天天气很好"
    assert normalize("今天天气很好。", "zh-CN", for_words=True) == "今 天 天 气 很 好"


def test_wer_cer_exact_match_by_hand():
    # 1 substitution in 7 words, 0 in 5, 1 in 4: 2 / 16
    assert wer(REFS, HYPS) == pytest.approx(2 / 16)
    # chars: "the"→"a" is 3 edits (sub + 2 del); "there"→"here" 1 del
    assert cer(REFS, HYPS) == pytest.approx(4 / sum(len(r) for r in REFS))
    assert exact_match(REFS, HYPS) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="3 references but 2 hypotheses"):
        wer(REFS, HYPS[:2])


def test_phone_error_rate_on_pinned_phones():
    # "vint-i-nou" = b i n t i n ɔ uw (8 phones); "dos" = d o s (3)
    refs = [phonemize("vint-i-nou", "ca"), phonemize("dos", "ca")]
    assert refs == ["b i n t i n ɔ uw", "d o s"]
    assert phone_error_rate(refs, refs) == 0.0
    # one substitution (ɔ → o), one deletion (uw), and word boundaries are not phones
    assert phone_error_rate(refs, ["b i n t | i n o", "d | o s"]) == pytest.approx(2 / 11)
    # an empty hypothesis deletes every phone; an extra phone is an insertion
    assert phone_error_rate(refs, ["", "d o s s"]) == pytest.approx(9 / 11)
    # the Spanish "dos" read as Catalan phones: same phones, PER 0 (PER is language-blind)
    assert phone_error_rate([phonemize("dos", "es")], ["d o s"]) == 0.0


def test_phone_error_rate_refuses_bad_input():
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        phone_error_rate(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no phones"):
        phone_error_rate([" | ", ""], ["a", "b"])
