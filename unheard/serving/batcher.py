"""Concurrent requests decoded together: a background worker that batches an asyncio queue.

Requests wait in a queue. The worker takes the first one, then gathers more until it holds
``max_batch`` or ``max_wait_s`` has passed since the first, and decodes them with one
`SpeechToText.run` call (their windows share ``generate`` calls). The model runs in a worker
thread of its own, so the event loop keeps accepting uploads and answering health checks while
a batch decodes, and the next batch gathers meanwhile. ``max_batch=1`` turns batching off.
The queue holds at most ``max_queue`` requests: under overload a new one is refused at once
(`QueueFull`) instead of piling up without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from unheard.serving.api import AudioTask, SpeechToText
from unheard.serving.formats import Transcript

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchOptions:
    """How requests are gathered into batches."""

    max_batch: int = 8  # most requests decoded together; 1 turns batching off
    max_wait_s: float = 0.02  # longest a request waits for others to join its batch

    def __post_init__(self) -> None:
        """Validate once, naming the bad value.

        Raises:
            ValueError: for ``max_batch`` < 1 or a negative ``max_wait_s``.
        """
        if self.max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {self.max_batch}")
        if self.max_wait_s < 0:
            raise ValueError(f"max_wait_s must be >= 0 seconds, got {self.max_wait_s}")


class QueueFull(RuntimeError):
    """The batcher's queue already holds ``max_queue`` requests: the caller should retry later."""


class RequestBatcher:
    """Gathers concurrent requests into batches and decodes them off the event loop.

    Args:
        stt: the model.
        options: batch size and wait.
        max_queue: most requests waiting in the queue (not yet taken into a batch); 0: no limit.
    """

    def __init__(
        self, stt: SpeechToText, options: BatchOptions | None = None, max_queue: int = 0
    ) -> None:
        self.stt = stt
        self.options = options or BatchOptions()
        self.max_queue = max_queue
        self.batches = 0  # batches decoded so far
        self.requests = 0  # requests decoded so far
        self._queue: asyncio.Queue[tuple[AudioTask, asyncio.Future[Transcript]]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None

    @property
    def waiting(self) -> int:
        """Requests in the queue, not yet in a batch."""
        return self._queue.qsize() if self._queue is not None else 0

    @property
    def full(self) -> bool:
        """Whether ``max_queue`` requests are waiting, so that `submit` would refuse another."""
        return self._queue is not None and self._queue.full()  # never full when maxsize is 0

    def start(self) -> None:
        """Start the worker on the running event loop."""
        self._queue = asyncio.Queue(maxsize=self.max_queue)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="unheard-model")
        self._worker = asyncio.get_running_loop().create_task(self._work())

    async def stop(self) -> None:
        """Stop the worker; requests still queued fail with a RuntimeError."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        while self._queue is not None and not self._queue.empty():
            _, future = self._queue.get_nowait()
            if not future.done():
                future.set_exception(RuntimeError("the server is shutting down"))
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    async def submit(self, task: AudioTask) -> Transcript:
        """Queue a request and wait for its transcript.

        Raises:
            QueueFull: if ``max_queue`` requests are already waiting.
            RuntimeError: if the batcher is not running.
            ValueError: if the model refuses the request (see `SpeechToText.run`).
        """
        if self._queue is None or self._worker is None or self._worker.done():
            raise RuntimeError("the request batcher is not running")
        future: asyncio.Future[Transcript] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait((task, future))
        except asyncio.QueueFull:
            raise QueueFull(f"{self.max_queue} requests are already waiting") from None
        return await future

    async def _work(self) -> None:
        assert self._queue is not None, "start() creates the queue"
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + self.options.max_wait_s
            while len(batch) < self.options.max_batch:
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), deadline - loop.time()))
                except asyncio.TimeoutError:
                    break
            batch = [(t, f) for t, f in batch if not f.done()]  # a client that left is dropped
            if batch:
                await self._decode(batch)

    async def _decode(self, batch: list[tuple[AudioTask, asyncio.Future[Transcript]]]) -> None:
        loop = asyncio.get_running_loop()
        tasks = [t for t, _ in batch]
        try:
            results = await loop.run_in_executor(self._executor, self.stt.run, tasks)
        except Exception as e:  # noqa: BLE001 — handed to the requests, the worker goes on
            if len(batch) > 1:  # one bad request must not fail the others: each alone
                for item in batch:
                    await self._decode([item])
                return
            log.exception("a request failed")
            for _, future in batch:
                if not future.done():
                    future.set_exception(e)
            return
        self.batches += 1
        self.requests += len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
