"""lhotse manifests → unheard manifests: a CutSet, or recordings with their supervisions.

Layout: the JSON Lines manifests (gzipped or not) that lhotse recipes, icefall's ``prepare.sh``
and ``unheard data export lhotse`` write::

    CUTS.jsonl.gz                               a CutSet of MonoCuts and MultiCuts
    RECORDINGS.jsonl.gz + SUPERVISIONS.jsonl.gz  a RecordingSet and its SupervisionSet

One record per supervision: ``id`` the supervision's; ``audio`` its recording's file; ``offset``
its start in the recording (the cut's start plus its own, cuts into long recordings included);
``duration`` its own; ``sample_rate`` the recording's; ``language`` its language, as a code or an
English name (lhotse's LibriSpeech recipe says ``"English"``), unless ``language=`` is given;
``text``; ``speaker``. The translation is ``custom["translation"]`` in
``custom["translation_language"]``, as ``unheard data export lhotse`` writes it, or lhotse's
``custom["translated_text"] = {language: text}`` (its IWSLT'22 recipe). ``corpus`` and ``split``
come from ``custom`` too, else from the options, else from an icefall-style file name
(``librispeech_cuts_dev-clean.jsonl.gz``), else ``lhotse`` and ``train``.

Channels. A supervision over all of its recording's channels reads the file down-mixed, as every
unheard record does; one over a channel with a file of its own reads that file; one over some
channels of a multi-channel file gets those channels, averaged, written once for the whole
recording (so that offsets hold) to ``OUT_DIR/<corpus>-audio/<recording>_ch<channels>.flac``.

Skipped and counted: cuts that mix or pad (MixedCut, PaddingCut), cuts without supervisions,
audio that is not a local file (``url``, ``command``, ``memory``, ``shar`` sources: unheard never
downloads nor runs a manifest's commands) or is missing, recordings transformed beyond resampling
(speed, volume, reverberation: unheard reads the file as it is), supervisions that start past
their recording's end, or have neither text nor translation, or no language, and repeated ids.
Manifests: ``<corpus>_<language or pair>_<split>.jsonl.gz``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from unheard.data.extras import require
from unheard.data.importers.languages import LanguageSelection, language_code
from unheard.data.importers.recipe import Skips, check_found, split_name, write_split
from unheard.data.manifest import Utterance
from unheard.files import atomic_path

log = logging.getLogger(__name__)

PURPOSE = "reading lhotse manifests"
DEFAULT_CORPUS = "lhotse"
DEFAULT_SPLIT = "train"
LAYOUT = "a lhotse CutSet (cuts.jsonl.gz), or --recordings and --supervisions"
_KINDS = ("cuts", "supervisions", "recordings")
_ICEFALL_NAME = re.compile(rf"^(?:(?P<corpus>.+?)_)?(?:{'|'.join(_KINDS)})(?:_(?P<split>.+))?$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*$")


@dataclass
class _Supervision:
    """One supervision's record, or why it cannot be one (counted in its manifest's skips)."""

    fields: dict[str, Any]  # Utterance fields but audio
    audio: Path | None = None  # the file to read, when it is a file as it is
    channels: tuple[Path, tuple[int, ...], str] | None = None  # (file, channels, recording id)
    problem: tuple[str, str] | None = None  # (reason, example)


def _corpus_name(name: str) -> str:
    """A corpus name as manifest names take it: ``"LibriSpeech_2"`` → ``"librispeech-2"``."""
    return re.sub(r"[^a-z0-9.-]+", "-", name.lower()).strip("-.") or DEFAULT_CORPUS


def _names_of(path: Path) -> tuple[str | None, str | None]:
    """``(corpus, split)`` from an icefall-style name: ``librispeech_cuts_dev-clean.jsonl.gz``."""
    stem = re.sub(r"(\.jsonl|\.json)?(\.gz)?$", "", path.name)
    match = _ICEFALL_NAME.match(stem)
    if not match:
        return None, None
    return match["corpus"], match["split"] and split_name(match["split"])


def _load(source: Path | None, recordings: Path | None, supervisions: Path | None) -> Any:
    """The CutSet the paths name (read lazily)."""
    lhotse = require("lhotse", "lhotse", PURPOSE)
    for path in (source, recordings, supervisions):
        if path is not None and not path.is_file():
            raise FileNotFoundError(f"lhotse manifest {path} does not exist")
    if source is not None:
        if recordings is not None or supervisions is not None:
            raise ValueError("give a CutSet, or --recordings and --supervisions, not both")
        manifest = lhotse.load_manifest_lazy(source)
        if not isinstance(manifest, lhotse.CutSet):
            raise ValueError(
                f"{source} is a {type(manifest).__name__}, not a CutSet; give recordings and "
                f"supervisions as --recordings R.jsonl.gz --supervisions S.jsonl.gz"
            )
        return manifest
    if recordings is None or supervisions is None:
        raise ValueError("give a CutSet, or both --recordings and --supervisions")
    return lhotse.CutSet.from_manifests(
        recordings=lhotse.RecordingSet.from_file(recordings),
        supervisions=lhotse.SupervisionSet.from_file(supervisions),
    )


def _file(source: str, folder: Path) -> Path:
    """A source path as lhotse reads it (relative to the working folder), else by the manifest."""
    path = Path(source).absolute()
    if not path.exists() and not os.path.isabs(source) and (folder / source).exists():
        return folder / source
    return path


def _place_audio(record: _Supervision, recording: Any, wanted: tuple[int, ...], folder: Path):
    """Find the file (and channels) a supervision reads, or say why there is none."""
    unsupported = [type(t).__name__ for t in recording.transforms or []]
    unsupported = [name for name in unsupported if name != "Resample"]
    if unsupported:
        record.problem = ("transformed recording", f"{recording.id}: {', '.join(unsupported)}")
        return
    sources = recording.sources
    kinds = sorted({source.type for source in sources} - {"file"})
    if kinds:
        record.problem = (f"audio not in a local file ({kinds[0]})", recording.id)
        return
    if len(sources) == 1 and set(wanted) == set(recording.channel_ids):
        record.audio = _file(sources[0].source, folder)
        return
    for source in sources:
        if tuple(sorted(source.channels)) == wanted:
            record.audio = _file(source.source, folder)
            return
    for source in sources:
        if set(wanted) <= set(source.channels):
            positions = tuple(source.channels.index(channel) for channel in wanted)
            record.channels = (_file(source.source, folder), positions, recording.id)
            return
    record.problem = ("channels in several files", recording.id)


def _translation(custom: dict, option: str | None) -> tuple[str | None, str | None]:
    """The translation and its language from a supervision's ``custom``."""
    text, language = custom.get("translation"), option or custom.get("translation_language")
    translated = custom.get("translated_text")
    if text is None and isinstance(translated, dict) and translated:
        language = language or next(iter(translated))
        text = translated.get(language)
    text = " ".join(str(text).split()) if text is not None else None
    return text or None, language


def _records(cuts: Any, names: tuple[str | None, str | None], folder: Path, options: dict,
             unassigned: Skips) -> Iterable[_Supervision]:  # fmt: skip
    """One `_Supervision` per supervision of every cut; those with no language are counted."""
    lhotse_cut = require("lhotse.cut", "lhotse", PURPOSE)
    for cut in cuts:
        if not isinstance(cut, lhotse_cut.MonoCut | lhotse_cut.MultiCut):
            unassigned.add("mixed or padded cut", f"{cut.id} ({type(cut).__name__})")
            continue
        if not cut.supervisions:
            unassigned.add("cut without supervision", cut.id)
            continue
        recording = cut.recording
        for supervision in cut.supervisions:
            custom = {**(cut.custom or {}), **(supervision.custom or {})}
            spoken = options["language"] or supervision.language
            try:
                language = language_code(str(spoken)) if spoken else None
            except ValueError:
                unassigned.add("unknown language", f"{supervision.id}: {spoken!r}")
                continue
            if language is None:
                unassigned.add("no language", supervision.id)
                continue
            translation, target = _translation(custom, options["translation_language"])
            offset, duration = cut.start + supervision.start, supervision.duration
            if offset < 0:  # a supervision reaching before its recording starts
                offset, duration = 0.0, duration + offset
            corpus = options["corpus"] or custom.get("corpus") or names[0] or DEFAULT_CORPUS
            split = options["split"] or custom.get("split") or names[1] or DEFAULT_SPLIT
            text = " ".join((supervision.text or "").split()) or None
            record = _Supervision(
                {
                    "id": supervision.id,
                    "offset": offset,
                    "duration": duration,
                    "sample_rate": None if recording.transforms else recording.sampling_rate,
                    "language": language,
                    "text": text,
                    "translation": translation,
                    "translation_language": language_code(target) if translation else None,
                    "speaker": supervision.speaker or None,
                    "corpus": _corpus_name(str(corpus)),
                    "split": split_name(str(split)),
                }
            )
            channel = supervision.channel
            wanted = tuple(sorted(set(channel if isinstance(channel, list) else [channel])))
            if not (text or translation):
                record.problem = ("no text nor translation", supervision.id)
            elif duration <= 0 or offset >= recording.duration:
                record.problem = ("supervision outside its recording", supervision.id)
            else:
                _place_audio(record, recording, wanted, folder)
            yield record


def _extract(source: Path, positions: tuple[int, ...], target: Path) -> None:
    """Write some channels of a file, averaged, as FLAC: once (again if the source is newer)."""
    if target.is_file() and target.stat().st_mtime_ns >= source.stat().st_mtime_ns:
        return
    with atomic_path(target) as temporary, soundfile.SoundFile(source) as audio:
        subtype = "PCM_16" if audio.subtype == "PCM_16" else "PCM_24"
        with soundfile.SoundFile(
            temporary, "w", audio.samplerate, 1, subtype=subtype, format="FLAC"
        ) as out:
            for block in audio.blocks(blocksize=1 << 16, always_2d=True, dtype="float32"):
                # (frames, channels) → (frames,), the chosen channels averaged
                out.write(block[:, list(positions)].mean(axis=1, dtype=np.float32))


def _build(records: list[_Supervision], audio_dir: Path, skips: Skips) -> Iterable[Utterance]:
    """The records of one manifest, their audio found or its channels written."""
    seen: set[str] = set()
    for record in records:
        ident = record.fields["id"]
        if record.problem is not None:
            skips.add(*record.problem)
            continue
        if ident in seen:
            skips.add("repeated id", ident)
            continue
        seen.add(ident)
        audio = record.audio
        if record.channels is not None:
            source, positions, recording_id = record.channels
            if not source.is_file():
                skips.add_missing_audio(source)
                continue
            name = re.sub(r"[^A-Za-z0-9._-]+", "_", recording_id)
            audio = audio_dir / f"{name}_ch{'-'.join(map(str, positions))}.flac"
            try:
                _extract(source, positions, audio)
            except (OSError, RuntimeError, soundfile.SoundFileError) as e:
                skips.add("channels unreadable", f"{source}: {e}")
                continue
        assert audio is not None, "_place_audio sets a file, channels, or a problem"
        if not audio.is_file():
            skips.add_missing_audio(audio)
            continue
        yield Utterance(audio=str(audio), **record.fields)


def prepare_lhotse(
    source: str | os.PathLike[str] | None,
    out_dir: str | os.PathLike[str],
    languages: Sequence[str] | None = None,
    exclude_languages: Sequence[str] = (),
    *,
    recordings: str | os.PathLike[str] | None = None,
    supervisions: str | os.PathLike[str] | None = None,
    language: str | None = None,
    translation_language: str | None = None,
    split: str | None = None,
    corpus: str | None = None,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write the manifests of lhotse manifests, one per corpus, language (pair) and split.

    Args:
        source: a CutSet file (``cuts.jsonl.gz``); ``None`` with ``recordings`` and
            ``supervisions``.
        out_dir: where the manifests go (created when missing).
        languages: spoken languages to import, by ISO 639-1 code; ``None`` imports all.
        exclude_languages: spoken languages never to import; wins over ``languages``.
        recordings: a RecordingSet file, with ``supervisions`` instead of ``source``.
        supervisions: its SupervisionSet file.
        language: the spoken language of every supervision (wins over theirs).
        translation_language: the language of every translation (wins over ``custom``'s).
        split: the split of every record (wins over ``custom``'s and the file name's).
        corpus: the corpus of every record (wins over ``custom``'s and the file name's).
        overwrite: rebuild manifests even when they are up to date.

    Returns:
        The manifest paths by ``"<language or pair>_<split>"`` (``"<corpus>/<key>_<split>"``
        where the records name several corpora).

    Raises:
        FileNotFoundError: if a manifest does not exist.
        ValueError: for a file that is not a CutSet, a malformed ``corpus``, or when no
            supervision matches the language filters.
        MissingExtraError: if ``lhotse`` is not installed.
    """
    paths = [Path(p) if p is not None else None for p in (source, recordings, supervisions)]
    if corpus is not None and not _NAME.match(corpus):
        raise ValueError(f"corpus must be lower-case letters, digits, '.' and '-', got {corpus!r}")
    cuts = _load(*paths)
    named = paths[0] or paths[2]
    assert named is not None, "_load needs a CutSet or supervisions"
    options = {
        "language": language,
        "translation_language": translation_language,
        "split": split,
        "corpus": corpus,
    }
    unassigned = Skips()
    selection = LanguageSelection.of(languages, exclude_languages)
    groups: dict[tuple[str, str, str], list[_Supervision]] = {}
    found = set()
    for record in _records(cuts, _names_of(named), named.absolute().parent, options, unassigned):
        fields = record.fields
        found.add(fields["language"])
        if selection.selects(fields["language"]):
            key = fields["language"]
            if fields["translation_language"]:
                key += f"-{fields['translation_language']}"
            groups.setdefault((fields["corpus"], key, fields["split"]), []).append(record)
    if unassigned.total:
        log.warning(
            "%s: %d supervisions skipped: %s", named, unassigned.total, unassigned.summary()
        )
    inputs = [path for path in paths if path is not None]
    out = Path(out_dir)
    several = len({corpus_ for corpus_, _, _ in groups}) > 1
    written = {}
    for (corpus_, key, split_), records in sorted(groups.items()):
        build = partial(_build, records, out / f"{corpus_}-audio")
        path = write_split(
            out, corpus_, key, split_, inputs, build, options=options, overwrite=overwrite
        )
        written[f"{corpus_}/{key}_{split_}" if several else f"{key}_{split_}"] = path
    return check_found(written, "lhotse", named.absolute(), selection, found, LAYOUT)
