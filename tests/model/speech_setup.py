"""A tiny SpeechLLM ready for the model tests: built seeded, LoRA B non-zero, in eval mode."""

from __future__ import annotations

import torch

from unheard.build import build_speech_llm, load_tokenizer
from unheard.data.collate import SpeechCollator
from unheard.data.features import feature_extractor_for


def setup_speech_llm(config):
    """The model, its collator and tokenizer. The adapter starts random; LoRA B gets non-zero
    values so that LoRA changes the logits."""
    torch.manual_seed(0)
    model = build_speech_llm(config)
    with torch.no_grad():
        for name, p in model.llm.named_parameters():
            if ".lora_B." in name:
                p.normal_(0, 0.02)
    tokenizer = load_tokenizer(config)
    collator = SpeechCollator(
        tokenizer, feature_extractor_for(model.encoder.model.config), model.is_encoder_decoder
    )
    return model.eval(), collator, tokenizer
