"""Metrics equal sacreBLEU's and jiwer's own numbers on a fixed fixture."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from unheard.evaluation.metrics import bleu, cer, chrf, exact_match, wer

REFS = ["the cat sat on the mat today", "one two three four five", "hello there my friend"]
HYPS = ["the cat sat on a mat today", "one two three four five", "hello here my friend"]


def test_bleu_and_chrf_equal_the_sacrebleu_command_line(tmp_path):
    (tmp_path / "ref.txt").write_text("\n".join(REFS) + "\n")
    (tmp_path / "hyp.txt").write_text("\n".join(HYPS) + "\n")
    out = subprocess.run(
        [sys.executable, "-m", "sacrebleu", str(tmp_path / "ref.txt"), "-i",
         str(tmp_path / "hyp.txt"), "-m", "bleu", "chrf", "-b", "-w", "4"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    cli_bleu, cli_chrf = json.loads(out)  # with two metrics and -b, a JSON list of scores
    assert bleu(REFS, HYPS) == pytest.approx(cli_bleu, abs=1e-4)
    assert chrf(REFS, HYPS) == pytest.approx(cli_chrf, abs=1e-4)
    assert 50 < cli_bleu < 70  # a real, non-trivial score


def test_wer_cer_exact_match_by_hand():
    # 1 substitution in 7 words, 0 in 5, 1 in 4: 2 / 16
    assert wer(REFS, HYPS) == pytest.approx(2 / 16)
    # chars: "the"→"a" is 3 edits ("the" vs "a": sub + 2 del); "there"→"here" 1 del
    assert cer(REFS, HYPS) == pytest.approx(4 / sum(len(r) for r in REFS))
    assert exact_match(REFS, HYPS) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="3 references but 2 hypotheses"):
        wer(REFS, HYPS[:2])
