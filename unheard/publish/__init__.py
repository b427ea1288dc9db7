"""Publishing checkpoints: ``unheard export`` writes a folder laid out for the Hugging Face Hub
(weights, config, model card); `unheard.hub.checkpoints` loads it back by hub id."""

from unheard.publish.export import Export, ExportOptions, export_checkpoint
from unheard.publish.model_card import CardFacts, model_card

__all__ = ["CardFacts", "Export", "ExportOptions", "export_checkpoint", "model_card"]
