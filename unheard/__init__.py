"""unheard: speech-LLMs for zero-resource speech translation and recognition.

``import unheard`` stays light: `load` imports torch and the model code when it is called.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from unheard.serving.api import SpeechToText

__all__ = ["load"]


def load(checkpoint: str | os.PathLike[str], **kwargs: Any) -> SpeechToText:
    """Load a checkpoint for transcription and translation: ``unheard.load(ckpt).transcribe(a)``.

    Args:
        checkpoint: a directory written by ``save_checkpoint``, or the Hugging Face hub id
            (``USER/NAME``) of a folder ``unheard export`` wrote.
        **kwargs: ``device``, ``options`` (`DecodeOptions`), ``windows`` (`WindowOptions`); see
            `unheard.serving.api.load`.

    Returns:
        A `unheard.serving.api.SpeechToText`.
    """
    from unheard.serving.api import load as load_speech_to_text

    return load_speech_to_text(checkpoint, **kwargs)
