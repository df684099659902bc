"""Where the network saw its top type: the class activation map, drawn over the input.

    python -m model explain IMAGE -o out.png

The backbone pools its last feature map by the mean and the type head is linear, so the type
logits read place by place (``model.runtime.TYPE_MAPS``) average to the type logits: an exact
map of what moved the reading, with no gradients, which ONNX Runtime gives with the
probabilities. The picture: the prepared input, the heat map over it, and the top types as bars,
drawn with Pillow only.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from model.predict import Prediction, Predictor, Prepared
from model.typechart import TYPE_COLOURS

PANEL = 256


class ExplainUnavailable(Exception):
    """The network cannot map its reading: it runs on a model server, or pools no feature map."""


def type_heat(predictor: Predictor, x: np.ndarray, type_index: int) -> np.ndarray:
    """Heat map in 0..1, [input_size, input_size], for one frame's network input ``x`` [1, 3,
    S, S] and one type: where the type's logit was raised (places that lowered it count as
    none)."""
    _check(predictor)
    size = predictor.input_size
    maps = predictor.network.type_maps(x)
    raised = np.maximum(maps[0, type_index], 0).astype(np.float32)
    heat = np.asarray(Image.fromarray(raised, "F").resize((size, size), Image.Resampling.BILINEAR))
    heat = heat - heat.min()
    return heat / max(float(heat.max()), 1e-8)


def _check(predictor: Predictor) -> None:
    if not predictor.network.has_type_maps:
        where = getattr(predictor.network, "url", None)
        raise ExplainUnavailable(
            f"explanations need the network in this process, and this one runs on the model "
            f"server at {where}"
            if where
            else f"this network ({predictor.info['arch']}) pools no feature map, so it cannot "
            "show where it looked"
        )


def _heat_colours(heat: np.ndarray) -> np.ndarray:
    """0..1 -> RGB uint8 on a blue-green-yellow-red ramp."""
    stops = np.array([[0, 0, 128], [0, 160, 255], [60, 220, 60], [255, 220, 0], [220, 0, 0]])
    pos = heat * (len(stops) - 1)
    low = np.floor(pos).astype(int).clip(0, len(stops) - 2)
    frac = (pos - low)[..., None]
    return (stops[low] * (1 - frac) + stops[low + 1] * frac).astype(np.uint8)


def explain_image(predictor: Predictor, image: bytes | Image.Image) -> Image.Image:
    """The three-panel picture for one image (its first frame)."""
    _check(predictor)  # before any work
    return explain_prepared(predictor, predictor.prepare(image))


def explain_prepared(predictor: Predictor, prepared: Prepared) -> Image.Image:
    """``explain_image`` for an image already decoded and framed (``Predictor.prepare``)."""
    _check(predictor)
    prediction: Prediction = predictor.predict_prepared([prepared])[0]
    frame = prepared.pixels[0]
    top = predictor.types.index(prediction.types[0].type)
    x = predictor.model_input(frame[None])
    heat = type_heat(predictor, x, top)
    mean, std = (np.asarray(v, np.float32).reshape(3, 1, 1) for v in predictor.normalisation)
    shown = x[0] * std + mean
    rgb = (shown.clip(0, 1).transpose(1, 2, 0) * 255).astype(np.uint8)
    overlay = (0.5 * rgb + 0.5 * _heat_colours(heat)).astype(np.uint8)

    big = Image.Resampling.NEAREST
    canvas = Image.new("RGB", (PANEL * 3 + 40, PANEL + 40), "white")
    canvas.paste(Image.fromarray(rgb).resize((PANEL, PANEL), big), (10, 30))
    canvas.paste(Image.fromarray(overlay).resize((PANEL, PANEL), big), (PANEL + 20, 30))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=14)
    draw.text((10, 8), "input", fill="black", font=font)
    draw.text((PANEL + 20, 8), f"where it saw {prediction.types[0].type}", fill="black", font=font)
    x0 = 2 * PANEL + 30
    draw.text((x0, 8), "types", fill="black", font=font)
    for row, score in enumerate(prediction.types[:6]):
        y = 34 + row * 36
        draw.rectangle((x0, y + 16, x0 + int(score.p * (PANEL - 10)), y + 30),
                       fill=TYPE_COLOURS[score.type])  # fmt: skip
        draw.text((x0, y), f"{score.type} {score.p:.0%}", fill="black", font=font)
    return canvas
