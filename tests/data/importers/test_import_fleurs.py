"""prepare_fleurs over the google/fleurs layout: header-less TSVs, WAV per split, locale codes."""

import logging

import pytest

from unheard.data.importers import prepare_fleurs


def _row(sentence_id, name, raw, normalized, seconds, gender="FEMALE"):
    """A FLEURS TSV row: id, file, raw text, normalized text, characters, samples, gender."""
    chars = " ".join("|".join(normalized.split())) + " |"
    return [sentence_id, name, raw, normalized, chars, str(round(seconds * 16000)), gender]


@pytest.fixture(scope="module")
def fleurs(tmp_path_factory, make_audio, tsv):
    """The hub repository's ``data/`` with Catalan (``ca_es``) and Dutch (``nl_nl``).

    Catalan dev lists a recording whose WAV is missing; Dutch test was extracted without its
    ``test/`` folder.
    """
    data = tmp_path_factory.mktemp("fleurs") / "data"
    splits = {
        "ca_es": {
            "train": [_row("101", "11.wav", "Bon dia, Maria.", "bon dia maria", 1.0)],
            "dev": [
                _row("102", "12.wav", "Adéu!", "adéu", 1.5),
                _row("103", "13.wav", "Perdó.", "perdó", 1.0),  # no WAV
            ],
            "test": [_row("104", "14.wav", "Sí.", "sí", 1.0, "MALE")],
        },
        "nl_nl": {
            "train": [_row("101", "21.wav", "Goedemorgen, Maria.", "goedemorgen maria", 1.5)],
            "test": [_row("104", "24.wav", "Ja.", "ja", 1.0)],
        },
    }
    for locale, by_split in splits.items():
        for split, rows in by_split.items():
            tsv(data / locale / f"{split}.tsv", rows)
            for row in rows:
                if row[1] == "13.wav":
                    continue
                folder = data / locale / "audio" / ("" if locale == "nl_nl" else split)
                make_audio(folder / row[1], int(row[5]) / 16000)
    return data.parent


def test_records(fleurs, tmp_path, by_id):
    paths = prepare_fleurs(fleurs, tmp_path)
    assert sorted(paths) == ["ca_dev", "ca_test", "ca_train", "nl_test", "nl_train"]
    assert paths["ca_train"] == tmp_path / "fleurs_ca_train.jsonl.gz"
    record = by_id(paths["ca_train"])["ca_es_101_11"]
    assert record.text == "Bon dia, Maria."  # the raw transcription
    assert (record.language, record.split, record.corpus) == ("ca", "train", "fleurs")
    assert record.duration == 1.0 and record.sample_rate == 16000 and record.offset == 0.0
    assert record.audio == str(fleurs / "data" / "ca_es" / "audio" / "train" / "11.wav")
    assert record.speaker is None
    dutch = by_id(paths["nl_train"])["nl_nl_101_21"]
    assert dutch.language == "nl" and dutch.duration == 1.5
    assert dutch.audio == str(fleurs / "data" / "nl_nl" / "audio" / "21.wav")


def test_normalized_text_on_request(fleurs, tmp_path, by_id):
    paths = prepare_fleurs(fleurs, tmp_path, ["ca"], normalized_text=True)
    assert by_id(paths["ca_train"])["ca_es_101_11"].text == "bon dia maria"


def test_missing_wav_is_skipped_and_counted(fleurs, tmp_path, caplog, by_id):
    with caplog.at_level(logging.WARNING):
        paths = prepare_fleurs(fleurs, tmp_path, ["ca_es"])
    assert list(by_id(paths["ca_dev"])) == ["ca_es_102_12"]
    assert "fleurs ca dev: skipped 1 of 2 records: 1 missing audio" in caplog.text


def test_language_filters(fleurs, tmp_path):
    assert sorted(prepare_fleurs(fleurs, tmp_path, ["nl"])) == ["nl_test", "nl_train"]
    assert sorted(prepare_fleurs(fleurs, tmp_path, ["ca", "nl"], ["nl_nl"]))[0] == "ca_dev"
    assert all(key.startswith("ca") for key in prepare_fleurs(fleurs, tmp_path, None, ["NL"]))
    with pytest.raises(ValueError, match="found: ca_es, nl_nl"):
        prepare_fleurs(fleurs, tmp_path, [], [])


def test_rerun_is_idempotent(fleurs, tmp_path, assert_idempotent):
    assert_idempotent(prepare_fleurs, fleurs, tmp_path)
