"""The command-line contract: plan (--json), demo, errors."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time

import pytest


def _unheard(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "unheard", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize(
    ("preset", "adapter", "lora"),
    [("paper-mt0-xl", 18_878_464, 9_437_184), ("paper-mt0-xxl", 62_922_752, 18_874_368)],
)
def test_plan_json_reports_the_papers_counts_in_seconds(preset, adapter, lora):
    started = time.perf_counter()
    result = _unheard("plan", preset, "--json")
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["params"]["adapter"] == adapter
    assert report["params"]["lora"] == lora
    assert set(report["params"]) == {
        "encoder", "layer_mix", "adapter", "lora", "llm", "trainable", "total"
    }  # fmt: skip
    assert report["memory_gib"]["total"] > report["memory_gib"]["frozen_weights"] > 0
    assert elapsed < 60  # meta device: no weights allocated, nothing downloaded


def test_plan_applies_overrides_and_prints_a_table():
    args = ("plan", "paper-mt0-xl", "model.lora.r=8", "model.adapter_stride=2")
    table, as_json = _unheard(*args), _unheard(*args, "--json")
    assert table.returncode == 0 and as_json.returncode == 0, table.stderr + as_json.stderr
    report = json.loads(as_json.stdout)
    # w2v-BERT 2.0 (24 layers + the embedding output mixed), the paper's adapter, LoRA r=8 (half
    # of 9,437,184; the stride does not change the adapter's size), mT0-xl
    expected = {"encoder": 580_493_120, "layer_mix": 25, "adapter": 18_878_464,
                "lora": 4_718_592, "llm": 3_742_619_648}  # fmt: skip
    expected["trainable"] = expected["layer_mix"] + expected["adapter"] + expected["lora"]
    expected["total"] = sum(expected.values()) - expected["trainable"]
    printed = {
        part: int(count.replace(",", ""))
        for part, count in re.findall(r"^  (\w+) +([\d,]+)  \(", table.stdout, re.MULTILINE)
    }
    assert printed == report["params"] == expected
    share = float(re.search(r"trainable share ([\d.]+)%", table.stdout)[1])
    assert share == pytest.approx(100 * expected["trainable"] / expected["total"], abs=5e-4)
    # the memory table: each row's DDP and FSDP figures are the JSON's, rounded ("-": none)
    by_strategy = report["memory_gib_by_strategy"]
    rows = re.findall(r"^  (\w+) +(-|[\d.]+) +([\d.]+)$", table.stdout, re.MULTILINE)
    assert [part for part, _, _ in rows] == list(by_strategy["fsdp"])
    for part, ddp, fsdp in rows:
        assert float(fsdp) == pytest.approx(by_strategy["fsdp"][part], abs=0.006)
        if part in by_strategy["ddp"]:
            assert float(ddp) == pytest.approx(by_strategy["ddp"][part], abs=0.006)
        else:
            assert ddp == "-"  # FSDP only: the weights it gathers
    assert 0 < by_strategy["ddp"]["total"] < by_strategy["fsdp"]["total"]  # one device: gathers


def test_plan_reports_memory_per_device_under_ddp_and_fsdp():
    result = _unheard("plan", "paper-mt0-xxl", "--devices", "8", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    ddp, fsdp = report["memory_gib_by_strategy"]["ddp"], report["memory_gib_by_strategy"]["fsdp"]
    params, gib = report["params"], 1024**3
    assert report["devices"] == 8 and ddp == report["memory_gib"]  # DDP: all of it, per device
    # bf16 frozen weights: the LLM's 1/8 each, the frozen encoder whole (it is not sharded)
    frozen = (params["total"] - params["trainable"]) * 2 / gib
    encoder = params["encoder"] * 2 / gib
    assert ddp["frozen_weights"] == pytest.approx(frozen, abs=1e-3)  # 25.15 GiB
    assert fsdp["frozen_weights"] == pytest.approx((frozen - encoder) / 8 + encoder, abs=1e-3)
    assert fsdp["frozen_weights"] == pytest.approx(4.09, abs=0.01)
    # fp32 params + grads + AdamW moments: 16 bytes per trained parameter, an eighth each
    assert ddp["trained_state"] == pytest.approx(params["trainable"] * 16 / gib, abs=1e-3)
    assert fsdp["trained_state"] == pytest.approx(ddp["trained_state"] / 8, abs=1e-3)
    for part in ("encoder_states", "llm_activations"):  # each device's own batch
        assert fsdp[part] == ddp[part]
    # the root (embeddings, untied LM head, adapter) and two blocks, gathered whole
    assert 4 < fsdp["gathered_weights"] < 5
    assert fsdp["total"] < 0.6 * ddp["total"]
    table = _unheard("plan", "paper-mt0-xxl", "--devices", "8")
    assert "on each of 8 device(s)" in table.stdout and "FSDP" in table.stdout
    assert _unheard("plan", "paper-mt0-xl", "--devices", "0").returncode == 1


def test_bad_input_exits_non_zero_with_one_line_reason():
    result = _unheard("plan", "no-such-preset")
    assert result.returncode == 1
    assert "neither a preset" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    result = _unheard("plan", "paper-mt0-xl", "model.lora.rank=8")
    assert result.returncode == 1 and "unknown LoraOptions key(s) ['rank']" in result.stderr
    assert _unheard("--help").returncode == 0


def test_tiny_demo_trains_the_tiny_config_and_scores_held_out_utterances(tmp_path):
    """`demo --tiny` trains configs/tiny.yaml through the recipe and prints scores of the test
    split; it used to print the scores of the utterances it had just trained on as "ASR WER"."""
    from unheard.data.manifest import read_manifest

    result = _unheard(
        "demo", "--tiny", "--out", str(tmp_path), "--steps", "4", "--per-language", "2",
        "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "On 20 held-out test utterances (never trained on" in result.stdout
    assert (tmp_path / "run/checkpoints/step-4/trained.safetensors").is_file()
    summary = json.loads((tmp_path / "run/summary.json").read_text())
    assert summary["steps"] == 4 and summary["init_from"] is None  # the recipe's own run
    corpus = tmp_path / "corpus"
    train = {u.id for path in corpus.glob("*_train.jsonl.gz") for u in read_manifest(path)}
    test = {u.id for path in corpus.glob("*_test.jsonl.gz") for u in read_manifest(path)}
    for task in ("asr", "st"):
        scored = [json.loads(line) for path in sorted((tmp_path / "hyps").glob(f"{task}_*.jsonl"))
                  for line in path.read_text().splitlines()]  # fmt: skip
        assert {h["id"] for h in scored} == test and len(scored) == 20
    assert len(train) == 8 and not train & test
    # the scores are numbers in their ranges ("nan" would have passed a check of the words)
    done = re.search(
        r"4 steps, final training loss ([\d.]+)\. .*: ASR WER ([\d.]+)% \(exact (\d+)%\), "
        r"ST chrF ([\d.]+) BLEU ([\d.]+) \(exact (\d+)%\)$",
        result.stdout,
        re.MULTILINE,
    )
    assert done, result.stdout[-2000:]
    loss, asr_wer, asr_exact, chrf, bleu, st_exact = map(float, done.groups())
    assert asr_wer >= 0 and 0 <= chrf <= 100 and 0 <= bleu <= 100
    logged = [json.loads(line) for line in (tmp_path / "run/log.jsonl").read_text().splitlines()]
    last = [r["loss"] for r in logged if r.get("kind") == "train"][-1]
    assert loss == pytest.approx(last, abs=1e-3) and math.isfinite(loss)  # the run's own log
    assert 0 <= asr_exact <= 100 and 0 <= st_exact <= 100


@pytest.mark.parametrize(
    ("value", "message"),
    [("asr", "expected task=weight"), ("asr=two", "expected task=weight"),
     ("=1", "expected task=weight"), ("asr=1,poem=1", "instruct_weights must give tasks")],
)  # fmt: skip
def test_pretrain_text_refuses_bad_instruct_weights_before_any_work(tmp_path, value, message):
    text = tmp_path / "t.jsonl"
    text.write_text(json.dumps({"language": "es", "text": "uno", "translation": "one"}) + "\n")
    result = _unheard(
        "pretrain-text", "--train", str(text), "--out", str(tmp_path / "out"),
        "--instruct-share", "0.5", "--instruct-weights", value,
    )  # fmt: skip
    assert result.returncode != 0
    assert message in result.stderr
    assert not (tmp_path / "out").exists()
