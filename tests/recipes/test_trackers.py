"""Experiment trackers through accelerate: TensorBoard writes the scalars of log.jsonl under the
tags the recipe's own writer used, and the config as hyper-parameters; none, unknown or missing
trackers; wandb (offline) and mlflow (a file store) when installed."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from unheard.data.espeak import make_number_corpus
from unheard.data.extras import MissingExtraError
from unheard.recipes.trackers import hyperparameters, require_trackers
from unheard.recipes.train import train
from unheard.recipes.train_config import TRACKERS, load_train_config

REPO = Path(__file__).resolve().parents[2]

# what the recipe's own SummaryWriter wrote before accelerate's trackers took over (a 4-step run
# of configs/tiny.yaml with 4 dev languages); dashboards built on these names keep working
TAGS_BEFORE = {
    *(f"train/{key}" for key in ("loss", "lr", "grad_norm", "audio_seconds_per_s",
                                 "tokens_per_s", "bad_steps", "skipped_records")),
    "layer_weights/00", "layer_weights/01", "layer_weights/02",
    "dev/dev_loss", "dev/examples",
    *(f"dev/asr/{lang}/wer" for lang in ("de", "en", "es", "fr")),
    *(f"dev/st/{lang}/bleu" for lang in ("de", "en", "es", "fr")),
}  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_number_corpus(tmp_path_factory.mktemp("corpus"), ("en", "es", "de", "fr"), 8)


def _overrides(corpus, out, *extra):
    return [
        f"data.train=[{corpus}]",
        f"data.dev=[{corpus}]",
        f"run.output_dir={out}",
        "run.progress=false",
        "run.log_every=2",
        "run.max_steps=4",
        "run.validate_every=4",
        "run.save_every=100",
        *extra,
    ]


def _config(corpus, out, *extra):
    return load_train_config(REPO / "configs/tiny.yaml", _overrides(corpus, out, *extra))


def _expected_scalars(out: Path) -> dict[str, dict[int, float]]:
    """log.jsonl's records as tracker scalars: {tag: {step: value}}."""
    scalars: dict[str, dict[int, float]] = {}
    for line in (out / "log.jsonl").read_text().splitlines():
        record = json.loads(line)
        step, kind = record.pop("step"), record.pop("kind")
        record.pop("time_s")
        if kind == "train":
            for i, w in enumerate(record.pop("layer_weights")):
                scalars.setdefault(f"layer_weights/{i:02d}", {})[step] = w
            values = {f"train/{k}": v for k, v in record.items()}
        else:  # validation: {"dev_loss": x, "asr/de": {"wer": y}, ...}
            values = {
                f"dev/{k}/{m}" if isinstance(v, dict) else f"dev/{k}": (v[m] if m else v)
                for k, v in record.items()
                for m in (v if isinstance(v, dict) else [None])
            }
        for tag, value in values.items():
            scalars.setdefault(tag, {})[step] = value
    return scalars


def test_tensorboard_writes_the_scalars_of_log_jsonl_and_the_config(corpus, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    out = tmp_path / "run"
    config = _config(corpus, out, "run.log_with=[tensorboard]")
    train(config)

    run = out / "tensorboard" / "unheard"  # output_dir/tensorboard/<run.project_name>
    events = EventAccumulator(str(run), size_guidance={"scalars": 0})
    events.Reload()
    expected = _expected_scalars(out)
    assert set(events.Tags()["scalars"]) == set(expected) == TAGS_BEFORE
    for tag, by_step in expected.items():
        written = {e.step: e.value for e in events.Scalars(tag)}
        assert written.keys() == by_step.keys() == ({4} if tag.startswith("dev/") else {2, 4})
        for step, value in by_step.items():  # event files hold float32
            assert written[step] == pytest.approx(value, rel=1e-6, abs=1e-9), (tag, step)

    # hyper-parameters: the whole config, flat, in TensorBoard's hparams plugin and a YAML file
    flat = hyperparameters(config)
    assert flat["optim.lr"] == 3e-3 and flat["model.lora.r"] == 4
    assert flat["data.tasks"] == '["asr", "st"]' and flat["run.init_from"] is None
    assert flat["data.mixing"] == "{}" and flat["data.sampler.num_buckets"] == 4
    (hparams_yml,) = run.glob("*/hparams.yml")
    assert yaml.safe_load(hparams_yml.read_text()) == flat
    (hparams_dir,) = {p.parent for p in run.glob("*/events.out.tfevents.*")}
    session = EventAccumulator(str(hparams_dir))
    session.Reload()
    content = session.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    logged = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
    assert set(logged) == {k for k, v in flat.items() if v is not None}  # the plugin skips None
    assert logged["optim.lr"].number_value == pytest.approx(3e-3)
    assert logged["model.encoder"].string_value == "tiny:w2v-bert"
    assert logged["data.tasks"].string_value == '["asr", "st"]'


def test_no_trackers_write_no_tensorboard_folder(corpus, tmp_path):
    out = tmp_path / "run"
    train(_config(corpus, out, "run.log_with=[]", "run.max_steps=2", "run.validate_every=0"))
    assert not (out / "tensorboard").exists()
    assert len((out / "log.jsonl").read_text().splitlines()) == 2  # train at 2, validation at 2


def test_an_unknown_tracker_is_refused_by_name(corpus, tmp_path):
    with pytest.raises(ValueError, match=r"unknown tracker\(s\) \['tensorbored'\].*wandb"):
        _config(corpus, tmp_path, "run.log_with=[tensorboard,tensorbored]")
    with pytest.raises(ValueError, match="run.project_name"):
        _config(corpus, tmp_path, "run.project_name=''")


def test_the_tracker_names_are_accelerates():
    from accelerate.utils import LoggerType

    assert set(TRACKERS) == {t.value for t in LoggerType} - {"all"}


def test_a_tracker_without_its_package_fails_in_one_line(corpus, tmp_path, monkeypatch, capsys):
    from unheard.cli import main

    monkeypatch.setitem(sys.modules, "wandb", None)  # as if not installed
    require_trackers(("tensorboard",))
    with pytest.raises(MissingExtraError, match=r"'wandb'.*pip install wandb"):
        require_trackers(("tensorboard", "wandb"))
    # at the start of `unheard train`, before any model is built
    args = ["train", "configs/tiny.yaml", *_overrides(corpus, tmp_path / "run")]
    monkeypatch.chdir(REPO)
    assert main([*args, "run.log_with=[tensorboard,wandb]"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install wandb" in err, err
    assert not (tmp_path / "run").exists()


def _train(corpus, out, env, *extra):
    done = subprocess.run(
        [sys.executable, "-m", "unheard", "train", "configs/tiny.yaml",
         *_overrides(corpus, out, *extra)],
        cwd=REPO, capture_output=True, text=True, timeout=300, env={**os.environ, **env},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _wandb_records(path: Path) -> list:
    """The records of a ``.wandb`` file: a 7-byte header, then LevelDB-log blocks of 32 KiB
    holding chunks (crc32, length, type: 1 whole, 2 first, 3 middle, 4 last) of protobufs."""
    from wandb.proto import wandb_internal_pb2

    data, block, pos, chunks, records = path.read_bytes(), 32768, 7, b"", []
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # too little left in the block for a chunk header
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunks += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            records.append(wandb_internal_pb2.Record.FromString(chunks))
            chunks = b""
    return records


def test_wandb_offline_gets_the_same_scalars_and_the_config(corpus, tmp_path):
    pytest.importorskip("wandb")
    out = tmp_path / "run"
    home = str(tmp_path / "wandb-home")  # wandb's settings and caches, not the user's
    env = {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_CONFIG_DIR": home,
           "WANDB_CACHE_DIR": home, "WANDB_DATA_DIR": home}  # fmt: skip
    _train(corpus, out, env, "run.log_with=[wandb]")
    assert not (out / "tensorboard").exists()
    (path,) = (out / "wandb").glob("offline-run-*/run-*.wandb")  # in the output directory
    records = _wandb_records(path)
    (run,) = [r.run for r in records if r.HasField("run")]
    assert run.project == "unheard" and run.display_name == "run"
    config = {
        u.key: json.loads(u.value_json) for r in records if r.HasField("config")
        for u in r.config.update
    }  # fmt: skip
    assert config == hyperparameters(_config(corpus, out, "run.log_with=[wandb]"))
    history: dict[str, dict[int, float]] = {}
    for r in (r for r in records if r.HasField("history")):
        for item in r.history.item:
            key = item.key or "/".join(item.nested_key)  # "train/loss" is ["train", "loss"]
            if not key.startswith("_"):  # wandb's own _step, _runtime, _timestamp
                history.setdefault(key, {})[r.history.step.num] = json.loads(item.value_json)
    expected = _expected_scalars(out)
    assert history.keys() == expected.keys() == TAGS_BEFORE
    for tag, by_step in expected.items():
        assert history[tag] == pytest.approx(by_step), tag


def test_mlflow_to_a_file_store_gets_the_same_scalars_and_the_config(corpus, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    out, store = tmp_path / "run", f"file://{tmp_path / 'mlruns'}"
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # mlflow 3 wants a database otherwise
    _train(corpus, out, {"MLFLOW_TRACKING_URI": store}, "run.log_with=[mlflow]")
    client = MlflowClient(tracking_uri=store)
    (run,) = client.search_runs([client.get_experiment_by_name("unheard").experiment_id])
    assert run.info.run_name == "run"
    flat = hyperparameters(_config(corpus, out, "run.log_with=[mlflow]"))
    assert run.data.params == {k: str(v) for k, v in flat.items()}  # mlflow keeps text
    expected = _expected_scalars(out)
    assert run.data.metrics.keys() == expected.keys() == TAGS_BEFORE
    for tag, by_step in expected.items():
        logged = {m.step: m.value for m in client.get_metric_history(run.info.run_id, tag)}
        assert logged == pytest.approx(by_step), tag
