"""The benchmark's phoneme-bridge system end to end on a tiny corpus: stage 2 learns phones from
the seen languages' audio and p2g from every language's text, and the unseen languages' ASR is
decoded through phones, scored by phone error rate beside WER."""

from __future__ import annotations

import json

import pytest

from unheard.decoding.hypotheses import read_hypotheses


@pytest.mark.slow
def test_the_phoneme_system_decodes_unseen_asr_through_phones_and_scores_its_phones(
    phone_mt5, tmp_path
):
    from unheard.benchmark.run import Benchmark, BenchmarkOptions

    options = BenchmarkOptions(
        per_language=10, mt5=str(phone_mt5), stage1_steps=1, stage2_steps=2,
        ablations=("phonemes",), progress=False, overrides=("run.validate_every=0",),
    )  # fmt: skip
    bench = Benchmark(tmp_path, options, log=lambda _: None)
    bench.build_corpus()
    final = bench.train_system("phonemes")
    stage2 = tmp_path / "systems" / "phonemes" / "stage2"
    recipe = json.loads((stage2 / "recipe.json").read_text())["overrides"]
    assert {"data.tasks=[asr,st,phon]", "data.text_tasks=[p2g]", "data.text_languages=null"} <= set(
        recipe
    )
    summary = json.loads((stage2 / "summary.json").read_text())
    # p2g on the text of every language, the unseen ones' included: text, never their audio
    assert set(summary["text_records"]) == {*bench.seen, *bench.unseen}
    assert summary["init_from"] == str(tmp_path / "systems" / "main" / "stage1")  # no text stage

    files = bench.decode_system("phonemes", final)
    stamp = json.loads((stage2.parent / "hyps" / "stamp.json").read_text())
    assert stamp["via_phonemes"] == {"ca": "two-pass", "nl": "two-pass"}
    for path in files:
        task, language = path.stem.split("_")
        lines = read_hypotheses(path)
        assert lines
        through_phones = task == "asr" and language in bench.unseen
        # the first pass's phones are kept beside the text (possibly empty after 2 steps)
        assert all((line.phonemes is not None) == through_phones for line in lines), path
    metrics = bench.evaluate_system("phonemes", files, final)
    assert metrics["unseen"]["per"] is not None and metrics["unseen"]["per"] >= 0
    assert metrics["seen"].get("per") is None  # seen ASR is direct: no phones to score
    assert metrics["by_language"]["ca"]["per"] is not None

    # decoded another way (the checkpoint the same), the hypotheses are not reused
    from unheard.benchmark.hypotheses import kept_hypotheses

    assert kept_hypotheses(
        stage2.parent / "hyps", final, bench.corpus, {"ca": "two-pass", "nl": "two-pass"}
    )
    assert not kept_hypotheses(stage2.parent / "hyps", final, bench.corpus, {})


def test_a_bridge_system_refuses_an_llm_that_cannot_write_phones_before_training(bundle, tmp_path):
    from unheard.benchmark.run import Benchmark, BenchmarkOptions

    options = BenchmarkOptions(
        per_language=10, mt5=str(bundle / "mt5"), stage1_steps=1, stage2_steps=1,
        ablations=("phonemes",), progress=False,
    )  # fmt: skip
    bench = Benchmark(tmp_path, options, log=lambda _: None)
    bench.build_corpus()
    with pytest.raises(
        ValueError, match="cannot write phones.*system phonemes has a phoneme task.*with --mt5"
    ):
        bench.train_system("phonemes")
    assert not (tmp_path / "systems").exists()  # refused before main's stage 1
    bench.train_system("main")  # the same LLM serves the systems without phones
