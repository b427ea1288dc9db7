"""The benchmark over training seeds: ``--seeds`` parsing, each seed's runs in its own folder with
its own ``run.seed`` (resumed, and added to a finished one-seed run), mean ± sd over seeds, and
systems compared by a bootstrap over seeds and utterances on hypothesis files."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import unheard.benchmark.training as training
from unheard.benchmark.run import Benchmark, BenchmarkOptions
from unheard.benchmark.seeds import compare_over_seeds, summarize_seeds, summarize_systems
from unheard.benchmark.table import comparison_table, language_table, systems_table
from unheard.cli import _parser, main
from unheard.decoding.hypotheses import Hypothesis, append_hypotheses


def test_seeds_default_to_the_one_seed_and_must_be_distinct_and_non_negative(capsys):
    assert BenchmarkOptions().seeds == (0,) and BenchmarkOptions(seed=3).seeds == (3,)
    assert BenchmarkOptions(seeds=[2, 0, 1]).seeds == (2, 0, 1)
    with pytest.raises(ValueError, match=r"distinct non-negative.*\(0, 1, 0\) \(\[0\] repeated\)"):
        BenchmarkOptions(seeds=(0, 1, 0))
    with pytest.raises(ValueError, match=r"got \(0, -1\)"):
        BenchmarkOptions(seeds=(0, -1))
    with pytest.raises(ValueError, match=r"at least one, got \(\)"):
        BenchmarkOptions(seeds=())
    args = _parser().parse_args(["benchmark", "mini", "--seeds", "0", "1", "2"])
    assert args.seeds == [0, 1, 2] and _parser().parse_args(["benchmark", "mini"]).seeds is None
    # refused before anything is built: a one-line reason, exit 1
    for seeds in (["1", "1"], ["0", "-2"]):
        assert main(["benchmark", "mini", "--seeds", *seeds, "--out", "/nonexistent/x"]) == 1
        assert "seeds must be distinct non-negative integers" in capsys.readouterr().err


def _finish_training(command: list[str]) -> None:
    """Stands in for the `unheard train` subprocess: writes what a finished run leaves."""
    values = dict(arg.split("=", 1) for arg in command if "=" in arg)
    out, steps = Path(values["run.output_dir"]), values["run.max_steps"]
    (out / "checkpoints" / f"step-{steps}").mkdir(parents=True)
    (out / "summary.json").write_text("{}")


def test_each_seed_trains_its_own_runs_and_a_rerun_adds_only_the_missing_seeds(
    tmp_path, monkeypatch
):
    launched: list[list[str]] = []
    monkeypatch.setattr(training, "_run", lambda c: (launched.append(c), _finish_training(c)))

    def stages(bench: Benchmark, seed: int) -> list[tuple[str, str, str | None]]:
        """(folder, run.seed, run.init_from) of each training the system's stages launched."""
        launched.clear()
        bench.train_system("no-lora", seed)
        out = []
        for command in launched:
            values = dict(arg.split("=", 1) for arg in command if "=" in arg)
            folder = str(Path(values["run.output_dir"]).relative_to(tmp_path / "systems"))
            init = values.get("run.init_from")
            init = init if init in (None, "null") else str(Path(init).relative_to(tmp_path))
            out.append((folder, values["run.seed"], init))
        return out

    quiet = lambda _: None  # noqa: E731
    one = Benchmark(tmp_path, BenchmarkOptions(ablations=("no-lora",), progress=False), quiet)
    # one seed: the folders of every earlier benchmark, run.seed 0
    assert stages(one, 0) == [("main/stage1", "0", None),
                              ("no-lora/stage2", "0", "systems/main/stage1")]  # fmt: skip
    three = Benchmark(
        tmp_path, BenchmarkOptions(ablations=("no-lora",), seeds=(0, 1, 2), progress=False), quiet
    )
    assert stages(three, 0) == []  # seed 0 is the finished one-seed run: reused
    assert stages(three, 2) == [
        ("main/seed-2/stage1", "2", None),
        ("no-lora/seed-2/stage2", "2", "systems/main/seed-2/stage1"),
    ]
    assert stages(three, 2) == []  # finished: nothing to redo
    assert three.run_dir("chance", 1) == tmp_path / "systems" / "chance" / "seed-1"
    assert three.run_dir("main") == tmp_path / "systems" / "main"  # the first seed's
    recipe = json.loads((tmp_path / "systems/no-lora/seed-2/stage2/recipe.json").read_text())
    assert "run.seed=2" in recipe["overrides"]
    assert set(one.timings) == {"main/stage1", "no-lora/stage2"}
    assert set(three.timings) == {"main/seed-2/stage1", "no-lora/seed-2/stage2"}
    # --seed moves the base folder: seed 0 of a benchmark whose --seed is 5 is not the run there
    other = Benchmark(tmp_path, BenchmarkOptions(seed=5, seeds=(0, 5)), quiet)
    assert other.run_dir("main", 0) == tmp_path / "systems/main/seed-0"
    assert other.run_dir("main", 5) == tmp_path / "systems/main"


def _metrics(bleu: float, wer: float) -> dict:
    scores = {"bleu": bleu, "chrf": 50.0, "st_exact": 10.0, "wer": wer, "cer": None,
              "asr_exact": 0.0, "language_accuracy": 90.0}  # fmt: skip
    group = {**scores, "macro": scores}
    return {"seen": group, "unseen": group, "by_language": {"es": scores, "ca": scores}}


def test_scores_over_seeds_are_mean_and_sample_sd_in_results_and_tables():
    summary = summarize_seeds({0: _metrics(60.0, 20.0), 1: _metrics(53.0, 30.0),
                               2: _metrics(58.0, 25.0)})  # fmt: skip
    bleu = summary["by_language"]["es"]["bleu"]
    assert bleu["values"] == [60.0, 53.0, 58.0] and bleu["mean"] == pytest.approx(57.0)
    assert bleu["sd"] == pytest.approx(3.6055513)  # sqrt(((3)^2 + (-4)^2 + 1^2) / 2)
    assert summary["seen"]["macro"]["wer"]["sd"] == pytest.approx(5.0)
    assert summary["unseen"]["cer"] is None and summary["seeds"] == [0, 1, 2]
    chance = summarize_seeds({s: _metrics(5.0 + s, 95.0) for s in (0, 1, 2)})
    lines = language_table(summary, chance, ["es"], ["ca"]).splitlines()
    assert lines[2] == (
        "| es (seen) | 57.0 ± 3.6 [6.0] | 10.0 ± 0.0 [10.0] | 25.0 ± 5.0 [95.0] | "
        "0.0 ± 0.0 [0.0] | 90.0 ± 0.0 [90.0] |"
    )
    row = systems_table({"main": summary}).splitlines()[2]
    assert row.startswith("| main | 57.0 ± 3.6 | 57.0 ± 3.6 | 10.0 ± 0.0 |")
    one = summarize_seeds({0: _metrics(60.0, 20.0)})  # one seed: no sd, a plain number shown
    assert one["seen"]["bleu"]["sd"] is None
    assert (
        language_table(one, one, ["es"], ["ca"])
        .splitlines()[2]
        .startswith("| es (seen) | 60.0 [60.0] |")
    )
    with pytest.raises(ValueError, match="seed 1 scored languages"):
        summarize_seeds({0: _metrics(1, 1), 1: {**_metrics(1, 1), "by_language": {}}})


NUMBERS = "one two three four five six seven eight nine ten eleven twelve".split()


def _write_system(folder: Path, wrong_every: int, seed: int) -> list[Path]:
    """ASR and ST hypothesis files of es (seen) and ca (unseen), 40 utterances each: every
    ``wrong_every``-th answer (counted from a seed-dependent start) has a wrong last word."""
    rng = random.Random(42)  # the same references for every system and seed
    files = []
    for task in ("asr", "st"):
        for lang in ("es", "ca"):
            records = []
            for i in range(40):
                ref = " ".join(rng.choice(NUMBERS) for _ in range(4))
                wrong = (i + seed) % wrong_every == 0
                hyp = ref.rsplit(" ", 1)[0] + " zero" if wrong else ref
                target = lang if task == "asr" else "en"
                records.append(Hypothesis(id=f"{lang}-{i}", task=task, language=lang,
                                          target_language=target, hypothesis=hyp, reference=ref))  # fmt: skip
            path = folder / f"seed-{seed}" / f"{task}_{lang}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w") as f:
                append_hypotheses(f, records)
            files.append(path)
    return files


def test_systems_are_compared_over_seeds_and_utterances(tmp_path):
    good = {s: _write_system(tmp_path / "good", 10, s) for s in (0, 1, 2)}
    bad = {s: _write_system(tmp_path / "bad", 2, s) for s in (0, 1, 2)}
    also_good = {s: _write_system(tmp_path / "also-good", 10, s + 3) for s in (0, 1, 2)}
    better = compare_over_seeds(good, bad, ["es"], ["ca"], n_samples=200)
    assert better["paired_seeds"] and better["seeds"] == [0, 1, 2]
    for group in ("seen", "unseen"):
        wer = better[group]["wer"]
        # bad: a wrong word in every second answer, 1 in 8 words; good: every tenth, 1 in 40
        assert wer["baseline"] == pytest.approx(12.5) and wer["system"] == pytest.approx(2.5)
        assert wer["p_value"] == 1 / 201 and wer["difference_ci"][1] < -5
        assert better[group]["st_exact"]["difference"] == pytest.approx(90 - 50)
        assert better[group]["bleu"]["difference"] > 20 and better[group]["bleu"]["p_value"] < 0.01
    assert set(better["by_language"]) == {"es", "ca"}
    assert set(better["by_language"]["ca"]) == {"bleu", "chrf", "st_exact", "wer", "cer",
                                                "asr_exact"}  # fmt: skip
    # as good, other seeds: errors on other utterances, the same number of them
    same = compare_over_seeds(also_good, good, ["es"], ["ca"], n_samples=200)
    for group in ("seen", "unseen"):
        for test in same[group].values():
            assert abs(test["difference"]) < 4 and test["p_value"] > 0.2, (group, test)
            assert test["difference_ci"][0] < 0 < test["difference_ci"][1]
    # a baseline of other seeds (two of them): resampled on its own, not paired by index
    unpaired = compare_over_seeds(good, {5: bad[0], 6: bad[1]}, ["es"], ["ca"], n_samples=200)
    assert not unpaired["paired_seeds"] and unpaired["seen"]["wer"]["baseline_seeds"] == 2


def test_summaries_and_comparisons_of_every_system_go_into_the_results(tmp_path):
    files = {
        "chance": {s: _write_system(tmp_path / "chance", 1, s) for s in (0, 1)},
        "main": {s: _write_system(tmp_path / "main", 10, s) for s in (0, 1)},
    }
    per_seed = {s: {"chance": _metrics(5.0, 90.0), "main": _metrics(60.0 + s, 20.0)}
                for s in (0, 1)}  # fmt: skip
    results, extra = summarize_systems(
        per_seed, {"main": "chance"}, lambda name, seed: files[name][seed], ["es"], ["ca"]
    )
    assert results["main"]["baseline"] == "chance" and "comparison" not in results["chance"]
    assert results["main"]["seen"]["bleu"]["mean"] == 60.5
    assert extra["seeds"] == [0, 1] and extra["per_seed"]["main"]["1"]["es"]["bleu"] == 61.0
    assert extra["comparisons"]["main"] is results["main"]["comparison"]
    table = comparison_table(results).splitlines()
    # chance's every answer has a wrong last word: WER 25 -> main's 2.5
    assert table[2].startswith("| main vs chance | **") and "-22.5 [" in table[2]


@pytest.mark.slow
def test_a_two_seed_benchmark_runs_end_to_end_and_a_rerun_reuses_it(bundle, tmp_path):
    from safetensors.torch import load_file

    from unheard.benchmark.run import run_benchmark

    options = BenchmarkOptions(
        per_language=10, mt5=str(bundle / "mt5"), stage1_steps=2, stage2_steps=2, seeds=(0, 1),
        progress=False, overrides=("run.validate_every=0",),
    )  # fmt: skip
    bench, results = run_benchmark(tmp_path, options, log=lambda _: None)
    systems = tmp_path / "systems"
    for folder in ("main/stage2", "main/seed-1/stage2", "main/seed-1/hyps", "chance/seed-1/hyps"):
        assert (systems / folder).is_dir(), folder
    weights = [
        load_file(str(systems / run / "stage2/checkpoints/step-2/trained.safetensors"))
        for run in ("main", "main/seed-1")
    ]
    assert any(not weights[0][k].equal(weights[1][k]) for k in weights[0])  # run.seed took
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["seeds"] == [0, 1] and set(saved["per_seed"]["main"]) == {"0", "1"}
    wer = saved["systems"]["main"]["seen"]["wer"]
    assert wer["values"] == [saved["per_seed"]["main"][s]["seen"]["wer"] for s in ("0", "1")]
    assert wer["mean"] == pytest.approx(sum(wer["values"]) / 2)
    test = saved["comparisons"]["main"]["seen"]["wer"]
    assert (test["seeds"], test["baseline_seeds"], test["paired_seeds"]) == (2, 2, True)
    assert results["main"]["baseline"] == "chance"
    assert {"main", "main (seed 1)", "llm (stage 1)"} <= set(bench.text_probes)
    again, _ = run_benchmark(tmp_path, options, log=lambda _: None)
    assert not [k for k in again.timings if k.endswith(("stage1", "stage2", "decode"))]
