"""Small synthetic sprites for tests: shapes on transparency, animated GIFs, SVGs.

No game art anywhere in the tests: every image is drawn here.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw


def sprite(
    size: tuple[int, int] = (48, 40),
    box: tuple[int, int, int, int] = (10, 8, 30, 32),
    color: tuple[int, int, int] = (220, 60, 40),
) -> Image.Image:
    """An RGBA image: an opaque ellipse inside ``box``, transparent elsewhere."""
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse(box, fill=(*color, 255))
    return img


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def save_gif(path: Path, frames: int = 3, color=(40, 120, 220)) -> Path:
    """An animated GIF with transparency; the shape moves a little from frame to frame."""
    images = [sprite(box=(6 + 2 * i, 6, 26 + 2 * i, 30), color=color) for i in range(frames)]
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, save_all=True, append_images=images[1:], duration=80, loop=0, disposal=2)
    return path


def save_png(path: Path, img: Image.Image | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (img or sprite()).save(path)
    return path


SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="120px" height="100px" viewBox="0 0 120 100">
<circle cx="60" cy="50" r="30" fill="#2a9d4b"/>
<rect x="50" y="10" width="20" height="20" fill="#123"/>
</svg>"""


def save_svg(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SVG)
    return path


def encoded(img: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


def png_declaring_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height``: a decompression-bomb stand-in."""
    import struct
    import zlib

    data = bytearray(png_bytes(Image.new("RGB", (8, 8), "red")))
    ihdr = 8  # signature, then the IHDR chunk: length, type, data (13 bytes), CRC
    data[ihdr + 8 : ihdr + 16] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr + 4 : ihdr + 21]))
    data[ihdr + 21 : ihdr + 25] = struct.pack(">I", crc)
    return bytes(data)


def many_frame_gif(frames: int, size: int = 32) -> bytes:
    """An animated GIF with ``frames`` distinct frames (identical ones would be merged)."""
    images = []
    for i in range(frames):
        img = Image.new("P", (size, size), 0)
        ImageDraw.Draw(img).point((i % size, (i // size) % size), fill=1 + i % 200)
        images.append(img)
    return encoded(images[0], "GIF", save_all=True, append_images=images[1:], optimize=False)
