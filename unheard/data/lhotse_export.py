"""unheard manifests → a lhotse CutSet, so that NeMo, icefall and any lhotse recipe read them.

Writes three lhotse manifests into ``OUT_DIR``::

    cuts.jsonl.gz           one cut per utterance (MonoCut; MultiCut for multi-channel audio)
    recordings.jsonl.gz     one recording per audio file, shared by the utterances it holds
    supervisions.jsonl.gz   one supervision per utterance, its start in the recording

A cut is the utterance's stretch of its recording (``start`` the utterance's offset), with one
supervision over all of it: ``text``, ``language`` and ``speaker`` as in the manifest, and in
``custom`` whichever of ``translation``, ``translation_language``, ``corpus`` and ``split`` the
utterance has. `unheard.data.importers.lhotse_cuts` reads them back to the same records.

Recordings are described by the audio's own header (rate, samples, channels), read by libsndfile,
or ffprobe for what it cannot read; a cut of a multi-channel file spans every channel, as unheard
reads it down-mixed. Utterances whose audio is missing or unreadable are skipped and counted.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import soundfile

from unheard.data.audio import audio_info
from unheard.data.extras import require
from unheard.data.importers.recipe import Skips
from unheard.data.manifest import Utterance, read_manifest

log = logging.getLogger(__name__)

PURPOSE = "exporting lhotse manifests"
CUTS, RECORDINGS, SUPERVISIONS = "cuts.jsonl.gz", "recordings.jsonl.gz", "supervisions.jsonl.gz"
CUSTOM_FIELDS = ("translation", "translation_language", "corpus", "split")


@dataclass(frozen=True)
class LhotseExport:
    """What `export_lhotse` wrote."""

    cuts: Path
    recordings: Path
    supervisions: Path
    utterances: int  # cuts written
    skipped: Skips  # utterances left out, by reason


def _channels(path: Path) -> int:
    """How many channels an audio file has (libsndfile, else ffprobe)."""
    try:
        return soundfile.info(str(path)).channels
    except soundfile.SoundFileError:
        pass
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        raise ValueError(f"cannot count the channels of {path}: ffprobe is not installed")
    command = [ffprobe, "-v", "error", "-select_streams", "a:0", "-of", "json"]
    result = subprocess.run(
        [*command, "-show_entries", "stream=channels", str(path)], capture_output=True, check=False
    )
    try:
        return int(json.loads(result.stdout)["streams"][0]["channels"])
    except (ValueError, KeyError, IndexError) as e:
        raise ValueError(f"cannot count the channels of {path}") from e


class _Recordings:
    """One lhotse Recording per audio file, with ids unique among them."""

    def __init__(self, lhotse: Any) -> None:
        self.lhotse = lhotse
        self.by_path: dict[str, Any] = {}
        self.ids: set[str] = set()

    def get(self, path: str) -> Any:
        """The file's Recording, made the first time it is asked for.

        Raises:
            FileNotFoundError, ValueError: if the file is missing or cannot be read.
        """
        if path in self.by_path:
            return self.by_path[path]
        info = audio_info(path)
        channels = _channels(Path(path))
        samples = round(info.duration_s * info.sample_rate)
        stem = re.sub(r"\s+", "_", Path(path).stem) or "recording"
        ident, number = stem, 1
        while ident in self.ids:
            number += 1
            ident = f"{stem}-{number}"
        self.ids.add(ident)
        source = self.lhotse.AudioSource(type="file", channels=list(range(channels)), source=path)
        recording = self.lhotse.Recording(
            id=ident,
            sources=[source],
            sampling_rate=info.sample_rate,
            num_samples=samples,
            duration=samples / info.sample_rate,
        )
        self.by_path[path] = recording
        return recording


def _cut(lhotse: Any, utterance: Utterance, recording: Any) -> tuple[Any, Any]:
    """The utterance's cut, and its supervision with its start in the recording."""
    channels = recording.channel_ids
    channel: int | list[int] = channels[0] if len(channels) == 1 else list(channels)
    custom = {name: getattr(utterance, name) for name in CUSTOM_FIELDS}
    custom = {name: value for name, value in custom.items() if value is not None}
    supervision = lhotse.SupervisionSegment(
        id=utterance.id,
        recording_id=recording.id,
        start=utterance.offset,
        duration=utterance.duration,
        channel=channel,
        text=utterance.text,
        language=utterance.language,
        speaker=utterance.speaker,
        custom=custom or None,
    )
    kind = lhotse.MonoCut if isinstance(channel, int) else lhotse.cut.MultiCut
    cut = kind(
        id=utterance.id,
        start=utterance.offset,
        duration=utterance.duration,
        channel=channel,
        recording=recording,
        supervisions=[supervision.with_offset(-utterance.offset)],  # in the cut: from its start
    )
    return cut, supervision


def export_lhotse(
    manifests: Sequence[str | os.PathLike[str]], out_dir: str | os.PathLike[str]
) -> LhotseExport:
    """Write unheard manifests as one lhotse CutSet, with its recordings and supervisions.

    Args:
        manifests: the manifests; their utterance ids must be distinct.
        out_dir: where ``cuts.jsonl.gz``, ``recordings.jsonl.gz`` and ``supervisions.jsonl.gz``
            go (created when missing; files of those names are replaced).

    Returns:
        The paths written, the number of cuts, and the utterances skipped by reason.

    Raises:
        FileNotFoundError: if a manifest does not exist.
        ValueError: for a bad manifest line, or an id in two records.
        MissingExtraError: if ``lhotse`` is not installed.
    """
    lhotse = require("lhotse", "lhotse", PURPOSE)
    require("lhotse.cut", "lhotse", PURPOSE)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    recordings = _Recordings(lhotse)
    skipped = Skips()
    where: dict[str, Path] = {}
    written = 0
    with (
        lhotse.CutSet.open_writer(out / CUTS, overwrite=True) as cuts,
        lhotse.SupervisionSet.open_writer(out / SUPERVISIONS, overwrite=True) as supervisions,
    ):
        for manifest in map(Path, manifests):
            for utterance in read_manifest(manifest):
                if utterance.id in where:
                    raise ValueError(
                        f"id {utterance.id!r} is in {where[utterance.id]} and {manifest}: a "
                        f"CutSet needs distinct ids; export them apart (another --out)"
                    )
                where[utterance.id] = manifest
                try:
                    recording = recordings.get(utterance.audio)
                except FileNotFoundError:
                    skipped.add_missing_audio(Path(utterance.audio))
                    continue
                except ValueError as e:
                    skipped.add("unreadable audio", f"{utterance.audio}: {e}")
                    continue
                cut, supervision = _cut(lhotse, utterance, recording)
                cuts.write(cut)
                supervisions.write(supervision)
                written += 1
    lhotse.RecordingSet.from_recordings(recordings.by_path.values()).to_file(out / RECORDINGS)
    if skipped.total:
        log.warning("lhotse export: skipped %d utterances: %s", skipped.total, skipped.summary())
    return LhotseExport(out / CUTS, out / RECORDINGS, out / SUPERVISIONS, written, skipped)
