"""The micro-batching queue, with a stand-in predictor whose speed the tests set."""

import asyncio
import time

import numpy as np
import pytest

from bot.inference import Busy, InferenceQueue
from model.predict import Prepared


class SlowPredictor:
    """Returns each image's first pixel value as its 'prediction', after ``delay`` seconds."""

    def __init__(self, delay: float = 0.0, fail: bool = False):
        self.delay, self.fail = delay, fail
        self.batches: list[int] = []

    def predict_prepared(self, prepared):
        time.sleep(self.delay)  # blocking on purpose: it runs in a worker thread
        self.batches.append(len(prepared))
        if self.fail:
            raise RuntimeError("model exploded")
        return [int(p.pixels[0, 0, 0, 0]) for p in prepared]


def image(value: int, rows: int = 1) -> Prepared:
    """``rows``: the frames of an animation, or the views of a busy picture."""
    return Prepared(np.full((rows, 4, 4, 4), value, np.uint8), views=rows > 1)


@pytest.fixture
async def make_queue():
    queues = []

    def make(predictor, **kwargs) -> InferenceQueue:
        queue = InferenceQueue(predictor, **kwargs)
        queues.append(queue)
        return queue

    yield make
    for queue in queues:
        await queue.close()


async def test_concurrent_requests_run_as_one_batch(make_queue):
    predictor = SlowPredictor()
    queue = make_queue(predictor, max_wait=0.05)
    results = await asyncio.gather(*(queue.classify(image(i)) for i in range(10)))
    assert results == list(range(10))  # each caller gets its own answer
    assert predictor.batches == [10]


async def test_batches_are_capped(make_queue):
    predictor = SlowPredictor()
    queue = make_queue(predictor, max_wait=0.05, max_batch=4)
    await asyncio.gather(*(queue.classify(image(i)) for i in range(10)))
    assert predictor.batches == [4, 4, 2]


async def test_requests_already_waiting_join_the_batch_without_a_wait(make_queue):
    predictor = SlowPredictor()
    queue = make_queue(predictor, max_wait=0.0, max_batch=4)  # as on a machine too busy to wait
    await asyncio.gather(*(queue.classify(image(i)) for i in range(10)))
    assert predictor.batches == [4, 4, 2]


async def test_batches_count_the_frames_and_views_of_each_image(make_queue):
    predictor = SlowPredictor()
    queue = make_queue(predictor, max_wait=0.05, max_batch=32)
    sizes = [12, 12, 12, 1, 40, 8]  # busy pictures, a sprite, one larger than a batch, a GIF
    results = await asyncio.gather(*(queue.classify(image(i, n)) for i, n in enumerate(sizes)))
    assert results == list(range(6))
    assert predictor.batches == [2, 2, 1, 1]  # 24 rows, 12 + 1, 40 alone, 8


async def test_a_full_queue_says_busy_at_once(make_queue):
    queue = make_queue(SlowPredictor(delay=0.3), max_wait=0.0, max_queue=2, max_batch=1)
    first = asyncio.create_task(queue.classify(image(1)))
    await asyncio.sleep(0.05)  # the worker has taken it and is busy
    waiting = [asyncio.create_task(queue.classify(image(i))) for i in (2, 3)]
    await asyncio.sleep(0)
    with pytest.raises(Busy):
        await queue.classify(image(4))
    assert await first == 1 and await asyncio.gather(*waiting) == [2, 3]


async def test_a_slow_predictor_does_not_block_the_loop(make_queue):
    queue = make_queue(SlowPredictor(delay=0.5))
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    await queue.classify(image(7))
    task.cancel()
    assert ticks >= 25  # about 50 if the loop never stalled; 0 if the forward pass blocked it


async def test_a_failed_batch_fails_its_requests_and_the_worker_goes_on(make_queue):
    predictor = SlowPredictor(fail=True)
    queue = make_queue(predictor)
    with pytest.raises(RuntimeError, match="exploded"):
        await queue.classify(image(1))
    predictor.fail = False
    assert await queue.classify(image(2)) == 2


async def test_decoding_runs_off_the_loop_and_reports_bad_images(make_queue):
    from model.images import ImageError

    queue = make_queue(SlowPredictor())
    with pytest.raises(ImageError, match="empty"):
        await queue.prepare(b"")


async def test_decoding_says_busy_when_its_bound_is_reached(make_queue, monkeypatch):
    import threading

    from model.predict import Predictor

    release = threading.Event()
    monkeypatch.setattr(Predictor, "prepare", lambda data, **_: release.wait(10) and image(1))
    queue = make_queue(SlowPredictor(), max_decoding=3)
    waiting = [asyncio.create_task(queue.prepare(b"x")) for _ in range(3)]
    await asyncio.sleep(0.05)
    with pytest.raises(Busy):
        await queue.prepare(b"x")  # the fourth, while three decode or wait
    release.set()
    assert len(await asyncio.gather(*waiting)) == 3
    assert (await queue.prepare(b"x")).pixels.shape == (1, 4, 4, 4)  # room again


async def test_an_explanation_never_holds_up_other_images(make_queue):
    import threading

    release = threading.Event()
    queue = make_queue(SlowPredictor(), max_explaining=1)

    def slow_explanation(predictor, value):
        release.wait(10)
        return value

    explaining = asyncio.create_task(queue.explain(slow_explanation, "picture"))
    await asyncio.sleep(0.05)
    assert await asyncio.wait_for(queue.classify(image(5)), 5) == 5  # not behind it
    with pytest.raises(Busy):
        await queue.explain(slow_explanation, "another")
    release.set()
    assert await explaining == "picture"


async def test_decoding_reads_files_up_to_the_bots_own_limit(make_queue):
    from model.images import ImageError
    from tests.synthetic import png_bytes, sprite

    big = png_bytes(sprite()) + bytes(3 * 2**20)  # 3 MB: the PNG, then padding after its end
    assert (await make_queue(None, max_bytes=4 * 2**20).prepare(big)).pixels.shape[0] == 1
    with pytest.raises(ImageError, match="larger than 2 MB"):
        await make_queue(None, max_bytes=2 * 2**20).prepare(big)
