"""Checkpoints by hub id: found in a hub cache laid out as huggingface_hub lays it, offline, and
refused in one line when missing or malformed. No test here reaches the network."""

from __future__ import annotations

import json

import pytest
from huggingface_hub import scan_cache_dir, try_to_load_from_cache

import unheard.hub.checkpoints as checkpoints
from unheard.checkpoint import CONFIG_NAME, WEIGHTS_NAME
from unheard.hub import checkpoint_folder, is_hub_id


def _fake_checkpoint(folder, llm="./llm"):
    # the files of an export, without a real model: only their layout matters here
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"format": "unheard-checkpoint-v1", "model": {"encoder": "tiny:whisper", "llm": llm}}
    (folder / CONFIG_NAME).write_text(json.dumps(meta))
    (folder / WEIGHTS_NAME).write_bytes(b"weights")
    (folder / "README.md").write_text("---\nlibrary_name: unheard\n---\n")
    (folder / "llm").mkdir(exist_ok=True)
    (folder / "llm" / "config.json").write_text("{}")
    return folder


def test_file_names_are_the_checkpoints():
    assert (checkpoints.CONFIG_FILE, checkpoints.WEIGHTS_FILE) == (CONFIG_NAME, WEIGHTS_NAME)


def test_a_folder_passes_through(tmp_path):
    assert checkpoint_folder(tmp_path) == tmp_path
    assert checkpoint_folder(str(tmp_path)) == tmp_path


@pytest.mark.parametrize(
    ("name", "hub_id"),
    [("someone/model", True), ("model", True), ("./model", False), ("/abs/model", False),
     ("~/model", False), ("runs/x/checkpoints/step-5", False), ("some one/model", False)],
)  # fmt: skip
def test_hub_ids_and_paths_are_told_apart(name, hub_id):
    assert is_hub_id(name) is hub_id


def test_the_cache_layout_is_huggingface_hubs(tmp_path, hub_cache):
    snapshot = hub_cache(_fake_checkpoint(tmp_path / "export"), "someone/tiny")
    info = scan_cache_dir(hub_cache.cache)
    assert not info.warnings
    (repo,) = info.repos
    assert (repo.repo_id, repo.repo_type, repo.nb_files) == ("someone/tiny", "model", 4)
    (revision,) = repo.revisions
    assert revision.refs == frozenset({"main"}) and revision.snapshot_path == snapshot
    cached = try_to_load_from_cache("someone/tiny", "llm/config.json", cache_dir=hub_cache.cache)
    assert cached == str(snapshot / "llm" / "config.json")


def test_a_cached_hub_id_loads_offline_from_its_snapshot(tmp_path, hub_cache):
    snapshot = hub_cache(_fake_checkpoint(tmp_path / "export"), "someone/tiny")
    folder = checkpoint_folder("someone/tiny")
    assert folder == snapshot
    assert (folder / WEIGHTS_NAME).read_bytes() == b"weights"
    assert (folder / "llm" / "config.json").is_file()  # the ./llm it ships, beside the config


def test_only_the_checkpoints_files_are_fetched(tmp_path, monkeypatch):
    # stand in for the hub: record what snapshot_download is asked for
    import huggingface_hub

    folder = _fake_checkpoint(tmp_path / "export", llm="./llm")
    asked = []
    monkeypatch.setattr(
        huggingface_hub,
        "snapshot_download",
        lambda repo_id, allow_patterns, cache_dir: asked.append(allow_patterns) or str(folder),
    )
    assert checkpoint_folder("someone/tiny") == folder
    assert asked == [
        [CONFIG_NAME],  # first the config, to learn which ./ folders it ships
        [CONFIG_NAME, WEIGHTS_NAME, "README.md", "llm/*"],
    ]


def test_an_id_missing_from_the_offline_cache_is_one_line_naming_it(hub_cache):
    with pytest.raises(FileNotFoundError) as e:
        checkpoint_folder("nobody/missing")
    message = str(e.value)
    assert "\n" not in message
    assert "'nobody/missing'" in message
    assert "HF_HUB_OFFLINE" in message
    assert "`hf download nobody/missing`" in message
    assert str(hub_cache.cache) in message


@pytest.mark.parametrize("name", ["runs/x/checkpoints/step-5", "some one/model", "a/b/c/"])
def test_neither_a_folder_nor_an_id_is_one_line(name, hub_cache):
    with pytest.raises(ValueError, match=r"neither a local folder nor a Hugging Face hub id") as e:
        checkpoint_folder(name)
    assert "\n" not in str(e.value)


def test_a_path_like_name_that_does_not_exist_is_not_asked_of_the_hub(tmp_path, hub_cache):
    with pytest.raises(ValueError, match="neither a local folder"):
        checkpoint_folder(f"{tmp_path}/no-such-checkpoint")


def test_a_cached_model_that_is_not_a_checkpoint_is_refused(tmp_path, hub_cache):
    folder = tmp_path / "other"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    hub_cache(folder, "someone/bert")
    with pytest.raises(FileNotFoundError, match="'someone/bert' is not an unheard checkpoint"):
        checkpoint_folder("someone/bert")


def test_a_cached_checkpoint_without_weights_names_the_fetch(tmp_path, hub_cache):
    folder = _fake_checkpoint(tmp_path / "export")
    (folder / WEIGHTS_NAME).unlink()
    hub_cache(folder, "someone/partial")
    with pytest.raises(FileNotFoundError, match="`hf download someone/partial`"):
        checkpoint_folder("someone/partial")


def test_shipped_folders_are_the_dot_slash_models():
    meta = {"model": {"encoder": "./encoder/", "llm": "google/mt5-small"}}
    assert checkpoints.shipped_folders(meta) == ["encoder"]
    assert checkpoints.shipped_folders({"model": {"encoder": "./m", "llm": "./m"}}) == ["m"]
    assert checkpoints.shipped_folders({"model": {"encoder": "../up", "llm": "/abs"}}) == []
