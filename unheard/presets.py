"""Named model presets: the paper's systems, buildable on the meta device with no download."""

from __future__ import annotations

from unheard.config import LoraOptions, ModelConfig

# facebook/w2v-bert-2.0: the public 600M Conformer (24 layers, 1024-dim), 160-dim stacked fbank
# input at 20 ms frames. Wav2Vec2BertConfig's defaults are its shapes.
W2V_BERT_2 = {"model_type": "wav2vec2-bert"}


def _mt0(d_model: int, d_ff: int, num_heads: int) -> dict:
    # bigscience/mt0-xl and mt0-xxl: mT5 shapes, 24+24 layers, d_kv 64, 250k vocab, untied head
    return {
        "model_type": "mt5",
        "d_model": d_model,
        "d_ff": d_ff,
        "d_kv": 64,
        "num_heads": num_heads,
        "num_layers": 24,
        "num_decoder_layers": 24,
        "vocab_size": 250112,
        "feed_forward_proj": "gated-gelu",
        "tie_word_embeddings": False,
        "decoder_start_token_id": 0,
    }


PRESETS: dict[str, ModelConfig] = {
    "paper-mt0-xl": ModelConfig(
        encoder="facebook/w2v-bert-2.0",
        llm="bigscience/mt0-xl",
        encoder_config=W2V_BERT_2,
        llm_config=_mt0(2048, 5120, 32),
        lora=LoraOptions(r=16),
        dtype="bfloat16",
    ),
    "paper-mt0-xxl": ModelConfig(
        encoder="facebook/w2v-bert-2.0",
        llm="bigscience/mt0-xxl",
        encoder_config=W2V_BERT_2,
        llm_config=_mt0(4096, 10240, 64),
        lora=LoraOptions(r=16),
        dtype="bfloat16",
    ),
}
