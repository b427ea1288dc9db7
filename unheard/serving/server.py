"""The OpenAI-compatible HTTP server: FastAPI routes over the request batcher.

Routes: ``POST /v1/audio/transcriptions`` and ``POST /v1/audio/translations`` (multipart
``file``, ``model``, ``language``, ``prompt``, ``response_format``, ``temperature``, as OpenAI's
audio API; translations also take ``to``, the target language, English by default),
``GET /v1/models``, ``GET /health``, and the web page at ``/``.

Deviations from OpenAI, all harmless to its clients: any ``model`` name is accepted (the one
loaded model answers); ``prompt`` is ignored (the checkpoint's test prompts are used); decoding
is deterministic, so ``temperature`` is checked (0 to 1) but ignored.

Every bad request gets a 4xx with an OpenAI-style ``{"error": {"message", "type", "param",
"code"}}`` body: no file, an empty, non-audio, truncated or too short file, a body over
``max_upload_bytes`` (413), audio over ``max_audio_s``, an unknown format, a malformed or
unknown language code (``language`` or ``to``: ISO 639-1, 639-3 where 639-1 has none, as CLDR
knows them), or a missing or wrong API key (401: checked before any byte of the body is read).
A WAV is truncated when fewer bytes follow than its RIFF header declares. An internal error gets
500 with a generic message and a request id; its text goes to the server's log only. When
``max_queue`` requests already wait for the model, a new one gets 503 with ``Retry-After`` and the
server goes on with the others. Uploads are decoded in a worker thread (ffmpeg runs as a
subprocess), the model in the batcher's own thread: the event loop only moves bytes.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from unheard.serving.api import AudioTask, SpeechToText, check_language
from unheard.serving.batcher import BatchOptions, QueueFull, RequestBatcher
from unheard.serving.formats import FORMATS, render
from unheard.serving.uploads import decode_upload

RETRY_AFTER_S = 2  # a 503's Retry-After; the openai client waits that long, then retries
# the multipart fields of OpenAI's audio API (module level: FastAPI resolves them by name)
Upload = Annotated[UploadFile | None, File(description="the audio file")]
Text = Annotated[str | None, Form()]
ERROR_TYPES = {401: "authentication_error", 404: "not_found_error", 413: "request_too_large"}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerOptions:
    """What the server accepts and how it batches."""

    model_name: str | None = None  # the id in /v1/models; None: the checkpoint's name
    api_key: str | None = None  # None: no key needed; else "Authorization: Bearer KEY"
    max_upload_bytes: int = 25 * 2**20  # a larger body gets 413 (OpenAI's limit: 25 MB)
    max_audio_s: float = 600.0  # longer audio gets 400, before it is decoded when the header says
    max_queue: int = 64  # most requests waiting for the model; one more gets 503; 0: no limit
    batch: BatchOptions = field(default_factory=BatchOptions)

    def __post_init__(self) -> None:
        """Validate once, naming the bad value.

        Raises:
            ValueError: for a non-positive limit, a negative ``max_queue`` or an empty API key.
        """
        if self.max_upload_bytes < 1 or self.max_audio_s <= 0:
            raise ValueError(
                f"max_upload_bytes and max_audio_s must be > 0, got {self.max_upload_bytes} "
                f"and {self.max_audio_s}"
            )
        if self.max_queue < 0:
            raise ValueError(f"max_queue must be >= 0 (0: no limit), got {self.max_queue}")
        if self.api_key is not None and not self.api_key.strip():
            raise ValueError("api_key must not be empty; leave it out to need no key")


def create_app(stt: SpeechToText, options: ServerOptions | None = None) -> FastAPI:
    """Build the server around a loaded model.

    Args:
        stt: the model (from `unheard.load`).
        options: limits, API key and batching.

    Returns:
        The FastAPI app; run it with uvicorn. Its batcher starts and stops with the app.
    """
    options = options or ServerOptions()
    batcher = RequestBatcher(stt, options.batch, options.max_queue)
    model_name = options.model_name or stt.name
    created = int(time.time())

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(
        title="unheard",
        summary="OpenAI-compatible speech transcription and translation",
        lifespan=lifespan,
    )
    app.state.batcher = batcher
    _add_error_handlers(app)

    def busy() -> HTTPException:
        return HTTPException(
            503,
            f"the server is busy: its queue of {options.max_queue} requests waiting for the model "
            f"is full; retry in {RETRY_AFTER_S} s",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    async def answer(
        task: str, file: UploadFile | None, language: str | None, to: str,
        response_format: str, temperature: float,
    ) -> Response:  # fmt: skip
        if response_format not in FORMATS:
            raise HTTPException(
                400,
                f"unknown response_format {response_format!r}; choose from {', '.join(FORMATS)}",
            )
        if not 0 <= temperature <= 1:
            raise HTTPException(400, f"temperature must be between 0 and 1, got {temperature}")
        try:
            language = check_language(language, "language") if language else None
            to = check_language(to, "to")
        except ValueError as e:
            raise HTTPException(400, str(e)) from e
        if file is None:
            raise HTTPException(400, "no file: send the audio as the multipart field 'file'")
        data = await file.read()
        if not data:
            raise HTTPException(400, f"the file {file.filename!r} is empty")
        if batcher.full:  # refused before the costly decode; submit checks again after it
            raise busy()
        try:
            waveform = await run_in_threadpool(decode_upload, data, options.max_audio_s)
        except ValueError as e:
            raise HTTPException(400, f"cannot use the file {file.filename!r}: {e}") from e
        try:
            transcript = await batcher.submit(AudioTask(waveform, task, language, to))
        except QueueFull as e:  # filled up while this upload decoded
            raise busy() from e
        except ValueError as e:  # the model refused this audio
            raise HTTPException(400, f"cannot use the file {file.filename!r}: {e}") from e
        body = render(transcript, response_format)
        if response_format in ("json", "verbose_json"):
            return Response(body, media_type="application/json")
        return PlainTextResponse(body)

    @app.post("/v1/audio/transcriptions")
    async def transcriptions(
        file: Upload = None, model: Text = None, language: Text = None, prompt: Text = None,
        response_format: Annotated[str, Form()] = "json",
        temperature: Annotated[float, Form()] = 0.0,
    ) -> Response:  # fmt: skip
        """Transcribe an audio file (OpenAI's ``audio.transcriptions.create``)."""
        return await answer("asr", file, language, "en", response_format, temperature)

    @app.post("/v1/audio/translations")
    async def translations(
        file: Upload = None, model: Text = None, language: Text = None, prompt: Text = None,
        response_format: Annotated[str, Form()] = "json",
        temperature: Annotated[float, Form()] = 0.0,
        to: Annotated[str, Form()] = "en",
    ) -> Response:  # fmt: skip
        """Translate an audio file, into English unless ``to`` says otherwise."""
        return await answer("st", file, language, to, response_format, temperature)

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        """The one model this server runs, as OpenAI lists models."""
        entry = {"id": model_name, "object": "model", "created": created, "owned_by": "unheard"}
        return {"object": "list", "data": [entry]}

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness, and what the batcher has done."""
        return {
            "status": "ok", "model": model_name, "waiting": batcher.waiting,
            "batches": batcher.batches, "requests": batcher.requests,
        }  # fmt: skip

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> str:
        """The web page: upload or record audio, read the answer."""
        return (resources.files("unheard.serving") / "static" / "index.html").read_text("utf-8")

    # The last added runs first: the key is checked, then the size, both before any byte of the
    # body is read. Every route under /v1 needs the key; /health (load balancers) and / do not.
    app.add_middleware(UploadLimit, max_bytes=options.max_upload_bytes)
    if options.api_key is not None:
        protected = [route for route in app.routes if getattr(route, "path", "").startswith("/v1/")]
        app.add_middleware(ApiKeyCheck, api_key=options.api_key, routes=protected)
    return app


@contextlib.contextmanager
def serve_in_background(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run uvicorn in a thread for as long as the context lasts (tests, benchmarks, notebooks).

    Args:
        app: from `create_app`.
        host: address to listen on.
        port: port; 0 picks a free one.

    Yields:
        The server's base URL, e.g. ``http://127.0.0.1:41234``.

    Raises:
        RuntimeError: if the server does not start within 60 s.
    """
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="unheard-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server on {host}:{port} did not start")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


class UploadLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets 413 with a JSON message.

    A declared ``Content-Length`` over the limit is refused before any byte is read; a body
    sent without one (chunked) is counted as it is read and refused when it passes the limit.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Pass the request on, counting its body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _error(413, self._message(int(declared)))(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Any:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # raised inside the route's body parsing: the 413 handler answers
                raise HTTPException(413, self._message(None))
            return message

        await self.app(scope, counting_receive, send)

    def _message(self, size: int | None) -> str:
        limit = f"{self.max_bytes / 2**20:.2f} MiB"
        if size is None:  # counted while reading: only known to be over the limit
            return f"the upload is over this server's limit of {limit}"
        return f"the upload is {size / 2**20:.2f} MiB; this server takes at most {limit}"


class ApiKeyCheck:
    """ASGI middleware: a request to one of ``routes`` without ``Authorization: Bearer KEY`` gets
    401 with a JSON message before any byte of its body is read, so an upload is refused unread.

    A request matches a route as the router would match it (path and method); any other request,
    a wrong method on a protected path included, passes on unchecked.
    """

    def __init__(self, app: Any, api_key: str, routes: list[BaseRoute]) -> None:
        self.app = app
        self.api_key = api_key
        self.routes = routes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Refuse the request, or pass it on."""
        if scope["type"] == "http" and any(r.matches(scope)[0] is Match.FULL for r in self.routes):
            refusal = self._refusal(Headers(scope=scope).get("authorization", ""))
            if refusal is not None:
                await _error(401, refusal)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refusal(self, authorization: str) -> str | None:
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key:
            return "missing API key: send 'Authorization: Bearer KEY'"
        if not secrets.compare_digest(key.strip().encode(), self.api_key.encode()):
            return "incorrect API key"
        return None


def _error(
    status: int, message: str, param: str | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    kind = ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "server_error")
    body = {"error": {"message": message, "type": kind, "param": param, "code": status}}
    return JSONResponse(body, status_code=status, headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    # every error in OpenAI's shape, so that its clients show the message
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException) -> JSONResponse:
        return _error(e.status_code, str(e.detail), headers=e.headers)

    @app.exception_handler(Exception)
    async def server_error(request: Request, e: Exception) -> JSONResponse:
        # the exception's text may hold paths, tensors or other clients' data: it goes to the
        # server's log only, and the client gets an id to find it there
        request_id = uuid.uuid4().hex[:12]
        log.error(
            "request %s (%s %s) failed", request_id, request.method, request.url.path, exc_info=e
        )
        return _error(
            500,
            f"internal server error (request id {request_id}); the server's log has the details",
            headers={"X-Request-Id": request_id},
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, e: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in err['loc'] if p != 'body')}: {err['msg']}"
            for err in e.errors()
        ]
        first = e.errors()[0]["loc"][-1] if e.errors() else None
        return _error(400, "invalid request: " + "; ".join(problems), param=str(first))
