"""prepare_mls over OpenSLR 94: mls_<language>[_opus] folders, transcripts.txt, FLAC or Opus."""

import logging

import pytest

from unheard.data.importers import prepare_mls


def _release(root, folder, suffix, splits, make_audio):
    """One language release: ``splits`` maps a split to (id, text, seconds or None) rows."""
    for split, rows in splits.items():
        lines = []
        for utterance_id, text, seconds in rows:
            lines.append(f"{utterance_id}\t{text}\n")
            speaker, book, _ = utterance_id.split("_")
            if seconds:
                audio = root / folder / split / "audio" / speaker / book / f"{utterance_id}{suffix}"
                make_audio(audio, seconds)
        (root / folder / split).mkdir(parents=True, exist_ok=True)
        (root / folder / split / "transcripts.txt").write_text("".join(lines), encoding="utf-8")
        (root / folder / split / "segments.txt").write_text("")


@pytest.fixture(scope="module")
def mls(tmp_path_factory, make_audio):
    """Dutch FLAC (a missing file; also an Opus copy, to be ignored), Polish Opus, and LM data."""
    root = tmp_path_factory.mktemp("mls")
    dutch = {
        "train": [
            ("1234_56_000001", "goedemorgen allemaal", 1.0),
            ("1234_56_000002", "tot ziens", 1.5),
            ("1234_56_000003", "weg", None),
        ],
        "dev": [("7890_12_000001", "dank je wel", 1.0)],
    }
    _release(root, "mls_dutch", ".flac", dutch, make_audio)
    _release(
        root, "mls_dutch_opus", ".opus", {"test": [("1_2_000003", "niet dit", 1.0)]}, make_audio
    )
    polish = {"test": [("4321_65_000001", "dzień dobry", 1.5)]}
    _release(root, "mls_polish_opus", ".opus", polish, make_audio)
    (root / "mls_lm_dutch").mkdir()
    (root / "mls_lm_dutch" / "data.txt").write_text("tekst\n")
    return root


def test_records(mls, tmp_path, by_id):
    paths = prepare_mls(mls, tmp_path)
    assert sorted(paths) == ["nl_dev", "nl_train", "pl_test"]
    assert paths["nl_train"] == tmp_path / "mls_nl_train.jsonl.gz"
    train = by_id(paths["nl_train"])
    assert sorted(train) == ["nl_1234_56_000001", "nl_1234_56_000002"]
    first = train["nl_1234_56_000001"]
    assert first.text == "goedemorgen allemaal"
    assert (first.language, first.speaker, first.split, first.corpus) == (
        "nl",
        "1234",
        "train",
        "mls",
    )
    assert first.duration == pytest.approx(1.0, abs=0.05) and first.sample_rate == 16000
    assert first.audio == str(
        mls / "mls_dutch" / "train" / "audio" / "1234" / "56" / f"{first.id[3:]}.flac"
    )
    polish = by_id(paths["pl_test"])["pl_4321_65_000001"]
    assert polish.audio.endswith(".opus") and polish.text == "dzień dobry"
    assert polish.duration == pytest.approx(1.5, abs=0.05)


def test_missing_file_is_skipped_and_counted(mls, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        prepare_mls(mls, tmp_path, ["dutch"])
    assert "mls nl train: skipped 1 of 3 records: 1 missing audio" in caplog.text


def test_language_filters(mls, tmp_path):
    assert sorted(prepare_mls(mls, tmp_path, ["pl"])) == ["pl_test"]
    assert sorted(prepare_mls(mls, tmp_path, ["nl", "pl"], ["polish"])) == ["nl_dev", "nl_train"]
    with pytest.raises(ValueError, match="found: dutch, polish"):
        prepare_mls(mls, tmp_path, ["de"])


def test_rerun_is_idempotent(mls, tmp_path, assert_idempotent):
    assert_idempotent(prepare_mls, mls, tmp_path)
