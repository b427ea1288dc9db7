"""prepare_covost2 over CoVoST 2 TSVs and Common Voice MP3 clips, in both places clips may lie."""

import logging

import pytest

from unheard.data.importers import prepare_covost2

HEADER = ["path", "sentence", "translation", "client_id", "split"]


@pytest.fixture(scope="module")
def covost(tmp_path_factory, make_audio, tsv):
    """Catalan TSV next to a Common Voice release; Dutch TSV inside its locale folder (fairseq).

    Catalan: 3 train clips (one of CoVoST's extra ``train_covost``), 1 dev, 1 test, and 1 train row
    whose clip is missing. Dutch: a TSV without transcripts, which come from ``validated.tsv``.
    German→English: a TSV with no clips anywhere.
    """
    root = tmp_path_factory.mktemp("covost")
    rows = [
        ("1", 'Diu "hola" i se\'n va', 'She says "hi" and leaves', "spk-a", "train", 1.0),
        ("2", "Bon dia", "Good morning", "spk-a", "train", 1.5),
        ("3", "Adéu", "Goodbye", "spk-b", "train_covost", 1.0),
        ("4", "Gràcies", "Thank you", "spk-c", "dev", 1.5),
        ("5", "Sí", "Yes", "spk-d", "test", 1.0),
        ("6", "Perdó", "Sorry", "spk-d", "train", None),  # its clip is missing
    ]
    table = [HEADER]
    for n, sentence, translation, speaker, split, seconds in rows:
        name = f"common_voice_ca_{n}.mp3"
        table.append([name, sentence, translation, speaker, split])
        if seconds:
            make_audio(root / "ca" / "clips" / name, seconds)
    tsv(root / "covost_v2.ca_en.tsv", table)

    dutch = [
        ("1", "hallo", "hello", "train"),
        ("2", "dag", "bye", "dev"),
        ("3", "ja", "yes", "test"),
    ]
    tsv(
        root / "nl" / "covost_v2.nl_en.tsv",
        [["path", "translation", "split"]]
        + [[f"common_voice_nl_{n}.mp3", tr, split] for n, _, tr, split in dutch],
    )
    tsv(
        root / "nl" / "validated.tsv",
        [["client_id", "path", "sentence", "up_votes", "down_votes"]]
        + [["spk-nl", f"common_voice_nl_{n}.mp3", s, "2", "0"] for n, s, _, _ in dutch],
    )
    for n, *_ in dutch:
        make_audio(root / "nl" / "clips" / f"common_voice_nl_{n}.mp3", 1.0)
    tsv(root / "covost_v2.de_en.tsv", [HEADER, ["common_voice_de_1.mp3", "ja", "yes", "x", "dev"]])
    return root


def test_manifests_per_direction_and_split(covost, tmp_path):
    paths = prepare_covost2(covost, tmp_path)
    assert sorted(paths) == [
        f"{pair}_{split}" for pair in ("ca-en", "nl-en") for split in ("dev", "test", "train")
    ]
    assert paths["ca-en_train"] == tmp_path / "covost2_ca-en_train.jsonl.gz"


def test_records_carry_transcript_translation_and_clip_duration(covost, tmp_path, by_id):
    paths = prepare_covost2(covost, tmp_path)
    train = by_id(paths["ca-en_train"])
    # train_covost rows count as train; the row without a clip is gone
    assert sorted(train) == ["common_voice_ca_1", "common_voice_ca_2", "common_voice_ca_3"]
    first = train["common_voice_ca_1"]
    assert first.text == 'Diu "hola" i se\'n va'  # quotes kept: the TSV is read unquoted
    assert first.translation == 'She says "hi" and leaves'
    assert (first.language, first.translation_language) == ("ca", "en")
    assert (first.speaker, first.split, first.corpus) == ("spk-a", "train", "covost2")
    assert first.audio == str(covost / "ca" / "clips" / "common_voice_ca_1.mp3")
    assert first.offset == 0.0 and first.sample_rate == 16000
    assert first.duration == pytest.approx(1.0, abs=0.05)
    assert train["common_voice_ca_2"].duration == pytest.approx(1.5, abs=0.05)
    assert list(by_id(paths["ca-en_dev"])) == ["common_voice_ca_4"]
    assert list(by_id(paths["ca-en_test"])) == ["common_voice_ca_5"]


def test_transcripts_come_from_validated_tsv_when_the_tsv_lacks_them(covost, tmp_path, by_id):
    paths = prepare_covost2(covost, tmp_path, languages=["nl"])
    record = by_id(paths["nl-en_dev"])["common_voice_nl_2"]
    assert (record.text, record.translation, record.speaker) == ("dag", "bye", "spk-nl")


def test_missing_clip_is_skipped_and_counted(covost, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        prepare_covost2(covost, tmp_path, languages=["ca"])
    assert "skipped 1 of 4 records: 1 missing audio" in caplog.text
    assert "common_voice_ca_6.mp3" in caplog.text
    # German has a TSV but no clips: left out with a warning, not an error
    with caplog.at_level(logging.WARNING):
        prepare_covost2(covost, tmp_path)
    assert "de_en: no clips folder" in caplog.text


def test_language_filters(covost, tmp_path):
    assert {key.split("_")[0] for key in prepare_covost2(covost, tmp_path, ["nl"])} == {"nl-en"}
    assert {key.split("_")[0] for key in prepare_covost2(covost, tmp_path, None, ["ca"])} == {
        "nl-en"
    }
    assert (
        prepare_covost2(covost, tmp_path, target_languages=["en"]).keys()
        == prepare_covost2(covost, tmp_path).keys()
    )
    with pytest.raises(ValueError, match="found: ca, de, nl"):
        prepare_covost2(covost, tmp_path, languages=["fr"])
    with pytest.raises(ValueError, match="list of codes"):
        prepare_covost2(covost, tmp_path, languages="nl")


def test_rerun_is_idempotent(covost, tmp_path, assert_idempotent):
    assert_idempotent(prepare_covost2, covost, tmp_path)


def test_missing_source(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        prepare_covost2(tmp_path / "nowhere", tmp_path)
    with pytest.raises(ValueError, match="found no covost2 data"):
        prepare_covost2(tmp_path, tmp_path / "out")


def test_per_split_tsvs_of_get_covost_splits(tmp_path, make_audio, tsv, by_id):
    """``get_covost_splits.py`` writes covost_v2.<src>_<tgt>.<split>.tsv without a split column."""
    for n, split in (("1", "train"), ("2", "dev")):
        name = f"common_voice_fr_{n}.mp3"
        tsv(
            tmp_path / "fr" / f"covost_v2.fr_en.{split}.tsv",
            [["path", "sentence", "translation", "client_id"], [name, "Oui", "Yes", "spk"]],
        )
        make_audio(tmp_path / "fr" / "clips" / name, 1.0)
    paths = prepare_covost2(tmp_path, tmp_path / "out")
    assert sorted(paths) == ["fr-en_dev", "fr-en_train"]
    assert list(by_id(paths["fr-en_dev"])) == ["common_voice_fr_2"]


def test_validated_tsv_next_to_the_tsv(tmp_path, make_audio, tsv, by_id):
    """CoVoST's instructions put validated.tsv beside the TSVs, away from the clips."""
    name = "common_voice_fr_1.mp3"
    tsv(tmp_path / "covost_v2.fr_en.tsv", [["path", "translation", "split"], [name, "Yes", "test"]])
    tsv(tmp_path / "validated.tsv", [["client_id", "path", "sentence"], ["spk", name, "Oui"]])
    make_audio(tmp_path / "fr" / "clips" / name, 1.0)
    record = by_id(prepare_covost2(tmp_path, tmp_path / "out")["fr-en_test"])["common_voice_fr_1"]
    assert (record.text, record.translation, record.speaker) == ("Oui", "Yes", "spk")
    (tmp_path / "validated.tsv").unlink()
    with pytest.raises(ValueError, match="no validated.tsv"):
        prepare_covost2(tmp_path, tmp_path / "out")
