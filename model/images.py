"""Image preparation shared by the dataset build, training and prediction.

Sprites come with transparency; the subject is cut out along its alpha, centred on a square
canvas and scaled, so that every source style reaches the network framed the same way. A posted
picture without transparency is cropped to its subject when its background is plain, and read
whole and through zoomed crops when it is busy (``subject_views``).
"""

from __future__ import annotations

import io
import math
import warnings

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
# side, and the views' predictions pooled. Chosen on validation posts (model/REPORT.md, *Posts*):
# 80% crops took busy ones from 55% to 74% species top-1; the 60% crops find small subjects
# (25-50% of the shorter side: 41% -> 52%; on larger ones +1 point of species, -2 of type).
# All views come from a copy reduced to at least ZOOM_DETAIL pixels on its shorter side (framing
# many views takes time): 80% of it is still the 128 px the framing keeps, 60% the 64 px the
# network reads.
ZOOM = 0.8
ZOOM_SMALL = 0.6
ZOOM_DETAIL = 160


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


def subject_views(img: Image.Image, zoom: bool = True) -> list[Image.Image]:
    """Where the subject of an RGBA picture may be, the whole picture first. A transparent
    picture is one view (its alpha says where the subject is), as is one on a plain background,
    cropped to what differs from that background (as a sprite is cropped along its alpha). One on
    a busy background is read whole and, with ``zoom``, through crops of its parts (``ZOOM``,
    ``ZOOM_SMALL``)."""
    if img.getchannel("A").getextrema()[0] < 255:
        return [img]
    rgb = _sampled_rgb(img)
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    background = np.median(border, axis=0).astype(np.int16)
    if (_distance(border, background) <= PLAIN_TOLERANCE).mean() < PLAIN_BORDER_SHARE:
        return _busy_views(img) if zoom else [img]
    box = _subject_box(img, rgb, background)
    if box is None:
        return [img]  # blank
    rough = img.crop(box)  # found on sampled pixels; a second look at the crop is exact or close
    finer = _subject_box(rough, _sampled_rgb(rough), background)
    return [rough.crop(finer) if finer else rough]


def _busy_views(img: Image.Image) -> list[Image.Image]:
    """The whole picture, squares of its shorter side along a wide (or tall) one, then squares of
    ``ZOOM`` and of ``ZOOM_SMALL`` times that side on grids: 14 views of a square picture, 27 of
    a wide one."""
    step = min(img.size) // ZOOM_DETAIL
    if step > 1:  # every view is framed at a lower resolution anyway
        img = img.reduce(step)
    wide = max(img.size) / min(img.size) > 1.15
    squares = _grid(img, 1.0, 3, 1) if wide else []
    zoomed = _grid(img, ZOOM, 4 if wide else 2, 2)
    return [img, *squares, *zoomed, *_grid(img, ZOOM_SMALL, 5 if wide else 3, 3)]


def _grid(img: Image.Image, share: float, along: int, across: int) -> list[Image.Image]:
    """Squares of ``share`` times the shorter side, ``along`` x ``across`` the long and the
    short side, evenly spaced from edge to edge."""
    w, h = img.size
    side = max(1, round(min(w, h) * share))
    crops = []
    for a in np.linspace(0, 1, along):
        for b in np.linspace(0, 1, across):
            x, y = (a, b) if w >= h else (b, a)
            left, top = round(x * (w - side)), round(y * (h - side))
            crops.append(img.crop((left, top, left + side, top + side)))
    return crops


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
    # a large picture is first reduced by an integer factor: 3x faster, a fraction of a level apart
    return img.resize((size, size), resample, reducing_gap=None if upscaling else 3.0)


def prepare_sprite(img: Image.Image, size: int, pixel_art: bool = False) -> Image.Image | None:
    """Sprite (any mode) -> RGBA square of ``size`` framed on its content; None if blank."""
    content = crop_to_content(to_rgba(img))
    if content is None:
        return None
    return resize_square(pad_to_square(content), size, pixel_art)


# ---------------------------------------------------------------------------- posted images

MAX_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 40_000_000  # per frame: about 6300 x 6300
MAX_FRAMES = 8  # frames sampled from an animation, evenly spaced
FRAME_SCAN_LIMIT = 64  # frames looked at in an animation: a 5,000-frame GIF costs no more
FORMATS = {"PNG", "JPEG", "GIF", "WEBP", "BMP"}
FORMAT_NAMES = "PNG, JPEG, GIF, WebP or BMP"  # FORMATS, as people write them


class ImageError(ValueError):
    """An image we cannot use; the message is fit to show to the person who posted it."""


def decode_frames(
    source: bytes | Image.Image,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
    max_frames: int = MAX_FRAMES,
) -> list[Image.Image]:
    """Bytes or a PIL image -> up to ``max_frames`` RGBA frames, or ``ImageError``.

    Limits are checked before any pixel is decoded: the byte count, then the size the header
    declares (a decompression bomb is refused without being inflated).
    """
    if isinstance(source, Image.Image):
        img = source
    else:
        if not source:
            raise ImageError("the file is empty")
        if len(source) > max_bytes:
            raise ImageError(f"the file is larger than {max_bytes // (1024 * 1024)} MB")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img = Image.open(io.BytesIO(source))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError("the image is too large to decode safely") from exc
        except Exception as exc:
            raise ImageError(f"this is not an image I can read ({FORMAT_NAMES})") from exc
        if img.format not in FORMATS:
            raise ImageError(f"{img.format} images are not supported: use {FORMAT_NAMES}")
    if img.width * img.height > max_pixels:
        raise ImageError(f"the image is too large ({img.width} x {img.height} pixels)")
    if img.width < 1 or img.height < 1:
        raise ImageError("the image has no pixels")
    try:
        count = min(getattr(img, "n_frames", 1), FRAME_SCAN_LIMIT)
        wanted = {round(i * (count - 1) / max(max_frames - 1, 1)) for i in range(max_frames)}
        frames = []
        for index in sorted(wanted) if count > 1 else [0]:
            if count > 1:
                img.seek(index)
            img.load()
            frames.append(to_rgba(img).copy())  # a copy: seeking reuses the frame buffer
    except Exception as exc:
        raise ImageError("the image is truncated or corrupt") from exc
    return frames
