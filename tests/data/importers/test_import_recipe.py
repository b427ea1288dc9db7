"""What the importers share: language codes and filters, and rebuilding only what changed."""

import os

import pytest

from unheard.data.importers.languages import LanguageSelection, iso639_1
from unheard.data.importers.recipe import audio_exists, write_split
from unheard.data.manifest import Utterance, read_manifest


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("nl", "nl"),
        ("sv-SE", "sv"),  # Common Voice
        ("rm-sursilv", "rm"),
        ("zh-CN", "zh"),
        ("zh-HK", "yue"),  # Cantonese, not Mandarin
        ("ca_es", "ca"),  # FLEURS
        ("cmn_hans_cn", "zh"),
        ("yue_hant_hk", "yue"),
        ("ast_es", "ast"),  # no ISO 639-1 code: kept
        ("dutch", "nl"),  # MLS
        ("en_accented", "en"),  # VoxPopuli
        ("NL", "nl"),
    ],
)
def test_iso639_1(code, expected):
    assert iso639_1(code) == expected


def test_iso639_1_rejects_non_codes():
    for code in ("", "12", "-nl"):
        with pytest.raises(ValueError, match="not a language code"):
            iso639_1(code)


def test_selection_matches_either_code_and_exclusion_wins():
    selection = LanguageSelection.of(["NL", "ca"], ["ca_es"])
    assert selection.selects("nl_nl") and selection.selects("nl")
    assert not selection.selects("ca_es") and not selection.selects("de_de")
    assert LanguageSelection.of().selects("anything")
    assert LanguageSelection.of(None, ["zh"]).group(["zh-CN", "zh-TW", "nl", "zh-HK"]) == {
        "nl": ["nl"],
        "yue": ["zh-HK"],
    }
    assert LanguageSelection.of(["zh"]).group(["zh-TW", "zh-CN"]) == {"zh": ["zh-CN", "zh-TW"]}
    assert LanguageSelection.of(["nl", "fr"]).unmatched(["nl_nl", "de_de"]) == ["fr"]
    with pytest.raises(ValueError, match="list of codes"):
        LanguageSelection.of("nl")
    with pytest.raises(ValueError, match="language codes"):
        LanguageSelection.of(None, [""])


@pytest.fixture
def split(tmp_path):
    """A toy importer of one split: one record per line of ``meta.txt``, audio ``clips/<line>``.

    Returns ``run(**options)``, which writes the manifest and returns (path, builds so far).
    """
    meta = tmp_path / "meta.txt"
    meta.write_text("a.wav\nb.wav\n")
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "a.wav").write_bytes(b"RIFF")
    builds = []

    def build(skips):
        builds.append(1)
        for name in meta.read_text().split():
            if audio_exists(tmp_path / "clips" / name, skips):
                yield Utterance(
                    id=name, audio=str(tmp_path / "clips" / name), duration=1.0, language="nl"
                )

    def run(**options):
        path = write_split(tmp_path / "out", "toy", "nl", "train", [meta], build, **options)
        return path, len(builds)

    return run, tmp_path


def test_up_to_date_manifest_is_kept(split):
    run, _ = split
    path, builds = run()
    assert path.name == "toy_nl_train.jsonl.gz" and builds == 1
    assert [u.id for u in read_manifest(path)] == ["a.wav"]
    assert (path.parent / ".toy_nl_train.jsonl.gz.inputs.json").is_file()
    assert run() == (path, 1)
    assert run(overwrite=True) == (path, 2)
    assert run(options={"normalized_text": True}) == (path, 3)  # other options: rebuilt


def test_changed_metadata_rebuilds(split):
    run, folder = split
    run()
    meta = folder / "meta.txt"
    meta.write_text("a.wav\n")
    os.utime(meta, ns=(1, 1))  # a different mtime, even on coarse file systems
    path, builds = run()
    assert builds == 2 and [u.id for u in read_manifest(path)] == ["a.wav"]


def test_missing_audio_that_appears_rebuilds(split):
    run, folder = split
    run()
    assert run()[1] == 1  # b.wav is still missing: its folder has not changed
    (folder / "clips" / "b.wav").write_bytes(b"RIFF")
    os.utime(folder / "clips", ns=(1, 1))
    path, builds = run()
    assert builds == 2 and [u.id for u in read_manifest(path)] == ["a.wav", "b.wav"]


def test_damaged_stamp_rebuilds(split):
    run, folder = split
    run()
    (folder / "out" / ".toy_nl_train.jsonl.gz.inputs.json").write_text("[not json")
    assert run()[1] == 2
