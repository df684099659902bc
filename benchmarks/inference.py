"""Inference speed on the CPU, in one run: the bot's ONNX Runtime path beside the torch path
of the same weights and beside the 2017 network (torch).

    python benchmarks/inference.py [--checkpoint PATH] [--baseline PATH] [--runs 200]
                                   [--threads 2]

One image end to end (decode the posted bytes, frame, prepare, forward): latency p50 / p99; the
same for 1280x720 JPEG screenshots, on a plain and on a busy background (read through 27
views). Batch of 32 end to end, decoded in two threads as the bot does: images per second. The
forward pass alone on inputs of each shape: the floor under each. Then where one image's time
goes, stage by stage. Weights do not change the timing, so without a
baseline checkpoint the 2017 network runs with random weights. Prints tables with ratios.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model import net, pokedex
from model.images import decode_frames, frame_image
from model.predict import DEFAULT_WEIGHTS, STORED_SIZE, Predictor
from model.preprocess import MEAN, STD
from model.torch_network import TorchNetwork

TARGETS = {"p50_ms": 4.0, "busy_p50_ms": 25.0, "batch_images_per_s": 800.0}  # ONNX Runtime
# each target's row, measured on the network alone
FLOORS = {"p50_ms": "forward_ms", "busy_p50_ms": "busy_forward_ms",
          "batch_images_per_s": "batch_forward_images_per_s"}  # fmt: skip


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


def net2017(path: Path | None) -> Predictor:
    if path:
        return Predictor.load(path, "torch")
    info = {
        "input_size": 64,
        "types": list(pokedex.TYPES),
        "species": list(range(1, 1026)),
        "threshold": 0.5,
        "mean": MEAN,
        "std": STD,
    }
    return Predictor(info, TorchNetwork(net.build("net2017", 1025, 64).eval(), 64))


def throughput(predictor: Predictor, posts: list[bytes], rounds: int) -> float:
    """Images per second, end to end: decoded in two threads as the bot does, one batch."""
    with ThreadPoolExecutor(2) as decoders:
        predictor.predict_prepared(list(decoders.map(predictor.prepare, posts)))
        start = time.perf_counter()
        for _ in range(rounds):
            predictor.predict_prepared(list(decoders.map(predictor.prepare, posts)))
    return len(posts) * rounds / (time.perf_counter() - start)


def measure(predictor: Predictor, post: bytes, runs: int, batch: int) -> dict[str, float]:
    latencies = latencies_ms(predictor, post, runs)
    screenshot = latencies_ms(predictor, screenshot_post(), runs)
    busy = screenshot_post(busy=True)
    busy_latencies = latencies_ms(predictor, busy, runs)
    posts = [synthetic_post(seed=i) for i in range(batch)]
    views = len(predictor.prepare(busy).pixels)
    return {
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "screenshot_p50_ms": statistics.median(screenshot),
        "busy_p50_ms": statistics.median(busy_latencies),
        "batch_images_per_s": throughput(predictor, posts, max(3, runs // 20)),
        # the network by itself, on inputs of the same shapes: the floor of each row above
        "forward_ms": forward_ms(predictor, 1, runs),
        "busy_forward_ms": forward_ms(predictor, views, runs),
        "batch_forward_images_per_s": 1000 * batch / forward_ms(predictor, batch, runs // 5),
    }


def forward_ms(predictor: Predictor, rows: int, runs: int) -> float:
    """Median ms of the network alone on ``rows`` inputs."""
    size = predictor.input_size
    x = np.random.default_rng(0).standard_normal((rows, 3, size, size), np.float32)
    return median_ms(lambda: predictor.network(x), max(runs, 5))


def median_ms(fn, runs: int) -> float:
    for _ in range(5):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def stages(predictor: Predictor, post: bytes, runs: int) -> dict[str, float]:
    """Median ms of each stage of one image: decode, frame (crop, pad, resize, views),
    prepare the network's input, forward pass."""
    decode = median_ms(lambda: decode_frames(post), runs)
    pixels = frame_image(post, STORED_SIZE)[0]
    x = predictor.model_input(pixels)
    return {
        "decode": decode,
        "frame": median_ms(lambda: frame_image(post, STORED_SIZE), runs) - decode,
        "prepare input": median_ms(lambda: predictor.model_input(pixels), runs),
        "forward": median_ms(lambda: predictor.network(x), runs),
        "views": len(pixels),
    }


def print_table(title: str, columns: dict[str, dict], rows: list[tuple[str, str]]) -> None:
    names = list(columns)
    print(f"\n{title:<44}" + "".join(f"{n:>14}" for n in names) + f"{names[0]}/{names[1]:>6}")
    for key, label in rows:
        values = [columns[n][key] for n in names]
        ratio = values[0] / values[1] if values[1] else float("nan")
        print(f"{label:<44}" + "".join(f"{v:>14.2f}" for v in values) + f"{ratio:>12.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="ours (default: the shipped weights)")
    parser.add_argument("--baseline", type=Path, help="a net2017 checkpoint")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of each network")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ours = args.checkpoint or DEFAULT_WEIGHTS
    contenders = {
        "onnx": Predictor.load(ours, "onnx", threads=args.threads),
        "torch": Predictor.load(ours, "torch"),
        "net2017": net2017(args.baseline),
    }
    post, busy = synthetic_post(), screenshot_post(busy=True)
    results = {name: measure(p, post, args.runs, args.batch) for name, p in contenders.items()}
    print(f"CPU threads: {args.threads}; one {len(post) // 1024} KB 475x475 PNG per request; "
          f"{args.runs} runs; batch {args.batch}; onnx and torch: {ours}")  # fmt: skip
    print_table("end to end", results, [
        ("p50_ms", "one image p50 (ms)"), ("p99_ms", "one image p99 (ms)"),
        ("screenshot_p50_ms", "1280x720 JPEG post, plain background p50"),
        ("busy_p50_ms", "1280x720 JPEG post, busy background p50"),
        ("batch_images_per_s", f"batch {args.batch} (images/s)"),
        ("forward_ms", "forward pass alone: one image (ms)"),
        ("busy_forward_ms", "forward pass alone: the busy post's views"),
        ("batch_forward_images_per_s", f"forward pass alone: batch {args.batch} (images/s)"),
    ])  # fmt: skip
    for label, image in (("one image", post), ("busy screenshot", busy)):
        split = {name: stages(contenders[name], image, args.runs) for name in ("onnx", "torch")}
        keys = ["decode", "frame", "prepare input", "forward"]
        print_table(f"{label}, {split['onnx']['views']} views: median ms", split,
                    [(k, k) for k in keys])  # fmt: skip
    onnx = results["onnx"]
    print("\ntargets (ONNX Runtime), and the network alone on the same inputs:")
    for key, target in TARGETS.items():
        met = onnx[key] >= target if key.endswith("per_s") else onnx[key] <= target
        print(f"  {key} {onnx[key]:.1f} against {target:g}: {'met' if met else 'missed'} "
              f"(the forward pass alone: {onnx[FLOORS[key]]:.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
