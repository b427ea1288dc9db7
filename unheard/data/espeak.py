"""Synthetic multilingual speech from espeak-ng, and the small parallel number corpus built on it.

espeak-ng speaks about 100 languages, about 1000 times faster than real time, with no model
files: on a machine without a model hub it is the one source of speech in many languages. Its
voices are robotic, so it serves the toolkit's end-to-end slice and tests, not real training.
num2words writes the same number in each language, which makes the text truly parallel: the
spoken Spanish "siete" has the English translation "seven".
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile
import soxr
from num2words import num2words

from unheard.data.manifest import Utterance, write_manifest
from unheard.encoders import SAMPLE_RATE
from unheard.files import atomic_path

# Voice per language where the language code alone is not an espeak-ng voice (or a poor one).
ESPEAK_VOICES = {"en": "en-us", "fr": "fr-fr", "pt_BR": "pt-br", "es_VE": "es-419"}
# Ranges of espeak-ng settings drawn per utterance, so that the corpus is not one voice alone.
SPEED_RANGE = (150, 190)  # words per minute
PITCH_RANGE = (35, 65)  # espeak-ng's 0–99 pitch scale
NUMBER_CORPUS = "espeak-numbers"


def synthesize(
    text: str, voice: str, speed: int = 160, pitch: int = 50, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """Speak a text with espeak-ng.

    Runs ``espeak-ng -v VOICE -s SPEED -p PITCH --stdout`` with the text on standard input
    (the same audio as passing it as an argument, but text starting with "-" cannot be taken for
    an option), decodes the 22,050 Hz 16-bit WAV it writes and resamples it.

    Args:
        text: what to say.
        voice: an espeak-ng voice, e.g. ``"es"``, ``"en-us"`` (``espeak-ng --voices`` lists them).
        speed: speaking rate in words per minute (espeak-ng accepts 80–450).
        pitch: base pitch on espeak-ng's 0–99 scale.
        sample_rate: rate of the returned waveform in Hz.

    Returns:
        The speech, shape (samples,), float32 mono at ``sample_rate``.

    Raises:
        ValueError: if ``text`` is empty.
        RuntimeError: if espeak-ng is not installed, fails (e.g. an unknown voice), or writes no
            audio.
    """
    if not text.strip():
        raise ValueError("text to synthesize is empty")
    program = shutil.which("espeak-ng")
    if program is None:
        raise RuntimeError(
            "espeak-ng is not installed or not on PATH; install it with `apt-get install espeak-ng`"
        )
    command = [program, "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout"]
    try:
        result = subprocess.run(
            command, input=text.encode("utf-8"), capture_output=True, check=True
        )
    except subprocess.CalledProcessError as e:
        message = e.stderr.decode("utf-8", errors="replace").strip()
        raise RuntimeError(f"espeak-ng failed for voice {voice!r}: {message}") from e
    try:
        # (samples,) at espeak-ng's own rate, read from its rate in the header.
        waveform, rate = soundfile.read(io.BytesIO(result.stdout), dtype="float32")
    except soundfile.SoundFileError as e:
        raise RuntimeError(f"espeak-ng wrote no decodable WAV for voice {voice!r}") from e
    if waveform.size == 0:
        raise RuntimeError(f"espeak-ng wrote no audio for {text!r} with voice {voice!r}")
    if rate != sample_rate:
        waveform = soxr.resample(waveform, rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(waveform, dtype=np.float32)


def _language_rng(seed: int, language: str) -> np.random.Generator:
    """A generator that depends on the seed and the language only, not on the language order."""
    # crc32, not hash(): Python salts str hashes per process.
    return np.random.default_rng([seed, zlib.crc32(language.encode("utf-8"))])


def make_number_corpus(
    out_dir: str | os.PathLike[str],
    languages: Sequence[str] = ("en", "es", "de", "fr"),
    per_language: int = 12,
    seed: int = 0,
) -> Path:
    """Write a small parallel corpus of spoken numbers: speech in each language, English text.

    For each language, ``per_language`` distinct integers are drawn from 0–99 by ``seed``; each
    is spoken by espeak-ng with a speed and pitch drawn per utterance, transcribed with
    ``num2words(n, lang=language)`` and translated with ``num2words(n, lang="en")``. Audio goes to
    ``out_dir/audio/<id>.wav`` (16 kHz, 16-bit PCM), records to ``out_dir/manifest.jsonl``.
    Rerunning is cheap: existing wav files are kept, not synthesized again, and the manifest is
    rewritten with the same records.

    Args:
        out_dir: the corpus folder, created when missing.
        languages: num2words language codes; each needs an espeak-ng voice (see
            ``ESPEAK_VOICES`` for the codes that differ from the voice name).
        per_language: utterances per language, 1–100.
        seed: draws the numbers, speeds and pitches.

    Returns:
        The path of the manifest written.

    Raises:
        ValueError: if ``per_language`` is out of range, a language is repeated, or num2words
            does not know a language.
        RuntimeError: if espeak-ng is missing or fails.
    """
    if not 1 <= per_language <= 100:
        raise ValueError(f"per_language must be 1–100 (numbers come from 0–99), got {per_language}")
    if len(set(languages)) != len(languages):
        raise ValueError(f"languages must be distinct, got {list(languages)}")
    out_dir = Path(out_dir)
    audio_dir = out_dir / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    sample_rate = SAMPLE_RATE

    utterances = []
    for language in languages:
        voice = ESPEAK_VOICES.get(language, language)
        rng = _language_rng(seed, language)
        numbers = sorted(int(n) for n in rng.choice(100, size=per_language, replace=False))
        for number in numbers:
            # Drawn for every number, kept or not, so the settings of one file never depend on
            # which other files already exist.
            speed = int(rng.integers(SPEED_RANGE[0], SPEED_RANGE[1] + 1))
            pitch = int(rng.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1))
            try:
                text = num2words(number, lang=language)
            except NotImplementedError as e:
                raise ValueError(f"num2words has no language {language!r}") from e
            utterance_id = f"{language}-{number:04d}"
            wav = audio_dir / f"{utterance_id}.wav"
            if wav.exists():
                samples = soundfile.info(wav).frames
            else:
                waveform = synthesize(text, voice, speed, pitch, sample_rate)
                # a killed run must not leave a cut file that a rerun would then keep
                with atomic_path(wav) as partial:
                    soundfile.write(partial, waveform, sample_rate, subtype="PCM_16", format="WAV")
                samples = len(waveform)
            utterances.append(
                Utterance(
                    id=utterance_id,
                    audio=str(wav),
                    duration=samples / sample_rate,
                    sample_rate=sample_rate,
                    language=language,
                    text=text,
                    translation=num2words(number, lang="en"),
                    translation_language="en",
                    speaker=f"{voice}-s{speed}-p{pitch}",
                    corpus=NUMBER_CORPUS,
                    split="train",
                )
            )
    manifest = out_dir / "manifest.jsonl"
    write_manifest(manifest, utterances)
    return manifest
