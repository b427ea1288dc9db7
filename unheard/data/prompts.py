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


# Training samples a paraphrase per example (the paper's recipe); test uses `Prompts` (fixed).
# {target} is the target language's English name; none names the source language, so they serve
# the zero-resource case where the spoken language is unknown.
PROMPT_POOLS: dict[str, tuple[str, ...]] = {
    "asr": (
        "Transcribe the audio. " + AUDIO,
        "Write down what is said. " + AUDIO,
        "Transcribe this speech. " + AUDIO,
        AUDIO + " Transcribe the audio above.",
        "What is being said in this recording? " + AUDIO,
        "Give a verbatim transcript of the audio. " + AUDIO,
        "Convert the speech to text. " + AUDIO,
        "Listen and write exactly what you hear. " + AUDIO,
        "Audio: " + AUDIO + " Transcript:",
        "Produce the transcription of this clip. " + AUDIO,
        "Write the words spoken in the audio, in the language they are spoken in. " + AUDIO,
        "Repeat what the speaker says, as text. " + AUDIO,
    ),
    "st": (
        "Translate the audio into {target}. " + AUDIO,
        "Translate what is said into {target}. " + AUDIO,
        "Give the {target} translation of this speech. " + AUDIO,
        AUDIO + " Translate the audio above into {target}.",
        "What does the speaker say? Answer in {target}. " + AUDIO,
        "Render this recording in {target}. " + AUDIO,
        "Listen and write the {target} translation. " + AUDIO,
        "Audio: " + AUDIO + " {target} translation:",
        "Translate the speech to {target} text. " + AUDIO,
        "Write in {target} what is said in the audio. " + AUDIO,
        "Provide a {target} translation of this clip. " + AUDIO,
        "Speech translation into {target}: " + AUDIO,
    ),
}


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

    def render(
        self, task: str, source: str | None, target: str | None, template: str | None = None
    ) -> tuple[str, str]:
        """The text before and after the audio for one example.

        Args:
            task: "asr" or "st".
            source: the spoken language's code, or None (``{source}`` left empty).
            target: the answer's language code.
            template: a template to use instead of the task's fixed one (a sampled paraphrase).

        Raises:
            ValueError: for a task without a prompt, or a template without ``<audio>``.
        """
        if template is None:
            if task not in self.templates:
                raise ValueError(
                    f"no prompt for task {task!r}; prompts exist for {sorted(self.templates)}"
                )
            template = self.templates[task]
        elif template.count(AUDIO) != 1:
            raise ValueError(f"prompt template must contain {AUDIO} exactly once: {template!r}")
        text = template.format(
            source=language_name(source or ""), target=language_name(target or "")
        )
        prefix, _, suffix = text.partition(AUDIO)
        return prefix, suffix
