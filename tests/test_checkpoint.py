"""Checkpoints: only trained weights, safetensors + JSON, exact round trip."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

from unheard.build import build_speech_llm, load_tokenizer
from unheard.checkpoint import CONFIG_NAME, WEIGHTS_NAME, load_checkpoint, save_checkpoint
from unheard.data.collate import Example, SpeechCollator
from unheard.data.features import feature_extractor_for
from unheard.tiny import perturb_trained


@pytest.mark.parametrize(("encoder", "llm"), [("whisper", "mt5"), ("w2v-bert", "gemma3")])
def test_save_load_round_trip_reproduces_logits_exactly(encoder, llm, tiny_models, clips, tmp_path):
    config = tiny_models(encoder, llm)
    torch.manual_seed(1)
    model = build_speech_llm(config)
    perturb_trained(model, scale=0.05)  # move every trained part away from its initial value
    model.eval()
    collator = SpeechCollator(
        load_tokenizer(config), feature_extractor_for(model.encoder.model.config),
        model.is_encoder_decoder,
    )  # fmt: skip
    batch = collator([Example("a", clips[1], "asr", "en", "en", "hello world")])
    with torch.no_grad():
        before = model(**batch).logits

    save_checkpoint(model, config, tmp_path / "ckpt", extra={"step": 7})
    loaded, loaded_config, extra = load_checkpoint(tmp_path / "ckpt")
    with torch.no_grad():
        after = loaded(**batch).logits
    assert torch.equal(before, after)
    assert loaded_config == config and extra == {"step": 7}

    with safe_open(str(tmp_path / "ckpt" / WEIGHTS_NAME), "pt") as f:
        keys = set(f.keys())
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    assert keys == trained
    assert not any(k.startswith("encoder.") for k in keys)
    assert all(k.startswith(("layer_mix.", "adapter.")) or ".lora_" in k for k in keys)
    meta = json.loads((tmp_path / "ckpt" / CONFIG_NAME).read_text())
    assert meta["model"]["encoder"] == config.encoder and meta["model"]["llm"] == config.llm
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    stored = (tmp_path / "ckpt" / WEIGHTS_NAME).stat().st_size
    assert stored < 4 * sum(p.numel() for p in model.parameters() if p.requires_grad) + 20_000
    assert stored < 4 * frozen  # far smaller than the frozen models


def test_loading_a_mismatched_checkpoint_fails_clearly(tiny_models, tmp_path):
    from dataclasses import replace

    from unheard.checkpoint import load_trained

    config = tiny_models("whisper", "mt5")
    save_checkpoint(build_speech_llm(config), config, tmp_path / "a")
    other = build_speech_llm(replace(config, adapter_stride=2, llm_trainable=("final_layer_norm",)))
    with pytest.raises(ValueError, match="does not match the model"):
        load_trained(other, tmp_path / "a" / WEIGHTS_NAME)
    with pytest.raises(FileNotFoundError, match="is not an unheard checkpoint"):
        load_checkpoint(tmp_path)


def test_a_checkpoint_shipping_its_llm_loads_wherever_it_is_copied(tiny_models, clips, tmp_path):
    import shutil
    from dataclasses import replace

    config = tiny_models("whisper", "mt5")
    torch.manual_seed(2)
    model = build_speech_llm(config).eval()
    bundle = tmp_path / "bundle"
    shutil.copytree(config.llm, bundle / "llm")
    save_checkpoint(model, replace(config, llm="../llm"), bundle / "checkpoint")
    moved = tmp_path / "elsewhere" / "bundle"
    shutil.move(bundle, moved)
    loaded, loaded_config, _ = load_checkpoint(moved / "checkpoint")
    assert loaded_config.llm == str(moved / "llm")
    collator = SpeechCollator(
        load_tokenizer(loaded_config), feature_extractor_for(model.encoder.model.config), True
    )
    batch = collator([Example("a", clips[0], "asr", "es", "es", "uno")])
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, loaded(**batch).logits)
