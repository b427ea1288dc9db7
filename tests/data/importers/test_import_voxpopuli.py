"""prepare_voxpopuli over transcribed_data: asr_<split>.tsv and Ogg segments by year."""

import logging

import pytest

from unheard.data.importers import prepare_voxpopuli

HEADER = ["id", "raw_text", "normalized_text", "speaker_id", "split", "gender"]
HEADER += ["is_gold_transcript", "accent"]


@pytest.fixture(scope="module")
def voxpopuli(tmp_path_factory, make_audio, tsv):
    """Dutch train (a missing segment, a row with only normalized text) and test, English test,
    and the accented English test set."""
    root = tmp_path_factory.mktemp("voxpopuli")
    data = root / "transcribed_data"
    rows = {
        ("nl", "train"): [
            ("20180604-0900-PLENARY-5_nl_1", "Dank u, voorzitter.", "dank u voorzitter", 1.0),
            ("20190101-0900-PLENARY-7_nl_2", "", "goedemorgen", 1.5),
            ("20190101-0900-PLENARY-7_nl_3", "Weg.", "weg", None),  # no Ogg file
        ],
        ("nl", "test"): [("20200101-0900-PLENARY-1_nl_4", "Ja.", "ja", 1.0)],
        ("en", "test"): [("20200101-0900-PLENARY-1_en_1", "Yes.", "yes", 1.5)],
        ("en_accented", "test"): [("20200101-0900-PLENARY-1_en_9", "Thank you.", "thank you", 1.0)],
    }
    for (folder, split), entries in rows.items():
        table = [HEADER]
        for utterance_id, raw, normalized, seconds in entries:
            table.append([utterance_id, raw, normalized, "spk7", split, "female", "True", "None"])
            if seconds:
                make_audio(data / folder / utterance_id[:4] / f"{utterance_id}.ogg", seconds)
        tsv(data / folder / f"asr_{split}.tsv", table)
    return root


def test_records(voxpopuli, tmp_path, by_id):
    paths = prepare_voxpopuli(voxpopuli, tmp_path)
    assert sorted(paths) == ["en_test", "en_test-accented", "nl_test", "nl_train"]
    assert paths["nl_train"] == tmp_path / "voxpopuli_nl_train.jsonl.gz"
    train = by_id(paths["nl_train"])
    assert sorted(train) == ["nl_20180604-0900-PLENARY-5_nl_1", "nl_20190101-0900-PLENARY-7_nl_2"]
    first = train["nl_20180604-0900-PLENARY-5_nl_1"]
    assert first.text == "Dank u, voorzitter."  # the raw text
    assert (first.language, first.speaker, first.split, first.corpus) == (
        "nl",
        "spk7",
        "train",
        "voxpopuli",
    )
    assert first.duration == pytest.approx(1.0, abs=0.05) and first.sample_rate == 16000
    data = voxpopuli / "transcribed_data"
    assert first.audio == str(data / "nl" / "2018" / "20180604-0900-PLENARY-5_nl_1.ogg")
    # Where the raw text is empty, the normalized one stands in.
    assert train["nl_20190101-0900-PLENARY-7_nl_2"].text == "goedemorgen"
    assert train["nl_20190101-0900-PLENARY-7_nl_2"].duration == pytest.approx(1.5, abs=0.05)
    accented = by_id(paths["en_test-accented"]).popitem()[1]
    assert (accented.language, accented.split) == ("en", "test-accented")


def test_transcribed_data_folder_itself_and_normalized_text(voxpopuli, tmp_path, by_id):
    paths = prepare_voxpopuli(
        voxpopuli / "transcribed_data", tmp_path, ["nl"], normalized_text=True
    )
    assert by_id(paths["nl_train"])["nl_20180604-0900-PLENARY-5_nl_1"].text == "dank u voorzitter"


def test_missing_segment_is_skipped_and_counted(voxpopuli, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        prepare_voxpopuli(voxpopuli, tmp_path, ["nl"])
    assert "voxpopuli nl train: skipped 1 of 3 records: 1 missing audio" in caplog.text


def test_language_filters(voxpopuli, tmp_path):
    assert sorted(prepare_voxpopuli(voxpopuli, tmp_path, ["en_accented"])) == ["en_test-accented"]
    assert sorted(prepare_voxpopuli(voxpopuli, tmp_path, ["en"])) == ["en_test", "en_test-accented"]
    assert sorted(prepare_voxpopuli(voxpopuli, tmp_path, None, ["en"])) == ["nl_test", "nl_train"]


def test_rerun_is_idempotent(voxpopuli, tmp_path, assert_idempotent):
    assert_idempotent(prepare_voxpopuli, voxpopuli, tmp_path)
