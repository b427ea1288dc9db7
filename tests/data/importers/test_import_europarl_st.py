"""prepare_europarl_st over release v1.1: M4A speeches cut by segments.lst, with translations."""

import logging

import numpy as np
import pytest

from unheard.data.audio import load_audio
from unheard.data.importers import prepare_europarl_st


def _split(folder, src, tgt, segments, speakers=None):
    """Write one direction's split: segments are (speech, start, end, text, translation)."""
    folder.mkdir(parents=True)
    (folder / "segments.lst").write_text("".join(f"{s} {a} {b}\n" for s, a, b, _, _ in segments))
    (folder / f"segments.{src}").write_text("".join(f"{t}\n" for *_, t, _ in segments))
    (folder / f"segments.{tgt}").write_text("".join(f"{t}\n" for *_, t in segments))
    if speakers:
        (folder / "speeches.lst").write_text("".join(f"{s}\n" for s in speakers))
        (folder / "speakers.lst").write_text("".join(f"{p}\n" for p in speakers.values()))


@pytest.fixture(scope="module")
def europarl(tmp_path_factory, make_audio):
    """English speeches with Dutch and German translations; a Dutch speech translated to English.

    The English test split cuts a speech whose M4A file is missing.
    """
    root = tmp_path_factory.mktemp("europarl") / "v1.1"
    make_audio(root / "en" / "audios" / "en.20080924.1.3-001.m4a", 4.0)
    make_audio(root / "en" / "audios" / "en.20080924.1.3-002.m4a", 4.0)
    make_audio(root / "nl" / "audios" / "nl.20090101.2.3-001.m4a", 4.0)
    speakers = {"en.20080924.1.3-001": "SPK_1234", "en.20080924.1.3-002": "SPK_5678"}
    train = [
        ("en.20080924.1.3-001", "0.00", "1.50", "Madam President,", "Mevrouw de Voorzitter,"),
        ("en.20080924.1.3-001", "1.50", "3.75", "thank you.", "dank u."),
        ("en.20080924.1.3-002", "0.25", "2.00", "I agree.", "Ik ben het eens."),
    ]
    _split(root / "en" / "nl" / "train", "en", "nl", train, speakers)
    _split(root / "en" / "nl" / "train-noisy", "en", "nl", train[:1])
    missing = [("en.20080924.9.9-999", "0.00", "1.00", "Lost.", "Weg.")]
    _split(root / "en" / "nl" / "test", "en", "nl", train[2:] + missing)
    _split(root / "en" / "de" / "dev", "en", "de", [train[0][:3] + ("Madam President,", "Frau!")])
    _split(
        root / "nl" / "en" / "dev",
        "nl",
        "en",
        [("nl.20090101.2.3-001", "1.0", "2.5", "Ja.", "Yes.")],
    )
    return root.parent


def test_records_cut_speeches_by_segment_times(europarl, tmp_path, by_id):
    paths = prepare_europarl_st(europarl, tmp_path)
    assert sorted(paths) == [
        "en-de_dev",
        "en-nl_test",
        "en-nl_train",
        "en-nl_train-noisy",
        "nl-en_dev",
    ]
    assert paths["en-nl_train-noisy"] == tmp_path / "europarl-st_en-nl_train-noisy.jsonl.gz"
    train = by_id(paths["en-nl_train"])
    assert list(train) == [
        "en.20080924.1.3-001_0000000_0001500",
        "en.20080924.1.3-001_0001500_0003750",
        "en.20080924.1.3-002_0000250_0002000",
    ]
    second = train["en.20080924.1.3-001_0001500_0003750"]
    assert (second.offset, second.duration) == (1.5, 2.25)
    assert (second.text, second.translation) == ("thank you.", "dank u.")
    assert (second.language, second.translation_language) == ("en", "nl")
    assert (second.speaker, second.split, second.corpus) == ("SPK_1234", "train", "europarl-st")
    assert second.audio == str(europarl / "v1.1" / "en" / "audios" / "en.20080924.1.3-001.m4a")
    # The same segment has the same id in every direction.
    assert "en.20080924.1.3-001_0000000_0001500" in by_id(paths["en-de_dev"])
    # No speakers.lst in train-noisy: no speaker.
    assert by_id(paths["en-nl_train-noisy"]).popitem()[1].speaker is None


def test_a_segment_decodes_to_its_duration(europarl, tmp_path, by_id):
    record = by_id(prepare_europarl_st(europarl, tmp_path, ["nl"])["nl-en_dev"]).popitem()[1]
    audio = load_audio(record.audio, offset=record.offset, duration=record.duration)
    assert len(audio) / 16000 == pytest.approx(1.5, abs=0.05)
    assert np.abs(audio).max() == pytest.approx(0.3, abs=0.05)  # the tone, not silence


def test_missing_speech_is_skipped_and_counted(europarl, tmp_path, caplog, by_id):
    with caplog.at_level(logging.WARNING):
        paths = prepare_europarl_st(europarl, tmp_path, ["en"], target_languages=["nl"])
    assert "europarl-st en-nl test: skipped 1 of 2 records: 1 missing audio" in caplog.text
    assert len(by_id(paths["en-nl_test"])) == 1


def test_language_filters(europarl, tmp_path):
    assert sorted(prepare_europarl_st(europarl, tmp_path, ["nl"])) == ["nl-en_dev"]
    assert sorted(prepare_europarl_st(europarl, tmp_path, None, ["en"])) == ["nl-en_dev"]
    assert sorted(prepare_europarl_st(europarl, tmp_path, target_languages=["de"])) == ["en-de_dev"]


def test_out_of_step_text_files_are_an_error(tmp_path, make_audio):
    make_audio(tmp_path / "en" / "audios" / "a.m4a", 1.0)
    _split(tmp_path / "en" / "fr" / "dev", "en", "fr", [("a", "0", "1", "Yes.", "Oui.")])
    (tmp_path / "en" / "fr" / "dev" / "segments.fr").write_text("Oui.\nNon.\n")
    with pytest.raises(ValueError, match="has 2 lines but segments.lst has 1"):
        prepare_europarl_st(tmp_path, tmp_path / "out")


def test_rerun_is_idempotent(europarl, tmp_path, assert_idempotent):
    assert_idempotent(prepare_europarl_st, europarl, tmp_path)
