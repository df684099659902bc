"""A contact sheet of the built dataset: a row of samples per source, each with its labels."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from model.data.build import read_dataset

TILE = 96
LABEL_H = 30
HEADER_W = 130
BACKGROUND = (250, 250, 250)
TILE_BACKGROUND = (222, 226, 230)  # light grey: white and black sprites both stand out


def contact_sheet(dataset_dir: Path, per_source: int = 10, seed: int = 0) -> Image.Image:
    data = read_dataset(dataset_dir)
    by_source: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(data.rows):
        by_source[row["source"]].append(i)
    rng = random.Random(seed)
    font = ImageFont.load_default(size=11)
    rows_h = TILE + LABEL_H + 8
    sheet = Image.new(
        "RGB", (HEADER_W + per_source * (TILE + 6), len(by_source) * rows_h + 8), BACKGROUND
    )
    draw = ImageDraw.Draw(sheet)
    for r, (source, indices) in enumerate(sorted(by_source.items())):
        y = 8 + r * rows_h
        draw.text((6, y + TILE // 2), f"{source}\n{len(indices)} images", fill="black", font=font)
        for c, i in enumerate(sorted(rng.sample(indices, min(per_source, len(indices))))):
            x = HEADER_W + c * (TILE + 6)
            tile = Image.new("RGBA", (TILE, TILE), TILE_BACKGROUND)
            sprite = Image.fromarray(data.images[i], "RGBA").resize((TILE, TILE))
            sheet.paste(Image.alpha_composite(tile, sprite).convert("RGB"), (x, y))
            row = data.rows[i]
            types = "/".join(t for t in (row["type1"], row["type2"]) if t)
            label = f"#{row['num']} {row['name']}"[:16] + f"\n{types}"
            draw.text((x + 1, y + TILE + 2), label, fill="black", font=font)
    return sheet
