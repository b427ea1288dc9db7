"""`unheard.load` and ``unheard transcribe/translate``: answers equal to `unheard.decoding` on the
same audio, long audio windowed, files batched together, bad input refused with a reason."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import soxr

import unheard
from unheard.cli import main
from unheard.data.audio import load_audio
from unheard.data.collate import Example
from unheard.decoding.decode import DecodeOptions, decode
from unheard.serving.api import AudioTask
from unheard.serving.formats import render
from unheard.serving.windows import cut_windows, join_segments


def _decoded(stt, waveform, task="asr", target=""):
    # what unheard.decoding writes for one clip, with the options the `stt` fixture loaded
    example = Example("x", waveform, task, "", target, None)
    options = DecodeOptions(length_base=6, tokens_per_second=2)
    return decode(stt.model, stt.collator, stt.tokenizer, [example], options)[0]


def test_import_unheard_stays_light():
    code = "import sys, unheard; print(sorted({'torch', 'fastapi'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_transcribe_a_path_bytes_or_array_equals_decoding_the_same_audio(stt, audio):
    path = audio["short.wav"]
    waveform = load_audio(path)
    result = stt.transcribe(path)
    assert result.text and result.text == _decoded(stt, waveform)
    assert result.duration_s == pytest.approx(len(waveform) / 16000)
    assert [(s.start_s, s.end_s) for s in result.segments] == [(0.0, len(waveform) / 16000)]
    assert stt.transcribe(path.read_bytes()) == result
    assert stt.transcribe(waveform, sample_rate=16000) == result
    # a 44.1 kHz stereo array is down-mixed and resampled as a file of it would be
    stereo = np.stack([waveform, waveform], axis=1)
    high = soxr.resample(stereo, 16000, 44100)
    soundfile.write(path.parent / "stereo44.wav", high, 44100, subtype="FLOAT")
    assert (
        stt.transcribe(high, sample_rate=44100).text
        == stt.transcribe(path.parent / "stereo44.wav").text
    )


def test_translate_uses_the_translation_prompt_and_target(stt, audio):
    waveform = load_audio(audio["spanish.flac"])
    to_english = stt.translate(audio["spanish.flac"])
    to_french = stt.translate(audio["spanish.flac"], to="fr", language="es")
    assert to_english.text == _decoded(stt, waveform, "st", "en")
    assert to_french.text == _decoded(stt, waveform, "st", "fr")
    assert (to_french.task, to_french.language, to_french.target_language) == ("st", "es", "fr")
    assert (
        len({to_english.text, to_french.text, stt.transcribe(waveform, sample_rate=16000).text})
        == 3
    )


def test_long_audio_is_cut_into_windows_and_joined(stt, audio):
    assert (stt.window_s, stt.overlap_s) == (3.0, 0.75)  # the tiny Whisper encoder's 3 s window
    waveform = load_audio(audio["long.wav"])
    assert len(waveform) == 112000
    windows = cut_windows(len(waveform), 48000, 12000)
    texts = [_decoded(stt, waveform[w.start : w.end]) for w in windows]
    expected_text, expected_segments = join_segments(texts, windows, 16000, 0.75)
    result = stt.transcribe(audio["long.wav"])
    assert len(windows) == 3 and sum(bool(t) for t in texts) >= 2
    assert (result.text, list(result.segments)) == (expected_text, expected_segments)
    bounds = [0.0, 2.458375, 4.54175, 7.0]  # the middles of the overlaps
    assert {(s.start_s, s.end_s) for s in result.segments} <= set(
        zip(bounds, bounds[1:], strict=False)
    )


def test_several_recordings_are_decoded_together_with_the_same_answers(stt, audio):
    waveforms = [load_audio(audio[n]) for n in ("short.wav", "long.mp3", "spanish.flac")]
    tasks = [AudioTask(waveforms[0], "asr"), AudioTask(waveforms[1], "st", "fr", "en"),
             AudioTask(waveforms[2], "st", "es", "de")]  # fmt: skip
    together = stt.run(tasks)
    alone = [stt.run([t])[0] for t in tasks]
    assert together == alone
    assert [t.task for t in together] == ["asr", "st", "st"]


def test_bad_audio_is_refused_with_a_reason(stt, audio, tmp_path):
    with pytest.raises(ValueError, match="at least 100 ms"):
        stt.transcribe(np.zeros(800, dtype=np.float32), sample_rate=16000)
    with pytest.raises(ValueError, match="needs its sample_rate"):
        stt.transcribe(np.zeros(16000, dtype=np.float32))
    with pytest.raises(ValueError, match="NaN"):
        stt.transcribe(np.full(16000, np.nan, dtype=np.float32), sample_rate=16000)
    with pytest.raises(ValueError, match="language code"):
        stt.translate(audio["short.wav"], to="English please")
    with pytest.raises(ValueError, match="empty"):
        stt.transcribe(b"")
    with pytest.raises(ValueError, match="cannot decode"):
        stt.transcribe(b"this is not audio at all")
    with pytest.raises(FileNotFoundError):
        stt.transcribe(tmp_path / "missing.wav")


def test_cli_transcribes_and_translates_files_in_every_format(checkpoint, audio, tmp_path, capsys):
    files = [str(audio["short.mp3"]), str(audio["long.wav"])]
    default = unheard.load(checkpoint)  # the CLI's decoding options: the defaults
    expected = [default.transcribe(f) for f in files]
    assert main(["transcribe", str(checkpoint), *files, "--format", "json", "--threads", "1"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["file"], r["text"], r["task"]) for r in lines] == [
        (f, e.text, "transcribe") for f, e in zip(files, expected, strict=True)
    ]
    assert len(lines[1]["segments"]) >= 2 and lines[1]["duration"] == 7.0

    for fmt, suffix in (("srt", ".srt"), ("vtt", ".vtt"), ("text", ".txt")):
        args = ["transcribe", str(checkpoint), *files, "--format", fmt, "--out-dir", str(tmp_path)]
        assert main(args) == 0
        assert (tmp_path / f"long{suffix}").read_text() == render(expected[1], fmt)

    assert main(["translate", str(checkpoint), files[0], "--to", "fr"]) == 0
    assert capsys.readouterr().out == render(default.translate(files[0], to="fr"), "text")


def test_cli_errors_are_one_line(checkpoint, tmp_path, capsys):
    (tmp_path / "notes.wav").write_text("not audio")
    assert main(["transcribe", str(checkpoint), str(tmp_path / "notes.wav")]) == 1
    assert "notes.wav: cannot decode audio file" in capsys.readouterr().err
    assert main(["translate", str(tmp_path), "x.wav"]) == 1
    assert "is not an unheard checkpoint" in capsys.readouterr().err
    assert main(["transcribe", str(checkpoint), "x.wav", "--overlap-seconds", "30"]) == 1
    assert "overlap_s must be" in capsys.readouterr().err
