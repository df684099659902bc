"""Inference speed on the CPU: our network beside the 2017 network, in one run.

    python benchmarks/inference.py [--checkpoint PATH] [--baseline PATH] [--runs 200]

One image end to end (decode the posted bytes, frame, forward): latency p50 / p99; the same
for 1280x720 JPEG screenshots, on a plain and on a busy background (read through 27 views).
Batch of 32 end to end: images per second. Weights do not change the timing, so without a
checkpoint each architecture runs with random weights. Prints a table with ratios.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model import checkpoint, net, pokedex
from model.predict import DEFAULT_WEIGHTS, LocalNetwork, Predictor
from model.preprocess import MEAN, STD


def synthetic_post(side: int = 475, seed: int = 0) -> bytes:
    """A PNG like a posted artwork: shapes in several colours on transparency."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = rng.integers(side // 8, side // 2, 2)
        w, h = rng.integers(side // 6, side // 2, 2)
        draw.ellipse((x0, y0, x0 + w, y0 + h), fill=(*map(int, rng.integers(0, 255, 3)), 255))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def screenshot_post(seed: int = 0, busy: bool = False) -> bytes:
    """A 1280x720 JPEG like a posted screenshot: the artwork off-centre on a plain background
    (the predictor crops to it first) or on a busy one, panels of many colours (the predictor
    reads it whole and through zoomed crops)."""
    rng = np.random.default_rng(seed)
    art = Image.open(io.BytesIO(synthetic_post(seed=seed)))
    canvas = Image.new("RGB", (1280, 720), (246, 246, 240))
    draw = ImageDraw.Draw(canvas)
    for _ in range(40 if busy else 0):
        x0, y0 = int(rng.integers(-200, 1280)), int(rng.integers(-200, 720))
        w, h = (int(v) for v in rng.integers(40, 500, 2))
        draw.rectangle(
            (x0, y0, x0 + w, y0 + h), fill=tuple(int(v) for v in rng.integers(0, 256, 3))
        )
    canvas.paste(art, (700, 120), art)
    buf = io.BytesIO()
    canvas.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def latencies_ms(predictor: Predictor, post: bytes, runs: int) -> list[float]:
    for _ in range(10):  # warm-up: allocator, kernels
        predictor.predict([post])
    latencies = []
    for _ in range(runs):
        start = time.perf_counter()
        predictor.predict([post])
        latencies.append((time.perf_counter() - start) * 1000)
    return sorted(latencies)


def load_or_build(path: Path | None, arch: str, input_size: int) -> Predictor:
    if path:
        return Predictor.load(path)
    model = net.build(arch, 1025, input_size).eval()
    info = {
        "input_size": input_size,
        "types": list(pokedex.TYPES),
        "species": list(range(1, 1026)),
        "threshold": 0.5,
        "mean": MEAN,
        "std": STD,
    }
    return Predictor(info, LocalNetwork(model, input_size))


def measure(predictor: Predictor, post: bytes, runs: int, batch: int) -> dict[str, float]:
    latencies = latencies_ms(predictor, post, runs)
    screenshot = latencies_ms(predictor, screenshot_post(), runs)
    busy = latencies_ms(predictor, screenshot_post(busy=True), runs)
    posts = [synthetic_post(seed=i) for i in range(batch)]
    predictor.predict(posts)
    rounds = max(3, runs // 20)
    start = time.perf_counter()
    for _ in range(rounds):
        predictor.predict(posts)
    throughput = batch * rounds / (time.perf_counter() - start)
    return {
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "screenshot_p50_ms": statistics.median(screenshot),
        "busy_p50_ms": statistics.median(busy),
        "batch_images_per_s": throughput,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="ours (default: the shipped weights)")
    parser.add_argument("--baseline", type=Path, help="a net2017 checkpoint")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    ours_path = args.checkpoint or (DEFAULT_WEIGHTS if DEFAULT_WEIGHTS.exists() else None)
    ours_size = checkpoint.load(ours_path)[1]["input_size"] if ours_path else 64
    contenders = {
        "neuralmon": load_or_build(ours_path, "lite0", ours_size),
        "net2017": load_or_build(args.baseline, "net2017", 64),
    }
    post = synthetic_post()
    results = {name: measure(p, post, args.runs, args.batch) for name, p in contenders.items()}
    ours, base = results["neuralmon"], results["net2017"]
    print(f"CPU threads: {torch.get_num_threads()}; one {len(post) // 1024} KB 475x475 PNG per "
          f"request; {args.runs} runs; batch {args.batch}")  # fmt: skip
    print(f"{'':<40}{'neuralmon':>12}{'net2017':>12}{'ratio':>10}")
    for key, label in (("p50_ms", "one image p50 (ms)"), ("p99_ms", "one image p99 (ms)"),
                       ("screenshot_p50_ms", "1280x720 JPEG post, plain background p50"),
                       ("busy_p50_ms", "1280x720 JPEG post, busy background p50"),
                       ("batch_images_per_s", f"batch {args.batch} (images/s)")):  # fmt: skip
        print(f"{label:<40}{ours[key]:>12.1f}{base[key]:>12.1f}{ours[key] / base[key]:>10.2f}")
    verdict = "meets" if ours["p50_ms"] <= 20 else "misses"
    print(
        f"target: one image end to end <= 20 ms at the median: {verdict} ({ours['p50_ms']:.1f} ms)"
    )


if __name__ == "__main__":
    main()
