"""Inference: ``Predictor.load(path=None).predict(images)``.

Thread-safe, batch-friendly, and strict about input: ``prepare`` turns bytes or a PIL image into
frames or raises ``ImageError`` with a message fit for the person who posted it;
``predict_prepared`` runs any number of prepared images as one batch. The network runs in this
process, in ONNX Runtime (``model.runtime``, the default: no torch) or in torch
(``model.torch_network``), or on a model server (``Predictor.remote``, ``model.remote``);
everything around it stays here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from model import pokedex, runtime
from model.images import MAX_BYTES, frame_image
from model.preprocess import model_input

WEIGHTS_DIR = Path(__file__).with_name("weights")
DEFAULT_WEIGHTS = WEIGHTS_DIR / "neuralmon.pt"  # and its bundle for ONNX Runtime beside it
BACKENDS = ("onnx", "torch")
STORED_SIZE = 128  # the framing step works at the dataset's resolution, as in training
# The species head's top probability from which we name the species (see model/REPORT.md).
SPECIES_CONFIDENCE = 0.6
# A busy picture's views (``Prepared.views``) are pooled (``pool_views``), each weighted by its
# top species probability to this power, so that the views showing the subject carry the reading
# and the background's unsure views do not. Chosen on the validation posts with the 96 px weights
# before the noise restart (model/weights/MODEL_CARD.md's first stage; flip-free, as the bot
# predicts; busy posts): primary type 80.7% (power 1) -> 83.8% (3) -> 84.7% (4), species top-1
# 81.4% -> 82.3% -> 82.5%, all posts' species top-5 95.8% -> 95.4% -> 94.8%.
VIEW_WEIGHT_POWER = 3
# So weighted, the pool leans on its few surest views, which are now and then sure of the wrong
# species: a busy picture's species is named from this pooled probability, a higher bar than a
# sprite's. Chosen on validation posts (official art, and the held-out files' posts) as the
# lowest bar at which at most 0.5% of either kind are named wrongly (model/REPORT.md).
BUSY_CONFIDENCE = 0.75


@dataclass(frozen=True, slots=True)
class TypeScore:
    type: str
    p: float


@dataclass(frozen=True, slots=True)
class SpeciesScore:
    num: int
    name: str
    p: float


@dataclass(frozen=True, slots=True)
class Prediction:
    types: tuple[TypeScore, ...]  # all 18, most likely first
    typing: tuple[str, ...]  # the predicted typing: the top type, plus the second if likely
    species: tuple[SpeciesScore, ...]  # top 5
    species_confident: bool
    frames: int  # frames averaged (animated images)

    def to_json(self) -> dict:
        return {
            "types": [{"type": t.type, "p": round(t.p, 4)} for t in self.types],
            "species": [{"num": s.num, "name": s.name, "p": round(s.p, 4)} for s in self.species],
        }


@dataclass(frozen=True, slots=True)
class Prepared:
    """An image decoded and framed: uint8 [n, 128, 128, 4], the frames of an animation or, with
    ``views``, views of a still picture on a busy background (the whole, then zoomed crops).
    Frames' predictions are averaged, views' pooled (``pool_views``)."""

    pixels: np.ndarray
    views: bool = False


def pool_views(type_p: np.ndarray, species_p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One picture's (type, species) probabilities from its views': their mean, each view
    weighted by its top species probability to the power ``VIEW_WEIGHT_POWER``. Views of the
    background are unsure, so the views that show the subject carry the reading."""
    weight = species_p.max(1, keepdims=True) ** VIEW_WEIGHT_POWER
    weight = weight / weight.sum()
    return (weight * type_p).sum(0), (weight * species_p).sum(0)


class Network(Protocol):
    """Normalised images float32 [N, 3, S, S] -> (type probabilities [N, 18], species [N, K])."""

    has_type_maps: bool  # False on a model server and for networks that pool no feature map

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def type_maps(self, images: np.ndarray) -> np.ndarray:
        """[N, 18, h, w]: type logits place by place (``model.runtime.TYPE_MAPS``)."""


class Predictor:
    def __init__(self, info: dict, network: Network):
        self.info = info
        self.network = network
        self.input_size: int = info["input_size"]
        self.types: list[str] = info["types"]
        self.species: list[int] = info["species"]
        self.threshold: float = info["threshold"]
        self.normalisation = (tuple(info["mean"]), tuple(info["std"]))
        self._dex = pokedex.load()

    @property
    def version(self) -> str:
        """Which weights these are: the start of the checkpoint's digest."""
        return self.info.get("checkpoint_sha256", "unknown")[:12]

    @classmethod
    def load(
        cls, path: str | Path | None = None, backend: str = "onnx", threads: int | None = None
    ) -> Predictor:
        """Load weights; no path: the weights shipped with neuralmon. ``onnx`` runs the bundle
        beside the checkpoint (``python -m model bundle``) in ONNX Runtime, on ``threads``;
        ``torch`` loads the checkpoint itself (``weights_only``)."""
        path = Path(path or DEFAULT_WEIGHTS)
        if backend == "onnx":
            network, info = runtime.load(path, threads)
        elif backend == "torch":
            from model import torch_network

            network, info = torch_network.load(path)
            info = info | {"checkpoint_sha256": runtime.file_digest(path)}
        else:
            raise ValueError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
        return cls(info, network)

    @classmethod
    def remote(
        cls, url: str, model: str = "neuralmon", path: str | Path | None = None
    ) -> Predictor:
        """Run the network on a model server (``python -m model export`` of the checkpoint at
        ``path``, whose bundle's metadata still gives the class lists). Raises ``RemoteError``
        if the server is down or serves a different network."""
        from model.remote import RemoteNetwork

        info = runtime.read_info(path or DEFAULT_WEIGHTS)
        network = RemoteNetwork(url, model)
        network.check(info["input_size"], len(info["species"]))
        return cls(info, network)

    @staticmethod
    def prepare(image: bytes | Image.Image, max_bytes: int = MAX_BYTES) -> Prepared:
        """Decode, check limits, frame each frame like the training data. Raises ImageError."""
        return Prepared(*frame_image(image, STORED_SIZE, max_bytes))

    def model_input(self, pixels: np.ndarray) -> np.ndarray:
        """Prepared frames -> the network's input (``model.preprocess.model_input``)."""
        return model_input(pixels, self.input_size, *self.normalisation)

    def predict(self, images: Sequence[bytes | Image.Image]) -> list[Prediction]:
        return self.predict_prepared([self.prepare(image) for image in images])

    def predict_prepared(self, prepared: Sequence[Prepared]) -> list[Prediction]:
        if not prepared:
            return []
        pixels = np.concatenate([p.pixels for p in prepared])
        type_p, species_p = self.network(self.model_input(pixels))
        out, start = [], 0
        for p in prepared:
            end = start + len(p.pixels)
            types, species, start = type_p[start:end], species_p[start:end], end
            if p.views:  # one picture, seen through its views
                type_mean, species_mean = pool_views(types, species)
                confident = species_mean.max() >= BUSY_CONFIDENCE
            else:
                type_mean, species_mean = types.mean(0), species.mean(0)
                confident = species_mean.max() >= SPECIES_CONFIDENCE
            frames = 1 if p.views else len(p.pixels)
            out.append(self._prediction(type_mean, species_mean, frames, confident))
        return out

    def _prediction(
        self, type_p: np.ndarray, species_p: np.ndarray, frames: int, confident: bool
    ) -> Prediction:
        order = np.argsort(-type_p)
        types = tuple(TypeScore(self.types[i], float(type_p[i])) for i in order)
        typing = (types[0].type,) + ((types[1].type,) if types[1].p >= self.threshold else ())
        top = np.argsort(-species_p)[:5]
        species = tuple(
            SpeciesScore(self.species[i], self._dex[self.species[i]].name, float(species_p[i]))
            for i in top
        )
        return Prediction(types, typing, species, bool(confident), frames)
