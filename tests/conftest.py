"""A tiny synthetic dataset and a checkpoint trained on it, shared by the model tests.

Species of three primary types get blobs of their type's colour (Fire red, Water blue, Grass
green), so that even two epochs of a small network learn something measurable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model import pokedex
from model.data.build import build
from model.train import TrainConfig, train
from tests.synthetic import save_png, sprite

COLOURS = {"Fire": (230, 70, 30), "Water": (40, 90, 230), "Grass": (60, 190, 60)}


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    chosen = [s for s in pokedex.load() if s.num <= 649 and s.types[0] in COLOURS][:120]
    for s in chosen:
        for kind in ("default", "official-artwork"):
            colour = tuple(int(c + rng.integers(-25, 25)) for c in COLOURS[s.types[0]])
            w, h = (int(v) for v in rng.integers(16, 40, 2))
            save_png(
                root / "pokeapi" / kind / f"{s.num}.png", sprite((48, 48), (4, 4, w, h), colour)
            )
    return build(root, size=32, workers=1, progress=False).out_dir


@pytest.fixture(scope="session")
def tiny_run(tiny_dataset, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("runs") / "tiny.pt"
    cfg = TrainConfig(
        split="family-holdout", out=out, dataset_dir=tiny_dataset, arch="net2017",
        pretrained=False, input_size=32, epochs=3, batch_size=16, lr=3e-3, patience=5,
        progress=False,
    )  # fmt: skip
    return out, train(cfg)


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_run) -> Path:
    return tiny_run[0]
