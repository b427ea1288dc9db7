"""prepare_commonvoice over a Common Voice release: locales, TSV splits, MP3 clips, durations."""

import logging

import pytest

from unheard.data.importers import prepare_commonvoice

HEADER = ["client_id", "path", "sentence", "up_votes", "down_votes", "age", "gender", "accent"]


def _locale(root, locale, splits, make_audio, tsv, durations_ms=None):
    """Write one locale folder: ``splits`` maps a split to (n, sentence, seconds or None) rows."""
    for split, rows in splits.items():
        table = [HEADER]
        for n, sentence, seconds in rows:
            name = f"common_voice_{locale}_{n}.mp3"
            table.append([f"client-{n}", name, sentence, "2", "0", "", "", ""])
            if seconds:
                make_audio(root / locale / "clips" / name, seconds)
        tsv(root / locale / f"{split}.tsv", table)
    if durations_ms is not None:
        tsv(
            root / locale / "clip_durations.tsv",
            [["clip", "duration[ms]"]]
            + [[f"common_voice_{locale}_{n}.mp3", str(ms)] for n, ms in durations_ms.items()],
        )


@pytest.fixture(scope="module")
def release(tmp_path_factory, make_audio, tsv):
    """Dutch (durations from headers; a missing clip, an empty sentence, a quote), Catalan (with
    clip_durations.tsv), and zh-CN and zh-TW, which share the code zh."""
    root = tmp_path_factory.mktemp("cv-corpus-17.0")
    dutch = {
        "train": [("1", 'Hij zei "ja', 1.0), ("2", "Goedemorgen", 1.5), ("3", "Weg", None)],
        "dev": [("4", "Tot ziens", 1.0), ("5", "   ", 1.0)],
        "test": [("6", "Dank je", 1.5)],
        "validated": [("1", 'Hij zei "ja', 1.0), ("4", "Tot ziens", 1.0)],
    }
    _locale(root, "nl", dutch, make_audio, tsv)
    catalan = {"train": [("1", "Bon dia", 1.0)], "test": [("2", "Adéu", 1.5)]}
    # The release's own durations win over headers: these differ from the clips on purpose.
    _locale(root, "ca", catalan, make_audio, tsv, durations_ms={"1": 1234, "2": 1500})
    _locale(root, "zh-CN", {"train": [("1", "你好", 1.0)]}, make_audio, tsv)
    _locale(root, "zh-TW", {"train": [("1", "你好嗎", 1.0)]}, make_audio, tsv)
    (root / "reported.tsv").write_text("not a locale\n")  # files at the top are ignored
    return root


def test_records_per_language_and_split(release, tmp_path, by_id):
    paths = prepare_commonvoice(release, tmp_path)
    assert sorted(paths) == ["ca_test", "ca_train", "nl_dev", "nl_test", "nl_train", "zh_train"]
    assert paths["nl_train"] == tmp_path / "commonvoice_nl_train.jsonl.gz"
    train = by_id(paths["nl_train"])
    assert sorted(train) == ["common_voice_nl_1", "common_voice_nl_2"]
    first = train["common_voice_nl_1"]
    assert first.text == 'Hij zei "ja'  # an unbalanced quote, read with quoting off
    assert (first.language, first.speaker, first.split) == ("nl", "client-1", "train")
    assert (first.corpus, first.offset, first.sample_rate) == ("commonvoice", 0.0, 16000)
    assert first.translation is None and first.translation_language is None
    assert first.duration == pytest.approx(1.0, abs=0.05)
    assert train["common_voice_nl_2"].duration == pytest.approx(1.5, abs=0.05)
    assert list(by_id(paths["nl_dev"])) == ["common_voice_nl_4"]  # the blank sentence is skipped


def test_durations_come_from_clip_durations_tsv(release, tmp_path, by_id):
    paths = prepare_commonvoice(release, tmp_path, languages=["ca"])
    record = by_id(paths["ca_train"])["common_voice_ca_1"]
    assert record.duration == 1.234 and record.sample_rate is None  # no header was read


def test_locales_sharing_a_code_share_a_manifest(release, tmp_path, by_id):
    paths = prepare_commonvoice(release, tmp_path, languages=["zh"])
    records = by_id(paths["zh_train"])
    assert sorted(records) == ["common_voice_zh-CN_1", "common_voice_zh-TW_1"]
    assert {record.language for record in records.values()} == {"zh"}
    # A locale can be named by Common Voice's code, too.
    assert list(by_id(prepare_commonvoice(release, tmp_path, ["zh-TW"])["zh_train"])) == [
        "common_voice_zh-TW_1"
    ]


def test_skips_are_counted(release, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        prepare_commonvoice(release, tmp_path, languages=["nl"])
    assert "commonvoice nl train: skipped 1 of 3 records: 1 missing audio" in caplog.text
    assert "commonvoice nl dev: skipped 1 of 2 records: 1 empty text" in caplog.text


def test_filters_and_splits(release, tmp_path):
    assert {key[:2] for key in prepare_commonvoice(release, tmp_path, None, ["nl", "zh"])} == {"ca"}
    paths = prepare_commonvoice(release, tmp_path, ["nl"], splits=["validated"])
    assert sorted(paths) == ["nl_validated"]
    with pytest.raises(ValueError, match="found: ca, nl, zh-CN, zh-TW"):
        prepare_commonvoice(release, tmp_path, languages=["de"])
    with pytest.raises(ValueError, match="split names"):
        prepare_commonvoice(release, tmp_path, splits=["../train"])


def test_rerun_is_idempotent(release, tmp_path, assert_idempotent):
    assert_idempotent(prepare_commonvoice, release, tmp_path)
