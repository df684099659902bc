"""The network in torch, in this process: for development and evaluation, and for a bot that
sets ``INFERENCE_BACKEND=torch`` (the ``train`` extra installed). The bot's default is
``model.runtime`` (ONNX Runtime, no torch)."""

from __future__ import annotations

import os
import threading

import numpy as np
import torch

from model import checkpoint
from model.net import Probabilities, TypeSpeciesNet, frozen, has_type_maps


class TorchNetwork:
    """A checkpoint's network, one forward pass at a time."""

    def __init__(self, model: TypeSpeciesNet, input_size: int):
        self.model = model
        self.lock = threading.Lock()
        try:  # about 40% faster on a CPU than eager mode
            self._forward = frozen(Probabilities(model), input_size)
        except Exception:  # a network TorchScript cannot trace still predicts, only slower
            self._forward = Probabilities(model).eval()
        self.has_type_maps = has_type_maps(model)
        self._with_maps = Probabilities(model, type_maps=True) if self.has_type_maps else None

    @torch.inference_mode()
    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with self.lock:
            type_p, species_p = self._forward(torch.from_numpy(images))
        return type_p.numpy(), species_p.numpy()

    @torch.inference_mode()
    def type_maps(self, images: np.ndarray) -> np.ndarray:
        with self.lock:
            return self._with_maps(torch.from_numpy(images))[2].numpy()


def load(path: str | os.PathLike) -> tuple[TorchNetwork, dict]:
    """(network, the checkpoint's other fields), loaded with ``weights_only``."""
    model, info = checkpoint.load(path)
    return TorchNetwork(model, info["input_size"]), info
