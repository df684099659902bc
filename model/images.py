"""Image preparation shared by the dataset build, training and prediction.

Sprites come with transparency; the subject is cut out along its alpha, centred on a square
canvas and scaled, so that every source style reaches the network framed the same way. A posted
picture without transparency is cropped to its subject when its background is plain, and read
whole and through zoomed crops when it is busy (``busy_views``).
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

# Alpha below this counts as background: keeps faint anti-aliasing halos from widening the crop.
ALPHA_THRESHOLD = 16
# An opaque picture whose border is one colour (give or take JPEG noise) is a subject on a plain
# background: it is cropped to what stands out, as a sprite is cropped along its alpha.
PLAIN_TOLERANCE = 32  # per channel, of 255
PLAIN_BORDER_SHARE = 0.9  # of the border's pixels that must be the background colour
MARGIN = 0.04  # around the subject of a framed sprite, a fraction of the side
# A picture on a busy background is also read through crops of 80% and of 60% of its shorter
# side, and the views' predictions pooled. Chosen on validation posts (docs/experiments/, *Posts*):
# 80% crops took busy ones from 55% to 74% species top-1; the 60% crops find small subjects
# (25-50% of the shorter side: 41% -> 52%; on larger ones +1 point of species, -2 of type).
# All views come from a copy reduced to at least ZOOM_DETAIL pixels on its shorter side (framing
# many views takes time): 80% of it is still the 128 px the framing keeps, 60% the 64 px the
# network reads.
ZOOM = 0.8
ZOOM_SMALL = 0.6
ZOOM_DETAIL = 160
# Views of a busy picture tile it along its longer side for up to about 3:1; a longer strip
# (a banner, a crafted 20000 x 10 file) is read whole: cutting a grid from it at a frame's
# scale would cost memory in proportion to its length.
ZOOM_MAX_ASPECT = 4


def to_rgba(img: Image.Image) -> Image.Image:
    """Any mode (palette with transparency, LA, 16-bit, CMYK...) -> RGBA."""
    if img.mode == "RGBA":
        return img
    if img.mode == "P" and "transparency" in img.info:
        return img.convert("RGBA")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits before the generic conversion clips it.
        img = img.point(lambda v: v / 257).convert("L")
    return img.convert("RGBA")


def crop_to_content(img: Image.Image) -> Image.Image | None:
    """Crop an RGBA image to its visible pixels; None when nothing is visible."""
    alpha = img.getchannel("A").point(lambda a: 255 if a >= ALPHA_THRESHOLD else 0)
    box = alpha.getbbox()
    return img.crop(box) if box else None


def subject(img: Image.Image) -> Image.Image | None:
    """Where the subject of an RGBA picture is: a transparent picture is its own (its alpha
    says where), one on a plain background is cropped to what differs from that background (as
    a sprite is cropped along its alpha); None for one on a busy background (``busy_views``)."""
    if img.getchannel("A").getextrema()[0] < 255:
        return img
    rgb = _sampled_rgb(img)
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    background = np.median(border, axis=0).astype(np.int16)
    if (_distance(border, background) <= PLAIN_TOLERANCE).mean() < PLAIN_BORDER_SHARE:
        return None
    box = _subject_box(img, rgb, background)
    if box is None:
        return img  # blank
    rough = img.crop(box)  # found on sampled pixels; a second look at the crop is exact or close
    finer = _subject_box(rough, _sampled_rgb(rough), background)
    return rough.crop(finer) if finer else rough


def busy_views(img: Image.Image, size: int) -> np.ndarray:
    """An opaque picture on a busy background framed as views, uint8 [n, size, size, 4]: the
    whole picture, squares of its shorter side along a wide (or tall) one, then squares of
    ``ZOOM`` and of ``ZOOM_SMALL`` times that side on grids: 14 views of a square picture, 27
    of a wide one."""
    step = min(img.size) // ZOOM_DETAIL
    if step > 1:  # every view is framed at a lower resolution anyway
        img = img.reduce(step)
    wide = max(img.size) / min(img.size) > 1.15
    rgb = img.convert("RGB")  # opaque: no alpha to carry through the resizes
    squares = [(1.0, 3, 1)] if wide else []
    grids = [*squares, (ZOOM, 4 if wide else 2, 2), (ZOOM_SMALL, 5 if wide else 3, 3)]
    whole = np.asarray(prepare_sprite(img, size))[None]
    return np.concatenate([whole, *(_grid_views(rgb, *grid, size) for grid in grids)])


@lru_cache(maxsize=64)
def _framed_square(side: int, size: int) -> tuple[np.ndarray, int, int]:
    """The alpha of an opaque square of ``side`` framed by ``prepare_sprite``, and the first
    and past-the-last pixel its soft edge reaches, across and down."""
    alpha = np.asarray(prepare_sprite(Image.new("RGBA", (side, side), "black"), size))[..., 3]
    lit = np.flatnonzero(alpha[size // 2])
    return alpha, int(lit[0]), int(lit[-1]) + 1


def _grid_views(img: Image.Image, share: float, along: int, across: int, size: int) -> np.ndarray:
    """Squares of ``share`` times the shorter side of an RGB picture, ``along`` x ``across`` the
    long and the short side, evenly spaced from edge to edge, each framed as ``prepare_sprite``
    frames an opaque square. The picture is resized once, at the frame's scale and shifted by
    the margin's fraction of a pixel, and the squares are cut from it: one resize a grid."""
    w, h = img.size
    side = max(1, round(min(w, h) * share))
    alpha, lo, hi = _framed_square(side, size)
    canvas = round(side * (1 + 2 * MARGIN))  # as pad_to_square frames the square
    scale = size / canvas
    margin = (canvas - side) // 2 * scale  # where the square starts in the frame
    shift = (1 - margin % 1) / scale  # into the picture: a box must start inside it
    width, height = math.floor((w - shift) * scale), math.floor((h - shift) * scale)
    box = (shift, shift, shift + width / scale, shift + height / scale)
    resized = np.asarray(img.resize((width, height), Image.Resampling.LANCZOS, box=box))
    # frame pixel j of a square cut at resized pixel P shows resized pixel P + j - before;
    # past the picture's edges, its edge pixels stand in
    before = math.floor(margin) + 1
    reach = math.floor((w - side) * scale), math.floor((h - side) * scale)
    pad = max(0, before - lo)
    ends = [max(0, r + hi - before - n) for r, n in zip(reach, (width, height), strict=True)]
    resized = np.pad(resized, ((pad, ends[1]), (pad, ends[0]), (0, 0)), mode="edge")
    views = np.zeros((along * across, size, size, 4), np.uint8)
    views[..., 3] = alpha
    corners = [(a, b) if w >= h else (b, a) for a in np.linspace(0, 1, along)
               for b in np.linspace(0, 1, across)]  # fmt: skip
    for view, (x, y) in zip(views, corners, strict=True):
        left, top = round(x * reach[0]) - before + pad, round(y * reach[1]) - before + pad
        view[lo:hi, lo:hi, :3] = resized[top + lo : top + hi, left + lo : left + hi]
    return views


def _sampled_rgb(img: Image.Image) -> np.ndarray:
    """The RGB pixels, every n-th one when a side exceeds 512 (the box needs no more)."""
    step = math.ceil(max(img.size) / 512)
    if step > 1:
        img = img.resize((max(1, img.width // step), max(1, img.height // step)), Image.NEAREST)
    return np.asarray(img.convert("RGB"), dtype=np.int16)


def _subject_box(
    img: Image.Image, rgb: np.ndarray, background: np.ndarray
) -> tuple[int, int, int, int] | None:
    """The box of ``img`` around the pixels of ``rgb`` (``img``'s pixels, maybe sampled) that
    differ from ``background``, one sample wider on each side when sampled (an edge can fall
    between samples)."""
    ys, xs = np.nonzero(_distance(rgb, background) > PLAIN_TOLERANCE)
    if not len(ys):
        return None
    pad = 1 if rgb.shape[:2] != (img.height, img.width) else 0
    fx, fy = img.width / rgb.shape[1], img.height / rgb.shape[0]
    return (
        max(0, math.floor((xs.min() - pad) * fx)),
        max(0, math.floor((ys.min() - pad) * fy)),
        min(img.width, math.ceil((xs.max() + 1 + pad) * fx)),
        min(img.height, math.ceil((ys.max() + 1 + pad) * fy)),
    )


def _distance(pixels: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """The largest per-channel difference from ``colour`` (channel by channel: numpy's
    ``max`` over a last axis of 3 is slow)."""
    d = np.abs(pixels - colour)
    return np.maximum(np.maximum(d[..., 0], d[..., 1]), d[..., 2])


def pad_to_square(img: Image.Image, margin: float = MARGIN) -> Image.Image:
    """Centre on a transparent square canvas with ``margin`` (a fraction of the side) around."""
    side = round(max(img.size) * (1 + 2 * margin))
    canvas = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    canvas.paste(img, ((side - img.width) // 2, (side - img.height) // 2))
    return canvas


def resize_square(img: Image.Image, size: int, pixel_art: bool = False) -> Image.Image:
    """Scale a square image to ``size``: pixel art grows with crisp edges, the rest smoothly."""
    if img.width == size:
        return img
    upscaling = size > img.width
    resample = Image.Resampling.NEAREST if pixel_art and upscaling else Image.Resampling.LANCZOS
    # a large picture is first reduced by a whole factor (box), at most halving what Lanczos
    # then scales: 3x faster, half a level apart on average in the network's input
    return img.resize((size, size), resample, reducing_gap=None if upscaling else 1.0)


def prepare_sprite(img: Image.Image, size: int, pixel_art: bool = False) -> Image.Image | None:
    """Sprite (any mode) -> RGBA square of ``size`` framed on its content; None if blank."""
    content = crop_to_content(to_rgba(img))
    if content is None:
        return None
    return resize_square(pad_to_square(content), size, pixel_art)


# ---------------------------------------------------------------------------- posted images

# What a posted file may cost is bounded by what it holds, not by what its header claims: the
# canvas is checked before a pixel is decoded, and every frame is reduced as soon as it is read.
MAX_BYTES = 8 * 1024 * 1024  # the largest file read; the bot's MAX_IMAGE_MB by default
MAX_PIXELS = 40_000_000  # a JPEG's canvas: about 6300 x 6300, decoded at a reduced scale
MAX_DECODED_PIXELS = 4096 * 4096  # any other format's canvas, which is decoded whole
# A canvas beyond FREE_PIXELS needs a byte of file per PIXELS_PER_BYTE pixels: photos and
# screenshots carry 2-40, a sprite enlarged 50-fold about 200, a header-only bomb thousands.
FREE_PIXELS = 1024 * 1024
PIXELS_PER_BYTE = 128
MAX_SIDE = 1024  # frames are reduced by a whole factor to at most this on their longer side
MAX_FRAMES = 8  # frames sampled from an animation, evenly spaced
FRAME_SCAN_LIMIT = 64  # frames looked at in an animation: a 5,000-frame GIF costs no more
FRAME_PIXEL_BUDGET = 2 * FREE_PIXELS  # canvas pixels composed over the frames looked at


@dataclass(frozen=True)
class ImageFormat:
    """A format the bot and ``model predict`` read: how Discord names it, how files are named,
    and the bytes a file of it starts with."""

    name: str  # as Pillow names it
    content_type: str
    suffixes: tuple[str, ...]
    magic: bytes  # a regular expression for the file's first bytes

    def announced_by(self, data: bytes) -> bool:
        return re.match(self.magic, data, re.DOTALL) is not None


FORMATS = (
    ImageFormat("PNG", "image/png", (".png",), rb"\x89PNG\r\n\x1a\n"),
    ImageFormat("JPEG", "image/jpeg", (".jpg", ".jpeg"), rb"\xff\xd8\xff"),
    ImageFormat("GIF", "image/gif", (".gif",), rb"GIF8[79]a"),
    ImageFormat("WEBP", "image/webp", (".webp",), rb"RIFF....WEBP"),
)
FORMAT_NAMES = "PNG, JPEG, GIF or WebP"  # FORMATS, as people write them


def sniff(data: bytes) -> ImageFormat | None:
    """The format the bytes themselves announce, if it is one of ``FORMATS``."""
    return next((f for f in FORMATS if f.announced_by(data)), None)


class ImageError(ValueError):
    """An image we cannot use; the message is fit to show to the person who posted it."""


def open_image(source: bytes | Image.Image, max_bytes: int = MAX_BYTES) -> Image.Image:
    """Bytes or a PIL image, held to the canvas budget before any pixel is decoded (a PIL
    image, our own data, only to its size), or ``ImageError``."""
    img = source if isinstance(source, Image.Image) else _open(source, max_bytes)
    _check_canvas(img, None if isinstance(source, Image.Image) else len(source))
    factor = reduction(img.size)
    if img.format == "JPEG" and factor > 1:  # decodes at 1/2, 1/4 or 1/8 scale
        img.draft(img.mode, (math.ceil(img.width / factor), math.ceil(img.height / factor)))
    return img


def read_frames(img: Image.Image, indices: list[int]) -> Iterator[Image.Image]:
    """The RGBA frames ``indices`` (``frame_indices``) of an opened image, none longer than
    ``MAX_SIDE``, one at a time (an animation's canvas is in memory once); ``ImageError`` if
    unreadable."""
    for index in indices:
        try:
            img.seek(index)
            img.load()
            frame = _reduced(to_rgba(img))
        except MemoryError as exc:
            raise ImageError("the image is too large to read") from exc
        except Exception as exc:
            raise ImageError("the image is truncated or corrupt") from exc
        yield frame if frame is not img else frame.copy()  # seeking reuses img's buffer


def decode_frames(source: bytes | Image.Image, max_frames: int = MAX_FRAMES) -> list[Image.Image]:
    img = open_image(source)
    return list(read_frames(img, frame_indices(img, max_frames)))


def _open(data: bytes, max_bytes: int) -> Image.Image:
    if not data:
        raise ImageError("the file is empty")
    if len(data) > max_bytes:
        raise ImageError(f"the file is larger than {max_bytes // (1024 * 1024)} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("the image is too large to decode safely") from exc
    except Exception as exc:
        raise ImageError(f"this is not an image I can read ({FORMAT_NAMES})") from exc
    if img.format not in {f.name for f in FORMATS}:
        raise ImageError(f"{img.format} images are not supported: use {FORMAT_NAMES}")
    return img


def _check_canvas(img: Image.Image, file_bytes: int | None) -> None:
    """Refuse a canvas over the budget: too many pixels, or too many for the file's size."""
    width, height = img.size
    if width < 1 or height < 1:
        raise ImageError("the image has no pixels")
    limit = MAX_PIXELS if img.format == "JPEG" else MAX_DECODED_PIXELS
    if width * height > limit:
        raise ImageError(f"the image is too large ({width} x {height} pixels)")
    if file_bytes is not None and width * height > FREE_PIXELS + PIXELS_PER_BYTE * file_bytes:
        raise ImageError(
            f"the image is too large for its file ({width} x {height} pixels in "
            f"{file_bytes / 1024:.0f} KB): post a copy up to {MAX_SIDE} x {MAX_SIDE}"
        )


def frame_indices(img: Image.Image, max_frames: int = MAX_FRAMES) -> list[int]:
    """Which frames to read: ``max_frames`` evenly spaced over those the budget lets us look
    at (reaching frame k composes every frame before it on the canvas)."""
    affordable = max(1, FRAME_PIXEL_BUDGET // (img.width * img.height))
    return evenly_spaced(min(getattr(img, "n_frames", 1), FRAME_SCAN_LIMIT, affordable), max_frames)


def evenly_spaced(count: int, most: int) -> list[int]:
    """Up to ``most`` of the indices 0..count-1, evenly spaced, first and last included."""
    if count <= 1:
        return [0]
    return sorted({round(i * (count - 1) / max(most - 1, 1)) for i in range(most)})


def reduction(size: tuple[int, int]) -> int:
    """The whole factor that brings the longer side of ``size`` to at most ``MAX_SIDE``."""
    return math.ceil(max(size) / MAX_SIDE)


def _reduced(img: Image.Image) -> Image.Image:
    """The frame with its longer side at most ``MAX_SIDE``: framing a long strip pads it to a
    square of its longer side, and the network reads 96 pixels anyway. Averaging blocks of a
    whole factor costs a fraction of a resize to an exact size, and a JPEG's DCT scale is one."""
    factor = reduction(img.size)
    return img.reduce(factor) if factor > 1 else img


def frame_image(
    source: bytes | Image.Image, size: int, max_bytes: int = MAX_BYTES
) -> tuple[np.ndarray, bool]:
    """Decode and frame a posted image like the training data: (uint8 [n, size, size, 4], views).
    An animation gives its frames; a still picture on a busy background gives several views
    of it (``views`` True), the whole first. Raises ``ImageError``."""
    img = open_image(source, max_bytes)
    indices = frame_indices(img)
    still = len(indices) == 1
    try:
        framed = [frame_picture(frame, size, zoom=still) for frame in read_frames(img, indices)]
    except MemoryError as exc:
        raise ImageError("the image is too large to read") from exc
    pixels = np.concatenate(framed)
    if not len(pixels):
        raise ImageError("the image is fully transparent")
    return pixels, still and len(pixels) > 1


def frame_picture(img: Image.Image, size: int, zoom: bool = True) -> np.ndarray:
    """One RGBA frame framed like the training data, uint8 [n, size, size, 4]: its subject
    (n = 1), the views of a busy picture with ``zoom`` (n > 1), nothing if it is blank."""
    found = subject(img)
    if found is None and zoom and max(img.size) <= ZOOM_MAX_ASPECT * min(img.size):
        return busy_views(img, size)
    sprite = prepare_sprite(img if found is None else found, size)
    return np.asarray(sprite)[None] if sprite else np.empty((0, size, size, 4), np.uint8)
