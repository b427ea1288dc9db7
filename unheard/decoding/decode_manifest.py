"""Decode a whole manifest into a hypothesis file: resumable, batched by duration, robust to bad
audio.

The story: read the manifest, leave out what the output file already holds, batch the rest by
the manifest's durations, load each batch's audio (a record whose audio fails to load is logged,
counted and skipped: it is tried again by the next run), decode, append the batch and flush.
When every utterance is done the file is rewritten in manifest order, so that the output of an
interrupted-and-resumed run is byte-identical to that of a run that never stopped.

ASR may go through phones (``via_phonemes``: `unheard.decoding.phoneme_bridge`, in two passes or
one): each line then holds the phones beside the text, and a file holds ASR lines of one kind
only (a run through phones refuses to resume a file of direct ASR, and the other way round).
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm
from transformers import PreTrainedTokenizerBase

from unheard.data.audio import load_audio
from unheard.data.collate import Example, SpeechCollator
from unheard.data.manifest import Utterance, read_manifest
from unheard.data.phonemes import G2P_LANGUAGES, phonemize
from unheard.data.prompts import TASKS
from unheard.decoding.batching import duration_batches
from unheard.decoding.decode import DecodeOptions, decode_batch
from unheard.decoding.hypotheses import (
    Hypothesis,
    append_hypotheses,
    read_hypotheses,
    repair_and_read_done,
)
from unheard.decoding.phoneme_bridge import BRIDGES, decode_via_phonemes
from unheard.files import atomic_open
from unheard.model.speech_llm import SpeechLLM

log = logging.getLogger(__name__)
# what a hypothesis file holds answers of; phon+asr's answers are split into ASR lines with their
# phones (``via_phonemes="one-pass"``)
DECODE_TASKS = tuple(t for t in TASKS if t != "phon+asr")


@dataclass(frozen=True)
class DecodeSummary:
    """What a run did."""

    decoded: int  # utterances decoded by this run
    already_done: int  # utterances skipped because the output file held them
    failed: tuple[tuple[str, str], ...]  # (id, reason) of utterances whose audio did not load
    seconds: float  # wall-clock time of the run
    audio_seconds: float  # audio decoded by this run


def hypothesis_fields(
    utterance: Utterance, task: str, target_language: str | None = None
) -> tuple[str, str | None]:
    """The target language and reference of an utterance for a task.

    Args:
        utterance: the manifest record.
        task: ``asr`` (answer: the transcript), ``st`` (answer: the translation) or ``phon``
            (answer: the transcript's phones; no reference for a language without a G2P).
        target_language: for ST, the language to translate into; by default the record's
            ``translation_language``, else English.

    Returns:
        ``(target_language, reference)``; the reference is None when the record has no text in
        the target language.
    """
    if task == "asr":
        return utterance.language, utterance.text
    if task == "phon":  # the reference is the transcript's G2P (what phone error rate scores)
        text, language = utterance.text, utterance.language
        return language, phonemize(text, language) if text and language in G2P_LANGUAGES else None
    target = target_language or utterance.translation_language or "en"
    has_reference = utterance.translation_language in (None, target)
    return target, utterance.translation if has_reference else None


def decode_manifest(
    model: SpeechLLM,
    collator: SpeechCollator,
    tokenizer: PreTrainedTokenizerBase,
    manifest: str | os.PathLike[str],
    task: str,
    out: str | os.PathLike[str],
    options: DecodeOptions | None = None,
    target_language: str | None = None,
    progress: bool = True,
    via_phonemes: str | None = None,
) -> DecodeSummary:
    """Decode every utterance of a manifest that ``out`` does not hold yet, appending to ``out``.

    Args:
        model, collator, tokenizer: from `load_decoder`.
        manifest: the utterances to decode.
        task: ``asr``, ``st`` or ``phon``.
        out: the hypothesis file; created, or appended to and finally put in manifest order.
        options: batching, search and length limit.
        target_language: ST target language (see `hypothesis_fields`).
        progress: show a progress bar on stderr.
        via_phonemes: ASR only: ``two-pass`` or ``one-pass`` (`decode_via_phonemes`) writes each
            hypothesis through phones and keeps them in its ``phonemes``; None decodes directly.

    Returns:
        Counts of what was decoded, skipped and failed.

    Raises:
        ValueError: for an unknown task or bridge, a bridge with a task other than ASR, a bad
            manifest, a bad existing output file, or one holding ASR lines of the other kind.
        FileNotFoundError: if the manifest does not exist.
    """
    if task not in DECODE_TASKS:
        raise ValueError(f"task must be one of {DECODE_TASKS}, got {task!r}")
    if via_phonemes is not None and (via_phonemes not in BRIDGES or task != "asr"):
        raise ValueError(
            f"via_phonemes must be one of {BRIDGES} and the task asr, got {via_phonemes!r} with "
            f"task {task!r}"
        )
    options = options or DecodeOptions()
    started = time.perf_counter()
    utterances = read_manifest(manifest)
    ids = Counter(u.id for u in utterances)
    repeated = [i for i, n in ids.items() if n > 1]
    if repeated:
        raise ValueError(f"{manifest}: ids must be unique; repeated: {repeated[:5]}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = repair_and_read_done(out)
    if done and task == "asr":
        _check_same_kind(out, via_phonemes is not None)
    todo = [u for u in utterances if (u.id, task) not in done]
    batches = duration_batches(
        [u.duration for u in todo], options.batch_size, options.max_batch_seconds
    )
    failed: list[tuple[str, str]] = []
    decoded, audio_seconds = 0, 0.0
    model.eval()
    desc = f"decode {task}" + (f" via phonemes ({via_phonemes})" if via_phonemes else "")
    bar = tqdm(total=len(todo), unit="utt", desc=desc, disable=not progress)
    with open(out, "a", encoding="utf-8") as file, bar:
        for indices in batches:
            batch = [todo[i] for i in indices]
            records = _decode_utterances(
                model, collator, tokenizer, batch, task, options, target_language, failed,
                via_phonemes,
            )  # fmt: skip
            append_hypotheses(file, records)  # flushed: a killed run loses at most this batch
            decoded += len(records)
            written = {r.id for r in records}
            audio_seconds += sum(u.duration for u in batch if u.id in written)
            bar.update(len(batch))
    _put_in_manifest_order(out, [(u.id, task) for u in utterances])
    if failed:
        log.warning("%d utterance(s) skipped, audio not loaded: %s", len(failed), failed[:5])
    return DecodeSummary(
        decoded=decoded,
        already_done=len(utterances) - len(todo),
        failed=tuple(failed),
        seconds=time.perf_counter() - started,
        audio_seconds=audio_seconds,
    )


def _decode_utterances(
    model: SpeechLLM,
    collator: SpeechCollator,
    tokenizer: PreTrainedTokenizerBase,
    utterances: list[Utterance],
    task: str,
    options: DecodeOptions,
    target_language: str | None,
    failed: list[tuple[str, str]],
    via_phonemes: str | None = None,
) -> list[Hypothesis]:
    # one batch: load the audio (failures go to `failed`), decode, pair answers with references
    loaded = [(u, _load_example(u, task, target_language, failed)) for u in utterances]
    pairs = [(u, e) for u, e in loaded if e is not None]
    if not pairs:
        return []
    examples = [e for _, e in pairs]
    if via_phonemes is None:
        texts = decode_batch(model, collator, tokenizer, examples, options)
        phonemes: list[str | None] = [None] * len(texts)
    else:
        answers = decode_via_phonemes(model, collator, tokenizer, examples, options, via_phonemes)
        texts, phonemes = [a.text for a in answers], [a.phonemes for a in answers]
    return [
        Hypothesis(
            id=u.id, task=task, language=u.language, target_language=e.target_language,
            hypothesis=text, reference=hypothesis_fields(u, task, target_language)[1],
            phonemes=phones,
        )
        for (u, e), text, phones in zip(pairs, texts, phonemes, strict=True)
    ]  # fmt: skip


def _check_same_kind(out: Path, via_phonemes: bool) -> None:
    # a resumed file must not mix ASR decoded directly with ASR decoded through phones: the
    # scores of such a file would describe neither system
    other = [
        r.id
        for r in read_hypotheses(out)
        if r.task == "asr" and (r.phonemes is None) == via_phonemes
    ]
    if other:
        kind = "directly, without phonemes" if via_phonemes else "via phonemes"
        raise ValueError(
            f"{out} holds {len(other)} ASR hypotheses decoded {kind} (e.g. {other[0]!r}); write "
            "this run to another --out"
        )


def _load_example(
    utterance: Utterance, task: str, target_language: str | None, failed: list[tuple[str, str]]
) -> Example | None:
    try:
        audio = load_audio(utterance.audio, offset=utterance.offset, duration=utterance.duration)
    except (OSError, ValueError, RuntimeError) as e:
        # a bad record never stops a run: it is counted, logged and tried again next run
        log.warning("%s: skipped, audio not loaded: %s", utterance.id, e)
        failed.append((utterance.id, str(e)))
        return None
    target, _ = hypothesis_fields(utterance, task, target_language)
    return Example(utterance.id, audio, task, utterance.language, target, None)


def _put_in_manifest_order(out: Path, order: Sequence[tuple[str, str]]) -> None:
    # Lines of other manifests or tasks keep their place first; this manifest's follow in its
    # order. Written to a temporary file and renamed, so a reader never sees half a file.
    records = read_hypotheses(out)
    rank = {key: i for i, key in enumerate(order)}
    others = [r for r in records if r.key not in rank]
    ours = sorted((r for r in records if r.key in rank), key=lambda r: rank[r.key])
    if [*others, *ours] == records:
        return
    with atomic_open(out) as file:
        append_hypotheses(file, [*others, *ours])


def summary_line(summary: DecodeSummary, out: str | os.PathLike[str]) -> str:
    """One line for the terminal about a finished run."""
    rate = summary.audio_seconds / summary.seconds if summary.seconds > 0 else 0.0
    return (
        f"decoded {summary.decoded}, skipped {summary.already_done} already in {out}, "
        f"{len(summary.failed)} failed (audio not loaded), "
        f"{summary.seconds:.1f}s ({rate:.1f}x real time)"
    )
