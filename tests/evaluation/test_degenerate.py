"""Degenerate outputs are counted by their definitions on a fixture of known cases."""

from __future__ import annotations

from unheard.data.prompts import Prompts
from unheard.decoding.hypotheses import Hypothesis
from unheard.evaluation.degenerate import count_degenerate, degenerate_kinds, prompt_ngrams

CASES = [
    # (hypothesis, reference, task, expected kinds)
    ("twenty-two", "twenty-two", "asr", set()),
    ("", "veinte", "asr", {"empty"}),
    ("   ", "vingt", "asr", {"empty"}),
    ("entyentyentyentyenty", "twenty", "asr", {"looping"}),  # a loop inside a word
    ("the cat the cat the cat the cat", "the cat", "asr", {"looping"}),
    ("the cat the cat the cat", "the cat", "asr", set()),  # 3 copies are not a loop
    ("ha ha ha ha", "ha ha ha ha", "asr", set()),  # the reference repeats it too
    ("Transcribe the audio. twenty", "twenty", "asr", {"prompt_echo"}),
    ("translate the audio into English", "seven", "st", {"prompt_echo"}),  # the other task's
    ("audio into English audio into English audio into English audio into English", "one",
     "st", {"looping", "prompt_echo"}),
    ("we listened to the audio into the night", "we listened to the audio into the night",
     "st", set()),  # the reference says it: not an echo
    ("ninety-nine", "ninety-nine", "st", set()),
]  # fmt: skip


def _records() -> list[Hypothesis]:
    return [
        Hypothesis(id=f"u{i}", task=task, language="es", target_language="en" if task == "st"
                   else "es", hypothesis=hyp, reference=ref)
        for i, (hyp, ref, task, _) in enumerate(CASES)
    ]  # fmt: skip


def test_each_case_gets_its_kinds():
    for record, (*_, kinds) in zip(_records(), CASES, strict=True):
        grams = prompt_ngrams(Prompts(), record.language, record.target_language)
        assert degenerate_kinds(record, grams) == kinds, record.hypothesis


def test_counts_on_the_fixture():
    counts = count_degenerate(_records(), [Prompts()])
    assert counts.to_dict() == {
        "total": 12, "empty": 2, "looping": 3, "prompt_echo": 3, "any": 7
    }  # fmt: skip


def test_a_checkpoints_own_prompt_is_recognised():
    own = Prompts({"asr": "Write down what is said: <audio>", "st": "Into {target}: <audio>"})
    record = Hypothesis(id="x", task="asr", language="es", target_language="es",
                        hypothesis="write down what is said", reference="uno")  # fmt: skip
    assert count_degenerate([record], [Prompts()]).prompt_echo == 0
    assert count_degenerate([record], [Prompts(), own]).prompt_echo == 1
