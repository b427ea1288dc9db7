"""LayerWeightedSum, ConvAdapter, LoRA counts and the paper presets."""

from __future__ import annotations

import pytest
import torch

from unheard.build import build_speech_llm
from unheard.config import LoraOptions
from unheard.model.adapter import ConvAdapter
from unheard.model.layer_mix import LayerWeightedSum
from unheard.plan import count_parameters
from unheard.presets import PRESETS


def test_layer_mix_starts_as_the_average_and_learns_softmax_weights():
    states = [torch.full((2, 3, 4), float(i)) for i in range(5)]
    mix = LayerWeightedSum(5)
    torch.testing.assert_close(mix(states), torch.full((2, 3, 4), 2.0))
    with torch.no_grad():
        mix.logits.copy_(torch.tensor([0.0, 0.0, 0.0, 0.0, 10.0]))
    w = torch.softmax(torch.tensor([0.0, 0.0, 0.0, 0.0, 10.0]), 0)
    expected = sum(w[i] * i for i in range(5))
    torch.testing.assert_close(mix(states), torch.full((2, 3, 4), float(expected)))
    assert mix.weights.sum().item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="expected 5 hidden states, got 4"):
        mix(states[:4])


@pytest.mark.parametrize(
    ("enc", "llm", "expected"), [(1024, 2048, 18_878_464), (1024, 4096, 62_922_752)]
)
def test_adapter_parameter_counts_are_the_papers(enc, llm, expected):
    with torch.device("meta"):
        adapter = ConvAdapter(enc, llm, stride=2)
    assert sum(p.numel() for p in adapter.parameters()) == expected


@pytest.mark.parametrize("stride", [1, 2, 4])
def test_adapter_output_lengths_match_the_convolutions(stride):
    adapter = ConvAdapter(8, 16, stride=stride)
    for frames in range(1, 14):
        y, n = adapter(torch.randn(1, frames, 8), torch.tensor([frames]))
        assert y.shape == (1, n.item(), 16)
        assert n.item() == -(-frames // stride)  # ceil(frames / stride)


def test_adapter_norm_puts_every_frame_at_the_token_scale_and_keeps_padding_zero(tmp_path):
    """`model.adapter_norm`: each valid output frame has RMS = the gain, which starts at the RMS
    of the LLM's token embeddings; padded frames stay zero; the gain is trained and saved."""
    from unheard.checkpoint import load_checkpoint, save_checkpoint
    from unheard.config import ModelConfig

    adapter = ConvAdapter(8, 16, stride=2, out_scale=3.0)
    assert (
        sum(p.numel() for p in adapter.parameters())
        == sum(p.numel() for p in ConvAdapter(8, 16, stride=2).parameters()) + 16
    )  # one gain per LLM dimension
    y, n = adapter(100 * torch.randn(2, 9, 8), torch.tensor([9, 4]))
    rms = y.pow(2).mean(-1).sqrt()  # (batch, frames)
    torch.testing.assert_close(rms[0], torch.full((5,), 3.0), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(rms[1, :2], torch.full((2,), 3.0), atol=1e-4, rtol=1e-4)
    assert n.tolist() == [5, 2] and rms[1, 2:].abs().max() == 0

    config = ModelConfig(encoder="tiny:whisper", llm="tiny:mt5", adapter_norm=True)
    model = build_speech_llm(config)
    embeddings = model.llm.get_input_embeddings().weight
    gain = model.adapter.norm.weight
    assert gain.requires_grad
    torch.testing.assert_close(gain, torch.full_like(gain, embeddings.pow(2).mean().sqrt().item()))
    with torch.no_grad():
        gain.mul_(0.5)
    save_checkpoint(model, config, tmp_path / "ck")
    loaded = load_checkpoint(tmp_path / "ck")[0]
    torch.testing.assert_close(loaded.adapter.norm.weight, gain)
    assert (
        build_speech_llm(ModelConfig(encoder="tiny:whisper", llm="tiny:mt5")).adapter.norm is None
    )


def test_adapter_rejects_bad_settings():
    with pytest.raises(ValueError, match="stride must be >= 1, got 0"):
        ConvAdapter(4, 4, stride=0)
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        ConvAdapter(4, 4, kernel_size=4)
    with pytest.raises(ValueError, match="lora.r must be >= 1"):
        LoraOptions(r=0)


@pytest.mark.parametrize(
    ("preset", "adapter", "lora", "llm_billions"),
    [
        ("paper-mt0-xl", 18_878_464, 9_437_184, 3.74),
        ("paper-mt0-xxl", 62_922_752, 18_874_368, 12.92),
    ],
)
def test_paper_presets_reproduce_the_papers_counts_on_meta(preset, adapter, lora, llm_billions):
    model = build_speech_llm(PRESETS[preset], weights=False, device="meta")
    counts = count_parameters(model)
    assert counts["adapter"] == adapter
    assert counts["lora"] == lora
    assert counts["llm"] / 1e9 == pytest.approx(llm_billions, abs=0.01)  # untied head, as mT0
    assert counts["layer_mix"] == 25  # w2v-BERT 2.0: 24 layers + the embedding output
    assert counts["trainable"] == adapter + lora + 25
    assert model.adapter.stride == 4  # 20 ms w2v-BERT frames → 80 ms
    assert next(model.llm.parameters()).device.type == "meta"


def test_lora_targets_and_rank_are_configurable():
    from dataclasses import replace

    config = replace(
        PRESETS["paper-mt0-xl"], lora=LoraOptions(r=8, target_modules=("q", "k", "v", "o"))
    )
    counts = count_parameters(build_speech_llm(config, weights=False, device="meta"))
    # 72 attentions (24 enc self + 24 dec self + 24 cross) x 4 projections x 8 x (2048 + 2048)
    assert counts["lora"] == 72 * 4 * 8 * 4096
    every = replace(PRESETS["paper-mt0-xl"], lora=LoraOptions(target_modules=("all-linear",)))
    counts = count_parameters(build_speech_llm(every, weights=False, device="meta"))
    # r 16: the 72 x 4 attention projections (2048 → 2048) and the 48 gated-GELU feed-forwards
    # (wi_0, wi_1: 2048 → 5120; wo: 5120 → 2048); not the output head (2048 → 250,112)
    assert counts["lora"] == 16 * (72 * 4 * (2048 + 2048) + 48 * 3 * (2048 + 5120)) == 35_389_440
    off = replace(PRESETS["paper-mt0-xl"], lora=LoraOptions(enabled=False))
    assert count_parameters(build_speech_llm(off, weights=False, device="meta"))["lora"] == 0


def test_a_random_untied_head_is_initialised_off_the_meta_device():
    # random paper-shaped models (benchmarks/gpu.py) build mT0's untied head on a real device:
    # it must not keep the uninitialised memory untie_output_embeddings leaves
    from dataclasses import replace

    small = {"d_model": 32, "d_ff": 64, "d_kv": 8, "num_heads": 4, "num_layers": 1,
             "num_decoder_layers": 1, "vocab_size": 300}  # fmt: skip
    preset = PRESETS["paper-mt0-xl"]
    config = replace(
        preset,
        encoder_config={"model_type": "wav2vec2-bert", "hidden_size": 16, "num_hidden_layers": 1,
                        "num_attention_heads": 2, "intermediate_size": 32},
        llm_config={**preset.llm_config, **small}, dtype="float32",
    )  # fmt: skip
    torch.manual_seed(0)
    llm = build_speech_llm(config, weights=False).llm
    head, embedding = llm.get_output_embeddings().weight, llm.get_input_embeddings().weight
    assert head is not embedding and not llm.config.tie_word_embeddings
    assert torch.isfinite(head).all()
    assert head.std().item() == pytest.approx(32**-0.5, rel=0.05)  # as pretrain_text's new head
