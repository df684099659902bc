"""Load on the whole bot: fake users post images to the fake Discord at a set rate.

    python benchmarks/bot_load.py --rate 20 --seconds 30

Runs the real bot (``bot.__main__.run``) four times against the fake Discord of ``tests/e2e``:
as built (decoding and the network in worker threads, requests batched, the network in ONNX
Runtime); the same with the torch backend (``INFERENCE_BACKEND=torch``); as built with every
fifth message a crafted file of ``tests/hostile.py`` (canvases of millions of pixels in a few
kilobytes); and a naive variant that predicts inline in ``on_message``. For each: end-to-end
latency of the normal images (MESSAGE_CREATE sent -> reply received) at p50/p95/p99, replies
per second, the event loop's worst lag, peak memory. The rate limits are lifted for the run
(they would drop most of the load by design). Prints a table and ends with one line:
``p99_ms=<n> loop_lag_ms=<n> hostile_p99_ms=<n> hostile_loop_lag_ms=<n> naive_p99_ms=<n>``.

Then the bot as its own process (``python -m bot``, the fake Discord in this one): the time
from start to IDENTIFY and to its first reply, and its resident memory after ``--images``
images (1,000). Last, the highest rate it sustains: rates from ``--rate`` up, ``--step-seconds``
each, until the p99 passes 250 ms or replies go missing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
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

ROOT = Path(__file__).resolve().parents[1]
P99_BOUND_MS = 250  # the highest sustained rate keeps the p99 within this
# The bot's own process, pointed at the fake Discord given as arguments (base URL, port).
LAUNCH = """
import sys, discord, yarl
discord.http.Route.BASE = sys.argv[1] + "/api/v10"
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{sys.argv[2]}/")
from bot.__main__ import main
sys.exit(main())
"""


class InlineInference(inference_module.InferenceQueue):
    """The naive bot: decodes and runs the network right in the event loop."""

    async def prepare(self, data: bytes):
        return Predictor.prepare(data, self.max_bytes)

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
    naive: bool,
    rate: float,
    seconds: float,
    checkpoint: Path | None,
    hostile: bool = False,
    backend: str = "onnx",
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
            inference_backend=backend,
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
        await wait_for_replies(fake, sent, 30)  # the last replies, or give up on them
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


async def post_at_rate(
    fake: FakeDiscord, images: list[bytes], rate: float, count: int, first_id: int
) -> dict[str, float]:
    """Post ``count`` images at ``rate``; message id -> when it was sent."""
    sent, started = {}, time.perf_counter()
    for i in range(count):
        await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        message = await fake.post_message(
            first_id + i, files=[("p.png", images[i % len(images)], "image/png")]
        )
        sent[message["id"]] = time.perf_counter()
    return sent


async def wait_for_replies(fake: FakeDiscord, sent: dict[str, float], timeout: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while not sent.keys() <= _replies(fake).keys():
                fake.new_request.clear()
                await fake.new_request.wait()


async def run_process(checkpoint: str, rate: float, images_total: int) -> dict:
    """The bot as ``python -m bot``: start-up, memory after ``images_total`` images.
    ``checkpoint``: an absolute path, or empty for the shipped weights."""
    fake = FakeDiscord()
    await fake.start()
    images = [png_bytes(sprite(color=(i * 37 % 256, 120, 200))) for i in range(16)]
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ, "PYTHONPATH": str(ROOT), "DISCORD_TOKEN": "load-test",
            "DATABASE_PATH": f"{tmp}/load.db", "NEURALMON_DATA": tmp,
            "USER_RATE": "1000000/1", "CHANNEL_RATE": "1000000/1", "LOG_LEVEL": "WARNING",
            "CHECKPOINT": checkpoint,
        }  # fmt: skip
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", LAUNCH, fake.base, str(fake.port), cwd=tmp, env=env
        )
        try:
            async with asyncio.timeout(120):
                await fake.identified.wait()
            identified = time.perf_counter() - started
            first = await post_at_rate(fake, images, rate, 1, 1)
            await wait_for_replies(fake, first, 30)
            first_reply = max(_replies(fake).values()) - started
            rss_before = _rss_mb(process.pid)
            sent = await post_at_rate(fake, images, rate, images_total, 100_000)
            await wait_for_replies(fake, sent, 60)
            answered = len(sent.keys() & _replies(fake).keys())
            return {
                "identify_s": identified,
                "first_reply_s": first_reply,
                "rss_start_mb": rss_before,
                "rss_after_mb": _rss_mb(process.pid),
                "peak_mb": _rss_mb(process.pid, "VmHWM"),
                "answered": answered,
                "sent": len(sent),
                "torch_loaded": _maps_library(process.pid, "libtorch"),
            }
        finally:
            process.terminate()
            await process.wait()
            await fake.stop()


def _maps_library(pid: int, name: str) -> bool:
    return name in Path(f"/proc/{pid}/maps").read_text()


def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


def highest_rate(checkpoint: Path | None, start: float, seconds: float) -> list[tuple]:
    """(rate, p99 ms, answered share) for rising rates, until the p99 passes the bound or
    replies go missing; the last row is the first rate that failed."""
    rows, rate = [], start
    while rate <= 1000:
        run = asyncio.run(run_load(False, rate, seconds, checkpoint))
        rows.append((rate, run["p99_ms"], run["answered"] / run["sent"]))
        if run["p99_ms"] > P99_BOUND_MS or run["answered"] < run["sent"]:
            break
        rate *= 1.5
    return rows


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
    parser.add_argument("--images", type=int, default=1000, help="for the memory run")
    parser.add_argument("--step-seconds", type=float, default=8, help="per rate searched")
    args = parser.parse_args()
    load = (args.rate, args.seconds, args.checkpoint)
    runs = {
        "neuralmon": asyncio.run(run_load(False, *load)),
        "torch": asyncio.run(run_load(False, *load, backend="torch")),
        "+ hostile": asyncio.run(run_load(False, *load, hostile=True)),
        "naive": asyncio.run(run_load(True, *load)),
    }
    ours, torch_run, hostile, naive = runs.values()
    print(f"{args.rate:g} images/s for {args.seconds:g} s, one PNG per message; '+ hostile': "
          "every fifth a crafted file (its replies are not timed)")  # fmt: skip
    header = "".join(f"{name:>12}" for name in runs)
    print(f"{'':<22}{header}{'torch/ours':>12}{'naive/ours':>12}")
    rows = [("sent", "sent"), ("answered", "answered"), ("p50 latency (ms)", "p50_ms"),
            ("p95 latency (ms)", "p95_ms"), ("p99 latency (ms)", "p99_ms"),
            ("replies per second", "throughput"), ("worst loop lag (ms)", "loop_lag_ms"),
            ("peak memory (MB)", "peak_rss_mb")]  # fmt: skip
    for label, key in rows:
        ratios = [other[key] / ours[key] if ours[key] else float("nan")
                  for other in (torch_run, naive)]  # fmt: skip
        values = "".join(f"{run[key]:>12.1f}" for run in runs.values())
        print(f"{label:<22}{values}" + "".join(f"{r:>12.2f}" for r in ratios))
    print("(peak memory is the process's high-water mark, in the order of the runs)")
    print(f"p99_ms={ours['p99_ms']:.0f} loop_lag_ms={ours['loop_lag_ms']:.0f} "
          f"torch_p99_ms={torch_run['p99_ms']:.0f} "
          f"torch_loop_lag_ms={torch_run['loop_lag_ms']:.0f} "
          f"hostile_p99_ms={hostile['p99_ms']:.0f} "
          f"hostile_loop_lag_ms={hostile['loop_lag_ms']:.0f} "
          f"naive_p99_ms={naive['p99_ms']:.0f}")  # fmt: skip

    checkpoint = str(args.checkpoint.resolve()) if args.checkpoint else ""
    process = asyncio.run(run_process(checkpoint, args.rate, args.images))
    print(f"\nthe bot as its own process (python -m bot), {args.images} images at {args.rate:g}/s:")
    print(
        f"  start to IDENTIFY {process['identify_s']:.1f} s, to the first reply "
        f"{process['first_reply_s']:.1f} s; answered {process['answered']} of {process['sent']}"
    )
    print(f"  resident memory: {process['rss_start_mb']:.0f} MB after the first reply, "
          f"{process['rss_after_mb']:.0f} MB after {args.images} images "
          f"(high-water mark {process['peak_mb']:.0f} MB); torch loaded: "
          f"{'yes' if process['torch_loaded'] else 'no'}")  # fmt: skip

    rows = highest_rate(args.checkpoint, args.rate, args.step_seconds)
    print(
        f"\nhighest sustained rate ({args.step_seconds:g} s per rate, p99 <= {P99_BOUND_MS} ms, "
        "every image answered):"
    )
    for rate, p99, share in rows:
        print(f"  {rate:>7.1f}/s  p99 {p99:>8.1f} ms  answered {share:.1%}")
    passed = [rate for rate, p99, share in rows if p99 <= P99_BOUND_MS and share == 1]
    print(f"highest_rate={max(passed, default=0):.1f} rss_after_mb={process['rss_after_mb']:.0f}")


if __name__ == "__main__":
    main()
