"""From framed RGBA frames to the network's input: the view that evaluation and the bot share.

NumPy only, so that inference runs without torch: ``model.predict``, ``model.explain`` and the
bot import it, and ``model.evaluate`` feeds the network exactly what the bot does.
"""

from __future__ import annotations

from functools import cache

import numpy as np

MEAN = (0.485, 0.456, 0.406)  # ImageNet statistics: the pretrained backbone expects them
STD = (0.229, 0.224, 0.225)
EVAL_BACKGROUND = (1.0, 1.0, 1.0)  # white: how most sprites are posted
# Evaluation and prediction show the subject at 90% of its stored framing: nearer the middle of
# the scales training sees (55-105%). Chosen on validation files (+0.3 to +1.0 species top-1).
VIEW_SCALE = 0.9


@cache
def resize_matrix(source: int, target: int) -> np.ndarray:
    """float32 [target, source]: one axis resized by the triangle filter, widened when
    shrinking (antialiased), as Pillow's and torch's ``antialias=True`` bilinear resize do."""
    scale = source / target
    support = max(scale, 1.0)
    matrix = np.zeros((target, source), np.float64)
    for i in range(target):
        centre = (i + 0.5) * scale
        start = max(int(centre - support + 0.5), 0)
        stop = min(int(centre + support + 0.5), source)
        taps = np.arange(start, stop)
        weights = np.clip(1 - np.abs((taps - centre + 0.5) / support), 0, None)
        matrix[i, start:stop] = weights / weights.sum()
    return matrix.astype(np.float32)


def model_input(
    rgba_uint8: np.ndarray, size: int, mean: tuple = MEAN, std: tuple = STD
) -> np.ndarray:
    """uint8 [B, S, S, 4] -> float32 [B, 3, size, size]: each frame on white at
    ``VIEW_SCALE`` of the square, resized with premultiplied alpha (clean edges), normalised."""
    frames = np.asarray(rgba_uint8)
    n, side = len(frames), frames.shape[1]
    inner = round(size * VIEW_SCALE)
    x = frames.transpose(0, 3, 1, 2).astype(np.float32, order="C")  # planes: [n, 4, S, S]
    x *= np.float32(1 / 255)
    x[:, :3] *= x[:, 3:]
    resize = resize_matrix(side, inner)
    x = x.reshape(-1, side) @ resize.T  # widths, then heights
    x = (resize @ x.reshape(n * 4, side, inner)).reshape(n, 4, inner, inner)
    background = np.asarray(EVAL_BACKGROUND, np.float32).reshape(1, 3, 1, 1)
    rgb = np.clip(x[:, :3] + background * (1 - np.clip(x[:, 3:], 0, 1)), 0, 1)
    scale = (1 / np.asarray(std, np.float32)).reshape(1, 3, 1, 1)
    shift = np.asarray(mean, np.float32).reshape(1, 3, 1, 1)
    out = np.empty((n, 3, size, size), np.float32)
    out[:] = (background - shift) * scale  # the transparent border, composited and normalised
    top = (size - inner) // 2
    out[:, :, top : top + inner, top : top + inner] = (rgb - shift) * scale
    return out
