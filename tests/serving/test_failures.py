"""What the server does when something fails: a batch that fails is decoded request by request so
that one bad request does not fail the others, a request whose client left is never decoded, and
an internal error reaches the client as a generic message with a request id (its text only in the
server's log)."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import numpy as np
import pytest

from unheard.serving.api import AudioTask, read_audio
from unheard.serving.batcher import BatchOptions, RequestBatcher
from unheard.serving.server import ServerOptions, create_app, serve_in_background

try:  # the HTTP client the openai package ships with: httpx2 in its newer releases
    import httpx2 as http
except ImportError:  # pragma: no cover
    import httpx as http


class RecordingModel:
    """The real model, recording the tasks of every `run` call; with ``gate`` set, a call waits
    in `run` until the test opens it (so that the test knows the model is busy)."""

    def __init__(self, stt: Any, gated: bool = False) -> None:
        self.stt, self.name = stt, stt.name
        self.calls: list[list[AudioTask]] = []
        self.entered, self.gate = threading.Event(), threading.Event()
        if not gated:
            self.gate.set()

    def run(self, tasks: list[AudioTask]) -> Any:
        self.calls.append(list(tasks))
        self.entered.set()
        assert self.gate.wait(timeout=60), "the test never opened the gate"
        return self.stt.run(tasks)


def test_a_failed_shared_batch_is_decoded_request_by_request(stt, audio):
    model = RecordingModel(stt)
    good = [AudioTask(read_audio(audio[name]), "asr") for name in ("short.wav", "spanish.wav")]
    bad = AudioTask(np.zeros(800, dtype=np.float32), "asr")  # 50 ms: the model refuses it

    async def scenario() -> list[Any]:
        # a long wait: the three requests are certain to share a batch (it closes at three)
        batcher = RequestBatcher(model, BatchOptions(max_batch=3, max_wait_s=30))
        batcher.start()
        try:
            results = await asyncio.gather(
                *(batcher.submit(t) for t in (good[0], bad, good[1])), return_exceptions=True
            )
            return [results, batcher.batches, batcher.requests]
        finally:
            await batcher.stop()

    results, batches, requests = asyncio.run(scenario())
    # the shared batch failed on the bad request, then each was decoded alone
    assert [len(c) for c in model.calls] == [3, 1, 1, 1]
    assert all(c[0] is t for c, t in zip(model.calls[1:], (good[0], bad, good[1]), strict=True))
    assert results[0].text == stt.transcribe(audio["short.wav"]).text
    assert results[2].text == stt.transcribe(audio["spanish.wav"]).text
    assert isinstance(results[1], ValueError) and "at least 100 ms are needed" in str(results[1])
    assert (batches, requests) == (2, 2)  # the two answered ones, each its own batch


def test_a_request_whose_client_left_is_not_decoded(stt, audio):
    model = RecordingModel(stt, gated=True)
    first, left, last = (
        AudioTask(read_audio(audio[name]), "asr")
        for name in ("short.wav", "spanish.wav", "spanish.flac")
    )

    async def scenario() -> list[Any]:
        batcher = RequestBatcher(model, BatchOptions(max_batch=1, max_wait_s=0))
        batcher.start()
        try:
            decoding = asyncio.ensure_future(batcher.submit(first))
            while not model.entered.is_set():  # the first holds the model
                await asyncio.sleep(0.01)
            leaving = asyncio.ensure_future(batcher.submit(left))
            await asyncio.sleep(0)  # queued behind the first
            assert batcher.waiting == 1
            leaving.cancel()  # its client hung up: the server cancels the request's coroutine
            await asyncio.sleep(0)
            model.gate.set()
            # the queue is FIFO: once the last is answered, the worker has met the one that left
            answers = await asyncio.gather(decoding, batcher.submit(last))
            return [answers, leaving.cancelled(), batcher.requests]
        finally:
            model.gate.set()
            await batcher.stop()

    (answers, cancelled, requests) = asyncio.run(scenario())
    assert cancelled
    # never [left]: the model's time goes to requests someone waits for
    assert [[t is last for t in c] for c in model.calls] == [[False], [True]]
    assert model.calls[0][0] is first
    assert requests == 2
    assert answers[1].text == stt.transcribe(audio["spanish.flac"]).text


class BrokenModel:
    """A model that fails as a real one can, with a message that must not reach the client."""

    name = "broken"
    secret = "CUDA error at /srv/models/secret-checkpoint/trained.safetensors"

    def run(self, tasks: list[AudioTask]) -> Any:
        raise RuntimeError(self.secret)


def test_an_internal_error_reaches_the_client_without_its_text(audio, caplog):
    app = create_app(BrokenModel(), ServerOptions())
    with caplog.at_level(logging.ERROR, "unheard.serving.server"):
        with serve_in_background(app) as url:
            files = {"file": ("a.wav", audio["short.wav"].read_bytes())}
            response = http.post(url + "/v1/audio/transcriptions", files=files, timeout=60)
            assert http.get(url + "/health").json()["status"] == "ok"  # still serving
    assert response.status_code == 500
    assert "secret" not in response.text and "RuntimeError" not in response.text
    error = response.json()["error"]
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 12 and (error["type"], error["code"]) == ("server_error", 500)
    assert error["message"] == (
        f"internal server error (request id {request_id}); the server's log has the details"
    )
    # the server's log has it all, under the same id
    logged = [r for r in caplog.records if r.name == "unheard.serving.server"]
    assert len(logged) == 1 and request_id in logged[0].getMessage()
    assert "/v1/audio/transcriptions" in logged[0].getMessage()
    assert logged[0].exc_info[1].args == (BrokenModel.secret,)


@pytest.mark.parametrize("rejected", ["xx", "zz-notalang", "und"])
def test_unknown_language_codes_are_refused_by_the_api_too(stt, audio, rejected):
    # the server's check is the Python API's: `transcribe(language=...)` and `translate(to=...)`
    with pytest.raises(ValueError, match=f"'{rejected}' names no known language"):
        stt.transcribe(audio["short.wav"], language=rejected)
    with pytest.raises(ValueError, match=f"'{rejected}' names no known language"):
        stt.translate(audio["short.wav"], to=rejected)
