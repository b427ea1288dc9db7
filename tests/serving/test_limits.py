"""The server's limits in front of the model, over real HTTP on loopback: a request without the
right API key is refused before a byte of its upload is read, and a full queue refuses new
requests with 503 and ``Retry-After`` while the waiting ones are served."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
import pytest

from unheard.cli import main
from unheard.serving.api import AudioTask, read_audio
from unheard.serving.batcher import BatchOptions, QueueFull, RequestBatcher
from unheard.serving.server import RETRY_AFTER_S, ServerOptions, create_app, serve_in_background

try:  # the HTTP client the openai package ships with: httpx2 in its newer releases
    import httpx2 as http
except ImportError:  # pragma: no cover
    import httpx as http

MAX_UPLOAD = 100_000  # bytes
MISSING = "missing API key: send 'Authorization: Bearer KEY'"


class GatedModel:
    """The real model behind a gate: a batch waits in `run` until the test opens the gate, so
    that the test knows the model is busy without timing anything."""

    def __init__(self, stt: Any) -> None:
        self.stt, self.name = stt, stt.name
        self.entered, self.gate = threading.Event(), threading.Event()

    def run(self, tasks: list[AudioTask]) -> Any:
        self.entered.set()
        assert self.gate.wait(timeout=60), "the test never opened the gate"
        return self.stt.run(tasks)


def counting_body_reads(app: Any) -> tuple[Any, list[int]]:
    """The app behind an ASGI layer that records the size of every body chunk the app reads."""
    received: list[int] = []

    async def counted(scope: Any, receive: Any, send: Any) -> None:
        async def counting_receive() -> Any:
            message = await receive()
            received.append(len(message.get("body", b"")))
            return message

        await app(scope, counting_receive if scope["type"] == "http" else receive, send)

    return counted, received


def test_a_request_without_the_key_is_refused_before_its_upload_is_read(stt, audio):
    app = create_app(stt, ServerOptions(api_key="s3cret", max_upload_bytes=MAX_UPLOAD))
    counted, received = counting_body_reads(app)
    big = {"file": ("a.wav", bytes(10 * MAX_UPLOAD))}  # over the limit: 413 once the key is right
    head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'
    multipart = {"content-type": "multipart/form-data; boundary=b"}
    with serve_in_background(counted) as url:
        endpoint = url + "/v1/audio/transcriptions"
        refusals = {
            "no key": (http.post(endpoint, files=big), MISSING),
            "not bearer": (
                http.post(endpoint, files=big, headers={"authorization": "Basic s3cret"}),
                MISSING,
            ),
            "wrong key": (
                http.post(endpoint, files=big, headers={"authorization": "Bearer s3cre"}),
                "incorrect API key",
            ),
            "wrong key, chunked": (  # no Content-Length: only reading it would tell its size
                http.post(
                    url + "/v1/audio/translations",
                    content=iter([head, bytes(50_000), b"\r\n--b--\r\n"]),
                    headers={**multipart, "authorization": "Bearer guess"},
                ),
                "incorrect API key",
            ),
            "models, no key": (http.get(url + "/v1/models"), MISSING),
        }
        for name, (response, message) in refusals.items():
            assert response.status_code == 401, (name, response.text)
            assert response.json() == {
                "error": {"message": message, "type": "authentication_error", "param": None,
                          "code": 401}
            }, name  # fmt: skip
        assert received == [], "a refused request's body was read"

        key = {"authorization": "Bearer s3cret"}
        too_large = http.post(endpoint, files=big, headers=key)
        assert too_large.status_code == 413, too_large.text  # the size limit comes after the key
        assert received == []  # refused by its Content-Length, unread too
        upload = {"file": ("a.mp3", audio["short.mp3"].read_bytes())}
        answered = http.post(endpoint, files=upload, headers=key, timeout=60)
        assert answered.status_code == 200, answered.text
        assert answered.json()["text"] == stt.transcribe(audio["short.mp3"]).text
        assert sum(received) > audio["short.mp3"].stat().st_size  # this one was read
        assert http.get(url + "/health").status_code == 200  # open without a key, as before
        assert http.get(url + "/").status_code == 200
        assert http.get(endpoint).status_code == 405  # unprotected: not a route, as before


def test_a_full_queue_gets_503_with_retry_after_and_the_server_goes_on(stt, audio):
    model = GatedModel(stt)
    # one request at a time, so that the first holds the model and the second waits in the queue
    options = ServerOptions(max_queue=1, batch=BatchOptions(max_batch=1, max_wait_s=0))
    app = create_app(model, options)
    clip = audio["short.mp3"]
    expected = stt.transcribe(clip).text
    with serve_in_background(app) as url, ThreadPoolExecutor(2) as pool:
        endpoint = url + "/v1/audio/transcriptions"

        def post() -> Any:
            return http.post(endpoint, files={"file": ("a.mp3", clip.read_bytes())}, timeout=60)

        try:
            decoding = pool.submit(post)
            assert model.entered.wait(timeout=30)  # the first request holds the model
            waiting = pool.submit(post)
            deadline = time.monotonic() + 30
            while http.get(url + "/health").json()["waiting"] < 1:  # the second is queued
                assert time.monotonic() < deadline and not waiting.done()
                time.sleep(0.01)

            refused = post()
            assert refused.status_code == 503, refused.text
            assert refused.headers["retry-after"] == str(RETRY_AFTER_S) == "2"
            assert refused.json() == {
                "error": {
                    "message": "the server is busy: its queue of 1 requests waiting for the "
                    "model is full; retry in 2 s",
                    "type": "server_error", "param": None, "code": 503,
                }
            }  # fmt: skip
            client = openai.OpenAI(api_key="unused", base_url=url + "/v1", max_retries=0)
            with pytest.raises(openai.InternalServerError, match="the server is busy") as error:
                client.audio.transcriptions.create(file=clip, model="x")
            assert error.value.status_code == 503
            assert http.get(url + "/health").json()["status"] == "ok"
        finally:
            model.gate.set()
        for response in (decoding.result(timeout=60), waiting.result(timeout=60)):
            assert response.status_code == 200, response.text
            assert response.json()["text"] == expected
        assert http.get(url + "/health").json()["waiting"] == 0
        again = post()  # the queue drained: served again
        assert again.status_code == 200 and again.json()["text"] == expected
        assert app.state.batcher.requests == 3


def test_the_batcher_refuses_a_request_over_max_queue(stt, audio):
    model = GatedModel(stt)
    task = AudioTask(read_audio(audio["short.wav"]), "asr")

    async def scenario() -> list[Any]:
        batcher = RequestBatcher(model, BatchOptions(max_batch=1, max_wait_s=0), max_queue=1)
        batcher.start()
        try:
            first = asyncio.ensure_future(batcher.submit(task))
            while not model.entered.is_set():  # the first holds the model
                await asyncio.sleep(0.01)
            second = asyncio.ensure_future(batcher.submit(task))
            await asyncio.sleep(0)  # the second is queued
            assert (batcher.waiting, batcher.full) == (1, True)
            with pytest.raises(QueueFull, match="1 requests are already waiting"):
                await batcher.submit(task)
            model.gate.set()
            results = await asyncio.gather(first, second)
            assert not batcher.full
            return results
        finally:
            model.gate.set()
            await batcher.stop()

    expected = stt.transcribe(audio["short.wav"]).text
    assert [t.text for t in asyncio.run(scenario())] == [expected, expected]


def test_max_queue_is_validated(checkpoint, capsys):
    with pytest.raises(ValueError, match="max_queue must be >= 0 \\(0: no limit\\), got -1"):
        ServerOptions(max_queue=-1)
    assert ServerOptions(max_queue=0).max_queue == 0  # no limit
    assert main(["serve", str(checkpoint), "--max-queue", "-1"]) == 1
    assert "max_queue must be >= 0 (0: no limit), got -1" in capsys.readouterr().err
