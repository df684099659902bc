"""A tiny synthetic dataset and a checkpoint trained on it, shared by the model tests.

Species of three primary types get blobs of their type's colour (Fire red, Water blue, Grass
green), so that even two epochs of a small network learn something measurable.
"""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pytest

from model import pokedex
from model.data.build import build
from model.export import export_bundle
from model.train import TrainConfig, train
from tests import postgres
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
    summary = train(cfg)
    export_bundle(out)  # tiny.onnx and tiny.json beside it: what the bot runs by default
    return out, summary


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_run) -> Path:
    return tiny_run[0]


@pytest.fixture(scope="session")
def postgres_server():
    """Admin URL of a PostgreSQL server started for this test session (skips without one)."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(postgres.server())
        except postgres.Unavailable as exc:
            pytest.skip(f"no PostgreSQL for these tests: {exc}")
        yield url


@pytest.fixture
async def postgres_url(postgres_server):
    """URL of a new, empty database on the test server."""
    import asyncpg

    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{postgres_server.rsplit('/', 1)[0]}/{name}"
    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """Where a store lives: an SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "data" / "neuralmon.db")
    return request.getfixturevalue("postgres_url")
