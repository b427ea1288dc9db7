"""prepare_lhotse over manifests that lhotse itself writes, as its recipes and icefall do."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import soundfile
from lhotse import (
    AudioSource,
    CutSet,
    MonoCut,
    Recording,
    RecordingSet,
    SupervisionSegment,
    SupervisionSet,
)

from unheard.data.audio import load_audio
from unheard.data.importers import prepare_lhotse


@pytest.fixture(scope="module")
def audio(tmp_path_factory, clips):
    """A 3.3 s mono talk and a stereo file whose channels differ, made from espeak-ng speech."""
    root = tmp_path_factory.mktemp("lhotse-audio")
    talk = np.concatenate([clips[1], np.zeros(8000, np.float32), clips[2]])[: 3 * 16000 + 4800]
    soundfile.write(root / "talk.wav", talk, 16000, subtype="PCM_16")
    stereo = np.stack([clips[0], -0.5 * clips[0]], axis=1)  # (samples, 2)
    soundfile.write(root / "call.wav", stereo, 16000, subtype="PCM_16")
    return root


@pytest.fixture(scope="module")
def recipe_output(audio, tmp_path_factory):
    """Recordings and supervisions named as icefall names them: <corpus>_<kind>_<split>."""
    out = tmp_path_factory.mktemp("recipe")
    talk = Recording.from_file(audio / "talk.wav", recording_id="talk")
    call = Recording.from_file(audio / "call.wav", recording_id="call")
    supervisions = [
        SupervisionSegment(id="talk-a", recording_id="talk", start=0.5, duration=1.0,
                           text="hello world", language="English", speaker="ann"),
        SupervisionSegment(id="talk-b", recording_id="talk", start=2.0, duration=1.0,
                           language="English"),  # no text: skipped
        SupervisionSegment(id="call-b", recording_id="call", start=0.1, duration=0.5, channel=1,
                           text="uno", language="es", speaker="bob",
                           custom={"translated_text": {"en": "one"}}),  # lhotse's IWSLT'22 way
    ]  # fmt: skip
    RecordingSet.from_recordings([talk, call]).to_file(out / "chat_recordings_dev.jsonl.gz")
    SupervisionSet.from_segments(supervisions).to_file(out / "chat_supervisions_dev.jsonl.gz")
    return out


def test_recordings_and_supervisions(recipe_output, audio, tmp_path, by_id, caplog):
    with caplog.at_level(logging.WARNING):
        written = prepare_lhotse(
            None,
            tmp_path,
            recordings=recipe_output / "chat_recordings_dev.jsonl.gz",
            supervisions=recipe_output / "chat_supervisions_dev.jsonl.gz",
        )
    # corpus and split from the file names; English is en
    assert {key: path.name for key, path in written.items()} == {
        "en_dev": "chat_en_dev.jsonl.gz",
        "es-en_dev": "chat_es-en_dev.jsonl.gz",
    }
    talk = by_id(written["en_dev"])
    assert list(talk) == ["talk-a"]
    assert "skipped 1 of 2 records: 1 no text nor translation (e.g. talk-b)" in caplog.text
    record = talk["talk-a"]
    assert (record.audio, record.offset, record.duration) == (str(audio / "talk.wav"), 0.5, 1.0)
    assert (record.text, record.speaker, record.corpus, record.split) == (
        "hello world",
        "ann",
        "chat",
        "dev",
    )
    # channel 1 of a stereo file: written once, alone, for the whole recording
    call = by_id(written["es-en_dev"])["call-b"]
    assert (call.translation, call.translation_language, call.offset) == ("one", "en", 0.1)
    assert call.audio == str(tmp_path / "chat-audio" / "call_ch1.flac")
    stereo, _ = soundfile.read(audio / "call.wav", dtype="float32")  # (samples, 2)
    np.testing.assert_allclose(load_audio(call.audio), stereo[:, 1], atol=1e-4)


def test_rerun_keeps_manifests(recipe_output, tmp_path, assert_idempotent):
    assert_idempotent(
        prepare_lhotse,
        None,
        tmp_path,
        recordings=recipe_output / "chat_recordings_dev.jsonl.gz",
        supervisions=recipe_output / "chat_supervisions_dev.jsonl.gz",
    )


def test_cuts_into_recordings_and_the_cuts_left_out(audio, tmp_path, by_id, caplog):
    talk = Recording.from_file(audio / "talk.wav", recording_id="talk")
    said = SupervisionSegment(id="w1", recording_id="talk", start=0.5, duration=1.0, text="hi",
                              language="en")  # fmt: skip
    # a window into the talk that starts at 1 s, its supervision 0.5 s into the window
    window = MonoCut(id="window", start=1.0, duration=2.0, channel=0, recording=talk,
                     supervisions=[said])  # fmt: skip
    faster = window.perturb_speed(1.1)  # speed-perturbed: unheard reads files as they are
    faster.supervisions[0].id = "w1-fast"
    padded = window.pad(duration=3.0)  # a MixedCut
    remote = Recording(id="remote", sampling_rate=16000, num_samples=16000, duration=1.0,
                       sources=[AudioSource(type="url", channels=[0], source="https://x/a.wav")])  # fmt: skip
    far = MonoCut(id="far", start=0.0, duration=1.0, channel=0, recording=remote,
                  supervisions=[SupervisionSegment(id="r1", recording_id="remote", start=0.0,
                                                   duration=1.0, text="far", language="en")])  # fmt: skip
    CutSet.from_cuts([window, faster, padded, far]).to_file(tmp_path / "cuts.jsonl.gz")
    with caplog.at_level(logging.WARNING):
        written = prepare_lhotse(tmp_path / "cuts.jsonl.gz", tmp_path / "out", split="test")
    record = by_id(written["en_test"])["w1"]
    assert (record.offset, record.duration, record.corpus) == (1.5, 1.0, "lhotse")
    assert len(by_id(written["en_test"])) == 1
    assert "1 supervisions skipped: 1 mixed or padded cut" in caplog.text
    assert "1 audio not in a local file (url) (e.g. remote)" in caplog.text
    assert "1 transformed recording (e.g. talk_sp1.1: Speed)" in caplog.text


def test_not_a_cut_set(recipe_output, tmp_path):
    with pytest.raises(ValueError, match="is a RecordingSet, not a CutSet; give .*--recordings"):
        prepare_lhotse(recipe_output / "chat_recordings_dev.jsonl.gz", tmp_path)
    with pytest.raises(FileNotFoundError, match="lhotse manifest .* does not exist"):
        prepare_lhotse(tmp_path / "cuts.jsonl.gz", tmp_path)
