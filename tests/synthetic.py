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
