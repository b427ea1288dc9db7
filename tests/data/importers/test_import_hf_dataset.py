"""prepare_hf_dataset over datasets that `datasets` itself writes, in the layouts real exports use.

CoVoST 2 exported from the Hugging Face hub, three ways: Parquet with the clips' bytes embedded,
Parquet with paths to the clips, and a ``save_to_disk`` DatasetDict. Each must import to the
manifests that prepare_covost2 makes from the same clips in CoVoST's own release layout.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from datasets import Audio, Dataset, DatasetDict

from unheard.data.importers import prepare_covost2, prepare_hf_dataset
from unheard.data.importers.hf_columns import HFColumns
from unheard.data.importers.hf_tables import split_of_file
from unheard.data.manifest import read_manifest

# (clip number, sentence, translation, client id, CoVoST split, seconds)
ROWS = [
    ("1", 'Diu "hola" i se\'n va', 'She says "hi" and leaves', "spk-a", "train", 1.0),
    ("2", "Bon dia", "Good morning", "spk-a", "train", 1.5),
    ("3", "Adéu", "Goodbye", "spk-b", "train", 1.0),
    ("4", "Gràcies", "Thank you", "spk-c", "dev", 1.5),
    ("5", "Sí", "Yes", "spk-d", "test", 1.0),
]
HF_SPLITS = {"train": "train", "dev": "validation", "test": "test"}  # CoVoST's → the hub's
COMPARED = ("id", "duration", "sample_rate", "language", "text", "translation")
COMPARED += ("translation_language", "speaker", "split", "offset")


@pytest.fixture(scope="module")
def covost(tmp_path_factory, make_audio, tsv):
    """The Catalan→English clips in CoVoST's release layout, and its manifests, by id."""
    root = tmp_path_factory.mktemp("covost-release")
    table = [["path", "sentence", "translation", "client_id", "split"]]
    for n, sentence, translation, speaker, split, seconds in ROWS:
        make_audio(root / "ca" / "clips" / f"common_voice_ca_{n}.mp3", seconds)
        table.append([f"common_voice_ca_{n}.mp3", sentence, translation, speaker, split])
    tsv(root / "covost_v2.ca_en.tsv", table)
    written = prepare_covost2(root, tmp_path_factory.mktemp("covost-manifests"))
    expected = {u.id: u for path in written.values() for u in read_manifest(path)}
    return root / "ca" / "clips", expected


def _split(clips: Path, split: str, embed: bool, relative_to: Path | None = None) -> Dataset:
    """One split as the hub's CoVoST 2 has it: client_id, file, audio, sentence, translation, id."""
    rows = [row for row in ROWS if row[4] == split]
    names = [f"common_voice_ca_{row[0]}.mp3" for row in rows]
    if embed:
        audio = [{"bytes": (clips / name).read_bytes(), "path": name} for name in names]
    else:
        audio = [str((clips / name).relative_to(relative_to)) for name in names]
    data = {
        "client_id": [row[3] for row in rows],
        # the path on the machine that built the dataset: it does not exist here
        "file": [f"/root/.cache/cv/ca/clips/{name}" for name in names],
        "audio": audio,
        "sentence": [row[1] for row in rows],
        "translation": [row[2] for row in rows],
        "id": [name.removesuffix(".mp3") for name in names],
    }
    # Casting (not Features at creation) stores the Audio struct without torchcodec.
    return Dataset.from_dict(data).cast_column("audio", Audio(sampling_rate=48000))


def _same(written: dict[str, Path], expected: dict) -> None:
    got = {u.id: u for path in written.values() for u in read_manifest(path)}
    assert sorted(got) == sorted(expected)
    for ident, utterance in got.items():
        for field in COMPARED:
            assert getattr(utterance, field) == getattr(expected[ident], field), (ident, field)


def test_parquet_with_embedded_audio_imports_as_covost2_does(covost, tmp_path, caplog):
    clips, expected = covost
    source = tmp_path / "covost2" / "ca_en"
    source.mkdir(parents=True)
    for split, hub_split in HF_SPLITS.items():
        _split(clips, split, embed=True).to_parquet(source / f"{hub_split}-00000-of-00001.parquet")
    out = tmp_path / "out"
    options = {"language": "ca", "translation_language": "en", "corpus": "covost2"}
    with caplog.at_level(logging.WARNING):
        written = prepare_hf_dataset(source, out, **options)
    assert not caplog.records  # nothing skipped
    # the same manifest names as prepare_covost2's, and the same records but for the audio path
    assert {key: path.name for key, path in written.items()} == {
        f"ca-en_{split}": f"covost2_ca-en_{split}.jsonl.gz" for split in HF_SPLITS
    }
    _same(written, expected)
    # the bytes were written once, as the MP3 files they are, under OUT
    first = read_manifest(written["ca-en_train"])[0]
    assert first.audio == str(out / "covost2-audio" / "ca-en_train" / "common_voice_ca_1.mp3")
    assert Path(first.audio).read_bytes() == (clips / "common_voice_ca_1.mp3").read_bytes()


def test_parquet_with_audio_paths(covost, tmp_path, monkeypatch):
    clips, expected = covost
    # a download with the clips beside the tables: paths relative to the tables' folder
    source = tmp_path / "covost2-ca-en"
    (source / "clips").mkdir(parents=True)
    for clip in clips.iterdir():
        (source / "clips" / clip.name).write_bytes(clip.read_bytes())
    with monkeypatch.context() as inside:
        inside.chdir(source)  # datasets reads relative paths from the working folder
        for split, hub_split in HF_SPLITS.items():
            table = _split(source / "clips", split, embed=False, relative_to=source)
            table.to_parquet(source / f"{hub_split}.parquet")
    written = prepare_hf_dataset(source, tmp_path / "out", language="ca", translation_language="en")
    assert sorted(path.name for path in written.values()) == [
        f"covost2-ca-en_ca-en_{split}.jsonl.gz" for split in ("dev", "test", "train")
    ]  # the corpus is the folder's name
    _same(written, expected)
    dev = read_manifest(written["ca-en_dev"])[0]
    assert dev.audio == str(source / "clips" / "common_voice_ca_4.mp3")  # read in place
    assert not (tmp_path / "out" / "covost2-ca-en-audio").exists()


def test_save_to_disk_dataset_dict(covost, tmp_path, assert_idempotent):
    clips, expected = covost
    splits = {hub: _split(clips, split, embed=True) for split, hub in HF_SPLITS.items()}
    DatasetDict(splits).save_to_disk(tmp_path / "saved")
    written = assert_idempotent(
        prepare_hf_dataset,
        tmp_path / "saved",
        tmp_path / "out",
        language="ca",
        translation_language="en",
    )
    _same(written, expected)
    # one of its Arrow files alone (an IPC stream, as datasets writes them): the split from its
    # folder
    arrow = tmp_path / "saved" / "validation" / "data-00000-of-00001.arrow"
    alone = prepare_hf_dataset(arrow, tmp_path / "arrow", language="ca", translation_language="en")
    assert list(alone) == ["ca-en_dev"]
    _same(alone, {"common_voice_ca_4": expected["common_voice_ca_4"]})


@pytest.fixture(scope="module")
def common_voice(tmp_path_factory, make_audio):
    """A Common-Voice-like Parquet table in two languages: locale column, path, no id column."""
    root = tmp_path_factory.mktemp("cv")
    clip = make_audio(root / "tone.wav", 1.0).read_bytes()
    rows = [
        ("ca", "common_voice_ca_1.mp3", "bon dia", clip),
        ("Catalan", "common_voice_ca_2.mp3", "adéu", clip),  # an English name of a language
        ("nl", "common_voice_nl_1.mp3", "hallo", clip),
        ("nl", "common_voice_nl_2.mp3", "   ", clip),  # no text
        ("nl", "common_voice_nl_3.mp3", "dag", b"this is not audio"),  # undecodable
        ("nl", "common_voice_nl_4.mp3", "ja", b""),  # empty
        ("Nowherese", "common_voice_xx_1.mp3", "hm", clip),  # no such language
    ]
    data = {
        "client_id": [f"spk-{i}" for i in range(len(rows))],
        "path": [row[1] for row in rows],
        "audio": [{"bytes": row[3], "path": row[1].replace(".mp3", ".wav")} for row in rows],
        "sentence": [row[2] for row in rows],
        "locale": [row[0] for row in rows],
    }
    table = Dataset.from_dict(data).cast_column("audio", Audio())
    table.to_parquet(root / "common_voice" / "data" / "test-00000-of-00001.parquet")
    return root / "common_voice"


def test_bad_rows_are_named_skipped_and_counted(common_voice, tmp_path, caplog, by_id):
    with caplog.at_level(logging.WARNING):
        written = prepare_hf_dataset(common_voice, tmp_path)
    assert sorted(written) == ["ca_test", "nl_test"]
    # ids are the stems of the path column (no id column); "Catalan" is ca
    assert sorted(by_id(written["ca_test"])) == ["common_voice_ca_1", "common_voice_ca_2"]
    assert list(by_id(written["nl_test"])) == ["common_voice_nl_1"]
    messages = "\n".join(record.getMessage() for record in caplog.records)
    assert "common-voice: 1 rows with no known language skipped: 1 unknown language" in messages
    assert "'Nowherese'" in messages
    nl = next(r.getMessage() for r in caplog.records if "nl test" in r.getMessage())
    assert "skipped 3 of 4 records" in nl
    assert "1 empty audio (e.g. common_voice_nl_4)" in nl
    assert "1 empty text (e.g. common_voice_nl_2)" in nl
    assert "1 unreadable audio (e.g. " in nl and "common_voice_nl_3.mp3" not in nl
    assert "common_voice_nl_3.wav" in nl  # the file written from its bytes, named by its path
    # no undecodable audio is left under OUT
    assert sorted(p.name for p in (tmp_path / "common-voice-audio" / "nl_test").iterdir()) == [
        "common_voice_nl_1.wav"
    ]


def test_language_filters_and_options(common_voice, tmp_path, by_id, caplog):
    written = prepare_hf_dataset(
        common_voice, tmp_path, languages=["ca", "nl"], exclude_languages=["nl"], split="dev"
    )
    assert list(written) == ["ca_dev"]
    utterance = by_id(written["ca_dev"])["common_voice_ca_1"]
    assert (utterance.speaker, utterance.corpus, utterance.split) == (
        "spk-0",
        "common-voice",
        "dev",
    )
    # a named id column wins; the language option wins over the column
    written = prepare_hf_dataset(
        common_voice, tmp_path / "b", columns=HFColumns(id="client_id"), language="es"
    )
    assert sorted(by_id(written["es_test"])) == ["spk-0", "spk-1", "spk-2", "spk-6"]
    # a path column as the audio: relative paths are looked for beside the table, and counted
    with caplog.at_level(logging.WARNING):
        written = prepare_hf_dataset(
            common_voice, tmp_path / "c", ["ca"], columns=HFColumns(audio="path")
        )
    assert read_manifest(written["ca_test"]) == []
    missing = common_voice / "data" / "common_voice_ca_1.mp3"
    assert f"skipped 2 of 2 records: 2 missing audio (e.g. {missing})" in caplog.text


def test_missing_columns_and_hub_ids_fail_in_one_line(common_voice, tmp_path):
    with pytest.raises(ValueError, match="no column 'speech'.*its columns: client_id, path"):
        prepare_hf_dataset(common_voice, tmp_path, columns=HFColumns(audio="speech"))
    table = Dataset.from_dict({"audio": ["a.wav"], "text": ["x"]})
    table.to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(ValueError, match="no language column .*give the spoken language"):
        prepare_hf_dataset(tmp_path / "plain.parquet", tmp_path / "out")
    with pytest.raises(FileNotFoundError) as error:
        prepare_hf_dataset("facebook/covost2", tmp_path / "out")
    message = str(error.value)
    assert "\n" not in message and "never downloads" in message
    assert "datasets.load_dataset('facebook/covost2').save_to_disk('covost2')" in message
    assert "hf download --repo-type dataset facebook/covost2 --local-dir covost2" in message


@pytest.mark.parametrize(
    "path, split",
    [
        ("data/train-00000-of-00003.parquet", "train"),
        ("validation-00001-of-00002-0a1b2c3d.parquet", "dev"),
        ("ca_en/validation/0000.parquet", "dev"),
        ("clean/test.clean-00000-of-00001.parquet", "test.clean"),
        ("train_clean_100.parquet", "train-clean-100"),
        ("cache/fleurs-test.arrow", "test"),
        ("ca/validated/0000.parquet", "validated"),
        ("train/data-00000-of-00001.arrow", "train"),
        ("data/0000.parquet", "train"),  # nothing names a split: datasets calls it train
    ],
)
def test_split_of_file(path, split, tmp_path):
    assert split_of_file(tmp_path / path, tmp_path) == split
