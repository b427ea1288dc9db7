"""Manifests: round trips (plain and gzip), relative audio paths, and each validation error."""

import gzip
import json
import os
from pathlib import Path

import pytest

from unheard.data.manifest import Utterance, read_manifest, write_manifest


def _utterances(folder: Path) -> list[Utterance]:
    return [
        Utterance(
            id="es-0007",
            audio=str(folder / "audio" / "es-0007.wav"),
            duration=0.8125,
            sample_rate=16000,
            language="es",
            text="siete",
            translation="seven",
            translation_language="en",
            speaker="es-s160-p50",
            corpus="espeak-numbers",
            split="train",
        ),
        # Sparse record, audio outside the manifest's folder, with an offset.
        Utterance(id="x", audio="/elsewhere/long.flac", offset=12.5, duration=3.0, language="ca"),
    ]


@pytest.mark.parametrize("name", ["manifest.jsonl", "manifest.jsonl.gz"])
def test_round_trip_keeps_every_field(tmp_path, name):
    utterances = _utterances(tmp_path)
    path = tmp_path / name
    write_manifest(path, utterances)
    assert read_manifest(path) == utterances
    # No temporary file is left next to the manifest.
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_gzip_manifest_is_gzip_and_plain_is_not(tmp_path):
    write_manifest(tmp_path / "a.jsonl.gz", _utterances(tmp_path))
    write_manifest(tmp_path / "b.jsonl", _utterances(tmp_path))
    assert (tmp_path / "a.jsonl.gz").read_bytes()[:2] == b"\x1f\x8b"
    with gzip.open(tmp_path / "a.jsonl.gz", "rt", encoding="utf-8") as f:
        assert f.read() == (tmp_path / "b.jsonl").read_text(encoding="utf-8")


def test_audio_under_manifest_folder_is_stored_relative_and_read_back_absolute(tmp_path):
    path = tmp_path / "corpus" / "manifest.jsonl"
    utterances = _utterances(tmp_path / "corpus")
    write_manifest(path, utterances)
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert records[0]["audio"] == "audio/es-0007.wav"
    assert records[1]["audio"] == "/elsewhere/long.flac"
    # Absent fields are written as null, every field is present.
    assert records[1]["text"] is None and records[1]["split"] is None
    assert len(records[1]) == 12

    # Moving the corpus folder keeps the manifest valid.
    moved = tmp_path / "moved"
    (tmp_path / "corpus").rename(moved)
    read = read_manifest(moved / "manifest.jsonl")
    assert read[0].audio == str(moved / "audio" / "es-0007.wav")
    assert os.path.isabs(read[0].audio)


def test_relative_manifest_path_resolves_audio_against_its_folder(tmp_path, monkeypatch):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "m.jsonl").write_text(
        '{"id": "a", "audio": "clips/a.wav", "duration": 1.0, "language": "de"}\n\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    [utterance] = read_manifest("c/m.jsonl")  # the blank line is ignored
    assert utterance.audio == str(tmp_path / "c" / "clips" / "a.wav")
    assert utterance.offset == 0.0 and utterance.sample_rate is None


def test_write_replaces_an_existing_manifest(tmp_path):
    path = tmp_path / "m.jsonl"
    write_manifest(path, _utterances(tmp_path))
    write_manifest(path, _utterances(tmp_path)[1:])
    assert [u.id for u in read_manifest(path)] == ["x"]


GOOD = {"id": "a", "audio": "/a.wav", "duration": 1.0, "language": "en"}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"id": "a", "audio": ', "bad JSON"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "id"}), "missing required field(s) id"),
        (json.dumps({**GOOD, "audio": None}), "missing required field(s) audio"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "duration"}), "field(s) duration"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "language"}), "field(s) language"),
        (json.dumps({**GOOD, "transcript": "hi"}), "unknown field(s) transcript"),
        (json.dumps({**GOOD, "duration": -0.5}), "duration must be a finite, non-negative"),
        (json.dumps({**GOOD, "offset": -1}), "offset must be a finite, non-negative"),
        (json.dumps({**GOOD, "duration": "1.0"}), "duration must be a number"),
        (json.dumps({**GOOD, "sample_rate": 0}), "sample_rate must be a positive integer"),
        (json.dumps({**GOOD, "text": 7}), "text must be a string or null"),
    ],
)
def test_bad_line_names_file_line_and_problem(tmp_path, line, problem):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError) as error:
        read_manifest(path)
    message = str(error.value)
    assert message.startswith(f"{path}:2: ")
    assert problem in message


def test_missing_manifest_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_manifest(tmp_path / "nope.jsonl")


def test_utterance_rejects_negative_duration():
    with pytest.raises(ValueError, match="duration"):
        Utterance(id="a", audio="a.wav", duration=-1.0, language="en")


def test_undecodable_manifest_is_a_value_error(tmp_path):
    (tmp_path / "latin1.jsonl").write_bytes(json.dumps(GOOD).encode() + b'\n{"id": "\xe9"}\n')
    with pytest.raises(ValueError, match=r"latin1.jsonl:2: not UTF-8"):
        read_manifest(tmp_path / "latin1.jsonl")
    (tmp_path / "fake.jsonl.gz").write_text(json.dumps(GOOD), encoding="utf-8")  # not gzipped
    with pytest.raises(ValueError, match=r"fake.jsonl.gz: broken gzip file"):
        read_manifest(tmp_path / "fake.jsonl.gz")
