"""`unheard demo` on a shipped-style mini-track bundle (``bundle`` in conftest.py): the corpus,
decoding, the seen/unseen table against chance, samples, a short training run beside it, and a
rerun that reuses everything."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from unheard.benchmark.demo import run_demo
from unheard.checkpoint import CONFIG_NAME, read_checkpoint_config
from unheard.data.manifest import read_manifest


@pytest.mark.slow
def test_demo_prints_the_table_and_samples_and_a_rerun_reuses_everything(bundle, tmp_path):
    config, _ = read_checkpoint_config(bundle / "checkpoint")
    assert config.llm == str((bundle / "mt5").resolve())
    lines: list[str] = []
    first = run_demo(
        tmp_path, train_steps=2, samples=1, per_language=10, assets=bundle, progress=False,
        log=lines.append,
    )  # fmt: skip
    shipped, chance = first["metrics"]["shipped"], first["metrics"]["chance"]
    assert set(shipped["by_language"]) == set(chance["by_language"]) == {
        "es", "fr", "it", "pt", "de", "en", "ca", "nl"
    }  # fmt: skip
    assert shipped["seen"]["utterances"] == 6 * 2 * 5 and shipped["unseen"]["utterances"] == 20
    text = "\n".join(lines)
    assert "| **ca (unseen)** |" in text and "| mean of unseen |" in text
    assert "Samples in es (seen):" in text and "Samples in ca (unseen):" in text
    assert text.count("translated:") == 2 and text.count("transcribed:") == 2
    assert first["short_run"]["steps"] == 2
    for split in ("train", "test"):  # the corpus of the kinds the checkpoint was trained on
        ids = [
            u.id for u in read_manifest(tmp_path / "corpus" / f"unheard-synth_es_{split}.jsonl.gz")
        ]
        assert ids and {i.split("-")[1] for i in ids} <= {"cardinal", "year"}
    assert {"shipped/decode", "short-run/stage1"} <= set(first["timings"])

    again = run_demo(
        tmp_path, train_steps=2, samples=1, per_language=10, assets=bundle, progress=False,
        log=lines.append,
    )  # fmt: skip
    assert "shipped/decode" not in again["timings"] and "short-run/stage1" not in again["timings"]
    assert again["metrics"]["shipped"]["by_language"] == shipped["by_language"]

    # a checkpoint re-exported to the same path is decoded again, not scored from old hypotheses
    meta_path = bundle / "checkpoint" / CONFIG_NAME
    meta = json.loads(meta_path.read_text())
    meta["extra"]["exported_from"] = "another run"
    meta_path.write_text(json.dumps(meta))
    third = run_demo(
        tmp_path, train_steps=2, samples=1, per_language=10, assets=bundle, progress=False,
        log=lines.append,
    )  # fmt: skip
    assert "shipped/decode" in third["timings"]

    # a demo folder of another corpus size (or an older shipped checkpoint's kinds) is rebuilt
    fourth = run_demo(
        tmp_path, train_steps=0, samples=1, per_language=12, assets=bundle, progress=False,
        log=lines.append,
    )  # fmt: skip
    assert any("older demo's corpus" in line for line in lines)
    assert fourth["metrics"]["shipped"]["seen"]["utterances"] == 6 * 2 * 5


def test_demo_without_a_shipped_checkpoint_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="unheard benchmark mini"):
        run_demo(tmp_path, assets=tmp_path / "none", progress=False)


@pytest.mark.slow
def test_the_text_unseen_system_reads_text_alone_then_starts_stage2_from_it(bundle, tmp_path):
    from safetensors.torch import load_file

    from unheard.benchmark.run import Benchmark, BenchmarkOptions

    options = BenchmarkOptions(
        per_language=10, mt5=str(bundle / "mt5"), stage1_steps=2, text_stage_steps=3,
        stage2_steps=2, ablations=("text-unseen",), progress=False,
        overrides=("run.validate_every=0",),
    )  # fmt: skip
    bench = Benchmark(tmp_path, options, log=lambda _: None)
    seen, unseen = bench.seen, bench.unseen
    bench.build_corpus()
    final = bench.train_system("text-unseen")
    systems = tmp_path / "systems"
    assert final == systems / "text-unseen" / "stage2" / "checkpoints" / "step-2"
    text_stage = json.loads((systems / "text-unseen" / "text-stage" / "summary.json").read_text())
    stage2 = json.loads((systems / "text-unseen" / "stage2" / "summary.json").read_text())
    # the text stage: from main's stage 1, text of ca and nl and (replay) of every seen
    # language, reported as such; stage 2 from the text stage, with the same text mixed in
    assert text_stage["steps"] == 3 and text_stage["init_from"] == str(systems / "main/stage1")
    assert set(text_stage["text_records"]) == {*seen, *unseen}
    assert min(text_stage["text_records"].values()) > 0
    assert text_stage["unseen_text"] == {lang: text_stage["text_records"][lang] for lang in unseen}
    assert stage2["init_from"] == text_stage["final_checkpoint"]
    assert stage2["text_records"] == text_stage["text_records"]
    # without replay, ca and nl text alone; not into a folder that holds the replay runs
    no_replay = Benchmark(tmp_path, replace(options, text_replay=False), log=lambda _: None)
    assert 'data.text_languages=["ca", "nl"]' in no_replay.text_overrides()
    assert "data.text_languages=null" in bench.text_overrides()
    with pytest.raises(ValueError, match="text-stage holds a run of other settings"):
        no_replay.train_system("text-unseen")
    assert bench.train_system("text-unseen") == final  # the same settings: nothing to redo
    # no speech in the text stage: the layer mix and adapter of stage 1 pass through untouched
    stage1 = load_file(str(systems / "main/stage1/checkpoints/step-2/trained.safetensors"))
    after = load_file(
        str(systems / "text-unseen/text-stage/checkpoints/step-3/trained.safetensors")
    )
    assert set(stage1) and set(stage1) < set(after)  # the text stage added LoRA, on every linear
    assert {n.split(".lora_")[0].rsplit(".", 1)[-1] for n in set(after) - set(stage1)} == {
        "q", "k", "v", "o", "wi_0", "wi_1", "wo"
    }  # fmt: skip
    for name, value in stage1.items():
        assert after[name].equal(value), name
    # its LLM is probed on text, as the frozen LLM and every system are
    assert set(bench.text_probes["text-unseen (text stage)"]) == {*seen, *unseen}
    # the probe is cached by the checkpoint's content: another run's record under the same path
    # (a folder trained anew) is probed anew, not reused
    from unheard.benchmark.text_probe import cached_text_probe
    from unheard.checkpoint import checkpoint_digest

    probe = tmp_path / "text-probe" / "text-unseen-text-stage.json"
    checkpoint = systems / "text-unseen/text-stage/checkpoints/step-3"
    saved = json.loads(probe.read_text())
    assert saved["digest"] == checkpoint_digest(checkpoint)
    assert cached_text_probe(probe, checkpoint, bench.corpus, ("ca",)) == saved["scores"]
    probe.write_text(json.dumps({**saved, "digest": "0" * 32, "scores": {"ca": {"bleu": -1.0}}}))
    again = cached_text_probe(probe, checkpoint, bench.corpus, ("ca",))
    assert again["ca"]["bleu"] >= 0 and json.loads(probe.read_text())["digest"] == saved["digest"]
