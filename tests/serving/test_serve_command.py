"""``unheard serve`` as a user starts it: a process that listens, answers, and refuses bad
settings with a one-line reason before loading anything."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time

import openai

import unheard
from unheard.cli import main


def test_serve_refuses_bad_settings(checkpoint, tmp_path, capsys):
    assert main(["serve", str(checkpoint), "--max-batch", "0"]) == 1
    assert "max_batch must be >= 1, got 0" in capsys.readouterr().err
    assert main(["serve", str(tmp_path)]) == 1
    assert "is not an unheard checkpoint" in capsys.readouterr().err


def test_serve_process_answers_with_the_key_from_the_environment(checkpoint, audio):
    env = {**os.environ, "UNHEARD_API_KEY": "from-env", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "unheard", "serve", str(checkpoint), "--port", "0",
               "--threads", "1", "--model-name", "tiny"]  # fmt: skip
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        url, deadline, lines = None, time.monotonic() + 120, []
        while url is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line and process.poll() is not None:
                break
            lines.append(line)
            match = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", line)
            url = match and match.group(1)
        assert url, "".join(lines)
        threading.Thread(target=process.stderr.read, daemon=True).start()  # access log: drain
        client = openai.OpenAI(api_key="from-env", base_url=url + "/v1", max_retries=0)
        assert [m.id for m in client.models.list().data] == ["tiny"]
        text = client.audio.transcriptions.create(file=audio["short.mp3"], model="x").text
        # the server decodes with the default options: as a default load of the checkpoint
        assert text == unheard.load(checkpoint).transcribe(audio["short.mp3"]).text
    finally:
        process.terminate()
        process.wait(timeout=30)
