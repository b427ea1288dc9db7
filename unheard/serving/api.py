"""The Python API: a loaded checkpoint that transcribes and translates audio of any length.

    import unheard

    stt = unheard.load("runs/x/checkpoints/step-5000")  # or a hub id: unheard.load("USER/NAME")
    stt.transcribe("talk.mp3").text
    stt.translate(waveform, sample_rate=44100, to="en").segments

Audio is a path, the bytes of a file, or a numpy waveform with its sampling rate. Long audio is
cut into overlapping windows (`unheard.serving.windows`); every window of every recording given
to `SpeechToText.run` is decoded together by `unheard.decoding.decode`, in batches of similar
duration, with the checkpoint's test prompts.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr
import torch
from transformers import PreTrainedTokenizerBase, WhisperFeatureExtractor

from unheard.checkpoint import load_decoder
from unheard.data.audio import load_audio
from unheard.data.collate import Example, SpeechCollator
from unheard.data.log_mel import WhisperLogMel
from unheard.data.prompts import TASKS
from unheard.decoding.decode import DecodeOptions, decode
from unheard.device import select_device
from unheard.encoders import SAMPLE_RATE
from unheard.hub.checkpoints import checkpoint_folder
from unheard.model.speech_llm import SpeechLLM
from unheard.serving.formats import Transcript
from unheard.serving.windows import WindowOptions, cut_windows, join_segments

AudioSource = str | os.PathLike | bytes | np.ndarray  # what transcribe and translate take
MIN_AUDIO_S = 0.1  # shorter clips hold no word, and some encoders need 35 ms for one frame
_LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*")
# CLDR codes that name no language: undetermined, multiple, no linguistic content, uncoded
_NOT_LANGUAGES = frozenset({"und", "mul", "zxx", "mis"})


@dataclass(frozen=True)
class AudioTask:
    """One recording and what to write for it."""

    audio: np.ndarray  # (samples,) float32 mono at 16 kHz
    task: str  # "asr" (transcribe) or "st" (translate)
    language: str | None = None  # the spoken language's code, if known
    target_language: str = "en"  # ST: the language to translate into; ASR: ignored


def read_audio(audio: AudioSource, sample_rate: int | None = None) -> np.ndarray:
    """Decode audio into the mono 16 kHz waveform the model takes.

    Args:
        audio: a path to any file libsndfile or ffmpeg reads, the bytes of such a file, or a
            waveform of shape (samples,) or (samples, channels).
        sample_rate: the waveform's rate in Hz; needed for a waveform, ignored for a file (which
            carries its own).

    Returns:
        float32 (samples,) at 16 kHz.

    Raises:
        FileNotFoundError: if a path does not exist.
        ValueError: for empty or undecodable audio, a waveform without a rate or of another
            shape, or samples that are NaN or infinite.
    """
    if isinstance(audio, np.ndarray):
        if sample_rate is None or sample_rate <= 0:
            raise ValueError(f"a waveform needs its sample_rate in Hz, got {sample_rate}")
        waveform = np.asarray(audio, dtype=np.float32)
        if waveform.ndim == 2:
            waveform = waveform.mean(axis=1, dtype=np.float32)  # (samples, channels), as soundfile
        elif waveform.ndim != 1:
            raise ValueError(
                f"a waveform must be (samples,) or (samples, channels), got {audio.shape}"
            )
        if waveform.size == 0:
            raise ValueError("the waveform is empty")
        if sample_rate != SAMPLE_RATE:
            waveform = soxr.resample(waveform, sample_rate, SAMPLE_RATE, quality="HQ")
    elif isinstance(audio, bytes | bytearray | memoryview):
        if len(audio) == 0:
            raise ValueError("the audio is empty (0 bytes)")
        with tempfile.TemporaryDirectory(prefix="unheard-audio-") as directory:
            path = Path(directory) / "audio"
            path.write_bytes(audio)
            waveform = load_audio(path)
    else:
        waveform = load_audio(audio)
    if not np.isfinite(waveform).all():
        raise ValueError("the audio holds NaN or infinite samples")
    return np.ascontiguousarray(waveform, dtype=np.float32)


def encoder_window_s(collator: SpeechCollator) -> float | None:
    """The longest clip the encoder takes in seconds (Whisper's window), or None for no limit."""
    extractor = collator.feature_extractor
    if isinstance(extractor, WhisperLogMel):
        return extractor.window_samples / SAMPLE_RATE
    if isinstance(extractor, WhisperFeatureExtractor):
        return extractor.n_samples / SAMPLE_RATE
    return None


@functools.cache
def _known_languages() -> frozenset[str]:
    """CLDR's language codes (babel): ISO 639-1, and 639-3 where 639-1 has none (``yue``)."""
    from babel import Locale

    return frozenset(c for c in Locale("en").languages if "_" not in c) - _NOT_LANGUAGES


def check_language(code: str, what: str) -> str:
    """Check a language code: an ISO 639-1 code (639-3 where 639-1 has none) that CLDR knows,
    optionally with a region or variant: ``en``, ``yue``, ``pt_BR``, ``zh-CN``.

    Args:
        code: the code a caller gave.
        what: what the code is, for the message (``"language"``, ``"to"``).

    Returns:
        ``code``, unchanged.

    Raises:
        ValueError: naming ``what``, the code and what is accepted, for a malformed code or a
            language no table knows (``xx``, ``zz-notalang``): the model would be prompted with a
            language that does not exist and answer anyway.
    """
    accepted = (
        "an ISO 639-1 code such as 'en', 'fr' or 'ca' (ISO 639-3 where 639-1 has none, e.g. "
        "'yue'), optionally with a region: 'pt_BR', 'zh-CN'"
    )
    if not _LANGUAGE_CODE.fullmatch(code):
        raise ValueError(f"{what} must be a language code, {accepted}; got {code!r}")
    base = re.split(r"[-_]", code, maxsplit=1)[0].lower()
    if base not in _known_languages():
        raise ValueError(f"{what} {code!r} names no known language ({base!r}); give {accepted}")
    return code


class SpeechToText:
    """A speech-LLM ready to transcribe and translate: model, collator, tokenizer and settings.

    Thread-safe: calls from several threads run one at a time.

    Args:
        model: the model (put in eval mode).
        collator: builds batches with the checkpoint's test prompts.
        tokenizer: the LLM's tokenizer.
        options: search settings, batch size and length limit of `unheard.decoding.decode`.
        windows: how long audio is cut; the window is lowered to the encoder's longest clip,
            and the overlap to a quarter of the window.
        name: what the model is called (the checkpoint's directory name).
    """

    def __init__(
        self,
        model: SpeechLLM,
        collator: SpeechCollator,
        tokenizer: PreTrainedTokenizerBase,
        options: DecodeOptions | None = None,
        windows: WindowOptions | None = None,
        name: str = "unheard",
    ) -> None:
        self.model = model.eval()
        self.collator = collator
        self.tokenizer = tokenizer
        self.options = options or DecodeOptions()
        windows = windows or WindowOptions()
        limit = encoder_window_s(collator)
        self.window_s = min(windows.window_s, limit) if limit else windows.window_s
        self.overlap_s = min(windows.overlap_s, self.window_s / 4)
        self.name = name
        self._lock = threading.Lock()

    def transcribe(
        self, audio: AudioSource, *, sample_rate: int | None = None, language: str | None = None
    ) -> Transcript:
        """Write what is said.

        Args:
            audio: a path, the bytes of a file, or a waveform (see `read_audio`).
            sample_rate: the waveform's rate in Hz.
            language: the spoken language's code, used when the checkpoint's prompts name it.

        Returns:
            The transcript: text, timed segments, duration.

        Raises:
            FileNotFoundError, ValueError: for audio that cannot be read (see `read_audio`) or
                is shorter than 0.1 s, or a bad language code.
        """
        waveform = read_audio(audio, sample_rate)
        return self.run([AudioTask(waveform, "asr", language)])[0]

    def translate(
        self,
        audio: AudioSource,
        *,
        to: str = "en",
        sample_rate: int | None = None,
        language: str | None = None,
    ) -> Transcript:
        """Write what is said in another language.

        Args:
            audio: a path, the bytes of a file, or a waveform (see `read_audio`).
            to: the code of the language to translate into.
            sample_rate: the waveform's rate in Hz.
            language: the spoken language's code, used when the checkpoint's prompts name it.

        Returns:
            The translation: text, timed segments, duration.

        Raises:
            FileNotFoundError, ValueError: as `transcribe`.
        """
        waveform = read_audio(audio, sample_rate)
        return self.run([AudioTask(waveform, "st", language, to)])[0]

    def run(self, tasks: Sequence[AudioTask]) -> list[Transcript]:
        """Transcribe or translate several recordings, their windows decoded in shared batches.

        Args:
            tasks: the recordings (16 kHz waveforms) and what to write for each.

        Returns:
            One transcript per task, in order.

        Raises:
            ValueError: for an unknown task, a bad language code, or audio that is not a 1-D
                waveform of at least 0.1 s.
        """
        examples: list[Example] = []
        cuts = []  # (first example, windows, duration) per task
        for t in tasks:
            self._check(t)
            window = round(self.window_s * SAMPLE_RATE)
            windows = cut_windows(len(t.audio), window, round(self.overlap_s * SAMPLE_RATE))
            cuts.append((len(examples), windows))
            target = t.target_language if t.task == "st" else (t.language or "")
            examples += [
                Example(f"{len(cuts) - 1}:{j}", t.audio[w.start : w.end], t.task,
                        t.language or "", target, None)
                for j, w in enumerate(windows)
            ]  # fmt: skip
        if not examples:
            return []
        with self._lock, torch.no_grad():
            texts = decode(self.model, self.collator, self.tokenizer, examples, self.options)
        out = []
        for t, (first, windows) in zip(tasks, cuts, strict=True):
            text, segments = join_segments(
                texts[first : first + len(windows)], windows, SAMPLE_RATE, self.overlap_s
            )
            out.append(
                Transcript(
                    text=text,
                    segments=tuple(segments),
                    duration_s=len(t.audio) / SAMPLE_RATE,
                    task=t.task,
                    language=t.language,
                    target_language=t.target_language if t.task == "st" else (t.language or ""),
                )
            )
        return out

    def _check(self, task: AudioTask) -> None:
        if task.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task.task!r}")
        if task.language is not None:
            check_language(task.language, "language")
        elif self.collator.name_source_language:
            raise ValueError(
                "this checkpoint's prompts name the spoken language "
                "(data.name_source_language=true): give its language code"
            )
        if task.task == "st":
            check_language(task.target_language, "the target language")
        if task.audio.ndim != 1:
            raise ValueError(f"audio must be a (samples,) waveform, got shape {task.audio.shape}")
        if len(task.audio) < MIN_AUDIO_S * SAMPLE_RATE:
            raise ValueError(
                f"the audio lasts {1000 * len(task.audio) / SAMPLE_RATE:.0f} ms; "
                f"at least {1000 * MIN_AUDIO_S:.0f} ms are needed"
            )


def load(
    checkpoint: str | os.PathLike[str],
    device: str | torch.device | None = None,
    options: DecodeOptions | None = None,
    windows: WindowOptions | None = None,
) -> SpeechToText:
    """Load a checkpoint for transcription and translation.

    Args:
        checkpoint: a directory written by ``save_checkpoint`` (``unheard train``'s
            ``checkpoints/step-N``), or the Hugging Face hub id (``USER/NAME``) of a folder
            ``unheard export`` wrote, fetched into the HF cache (``HF_HUB_OFFLINE`` honoured).
        device: where to run (`unheard.device.select_device`): by default CUDA when available,
            then another accelerator, else the CPU.
        options: search settings (greedy by default), batch size and length limit.
        windows: how long audio is cut (20 s windows overlapping by 2 s by default).

    Returns:
        A `SpeechToText` with ``transcribe`` and ``translate``.

    Raises:
        FileNotFoundError: if the directory is not a checkpoint, or the hub id cannot be fetched
            (offline and not in the cache, unknown, unreachable).
        ValueError: if its prompts or parameters are invalid, ``device`` is unavailable, or the
            name is neither a folder nor a hub id.
    """
    device = select_device(device)
    folder = checkpoint_folder(checkpoint)
    model, collator, tokenizer = load_decoder(folder, device=device)
    # a hub model is called by its id; a folder by its own name
    name = folder.resolve().name if folder == Path(checkpoint).expanduser() else str(checkpoint)
    return SpeechToText(model, collator, tokenizer, options, windows, name=name)
