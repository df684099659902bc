"""Pictures for a round: the silhouette, the (optionally harder) view, and the reveal."""

from __future__ import annotations

import random

from PIL import Image, ImageDraw

from model.images import ALPHA_THRESHOLD, crop_to_content, pad_to_square, to_rgba

SIZE = 384
BACKDROP_INNER, BACKDROP_OUTER = (255, 236, 120), (60, 130, 220)


def backdrop(size: int = SIZE) -> Image.Image:
    """The show's yellow-on-blue burst, as a radial gradient."""
    img = Image.new("RGB", (size, size), BACKDROP_OUTER)
    draw = ImageDraw.Draw(img)
    steps = 48
    for i in range(steps):
        t = i / (steps - 1)
        colour = tuple(
            round(o + (n - o) * t) for o, n in zip(BACKDROP_OUTER, BACKDROP_INNER, strict=True)
        )
        r = round(size * 0.72 * (1 - t))
        draw.ellipse((size // 2 - r, size // 2 - r, size // 2 + r, size // 2 + r), fill=colour)
    return img


def framed(art: Image.Image, size: int = SIZE) -> Image.Image:
    """The art cropped to its content, centred on a transparent square of ``size``."""
    content = crop_to_content(to_rgba(art)) or to_rgba(art)
    return pad_to_square(content, margin=0.08).resize((size, size), Image.Resampling.LANCZOS)


def silhouette(art: Image.Image) -> Image.Image:
    """Black exactly where the art is opaque (alpha >= threshold), transparent elsewhere."""
    rgba = to_rgba(art)
    mask = rgba.getchannel("A").point(lambda a: 255 if a >= ALPHA_THRESHOLD else 0)
    shadow = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
    out = Image.new("RGBA", rgba.size, (0, 0, 0, 0))
    out.paste(shadow, mask=mask)
    return out


def harden(img: Image.Image, rng: random.Random) -> Image.Image:
    """Hard mode: a random turn and a crop that hides part of the outline."""
    turned = img.rotate(rng.choice([90, 180, 270, rng.uniform(-35, 35)]), expand=False)
    w, h = turned.size
    keep = rng.uniform(0.6, 0.8)
    x0, y0 = rng.uniform(0, w * (1 - keep)), rng.uniform(0, h * (1 - keep))
    return turned.crop((round(x0), round(y0), round(x0 + w * keep), round(y0 + h * keep))).resize(
        (w, h), Image.Resampling.LANCZOS
    )


def on_backdrop(img: Image.Image) -> Image.Image:
    base = backdrop(img.width).convert("RGBA")
    return Image.alpha_composite(base, img).convert("RGB")


def question_picture(art: Image.Image, hard: bool = False, rng: random.Random | None = None):
    picture = silhouette(framed(art))
    if hard:
        picture = harden(picture, rng or random.Random())
    return on_backdrop(picture)


def reveal_picture(art: Image.Image) -> Image.Image:
    return on_backdrop(framed(art))
