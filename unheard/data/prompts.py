"""Task prompts around the audio: ``<audio>`` marks where the audio embeddings go, ``<text>``
where the source text's token embeddings go in a text-only example (`TEXT_TASKS`)."""

from __future__ import annotations

from dataclasses import dataclass, field

AUDIO = "<audio>"
TEXT = "<text>"
# speech tasks: transcript, English translation, the transcript's phones
# (`unheard.data.phonemes`), and both in one answer ("phon+asr": the phones, then
# `PHONES_TEXT_SEPARATOR`, then the transcript), the one-pass alternative to decoding through
# phones in two passes (phon, then p2g)
TASKS = ("asr", "st", "phon", "phon+asr")
# text-only tasks (no audio): text → English translation, text with words dropped → the text, and
# the text's phones → the text ("p2g", phonemes to graphemes: the phoneme bridge's second half)
TEXT_TASKS = ("translate", "denoise", "p2g")

# Between the phones and the text of a "phon+asr" answer. Phones are IPA symbols and the word
# boundary "|" (`unheard.data.phonemes`), never "=", so the answer's first "=>" is this mark
# whatever the text holds. The prompts spell it out: a tokenizer trained on them can write it.
PHONES_TEXT_SEPARATOR = "=>"
# the two ways of transcribing through phones (`unheard.decoding.phoneme_bridge`) and the tasks
# each needs prompts and training for: phones, then p2g; or both in one answer
TWO_PASS, ONE_PASS = "two-pass", "one-pass"
BRIDGES = (TWO_PASS, ONE_PASS)
BRIDGE_TASKS = {TWO_PASS: ("phon", "p2g"), ONE_PASS: ("phon+asr",)}

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
    # the answer is IPA phones separated by spaces, words by "|" (`unheard.data.phonemes`)
    "phon": (
        "Write the sounds of the audio as phonemes. " + AUDIO,
        "Transcribe the audio phonetically. " + AUDIO,
        "Write the phonemes you hear. " + AUDIO,
        AUDIO + " Write the sounds above as phonemes.",
        "Which sounds are spoken in this recording? " + AUDIO,
        "Give a phonetic transcription of the audio. " + AUDIO,
        "Convert the speech to IPA phones. " + AUDIO,
        "Listen and write each sound you hear. " + AUDIO,
        "Audio: " + AUDIO + " Phonemes:",
        "Produce the phone sequence of this clip. " + AUDIO,
        "Write the pronunciation of what is said, in IPA. " + AUDIO,
        "Spell out the speech sound by sound. " + AUDIO,
    ),
    # the answer is the phones, then "=>" (`PHONES_TEXT_SEPARATOR`), then the transcript
    "phon+asr": (
        "Write the phonemes of the audio, then => and the transcript. " + AUDIO,
        "Write the sounds you hear as phonemes, then => and the words. " + AUDIO,
        "Transcribe the audio phonetically, then => and in writing. " + AUDIO,
        AUDIO + " Write the phonemes above, then => and the text.",
        "Phonemes => transcript of this recording: " + AUDIO,
        "Give the phone sequence of the audio, then => and what is said. " + AUDIO,
        "Convert the speech to IPA phones, then => and to text. " + AUDIO,
        "Listen, write each sound, then => and the words. " + AUDIO,
        "Audio: " + AUDIO + " Phonemes => text:",
        "Produce the pronunciation, then => and the transcription of this clip. " + AUDIO,
        "Spell out the speech sound by sound, then => and write it down. " + AUDIO,
        "First the phonemes, then => and the transcript of the audio. " + AUDIO,
    ),
}


# The text-only tasks' pools, used like the speech ones: none names the source language.
TEXT_PROMPT_POOLS: dict[str, tuple[str, ...]] = {
    "translate": (
        "Translate the text into {target}. " + TEXT,
        "Translate this text to {target}: " + TEXT,
        "Give the {target} translation of this text. " + TEXT,
        TEXT + " Translate the text above into {target}.",
        "What does this text say? Answer in {target}. " + TEXT,
        "Render this sentence in {target}. " + TEXT,
        "Text: " + TEXT + " {target} translation:",
        "Write in {target} what this text says. " + TEXT,
        "Provide a {target} translation of the following. " + TEXT,
        "Text translation into {target}: " + TEXT,
        "Read the text and write its {target} translation. " + TEXT,
        "Translate into {target}, keeping the meaning exact. " + TEXT,
    ),
    "denoise": (
        "Restore the missing words of the text. " + TEXT,
        "Some words are missing. Write the full text. " + TEXT,
        "Complete this text. " + TEXT,
        TEXT + " Write the text above with its missing words restored.",
        "Fix the text: " + TEXT,
        "Rewrite the sentence in full, in its own language. " + TEXT,
        "Text with gaps: " + TEXT + " Full text:",
        "Write the complete sentence. " + TEXT,
        "Repair this sentence and write it out. " + TEXT,
        "Fill in what is missing and repeat the text. " + TEXT,
        "Write the text again, correctly and completely. " + TEXT,
        "Reconstruct the original sentence. " + TEXT,
    ),
    # the source is IPA phones (`unheard.data.phonemes`), the answer the text in its spelling
    "p2g": (
        "Write these sounds as text: " + TEXT,
        "Spell these phonemes as words. " + TEXT,
        "Write the text these phones spell out. " + TEXT,
        TEXT + " Write the phonemes above as text.",
        "Phonemes: " + TEXT + " Text:",
        "Turn this pronunciation into written words. " + TEXT,
        "What is written that sounds like this? " + TEXT,
        "Convert the IPA phones to text. " + TEXT,
        "Write down the words pronounced here. " + TEXT,
        "Give the spelling of these sounds. " + TEXT,
        "From sounds to spelling: " + TEXT,
        "Read the phonemes and write the sentence. " + TEXT,
    ),
}


# The same instructions naming the source's language ({source}), for
# ``data.name_source_language``: the paper's option for ASR when the spoken language is known.
# Naming it tells the LLM which language to write, against language confusion; the zero-resource
# default (above) must work without it. The text tasks name the text's language too: with them,
# "Catalan" in a prompt comes to mean Catalan text, which speech of the seen languages alone never
# shows for an unseen language.
NAMED_SOURCE_POOLS: dict[str, tuple[str, ...]] = {
    "asr": (
        "Transcribe the {source} audio. " + AUDIO,
        "Write down what is said in {source}. " + AUDIO,
        "Transcribe this {source} speech. " + AUDIO,
        AUDIO + " Transcribe the {source} audio above.",
        "What is being said in this {source} recording? " + AUDIO,
        "Give a verbatim {source} transcript of the audio. " + AUDIO,
        "Convert the {source} speech to {source} text. " + AUDIO,
        "Listen and write exactly what you hear, in {source}. " + AUDIO,
        "{source} audio: " + AUDIO + " Transcript:",
        "Produce the {source} transcription of this clip. " + AUDIO,
        "The speaker speaks {source}. Write their words in {source}. " + AUDIO,
        "Repeat what the speaker says, as {source} text. " + AUDIO,
    ),
    "st": (
        "Translate the {source} audio into {target}. " + AUDIO,
        "Translate what is said in {source} into {target}. " + AUDIO,
        "Give the {target} translation of this {source} speech. " + AUDIO,
        AUDIO + " Translate the {source} audio above into {target}.",
        "What does the {source} speaker say? Answer in {target}. " + AUDIO,
        "Render this {source} recording in {target}. " + AUDIO,
        "Listen to the {source} and write the {target} translation. " + AUDIO,
        "{source} audio: " + AUDIO + " {target} translation:",
        "Translate the {source} speech to {target} text. " + AUDIO,
        "Write in {target} what is said in the {source} audio. " + AUDIO,
        "Provide a {target} translation of this {source} clip. " + AUDIO,
        "Speech translation from {source} into {target}: " + AUDIO,
    ),
    "translate": (
        "Translate the {source} text into {target}. " + TEXT,
        "Translate this {source} text to {target}: " + TEXT,
        "Give the {target} translation of this {source} text. " + TEXT,
        TEXT + " Translate the {source} text above into {target}.",
        "What does this {source} text say? Answer in {target}. " + TEXT,
        "Render this {source} sentence in {target}. " + TEXT,
        "{source} text: " + TEXT + " {target} translation:",
        "Write in {target} what this {source} text says. " + TEXT,
        "Provide a {target} translation of the following {source}. " + TEXT,
        "Text translation from {source} into {target}: " + TEXT,
        "Read the {source} text and write its {target} translation. " + TEXT,
        "Translate from {source} into {target}, keeping the meaning exact. " + TEXT,
    ),
    "denoise": (
        "Restore the missing words of the {source} text. " + TEXT,
        "Some words are missing. Write the full {source} text. " + TEXT,
        "Complete this {source} text. " + TEXT,
        TEXT + " Write the {source} text above with its missing words restored.",
        "Fix the {source} text: " + TEXT,
        "Rewrite the {source} sentence in full. " + TEXT,
        "{source} text with gaps: " + TEXT + " Full text:",
        "Write the complete {source} sentence. " + TEXT,
        "Repair this {source} sentence and write it out. " + TEXT,
        "Fill in what is missing and repeat the {source} text. " + TEXT,
        "Write the {source} text again, correctly and completely. " + TEXT,
        "Reconstruct the original {source} sentence. " + TEXT,
    ),
    "phon": (
        "Write the sounds of the {source} audio as phonemes. " + AUDIO,
        "Transcribe the {source} audio phonetically. " + AUDIO,
        "Write the phonemes you hear in this {source} speech. " + AUDIO,
        AUDIO + " Write the sounds of the {source} above as phonemes.",
        "Which sounds are spoken in this {source} recording? " + AUDIO,
        "Give a phonetic transcription of the {source} audio. " + AUDIO,
        "Convert the {source} speech to IPA phones. " + AUDIO,
        "Listen to the {source} and write each sound you hear. " + AUDIO,
        "{source} audio: " + AUDIO + " Phonemes:",
        "Produce the phone sequence of this {source} clip. " + AUDIO,
        "Write the pronunciation of what is said in {source}, in IPA. " + AUDIO,
        "Spell out the {source} speech sound by sound. " + AUDIO,
    ),
    "phon+asr": (
        "Write the phonemes of the {source} audio, then => and the transcript. " + AUDIO,
        "Write the sounds you hear as phonemes, then => and the {source} words. " + AUDIO,
        "Transcribe the {source} audio phonetically, then => and in writing. " + AUDIO,
        AUDIO + " Write the phonemes of the {source} above, then => and the text.",
        "Phonemes => {source} transcript of this recording: " + AUDIO,
        "Give the phone sequence of the {source} audio, then => and what is said. " + AUDIO,
        "Convert the {source} speech to IPA phones, then => and to {source} text. " + AUDIO,
        "Listen to the {source}, write each sound, then => and the words. " + AUDIO,
        "{source} audio: " + AUDIO + " Phonemes => text:",
        "Produce the pronunciation, then => and the {source} transcription of this clip. " + AUDIO,
        "Spell out the {source} speech sound by sound, then => and write it down. " + AUDIO,
        "First the phonemes, then => and the {source} transcript of the audio. " + AUDIO,
    ),
    "p2g": (
        "Write these sounds as {source} text: " + TEXT,
        "Spell these phonemes as {source} words. " + TEXT,
        "Write the {source} text these phones spell out. " + TEXT,
        TEXT + " Write the phonemes above as {source} text.",
        "{source} phonemes: " + TEXT + " Text:",
        "Turn this {source} pronunciation into written words. " + TEXT,
        "What is written in {source} that sounds like this? " + TEXT,
        "Convert the IPA phones to {source} text. " + TEXT,
        "Write down the {source} words pronounced here. " + TEXT,
        "Give the {source} spelling of these sounds. " + TEXT,
        "From sounds to {source} spelling: " + TEXT,
        "Read the phonemes and write the {source} sentence. " + TEXT,
    ),
}


def prompt_pool(task: str, name_source: bool = False) -> tuple[str, ...]:
    """The training paraphrases of a task (`PROMPT_POOLS`, `TEXT_PROMPT_POOLS`), or with
    ``name_source`` those that name the source's language (`NAMED_SOURCE_POOLS`)."""
    if name_source:
        return NAMED_SOURCE_POOLS[task]
    return PROMPT_POOLS[task] if task in PROMPT_POOLS else TEXT_PROMPT_POOLS[task]


def source_marker(task: str) -> str:
    """Where a task's source goes in its prompt: `AUDIO` for speech tasks, `TEXT` for text ones."""
    return TEXT if task in TEXT_TASKS else AUDIO


def language_name(code: str) -> str:
    """English name of an ISO 639-1 code, or the code itself when unknown."""
    return LANGUAGE_NAMES.get(code, code)


@dataclass(frozen=True)
class Prompts:
    """One fixed prompt per task (the test-time prompts of the paper's recipe, and of the
    text-only tasks, whose prompts mark the source text with ``<text>``).

    ``{target}`` is replaced by the target language's English name, ``{source}`` by the source
    language's (leave it out for the zero-resource case, where the source is unknown).
    """

    templates: dict[str, str] = field(
        default_factory=lambda: {
            "asr": "Transcribe the audio. " + AUDIO,
            "st": "Translate the audio into {target}. " + AUDIO,
            "translate": "Translate the text into {target}. " + TEXT,
            "denoise": "Restore the missing words of the text. " + TEXT,
            "phon": "Write the sounds of the audio as phonemes. " + AUDIO,
            "p2g": "Write these sounds as text: " + TEXT,
            "phon+asr": PROMPT_POOLS["phon+asr"][0],
        }
    )

    @classmethod
    def naming_source(cls) -> Prompts:
        """The fixed prompts that name the source's language (for ``name_source_language``)."""
        return cls({task: pool[0] for task, pool in NAMED_SOURCE_POOLS.items()})

    def __post_init__(self) -> None:
        for task, template in self.templates.items():
            marker = source_marker(task)
            if template.count(marker) != 1:
                raise ValueError(
                    f"prompt for {task!r} must contain {marker} exactly once: {template!r}"
                )

    def render(
        self, task: str, source: str | None, target: str | None, template: str | None = None
    ) -> tuple[str, str]:
        """The text before and after the audio (or source text) for one example.

        Args:
            task: a speech task (`TASKS`) or a text-only one (`TEXT_TASKS`).
            source: the spoken language's code, or None when unknown.
            target: the answer's language code.
            template: a template to use instead of the task's fixed one (a sampled paraphrase).

        Raises:
            ValueError: for a task without a prompt, a template without its marker, or one that
                names the spoken language (``{source}``) when ``source`` is not given.
        """
        marker = source_marker(task)
        if template is None:
            if task not in self.templates:
                raise ValueError(
                    f"no prompt for task {task!r}; prompts exist for {sorted(self.templates)}"
                )
            template = self.templates[task]
        elif template.count(marker) != 1:
            raise ValueError(f"prompt template must contain {marker} exactly once: {template!r}")
        if not source and "{source}" in template:
            raise ValueError(
                f"the {task} prompt names the spoken language ({template!r}): give its language "
                "code (the checkpoint was trained with data.name_source_language=true)"
            )
        text = template.format(
            source=language_name(source or ""), target=language_name(target or "")
        )
        prefix, _, suffix = text.partition(marker)
        return prefix, suffix


def join_phones_and_text(phones: str, text: str) -> str:
    """The answer of a ``phon+asr`` example: ``"<phones> => <text>"``.

    Raises:
        ValueError: if the phones hold the separator (they are not `unheard.data.phonemes`'s).
    """
    if PHONES_TEXT_SEPARATOR in phones:
        raise ValueError(f"phones must not contain {PHONES_TEXT_SEPARATOR!r}, got {phones!r}")
    return f"{phones} {PHONES_TEXT_SEPARATOR} {text}"


def split_phones_and_text(answer: str) -> tuple[str, str]:
    """The phones and the text of a ``phon+asr`` answer, split at its first separator.

    An answer without the separator is all phones and no text: the model stopped (or was cut at
    its length limit) before it reached the text, and WER counts the missing words as deleted.

    Returns:
        ``(phones, text)``, each stripped of outer whitespace.
    """
    phones, _, text = answer.partition(PHONES_TEXT_SEPARATOR)
    return phones.strip(), text.strip()
