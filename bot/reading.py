"""From a Discord attachment to a prediction, as plain values: the classification path.

``read_image`` never raises for bad input: it returns the reason, fit to show the poster.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import aiohttp

from bot import metrics
from bot.attachments import AttachmentError, AttachmentLike, fetch_image
from bot.inference import Busy, InferenceQueue
from model.images import ImageError
from model.predict import Prediction
from model.remote import RemoteError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageReading:
    filename: str
    prediction: Prediction | None = None
    error: str | None = None
    data: bytes = field(default=b"", repr=False)  # the file read, for feedback to keep


BUSY = "I'm busy with a lot of images right now; try again in a minute."
FAILED = "something went wrong while I read that image; try another one."
MODEL_SERVER_DOWN = "my model server is not answering right now; try again in a few minutes."


async def read_image(
    attachment: AttachmentLike,
    session: aiohttp.ClientSession,
    queue: InferenceQueue,
    max_bytes: int,
) -> ImageReading:
    name = attachment.filename
    started = time.perf_counter()
    try:
        data = await fetch_image(attachment, session, max_bytes)
        prepared = await queue.prepare(data)
        prediction = await queue.classify(prepared)
    except AttachmentError as exc:
        metrics.ERRORS.labels("attachment").inc()
        return ImageReading(name, error=str(exc))
    except ImageError as exc:
        metrics.ERRORS.labels("image").inc()
        return ImageReading(name, error=str(exc))
    except Busy:
        metrics.ERRORS.labels("busy").inc()
        return ImageReading(name, error=BUSY)
    except RemoteError:  # the queue logged the details; they are not for the chat
        metrics.ERRORS.labels("model_server").inc()
        return ImageReading(name, error=MODEL_SERVER_DOWN)
    except Exception:  # a bug, not the poster's fault: logged, and still an answer
        log.exception("reading %r failed", name)
        metrics.ERRORS.labels("internal").inc()
        return ImageReading(name, error=FAILED)
    metrics.PREDICTIONS.inc()
    metrics.LATENCY.observe(time.perf_counter() - started)
    return ImageReading(name, prediction=prediction, data=data)
