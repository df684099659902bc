"""Image preparation shared by the dataset build, training and prediction.

Sprites come with transparency; the subject is cut out along its alpha, centred on a square
canvas and scaled, so that every source style reaches the network framed the same way.
"""

from __future__ import annotations

from PIL import Image

# Alpha below this counts as background: keeps faint anti-aliasing halos from widening the crop.
ALPHA_THRESHOLD = 16


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


def pad_to_square(img: Image.Image, margin: float = 0.04) -> Image.Image:
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
    return img.resize((size, size), resample)


def prepare_sprite(img: Image.Image, size: int, pixel_art: bool = False) -> Image.Image | None:
    """Sprite (any mode) -> RGBA square of ``size`` framed on its content; None if blank."""
    content = crop_to_content(to_rgba(img))
    if content is None:
        return None
    return resize_square(pad_to_square(content), size, pixel_art)
