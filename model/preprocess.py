"""From framed RGBA frames to the network's input: shared by training, evaluation and inference.

Small on purpose: ``model.predict``, ``model.explain`` and the bot import it without any of the
training code (augmentation, the dataset reader).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

MEAN = (0.485, 0.456, 0.406)  # ImageNet statistics: the pretrained backbone expects them
STD = (0.229, 0.224, 0.225)
EVAL_BACKGROUND = (1.0, 1.0, 1.0)  # white: how most sprites are posted
# Evaluation and prediction show the subject at 90% of its stored framing: nearer the middle of
# the scales training sees (55-105%). Chosen on validation files (+0.3 to +1.0 species top-1).
VIEW_SCALE = 0.9


def normalize(rgb: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(MEAN, device=rgb.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=rgb.device).view(1, 3, 1, 1)
    return (rgb - mean) / std


def to_float(rgba_uint8: torch.Tensor | np.ndarray, size: int, scale: float = 1.0) -> torch.Tensor:
    """uint8 [B, S, S, 4] -> float [B, 4, size, size] in 0..1, alpha premultiplied, resized;
    ``scale`` < 1 shrinks the picture inside a transparent border."""
    x = torch.tensor(np.asarray(rgba_uint8)).permute(0, 3, 1, 2).float().div_(255)
    x = torch.cat([x[:, :3] * x[:, 3:], x[:, 3:]], 1)  # premultiply so edges resize cleanly
    inner = round(size * scale)
    if x.shape[-1] != inner:
        x = F.interpolate(
            x, size=(inner, inner), mode="bilinear", antialias=True, align_corners=False
        )
    border = size - inner
    return F.pad(x, (border // 2, border - border // 2) * 2)


def composite(premultiplied: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
    """Premultiplied RGBA over an RGB background -> RGB."""
    alpha = premultiplied[:, 3:].clamp(0, 1)
    return (premultiplied[:, :3] + background * (1 - alpha)).clamp(0, 1)


def model_input(rgba_uint8: torch.Tensor | np.ndarray, size: int) -> torch.Tensor:
    """The evaluation / prediction view: the sprite on white at ``VIEW_SCALE``, normalised."""
    x = to_float(rgba_uint8, size, VIEW_SCALE)
    background = torch.tensor(EVAL_BACKGROUND).view(1, 3, 1, 1).expand(len(x), 3, size, size)
    return normalize(composite(x, background))
