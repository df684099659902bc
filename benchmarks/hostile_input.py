"""What crafted files cost to read, beside normal pictures: each in a fresh process.

    python benchmarks/hostile_input.py

Every file is decoded and framed as the bot does (``model.images.frame_image``) in a process of
its own, which reports its peak memory, how far decoding raised it, and how long it took. The
crafted cases (``tests/hostile.py``) claim canvases of millions of pixels in a few kilobytes;
the normal ones are a 64x64 sprite, a 1024x1024 artwork, a 1920x1080 screenshot and a 6000x4000
photo. Prints a table with each case's peak and time as multiples of the sprite's, and one
closing line (memory risen while decoding):
``worst_crafted_mb=<n> worst_crafted_s=<n> normal_art_mb=<n>``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.hostile import CASES, decode_cost
from tests.synthetic import encoded, png_bytes, sprite


def normal_cases() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    art = sprite((1024, 1024), (100, 80, 920, 960), (60, 140, 220))
    screen = Image.new("RGB", (1920, 1080), (49, 51, 56))
    draw = ImageDraw.Draw(screen)
    for y in range(40, 1040, 28):  # lines of "text"
        draw.text((80, y), "".join(rng.choice(list("abcdefgh ijk"), 90)), fill=(220, 220, 220))
    screen.paste(sprite((240, 240), (20, 20, 220, 220)), (900, 400), sprite((240, 240)))
    photo = Image.fromarray(rng.integers(0, 255, (4000, 6000, 3), dtype=np.uint8))
    return {
        "sprite 64x64 png": png_bytes(sprite((64, 64), (8, 8, 56, 56))),
        "art 1024x1024 png": png_bytes(art),
        "screenshot 1920x1080 png": png_bytes(screen),
        "photo 6000x4000 jpeg": encoded(photo, "JPEG", quality=85),
    }


def main() -> None:
    normal = {name: (data, decode_cost(data)) for name, data in normal_cases().items()}
    crafted = {name: (data, decode_cost(data)) for name, make in CASES.items() for data in [make()]}
    base = normal["sprite 64x64 png"][1]
    print(f"{'file':<28}{'size':>9}{'peak MB':>9}{'x sprite':>9}{'rise MB':>9}{'seconds':>9}"
          f"{'x sprite':>9}  outcome")  # fmt: skip
    for title, rows in (("normal", normal), ("crafted", crafted)):
        print(f"-- {title}")
        for name, (data, cost) in rows.items():
            print(f"{name:<28}{len(data) / 1024:>8.0f}K{cost['peak_mb']:>9.1f}"
                  f"{cost['peak_mb'] / base['peak_mb']:>9.2f}{cost['rise_mb']:>9.1f}"
                  f"{cost['seconds']:>9.3f}"
                  f"{cost['seconds'] / base['seconds']:>9.1f}  {cost['outcome'][:60]}")  # fmt: skip
    worst_mb = max(cost["rise_mb"] for _, cost in crafted.values())
    worst_s = max(cost["seconds"] for _, cost in crafted.values())
    art_mb = normal["art 1024x1024 png"][1]["rise_mb"]
    print(f"worst_crafted_mb={worst_mb:.1f} worst_crafted_s={worst_s:.3f} "
          f"normal_art_mb={art_mb:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
