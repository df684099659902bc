"""Load on the whole bot: fake users post images to the fake Discord at a set rate.

    python benchmarks/bot_load.py --rate 20 --seconds 30

Runs the real bot (``bot.__main__.run``) three times against the fake Discord of ``tests/e2e``:
as built (decoding and the network in worker threads, requests batched); as built with every
fifth message a crafted file of ``tests/hostile.py`` (canvases of millions of pixels in a few
kilobytes); and a naive variant that predicts inline in ``on_message``. For each: end-to-end
latency of the normal images (MESSAGE_CREATE sent -> reply received) at p50/p95/p99, replies
per second, the event loop's worst lag, peak memory. The rate limits are lifted for the run
(they would drop most of the load by design). Prints a table and ends with one line:
``p99_ms=<n> loop_lag_ms=<n> hostile_p99_ms=<n> hostile_loop_lag_ms=<n> naive_p99_ms=<n>``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import discord
import yarl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bot.__main__ as entry
from bot import inference as inference_module
from bot.settings import Settings
from model.predict import Predictor
from tests.e2e.fake_discord import FakeDiscord
from tests.hostile import CASES
from tests.synthetic import png_bytes, sprite


class InlineInference(inference_module.InferenceQueue):
    """The naive bot: decodes and runs the network right in the event loop."""

    async def prepare(self, data: bytes):
        return Predictor.prepare(data)

    async def classify(self, prepared):
        return self.predictor.predict_prepared([prepared])[0]


async def measure_loop_lag(stop: asyncio.Event, interval: float = 0.005) -> float:
    worst = 0.0
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(interval)
        worst = max(worst, loop.time() - start - interval)
    return worst


async def run_load(
    naive: bool, rate: float, seconds: float, checkpoint: Path | None, hostile: bool = False
) -> dict:
    fake = FakeDiscord()
    await fake.start()
    discord.http.Route.BASE = f"{fake.base}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{fake.port}/")
    original = entry.InferenceQueue
    entry.InferenceQueue = InlineInference if naive else original
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            token="load-test",
            checkpoint=checkpoint,
            database=Path(tmp) / "load.db",
            data_dir=Path(tmp),
            user_rate=(10**6, 1.0),
            channel_rate=(10**6, 1.0),
        )
        bot_task = asyncio.create_task(entry.run(settings))
        async with asyncio.timeout(60):
            await fake.identified.wait()
        await asyncio.sleep(1.0)
        images = [png_bytes(sprite(color=(i * 37 % 256, 120, 200))) for i in range(16)]
        crafted = [make() for make in CASES.values()]
        sent: dict[str, float] = {}  # the normal images' messages
        stop = asyncio.Event()
        lag_task = asyncio.create_task(measure_loop_lag(stop))
        started = time.perf_counter()
        for i in range(int(rate * seconds)):
            target = started + i / rate
            await asyncio.sleep(max(0.0, target - time.perf_counter()))
            if hostile and i % 5 == 4:
                data = crafted[i // 5 % len(crafted)]
                await fake.post_message(10_000 + i, files=[("h.png", data, "image/png")])
                continue
            message = await fake.post_message(
                10_000 + i, files=[("p.png", images[i % 16], "image/png")]
            )
            sent[message["id"]] = time.perf_counter()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(30):  # the last replies, or give up on them
                while not sent.keys() <= _replies(fake).keys():
                    fake.new_request.clear()
                    await fake.new_request.wait()
        replied = {mid: at for mid, at in _replies(fake).items() if mid in sent}
        elapsed = max(replied.values(), default=time.perf_counter()) - started
        stop.set()
        loop_lag = await lag_task
        bot_task.cancel()
        with contextlib.suppress(BaseException):
            await bot_task
    entry.InferenceQueue = original
    await fake.stop()
    latencies = sorted((replied[mid] - sent[mid]) * 1000 for mid in replied if mid in sent)
    return {
        "sent": len(sent),
        "answered": len(latencies),
        "p50_ms": statistics.median(latencies) if latencies else float("nan"),
        "p95_ms": _pct(latencies, 0.95),
        "p99_ms": _pct(latencies, 0.99),
        "throughput": len(latencies) / elapsed,
        "loop_lag_ms": loop_lag * 1000,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _replies(fake: FakeDiscord) -> dict[str, float]:
    out = {}
    for r in fake.requests:
        if r.method == "POST" and r.path.endswith("/messages") and isinstance(r.body, dict):
            ref = (r.body.get("message_reference") or {}).get("message_id")
            if ref is not None:
                out[str(ref)] = r.at
    return out


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20, help="images per second")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--checkpoint", type=Path, help="default: the shipped weights")
    args = parser.parse_args()
    runs = {
        "neuralmon": asyncio.run(run_load(False, args.rate, args.seconds, args.checkpoint)),
        "+ hostile": asyncio.run(run_load(False, args.rate, args.seconds, args.checkpoint, True)),
        "naive": asyncio.run(run_load(True, args.rate, args.seconds, args.checkpoint)),
    }
    ours, hostile, naive = runs.values()
    print(f"{args.rate:g} images/s for {args.seconds:g} s, one PNG per message; '+ hostile': "
          "every fifth a crafted file (its replies are not timed)")  # fmt: skip
    print(f"{'':<22}" + "".join(f"{name:>12}" for name in runs) + f"{'naive/ours':>12}")
    rows = [("sent", "sent"), ("answered", "answered"), ("p50 latency (ms)", "p50_ms"),
            ("p95 latency (ms)", "p95_ms"), ("p99 latency (ms)", "p99_ms"),
            ("replies per second", "throughput"), ("worst loop lag (ms)", "loop_lag_ms"),
            ("peak memory (MB)", "peak_rss_mb")]  # fmt: skip
    for label, key in rows:
        ratio = naive[key] / ours[key] if ours[key] else float("nan")
        values = "".join(f"{run[key]:>12.1f}" for run in runs.values())
        print(f"{label:<22}{values}{ratio:>12.2f}")
    print("(peak memory is the process's high-water mark, in the order of the runs)")
    print(f"p99_ms={ours['p99_ms']:.0f} loop_lag_ms={ours['loop_lag_ms']:.0f} "
          f"hostile_p99_ms={hostile['p99_ms']:.0f} "
          f"hostile_loop_lag_ms={hostile['loop_lag_ms']:.0f} "
          f"naive_p99_ms={naive['p99_ms']:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
