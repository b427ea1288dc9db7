"""espeak-ng voices for the synthetic corpus: accent, variant, speed and pitch per utterance.

One espeak-ng voice reads every text the same way; a model trained on it learns that voice. The
corpus varies what espeak-ng can vary: the accent (``en-gb`` / ``en-us``, ``es`` / ``es-419``),
the variant (``-v es+f3``: formant and pitch settings that make male, female and other voices;
``espeak-ng --voices=variant`` lists them), the speaking rate and the base pitch. Each is drawn
from a generator seeded by the corpus seed and the utterance, so an utterance keeps its voice
whatever else the corpus holds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from unheard.data.synth.languages import LanguageSpec

# espeak-ng variants (file names under espeak-ng-data/voices/!v), "" for the voice as it is.
# Left out: the whispered, croaking, "robot" and effect variants (whisper, whisperf, croak,
# Demonic, UniRobot, robosoft*, announcer, Tweaky, …), which no speech to be recognised sounds like.
VARIANTS = ("",) + tuple(
    """m1 m2 m3 m4 m5 m6 m7 m8 f1 f2 f3 f4 f5 klatt klatt2 klatt3 adam Alex Alicia Andrea Andy
    Annie antonio aunty belinda benjamin boris caleb david Denis Diogo ed edward Gene gustave
    Henrique Hugo iven Jacky john Lee linda marcelo Marco Mario max Michael michel miguel Mike
    norbert pablo paul pedro quincy rob robert sandro shelby steph travis victor Zac anika grandma
    grandpa""".split()
)
SPEED_RANGE = (135, 195)  # words per minute, both ends included
PITCH_RANGE = (25, 75)  # espeak-ng's 0–99 base pitch, both ends included


@dataclass(frozen=True)
class VoiceSettings:
    """How espeak-ng says one utterance."""

    voice: str  # espeak-ng voice, e.g. "es-419"
    variant: str  # espeak-ng variant, e.g. "f3"; "" for none
    speed: int  # words per minute
    pitch: int  # 0–99

    @property
    def espeak_voice(self) -> str:
        """The ``-v`` argument: ``"es-419+f3"``, or the voice alone."""
        return f"{self.voice}+{self.variant}" if self.variant else self.voice

    @property
    def speaker(self) -> str:
        """The manifest's speaker id: voice, variant, speed and pitch, e.g. ``"es+f3-s160-p45"``."""
        return f"{self.espeak_voice}-s{self.speed}-p{self.pitch}"


def utterance_rng(seed: int, utterance_id: str) -> np.random.Generator:
    """A generator that depends on the corpus seed and the utterance id only.

    Args:
        seed: the corpus seed.
        utterance_id: e.g. ``"es-cardinal-1234"``.

    Returns:
        A fresh generator; the same arguments give the same draws in any process.
    """
    digest = hashlib.blake2b(f"{seed}\0{utterance_id}".encode(), digest_size=16).digest()
    return np.random.default_rng(list(np.frombuffer(digest, dtype=np.uint32)))


def draw_voice(spec: LanguageSpec, rng: np.random.Generator) -> VoiceSettings:
    """Draw an accent, variant, speed and pitch for one utterance of a language.

    Args:
        spec: the language (its ``voices`` are the accents drawn from).
        rng: the utterance's generator (`utterance_rng`).

    Returns:
        The settings.
    """
    voice = spec.voices[int(rng.integers(len(spec.voices)))]
    variant = VARIANTS[int(rng.integers(len(VARIANTS)))]
    speed = int(rng.integers(SPEED_RANGE[0], SPEED_RANGE[1] + 1))
    pitch = int(rng.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1))
    return VoiceSettings(voice, variant, speed, pitch)
