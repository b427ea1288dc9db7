"""prepare_folder: audio files with same-stem .txt transcripts, in any format and depth."""

import logging

import pytest

from unheard.data.importers import IMPORTERS, prepare_folder


@pytest.fixture
def folder(tmp_path, make_audio):
    """A WAV and an MP3 (in a sub-folder) with transcripts, plus one of each kind of orphan."""
    root = tmp_path / "recordings"
    make_audio(root / "a.wav", 1.0)
    (root / "a.txt").write_text("  hallo\nwereld \n", encoding="utf-8")
    make_audio(root / "talks" / "b.mp3", 1.5)
    (root / "talks" / "b.txt").write_text("tot ziens", encoding="utf-8")
    make_audio(root / "c.flac", 1.0)  # no transcript
    (root / "d.txt").write_text("geen audio", encoding="utf-8")  # no audio
    make_audio(root / "e.wav", 1.0)
    (root / "e.txt").write_text("   ", encoding="utf-8")  # empty transcript
    return root


def test_records(folder, tmp_path, by_id, caplog):
    with caplog.at_level(logging.WARNING):
        paths = prepare_folder(folder, tmp_path / "out", language="nl-NL")
    assert paths == {"nl_train": tmp_path / "out" / "folder_nl_train.jsonl.gz"}
    records = by_id(paths["nl_train"])
    assert sorted(records) == ["a", "talks/b"]
    assert records["a"].text == "hallo wereld"  # whitespace collapsed
    assert (records["a"].language, records["a"].split, records["a"].corpus) == (
        "nl",
        "train",
        "folder",
    )
    assert records["a"].duration == pytest.approx(1.0, abs=0.05)
    assert records["talks/b"].duration == pytest.approx(1.5, abs=0.05)
    assert records["talks/b"].audio == str(folder / "talks" / "b.mp3")
    assert "skipped 3 of 5 records" in caplog.text
    for reason in ("1 missing audio", "1 missing transcript", "1 empty text"):
        assert reason in caplog.text


def test_name_split_and_filters(folder, tmp_path):
    paths = prepare_folder(folder, tmp_path, language="ca", split="test", corpus="my-talks")
    assert paths == {"ca_test": tmp_path / "my-talks_ca_test.jsonl.gz"}
    with pytest.raises(ValueError, match="imported nothing.*my-talks languages found: ca"):
        prepare_folder(folder, tmp_path, None, ["ca"], language="ca", corpus="my-talks")
    with pytest.raises(ValueError, match="split must be"):
        prepare_folder(folder, tmp_path, language="ca", split="a/b")
    # The CLI calls importers by name.
    assert IMPORTERS["folder"] is prepare_folder


def test_a_new_file_rebuilds_the_manifest(folder, tmp_path, by_id, assert_idempotent, make_audio):
    paths = assert_idempotent(prepare_folder, folder, tmp_path, language="nl")
    (folder / "c.txt").write_text("nieuw", encoding="utf-8")
    paths = prepare_folder(folder, tmp_path, language="nl")
    assert sorted(by_id(paths["nl_train"])) == ["a", "c", "talks/b"]


def test_relative_source_gives_audio_paths_that_resolve(folder, tmp_path, monkeypatch, by_id):
    monkeypatch.chdir(tmp_path)
    paths = prepare_folder("recordings", "out", language="nl")
    monkeypatch.chdir("/")  # read from elsewhere: paths must not depend on the directory
    for record in by_id(tmp_path / paths["nl_train"]).values():
        assert (tmp_path / record.audio).is_file() and record.audio.startswith("/")
