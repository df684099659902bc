"""Grad-CAM: which parts of the image moved the network towards its top type.

    python -m model explain IMAGE -o out.png

The picture: the prepared input, the heat map over it, and the top types as bars. Drawn with
Pillow only, so the bot can make it too.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from model.net import Ensemble
from model.predict import LocalNetwork, Prediction, Predictor, Prepared
from model.preprocess import MEAN, STD, model_input
from model.typechart import TYPE_COLOURS

PANEL = 256


class ExplainUnavailable(Exception):
    """Grad-CAM needs the network's gradients, which a model server does not give."""


def _last_features(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(last convolutional feature map [B, C, h, w], type logits computed from it)."""
    backbone = model.backbone
    if hasattr(backbone, "forward_features"):  # timm backbones
        features = backbone.forward_features(x)
        pooled = backbone.forward_head(features, pre_logits=True)
    else:  # the 2017 network: its convolutions, then its dense layers
        conv, dense = backbone.layers[:6], backbone.layers[6:]
        features = conv(x)
        pooled = dense(features)
    return features, model.type_head(pooled)


def grad_cam(predictor: Predictor, frame_rgba: np.ndarray, type_index: int) -> np.ndarray:
    """Heat map in 0..1, [input_size, input_size], for one prepared frame and one type."""
    x = model_input(frame_rgba[None], predictor.input_size)
    size = x.shape[-2:]  # the heat map's, even where the member reads a smaller input
    network = _local_network(predictor)
    model = network.model
    if isinstance(model, Ensemble):  # its first member (the shipped lite0) stands for it
        x, model = model.member_input(x, 0), model.members[0]
    with network.lock, torch.enable_grad():
        features, logits = _last_features(model, x)
        features.retain_grad()
        logits[0, type_index].backward()
    weights = features.grad.mean((2, 3), keepdim=True)
    cam = torch.relu((weights * features).sum(1, keepdim=True))
    cam = torch.nn.functional.interpolate(cam, size=size, mode="bilinear", align_corners=False)
    cam = cam[0, 0]
    cam = cam - cam.min()
    return (cam / cam.max().clamp_min(1e-8)).detach().numpy()


def _local_network(predictor: Predictor) -> LocalNetwork:
    if not isinstance(predictor.network, LocalNetwork):
        raise ExplainUnavailable(
            "explanations need the network in this process, and this one runs on a model server"
        )
    return predictor.network


def _heat_colours(heat: np.ndarray) -> np.ndarray:
    """0..1 -> RGB uint8 on a blue-green-yellow-red ramp."""
    stops = np.array([[0, 0, 128], [0, 160, 255], [60, 220, 60], [255, 220, 0], [220, 0, 0]])
    pos = heat * (len(stops) - 1)
    low = np.floor(pos).astype(int).clip(0, len(stops) - 2)
    frac = (pos - low)[..., None]
    return (stops[low] * (1 - frac) + stops[low + 1] * frac).astype(np.uint8)


def explain_image(predictor: Predictor, image: bytes | Image.Image) -> Image.Image:
    """The three-panel picture for one image (its first frame)."""
    _local_network(predictor)  # before any work
    return explain_prepared(predictor, predictor.prepare(image))


def explain_prepared(predictor: Predictor, prepared: Prepared) -> Image.Image:
    """``explain_image`` for an image already decoded and framed (``Predictor.prepare``)."""
    _local_network(predictor)
    prediction: Prediction = predictor.predict_prepared([prepared])[0]
    frame = prepared.pixels[0]
    top = predictor.types.index(prediction.types[0].type)
    heat = grad_cam(predictor, frame, top)
    shown = model_input(frame[None], predictor.input_size)[0]
    shown = shown * torch.tensor(STD).view(3, 1, 1) + torch.tensor(MEAN).view(3, 1, 1)
    rgb = (shown.clamp(0, 1).permute(1, 2, 0).numpy() * 255).astype(np.uint8)
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
