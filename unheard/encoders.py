"""The speech-encoder families unheard supports, and the facts about their input that both sides
of the package need: the sample rate, and Whisper's fixed window.

`unheard.data` (the feature front-ends) and `unheard.model` (the encoder module) sit side by side
and never import each other, yet both must agree on which family a transformers config is, at
which rate audio is sampled and how long Whisper's window is. Those facts live here, below both,
and depend on nothing but a transformers config.
"""

from __future__ import annotations

from dataclasses import dataclass

from transformers import PretrainedConfig

# every supported encoder was trained on 16 kHz audio: loading, synthesis, features and the
# encoder's frame duration are all at this rate
SAMPLE_RATE = 16000
# the mel (Whisper) and fbank (w2v-BERT) hop: 10 ms
HOP_LENGTH = SAMPLE_RATE // 100

WAVEFORM_MODEL_TYPES = ("wav2vec2", "hubert", "data2vec-audio", "wav2vec2-conformer", "wavlm")
ENCODER_MODEL_TYPES = ("whisper", "wav2vec2-bert", *WAVEFORM_MODEL_TYPES)


def encoder_family(config: PretrainedConfig) -> str:
    """Name the encoder family of a transformers config.

    Args:
        config: the encoder's (or whole Whisper model's) config.

    Returns:
        ``"whisper"``, ``"w2v-bert"`` or ``"wav2vec2"``.

    Raises:
        ValueError: if the model type is not a supported speech encoder.
    """
    if config.model_type == "whisper":
        return "whisper"
    if config.model_type == "wav2vec2-bert":
        return "w2v-bert"
    if config.model_type in WAVEFORM_MODEL_TYPES:
        return "wav2vec2"
    raise ValueError(
        f"unsupported speech encoder model_type {config.model_type!r}; "
        f"supported: {', '.join(ENCODER_MODEL_TYPES)}"
    )


@dataclass(frozen=True)
class WhisperWindow:
    """Whisper's fixed input window, in each unit it is counted in.

    Whisper pads every input to this window (30 s for the released checkpoints); its first conv
    keeps the mel frames, its second (stride 2) halves them to one output frame per position.
    """

    positions: int  # output frames = position embeddings: 1500 for the released checkpoints
    mel_frames: int  # log-mel frames of input, 2 * positions: 3000
    samples: int  # audio samples, mel_frames * HOP_LENGTH: 480,000

    @property
    def seconds(self) -> float:
        """The window's duration: 30.0 for the released checkpoints."""
        return self.samples / SAMPLE_RATE


def whisper_window(config: PretrainedConfig) -> WhisperWindow:
    """Whisper's input window of a config.

    Args:
        config: a Whisper config (the whole model's or the encoder's).

    Returns:
        The window in output frames, mel frames and samples.

    Raises:
        ValueError: if ``config`` is not a Whisper config.
    """
    if encoder_family(config) != "whisper":
        raise ValueError(f"a {config.model_type!r} encoder has no Whisper window")
    positions = config.max_source_positions
    # conv1 has stride 1, conv2 stride 2 (fixed in transformers' WhisperEncoder)
    mel_frames = 2 * positions
    return WhisperWindow(positions, mel_frames, mel_frames * HOP_LENGTH)
