"""The chance baseline (a random item of the right kind, in the right language) and the tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from unheard.benchmark.chance import chance_hypotheses, write_chance
from unheard.benchmark.table import language_table, systems_table
from unheard.data.manifest import read_manifest
from unheard.data.synth.corpus import SynthOptions, build_synth_corpus
from unheard.data.synth.parallel_text import parallel_text_path, read_parallel_text
from unheard.decoding.hypotheses import read_hypotheses
from unheard.evaluation.files import evaluate_files


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    options = SynthOptions(languages=("es", "ca"), per_language=30, seed=3)
    return build_synth_corpus(tmp_path_factory.mktemp("synth"), options).out_dir


@pytest.mark.parametrize("task", ["asr", "st"])
def test_chance_draws_another_train_item_of_the_same_kind(corpus, task):
    tests = {r.id: r for r in read_parallel_text(parallel_text_path(corpus, "ca", "test"))}
    train = read_parallel_text(parallel_text_path(corpus, "ca", "train"))
    by_answer = {(r.text if task == "asr" else r.translation): r for r in train}
    hyps = chance_hypotheses(corpus, "ca", task, seed=0)
    utterances = read_manifest(corpus / "unheard-synth_ca_test.jsonl.gz")
    assert [h.id for h in hyps] == [u.id for u in utterances] and len(hyps) >= 5
    for h, u in zip(hyps, utterances, strict=True):
        drawn = by_answer[h.hypothesis]  # a training item's rendering...
        assert drawn.kind == tests[u.id].kind  # ...of the same kind
        assert drawn.item != tests[u.id].item and h.hypothesis != h.reference
        assert h.reference == (u.text if task == "asr" else u.translation)
        assert h.target_language == ("ca" if task == "asr" else "en")
    # seeded: the same draw again, another with another seed
    assert chance_hypotheses(corpus, "ca", task, seed=0) == hyps
    assert chance_hypotheses(corpus, "ca", task, seed=1) != hyps


def test_chance_scores_and_tables(corpus, tmp_path):
    files = write_chance(corpus, ("es", "ca"), tmp_path / "hyps")
    assert sorted(f.name for f in files) == [
        "asr_ca.jsonl", "asr_es.jsonl", "st_ca.jsonl", "st_es.jsonl"
    ]  # fmt: skip
    assert len(read_hypotheses(files[0])) == len(
        read_manifest(corpus / "unheard-synth_ca_test.jsonl.gz")
    )
    m = evaluate_files(files, tmp_path / "eval", seen=("es",), unseen=("ca",), verbose=False)
    # chance never gets an answer exactly right; it is in the right language and kind
    assert m["seen"]["st_exact"] == 0 and m["unseen"]["asr_exact"] == 0
    assert 0 < m["seen"]["bleu"] < 30 and m["unseen"]["wer"] > 40
    table = language_table(m, m, ("es",), ("ca",)).splitlines()
    assert table[0].startswith("| language | ST BLEU | ST exact %")
    es = m["by_language"]["es"]
    assert table[2].startswith(f"| es (seen) | {es['bleu']:.1f} [{es['bleu']:.1f}] | 0.0 [0.0]")
    assert table[3].startswith("| **ca (unseen)** |") and len(table) == 6
    rows = systems_table({"chance": m}).splitlines()
    assert rows[2].startswith(f"| chance | {m['seen']['macro']['bleu']:.1f} | ")


def test_benchmark_options_refuse_unknown_tracks_and_ablations():
    from unheard.benchmark.run import Benchmark, BenchmarkOptions
    from unheard.benchmark.systems import ABLATIONS

    assert BenchmarkOptions(ablations=ABLATIONS).ablations == ABLATIONS
    # run in ABLATIONS order, so that text-unseen's baseline (lora-all) is decoded before it
    both = BenchmarkOptions(ablations=("text-unseen", "no-lora", "lora-all"))
    assert both.ablations == ("no-lora", "lora-all", "text-unseen")
    bench = Benchmark(Path("unused"), both)
    assert [bench.baseline(s) for s in ("main", "no-lora", "lora-all", "text-unseen")] == [
        "chance", "main", "main", "lora-all"
    ]  # fmt: skip
    alone = Benchmark(Path("unused"), BenchmarkOptions(ablations=("text-unseen",)))
    assert alone.baseline("text-unseen") == "main"
    with pytest.raises(ValueError, match="text_stage_steps must be >= 0 and text_stage_lr > 0"):
        BenchmarkOptions(text_stage_lr=0)
    with pytest.raises(ValueError, match="track must be one of"):
        BenchmarkOptions(track="huge")
    with pytest.raises(ValueError, match="unknown ablation"):
        BenchmarkOptions(ablations=("no-adapter",))


@pytest.mark.parametrize("track", ["mini", "real-llm"])
def test_the_benchmark_trains_what_the_tracks_yamls_say(track):
    # the numbers live in configs/<track>/*.yaml only: a config's header command trains what the
    # benchmark trains (the mini YAMLs once said 500 + 300 steps while the benchmark ran 2,500 +
    # 1,200, and the Gemma id was written in the code as well)
    from unheard.benchmark.run import Benchmark, BenchmarkOptions
    from unheard.benchmark.tracks import configs_dir
    from unheard.recipes.train_config import load_train_config

    folder = configs_dir() / ("real" if track == "real-llm" else track)
    stage1, stage2, text = (
        load_train_config(folder / f"{name}.yaml") for name in ("stage1", "stage2", "text-stage")
    )
    options = BenchmarkOptions(track=track)
    assert options.stage1_steps == stage1.run.max_steps
    assert options.stage2_steps == stage2.run.max_steps
    assert options.text_stage_steps == text.run.max_steps
    assert options.text_stage_lr == text.optim.lr
    assert (options.stage1_steps, options.stage2_steps) == {
        "mini": (2500, 1200), "real-llm": (1500, 2500)
    }[track]  # fmt: skip
    bench = Benchmark(Path("unused"), options)
    assert (bench.seen, bench.unseen) == (("es", "fr", "it", "pt", "de", "en"), ("ca", "nl"))
    for config in (stage1, stage2, text):
        assert (config.data.languages, config.data.unseen_languages) == (bench.seen, bench.unseen)
    if track == "real-llm":
        assert bench.llm == stage1.model.llm == "google/gemma-3-270m"
    else:  # the benchmark pretrains its own mT5; the YAML names the shipped one
        assert bench.llm == "unused/mt5/model" and stage1.model.llm == "unheard:mini-mt5"
    # given numbers win over the YAML's
    given = BenchmarkOptions(track=track, stage1_steps=7, text_stage_steps=0, text_stage_lr=1e-3)
    assert (given.stage1_steps, given.text_stage_steps, given.text_stage_lr) == (7, 0, 1e-3)


def test_systems_are_typed_changes_of_main():
    from unheard.benchmark.systems import SYSTEMS, System, bridge_of, system

    assert [s.name for s in SYSTEMS] == [
        "main", "no-stage1", "no-lora", "st-only", "lora-all", "text-unseen", "named",
        "phonemes", "phonemes-1pass", "phonemes-named", "phonemes-text",
    ]  # fmt: skip
    assert system("main").overrides() == [] and system("no-stage1").overrides() == []
    assert not system("no-stage1").stage1
    assert system("no-lora").overrides() == ["model.lora.enabled=false"]
    assert system("st-only").overrides() == ["data.tasks=[st]"]
    all_linear = ["model.lora.target_modules=[all-linear]"]
    assert system("lora-all").overrides() == all_linear
    assert system("text-unseen").overrides() == all_linear and system("text-unseen").text_stage
    assert not system("text-unseen").text_tasks  # the text stage config's tasks
    assert system("named").overrides() == ["data.name_source_language=true"]
    # the bridge: phones from the seen languages' audio, p2g on every language's text, mixed into
    # stage 2 (no text stage); unseen ASR decoded through phones
    bridge = ["data.tasks=[asr,st,phon]", "data.text_tasks=[p2g]"]
    assert system("phonemes").overrides() == bridge and system("phonemes").reads_text
    assert (system("phonemes").bridge, system("phonemes").text_stage) == ("two-pass", False)
    one_pass = system("phonemes-1pass")
    assert one_pass.bridge == "one-pass" and "data.tasks=[asr,st,phon+asr]" in one_pass.overrides()
    assert system("phonemes-named").overrides() == [*bridge, "data.name_source_language=true"]
    combined = system("phonemes-text")
    assert combined.text_stage and combined.overrides() == [
        "data.tasks=[asr,st,phon]", *all_linear, "data.text_tasks=[translate,denoise,p2g]"
    ]  # fmt: skip
    assert not any(system(n).reads_text for n in ("main", "lora-all", "named"))
    with pytest.raises(ValueError, match="the two-pass bridge trains the phon task"):
        System("odd", bridge="two-pass", tasks=("asr", "st"), text_tasks=("p2g",))
    assert (bridge_of("phonemes"), bridge_of("phonemes-1pass"), bridge_of("main")) == (
        "two-pass", "one-pass", None
    )  # fmt: skip
    assert bridge_of("shipped") is None  # the demo decodes a checkpoint that is no system
    with pytest.raises(ValueError, match="bridge must be one of"):
        System("odd", bridge="three-pass")
    with pytest.raises(ValueError, match="unknown system 'no-adapter'"):
        system("no-adapter")
    with pytest.raises(ValueError, match="a text stage trains LoRA"):
        System("odd", lora=False, text_stage=True)


def test_a_given_mt5_is_used_as_it_is_and_nothing_is_pretrained(tmp_path):
    # --mt5 once only skipped pretraining when its folder held a config.json: a name such as
    # unheard:mini-mt5 started a pretraining into mt5/ that the training then never used
    from unheard.benchmark.run import Benchmark, BenchmarkOptions

    bench = Benchmark(tmp_path, BenchmarkOptions(mt5="unheard:mini-mt5"), log=lambda _: None)
    bench.pretrain_llm()
    assert bench.llm == "unheard:mini-mt5" and list(tmp_path.iterdir()) == []
    assert bench.timings == {}


def test_text_probe_table_lists_each_system_per_language():
    from unheard.benchmark.text_probe import text_probe_table

    probes = {
        "llm (stage 1)": {
            "es": {"bleu": 20.82, "exact": 10.0},
            "ca": {"bleu": 25.31, "exact": 24.0},
        },
        "text-unseen": {"es": {"bleu": 21.5, "exact": 12.0}, "ca": {"bleu": 40.0, "exact": 36.5}},
    }
    lines = text_probe_table(probes, ["es"], ["ca"]).splitlines()
    assert lines[0] == "| system | es | ca (unseen) |"
    assert lines[2] == "| llm (stage 1) | 20.8 / 10 | 25.3 / 24 |"
    assert lines[3] == "| text-unseen | 21.5 / 12 | 40.0 / 36 |"  # exact rounds half to even
    probes["text-unseen"]["ca"]["copy"] = 88.0  # probed since issue 21: copying, where it was
    assert text_probe_table(probes, ["es"], ["ca"]).splitlines()[3] == (
        "| text-unseen | 21.5 / 12 | 40.0 / 36 / 88 |"
    )


def test_the_benchmark_corpus_holds_only_the_kinds_asked_for(tmp_path):
    from unheard.benchmark.run import Benchmark, BenchmarkOptions

    options = BenchmarkOptions(per_language=3, kinds=("cardinal", "year"), progress=False)
    bench = Benchmark(tmp_path, options, log=lambda _: None)
    bench.build_corpus()
    for language in bench.languages:
        for split in ("train", "test"):
            utterances = read_manifest(bench.corpus / f"unheard-synth_{language}_{split}.jsonl.gz")
            kinds = {u.id.split("-")[1] for u in utterances}
            assert utterances and kinds <= {"cardinal", "year"}, (language, split, kinds)
    with pytest.raises(ValueError, match="kinds must name"):
        Benchmark(tmp_path, BenchmarkOptions(kinds=("poem",))).build_corpus()
    # the same folder for another corpus would mix two corpora under one LLM: refused
    Benchmark(tmp_path, BenchmarkOptions(per_language=3, kinds=("year", "cardinal"))).build_corpus()
    with pytest.raises(ValueError, match="another corpus"):
        Benchmark(tmp_path, BenchmarkOptions(per_language=3, kinds=None)).build_corpus()
    with pytest.raises(ValueError, match="another corpus"):
        Benchmark(
            tmp_path, BenchmarkOptions(per_language=4, kinds=("cardinal", "year"))
        ).build_corpus()


def test_a_stage_whose_yaml_changed_is_not_passed_off_as_the_old_run(tmp_path, monkeypatch):
    # the YAML holds the numbers: a value edited there between two runs into the same --out is
    # another run, as an other override is (the stamp once held the overrides only)
    import shutil

    import unheard.benchmark.training as training
    from unheard.benchmark.run import Benchmark, BenchmarkOptions
    from unheard.benchmark.tracks import configs_dir

    configs = tmp_path / "configs"
    shutil.copytree(configs_dir() / "mini", configs / "mini")
    launched: list[list[str]] = []
    monkeypatch.setattr(training, "_run", launched.append)  # the `unheard train` subprocess
    options = BenchmarkOptions(configs=str(configs), progress=False)
    bench = Benchmark(tmp_path / "out", options, log=lambda _: None)
    out = bench.system_dir("main") / "stage1"
    bench.train_stage("stage1", out, 3, [])
    bench.train_stage("stage1", out, 3, [])  # the same run: resumed
    assert len(launched) == 2 and launched[0] == launched[1]
    assert (
        launched[0][4] == str(configs / "mini" / "stage1.yaml") and "run.max_steps=3" in launched[0]
    )
    yaml = configs / "mini" / "stage1.yaml"
    yaml.write_text(yaml.read_text().replace("  lr: 2.0e-3\n", "  lr: 1.0e-3\n"))
    with pytest.raises(ValueError, match="stage1 holds a run of other settings"):
        bench.train_stage("stage1", out, 3, [])
    assert len(launched) == 2
