"""Task prompts around the audio: ``<audio>`` marks where the audio embeddings go."""

from __future__ import annotations

from dataclasses import dataclass, field

AUDIO = "<audio>"
TASKS = ("asr", "st")

# English names for prompts that name a language ("Translate the audio into English.")
LANGUAGE_NAMES = {
    "ar": "Arabic", "ca": "Catalan", "cs": "Czech", "cy": "Welsh", "da": "Danish",
    "de": "German", "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian",
    "fa": "Persian", "fi": "Finnish", "fr": "French", "hu": "Hungarian", "id": "Indonesian",
    "it": "Italian", "ja": "Japanese", "lt": "Lithuanian", "lv": "Latvian", "mn": "Mongolian",
    "nl": "Dutch", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian",
    "sk": "Slovak", "sl": "Slovenian", "sv": "Swedish", "ta": "Tamil", "tr": "Turkish",
    "uk": "Ukrainian", "zh": "Chinese",
}  # fmt: skip


def language_name(code: str) -> str:
    """English name of an ISO 639-1 code, or the code itself when unknown."""
    return LANGUAGE_NAMES.get(code, code)


@dataclass(frozen=True)
class Prompts:
    """One fixed prompt per task (the test-time prompts of the paper's recipe).

    ``{target}`` is replaced by the target language's English name, ``{source}`` by the source
    language's (leave it out for the zero-resource case, where the source is unknown).
    """

    templates: dict[str, str] = field(
        default_factory=lambda: {
            "asr": "Transcribe the audio. " + AUDIO,
            "st": "Translate the audio into {target}. " + AUDIO,
        }
    )

    def __post_init__(self) -> None:
        for task, template in self.templates.items():
            if template.count(AUDIO) != 1:
                raise ValueError(
                    f"prompt for {task!r} must contain {AUDIO} exactly once: {template!r}"
                )

    def render(self, task: str, source: str | None, target: str | None) -> tuple[str, str]:
        """The text before and after the audio for one example.

        Raises:
            ValueError: for a task without a prompt.
        """
        if task not in self.templates:
            raise ValueError(
                f"no prompt for task {task!r}; prompts exist for {sorted(self.templates)}"
            )
        text = self.templates[task].format(
            source=language_name(source or ""), target=language_name(target or "")
        )
        prefix, _, suffix = text.partition(AUDIO)
        return prefix, suffix
