"""export_lhotse: manifests → a CutSet that lhotse itself reads, and back with nothing lost."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import soundfile
from lhotse import CutSet, MonoCut, RecordingSet, SupervisionSet
from lhotse.cut import MultiCut

from unheard.data.audio import load_audio
from unheard.data.importers import prepare_lhotse
from unheard.data.lhotse_export import export_lhotse
from unheard.data.manifest import Utterance, read_manifest, write_manifest


@pytest.fixture(scope="module")
def manifests(tmp_path_factory, clips):
    """Two manifests: cuts into a long mono talk with translations, and a stereo clip with a
    translation only; one record whose audio is missing."""
    root = tmp_path_factory.mktemp("corpus")
    talk = np.concatenate([clips[1], np.zeros(8000, np.float32), clips[2]])  # (samples,)
    soundfile.write(root / "talk.wav", talk, 16000, subtype="PCM_16")
    stereo = np.stack([clips[0], 0.5 * clips[0]], axis=1)  # (samples, 2)
    soundfile.write(root / "stereo.flac", stereo, 16000, subtype="PCM_16")
    common = {"corpus": "talks", "split": "train", "sample_rate": 16000}
    talks = [
        Utterance(id="talk-1", audio=str(root / "talk.wav"), offset=0.25, duration=1.0,
                  language="en", text="hello world", translation="hola món",
                  translation_language="ca", speaker="ann", **common),
        Utterance(id="talk-2", audio=str(root / "talk.wav"), offset=1.75, duration=0.5,
                  language="en", text="how are you", translation="com estàs",
                  translation_language="ca", speaker="ann", **common),
        Utterance(id="gone", audio=str(root / "gone.wav"), duration=1.0, language="en",
                  text="missing", **common),
    ]  # fmt: skip
    stereo_rows = [
        Utterance(id="uno", audio=str(root / "stereo.flac"), duration=len(clips[0]) / 16000,
                  sample_rate=16000, language="es", translation="one",
                  translation_language="en", corpus="numbers", split="dev"),
    ]  # fmt: skip
    write_manifest(root / "talks_en-ca_train.jsonl.gz", talks)
    write_manifest(root / "numbers_es-en_dev.jsonl.gz", stereo_rows)
    return [root / "talks_en-ca_train.jsonl.gz", root / "numbers_es-en_dev.jsonl.gz"]


@pytest.fixture(scope="module")
def exported(manifests, tmp_path_factory):
    return export_lhotse(manifests, tmp_path_factory.mktemp("lhotse"))


def test_lhotse_reads_the_cut_set(exported, caplog):
    assert exported.utterances == 3
    assert exported.skipped.counts == {"missing audio": 1}
    cuts = CutSet.from_file(exported.cuts)
    by_id = {cut.id: cut for cut in cuts}
    assert sorted(by_id) == ["talk-1", "talk-2", "uno"]
    talk = by_id["talk-2"]
    assert isinstance(talk, MonoCut) and (talk.start, talk.duration) == (1.75, 0.5)
    supervision = talk.supervisions[0]
    assert (supervision.start, supervision.duration) == (0.0, 0.5)  # from the cut's start
    assert (supervision.text, supervision.language, supervision.speaker) == (
        "how are you",
        "en",
        "ann",
    )
    assert supervision.custom == {
        "translation": "com estàs",
        "translation_language": "ca",
        "corpus": "talks",
        "split": "train",
    }
    stereo = by_id["uno"]
    assert isinstance(stereo, MultiCut) and stereo.channel == [0, 1]
    assert stereo.supervisions[0].text is None
    # one recording per file, the talk's shared by its two cuts
    recordings = RecordingSet.from_file(exported.recordings)
    assert sorted(r.id for r in recordings) == ["stereo", "talk"]
    assert talk.recording.id == "talk" == by_id["talk-1"].recording.id
    # the supervisions alone give their start in the recording
    starts = {s.id: s.start for s in SupervisionSet.from_file(exported.supervisions)}
    assert starts == {"talk-1": 0.25, "talk-2": 1.75, "uno": 0.0}


def test_lhotse_loads_the_same_audio_as_unheard(exported, manifests):
    records = {u.id: u for path in manifests for u in read_manifest(path)}
    for cut in CutSet.from_file(exported.cuts):
        record = records[cut.id]
        ours = load_audio(record.audio, record.offset, record.duration)  # (samples,)
        theirs = cut.load_audio()  # (channels, samples)
        assert theirs.shape == (len(cut.recording.channel_ids), ours.shape[0])
        np.testing.assert_allclose(theirs.mean(axis=0), ours, atol=1e-6)


@pytest.mark.parametrize("layout", ["cuts", "recordings+supervisions"])
def test_round_trip_loses_nothing(exported, manifests, tmp_path, layout):
    if layout == "cuts":
        written = prepare_lhotse(exported.cuts, tmp_path)
    else:
        written = prepare_lhotse(
            None, tmp_path, recordings=exported.recordings, supervisions=exported.supervisions
        )
    # the manifests come back under their own names, with the same records
    assert sorted(path.name for path in written.values()) == sorted(m.name for m in manifests)
    for original in manifests:
        expected = [u for u in read_manifest(original) if u.id != "gone"]
        assert read_manifest(tmp_path / original.name) == expected


def test_ids_must_be_distinct(manifests, tmp_path):
    with pytest.raises(ValueError, match="id 'uno' is in .* and .*: a CutSet needs distinct"):
        export_lhotse([manifests[1], manifests[1]], tmp_path)


def test_missing_audio_is_counted(manifests, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        export_lhotse(manifests[:1], tmp_path)
    assert "skipped 1 utterances: 1 missing audio (e.g. " in caplog.text
