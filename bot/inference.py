"""The asynchronous face of the Predictor: decode off the loop, gather requests, run batches.

Requests that arrive within ``max_wait`` of each other (or wait already when a busy machine gets
to them) run as one batch in a worker thread, so the event loop never waits on decoding or on
the network. A batch holds at most ``max_batch`` rows of the network's input: an image counts
its frames or views (a busy screenshot 27), so a burst of large images runs as several short
batches instead of one long one. Every stage is bounded: when the images waiting to be decoded,
the network's queue or the explanations waiting reach their bound, the call raises ``Busy`` at
once instead of letting requests pile up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from PIL import Image

from model.images import MAX_BYTES
from model.predict import Prediction, Predictor, Prepared
from model.remote import RemoteError

log = logging.getLogger(__name__)
T = TypeVar("T")


class Busy(Exception):
    """Too many images are waiting; ask the user to try again in a moment."""


class _Gate:
    """Counts the calls inside it; one more than ``limit`` raises ``Busy``."""

    def __init__(self, limit: int):
        self.limit, self.inside = limit, 0

    def __enter__(self) -> None:
        if self.inside >= self.limit:
            raise Busy
        self.inside += 1

    def __exit__(self, *exc_info) -> None:
        self.inside -= 1


@dataclass
class _Request:
    prepared: Prepared
    future: asyncio.Future[Prediction]


class InferenceQueue:
    def __init__(
        self,
        predictor: Predictor,
        max_batch: int = 32,
        max_wait: float = 0.005,
        max_queue: int = 64,
        max_decoding: int = 8,
        max_explaining: int = 2,
        max_bytes: int = MAX_BYTES,
    ):
        self.predictor = predictor
        self.max_bytes = max_bytes  # the largest file decoded: the bot's MAX_IMAGE_MB
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: asyncio.Queue[_Request] = asyncio.Queue(max_queue)
        # One thread runs the network (it uses several cores itself), two decode images, and one
        # draws explanations, so that images never wait on an explanation's decoding or drawing.
        self._model_thread = ThreadPoolExecutor(1, thread_name_prefix="neuralmon-model")
        self._decode_threads = ThreadPoolExecutor(2, thread_name_prefix="neuralmon-decode")
        self._explain_thread = ThreadPoolExecutor(1, thread_name_prefix="neuralmon-explain")
        self._decoding = _Gate(max_decoding)
        self._explaining = _Gate(max_explaining)
        self._worker: asyncio.Task | None = None

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    async def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._run(), name="neuralmon-inference")

    async def close(self) -> None:
        if self._worker:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        for pool in (self._model_thread, self._decode_threads, self._explain_thread):
            pool.shutdown(wait=False, cancel_futures=True)

    async def prepare(self, data: bytes | Image.Image) -> Prepared:
        """Decode and frame an image in a thread. Raises ``ImageError`` for bad input, ``Busy``
        when ``max_decoding`` images are being decoded or waiting already."""
        with self._decoding:
            loop = asyncio.get_running_loop()
            prepare = partial(Predictor.prepare, max_bytes=self.max_bytes)
            return await loop.run_in_executor(self._decode_threads, prepare, data)

    async def explain(self, fn: Callable[..., T], *args) -> T:
        """Run ``fn(predictor, *args)`` (an explanation: two forward passes and a drawing) in
        its own thread, beside the batches. Raises ``Busy`` past ``max_explaining``."""
        with self._explaining:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._explain_thread, fn, self.predictor, *args)

    async def classify(self, prepared: Prepared) -> Prediction:
        """Queue one prepared image; resolves when its batch has run. Raises ``Busy``."""
        await self.start()
        future = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(_Request(prepared, future))
        except asyncio.QueueFull:
            raise Busy from None
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        held: _Request | None = None  # taken from the queue, too large for the batch before
        while True:
            first = held or await self._queue.get()
            batch, rows, held = [first], len(first.prepared.pixels), None
            deadline = loop.time() + self.max_wait
            while rows < self.max_batch:
                try:  # what is waiting already joins, even past the deadline (a busy machine)
                    request = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    timeout = deadline - loop.time()
                    if timeout <= 0:
                        break
                    try:
                        request = await asyncio.wait_for(self._queue.get(), timeout)
                    except TimeoutError:
                        break
                if rows + len(request.prepared.pixels) > self.max_batch:
                    held = request  # it opens the next batch
                    break
                batch.append(request)
                rows += len(request.prepared.pixels)
            batch = [r for r in batch if not r.future.done()]  # skip requests given up on
            if not batch:
                continue
            try:
                predictions = await loop.run_in_executor(
                    self._model_thread,
                    self.predictor.predict_prepared,
                    [r.prepared for r in batch],
                )
            except Exception as exc:  # a failed batch fails its requests, not the worker
                if isinstance(exc, RemoteError):  # an outage, not a bug: no traceback
                    log.warning("inference batch of %d failed: %s", len(batch), exc)
                else:
                    log.exception("inference batch of %d failed", len(batch))
                for r in batch:
                    if not r.future.done():
                        r.future.set_exception(exc)
                continue
            for r, prediction in zip(batch, predictions, strict=True):
                if not r.future.done():
                    r.future.set_result(prediction)
