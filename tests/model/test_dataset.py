"""Splits and the species-balanced sampler of ``model.dataset``."""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from model import dataset
from model.dataset import Labels, epoch_order, load_split, species_balanced_weights


def labels_of(files: list[tuple[int, str, str, int]]) -> Labels:
    """Rows from (species, style, file, frames): one row per frame."""
    rows = [
        {"num": str(num), "type1": "Grass", "type2": "", "family": str(num), "style": style,
         "file": file}
        for num, style, file, frames in files
        for _ in range(frames)
    ]  # fmt: skip
    return Labels.from_rows(rows)


# Species 1: four GIFs of 8 frames, two box sprites, one artwork. Species 906: one artwork.
LABELS = labels_of(
    [(1, "gen5", f"1-{v}.gif", 8) for v in range(4)]
    + [(1, "box", "1.png", 1), (1, "box", "1-shiny.png", 1), (1, "official-artwork", "1a.png", 1)]
    + [(906, "official-artwork", "906.png", 1)]
)
TRAIN = np.arange(len(LABELS.num))


def test_species_then_styles_then_files_then_frames_weigh_alike():
    w = species_balanced_weights(LABELS, TRAIN)
    assert np.isclose(w.sum(), 1)
    by_species = {n: w[LABELS.num == n].sum() for n in (1, 906)}
    assert np.allclose(list(by_species.values()), 0.5)  # 35 images weigh as much as one
    one = LABELS.num == 1
    for style in ("gen5", "box", "official-artwork"):
        assert np.isclose(w[one & (LABELS.style == style)].sum(), 0.5 / 3)
    assert np.allclose(w[LABELS.file == "1-0.gif"], 0.5 / 3 / 4 / 8)  # a frame of one of 4 GIFs
    assert np.allclose(w[LABELS.file == "1-shiny.png"], 0.5 / 3 / 2)


def test_weights_cover_only_the_training_images():
    train = TRAIN[LABELS.style != "box"]
    w = species_balanced_weights(LABELS, train)
    assert len(w) == len(train)
    assert np.isclose(w[LABELS.num[train] == 906].sum(), 0.5)
    assert np.isclose(w[LABELS.style[train] == "official-artwork"].sum(), 0.5 + 0.25)


def test_a_species_balanced_epoch_draws_species_alike():
    rng = np.random.default_rng(0)
    order = np.concatenate([epoch_order(LABELS, TRAIN, rng, "species") for _ in range(200)])
    assert len(order) == 200 * len(TRAIN)
    drawn = Counter(LABELS.num[order])
    assert abs(drawn[906] / len(order) - 0.5) < 0.02
    art = (LABELS.num[order] == 1) & (LABELS.style[order] == "official-artwork")
    assert abs(art.mean() - 0.5 / 3) < 0.02


def test_a_file_balanced_epoch_shows_every_image_once():
    order = epoch_order(LABELS, TRAIN, np.random.default_rng(0), "files")
    assert sorted(order) == list(TRAIN)


def test_split_all_always_trains_official_art(tiny_dataset):
    data = load_split(tiny_dataset, "all")
    art = np.flatnonzero(data.labels.style == "official-artwork")
    assert np.isin(art, data.parts["train"]).all()
    others = np.flatnonzero(data.labels.style != "official-artwork")
    assert not np.isin(others, data.parts["train"]).all()  # the other styles still hold out files
    held = load_split(tiny_dataset, "all", holdout_style="official-artwork")
    assert np.isin(art, held.parts["test"]).all()


def filling_the_frame(crop_share: float, monkeypatch) -> float:
    """The share of training views of an opaque square in which it covers over 90% of the
    frame. Uncropped, it spans at most 92% of each side (84% of the area), however turned."""
    monkeypatch.setattr(dataset, "CROP_SHARE", crop_share)
    square = np.zeros((512, 32, 32, 4), np.uint8)
    square[:, 2:30, 2:30] = 255  # about as a sprite is stored: a small margin
    moved, _ = dataset._random_affine(
        dataset.to_float(square, 32), torch.Generator().manual_seed(0), post_share=0.0
    )
    return float((moved[:, 3].mean((1, 2)) > 0.9).float().mean())


def test_some_training_views_are_crops_of_their_subject(monkeypatch):
    share = dataset.CROP_SHARE
    assert filling_the_frame(0.0, monkeypatch) == 0
    cropped = filling_the_frame(1.0, monkeypatch)
    assert cropped > 0.3
    assert 0.05 * cropped < filling_the_frame(share, monkeypatch) < 0.2 * cropped


def test_downscaling_smooths_away_fine_detail():
    checks = (torch.arange(32).view(1, 32) + torch.arange(32).view(32, 1)) % 2
    rgb = checks.float().expand(4, 3, 32, 32).clone()
    mask = torch.tensor([True, True, False, False])
    out = dataset._downscale(rgb.clone(), mask, torch.Generator().manual_seed(0))
    assert torch.equal(out[2:], rgb[2:])
    assert out[:2].std() < 0.2 * rgb[:2].std()
    assert out.min() >= 0 and out.max() <= 1
