"""Crafted files that claim far more than they hold: canvases of millions of pixels in a few
kilobytes, for the decoding budget's tests and ``benchmarks/hostile_input.py``.

Each is made in milliseconds: small pictures whose headers are then rewritten, or PNG chunks
written by hand, so nothing the size of the claimed canvas is ever built here.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

from PIL import Image, ImageDraw

from tests.synthetic import encoded


def bar_png(width: int, height: int = 10) -> bytes:
    """A black bar on white, ``width`` x ``height``: a few hundred bytes, a very long side."""
    img = Image.new("L", (width, height), 255)
    ImageDraw.Draw(img).rectangle((width // 4, 2, width * 3 // 4, height - 3), fill=0)
    return encoded(img, "PNG", optimize=True)


def _tiny_frames(count: int) -> list[Image.Image]:
    return [Image.new("RGB", (1, 1), (40 * i % 256, 90, 200)) for i in range(count)]


def gif_with_screen(width: int, height: int, frames: int = 16) -> bytes:
    """An animated GIF of 1x1 frames whose logical screen is ``width`` x ``height``."""
    first, *rest = _tiny_frames(frames)
    data = bytearray(encoded(first, "GIF", save_all=True, append_images=rest, optimize=False))
    data[6:10] = struct.pack("<HH", width, height)  # the logical screen descriptor
    return bytes(data)


def webp_with_canvas(width: int, height: int, frames: int = 16) -> bytes:
    """An animated WebP of 1x1 frames whose canvas (VP8X chunk) is ``width`` x ``height``."""
    first, *rest = _tiny_frames(frames)
    data = bytearray(encoded(first, "WEBP", save_all=True, append_images=rest, lossless=True))
    assert data[12:16] == b"VP8X", "Pillow wrote a still WebP"
    data[24:30] = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return bytes(data)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def apng_with_canvas(width: int, height: int, frames: int = 16) -> bytes:
    """An APNG whose canvas is ``width`` x ``height`` of 1-bit grey (it deflates to a few KB)
    and whose other frames are single pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    canvas = zlib.compress(row * height, 9)
    pixel = zlib.compress(b"\x00\x00", 9)  # one row: filter byte, one (padded) byte
    parts = [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", ihdr),
             _chunk(b"acTL", struct.pack(">II", frames, 0))]  # fmt: skip
    sequence = 0
    for index in range(frames):
        size = (width, height) if index == 0 else (1, 1)
        control = struct.pack(">IIIIIHHBB", sequence, *size, index % width, 0, 1, 10, 0, 0)
        parts.append(_chunk(b"fcTL", control))
        sequence += 1
        if index == 0:
            parts.append(_chunk(b"IDAT", canvas))
        else:
            parts.append(_chunk(b"fdAT", struct.pack(">I", sequence) + pixel))
            sequence += 1
    parts.append(_chunk(b"IEND", b""))
    return b"".join(parts)


def zero_png(width: int, height: int, mode: str = "RGBA") -> bytes:
    """A PNG of ``width`` x ``height`` zeros, deflated by hand (about 1,000 to 1)."""
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    colour = {"L": 0, "RGB": 2, "RGBA": 6}[mode]
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    stream = zlib.compressobj(9)
    row = bytes(1 + width * channels)
    body = b"".join(stream.compress(row) for _ in range(height)) + stream.flush()
    return b"".join([b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", ihdr), _chunk(b"IDAT", body),
                     _chunk(b"IEND", b"")])  # fmt: skip


# name -> bytes: the crafted cases of issue 25, and relatives
CASES = {
    "bar 20000x10 png": lambda: bar_png(20000),
    "bar 40000x10 png": lambda: bar_png(40000),
    "gif screen 65535x600": lambda: gif_with_screen(65535, 600),
    "gif screen 6300x6300": lambda: gif_with_screen(6300, 6300),
    "apng canvas 6300x6300": lambda: apng_with_canvas(6300, 6300),
    "webp canvas 6300x6300": lambda: webp_with_canvas(6300, 6300),
    "gif screen 2048x2048": lambda: gif_with_screen(2048, 2048, frames=64),
    "gif screen 1024x1024": lambda: gif_with_screen(1024, 1024, frames=64),
    "apng canvas 1024x1024": lambda: apng_with_canvas(1024, 1024, frames=64),
    "webp canvas 1024x1024": lambda: webp_with_canvas(1024, 1024, frames=64),
    "apng canvas 3000x3000": lambda: apng_with_canvas(3000, 3000, frames=64),
    "zeros 4096x4096 rgba png": lambda: zero_png(4096, 4096),
    "zeros 1100x1100 grey png": lambda: zero_png(1100, 1100, "L"),
}


_CHILD = """
import json, re, sys, time
from pathlib import Path
from model.images import ImageError, frame_image

def peak_mb():  # VmHWM: ru_maxrss would start from the parent's at the fork
    return int(re.search(r"VmHWM:\\s+(\\d+)", Path("/proc/self/status").read_text())[1]) / 1024

data = sys.stdin.buffer.read()
before, start = peak_mb(), time.perf_counter()
try:
    pixels, views = frame_image(data, 128)
    outcome = f"{len(pixels)} {'views' if views else 'frames'}"
except ImageError as exc:
    outcome = str(exc)
seconds, after = time.perf_counter() - start, peak_mb()
print(json.dumps({"outcome": outcome, "seconds": seconds, "peak_mb": after,
                  "rise_mb": after - before}))
"""


def decode_cost(data: bytes) -> dict:
    """Decode and frame ``data`` in a fresh process: its outcome (a reading's frame count or
    the answer the poster gets), seconds, the process's peak memory and how far decoding
    raised it (MB)."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", _CHILD], input=data, capture_output=True,
                          cwd=root, check=True, timeout=120)  # fmt: skip
    return json.loads(done.stdout)
