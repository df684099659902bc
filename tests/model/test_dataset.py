"""Splits and the species-balanced sampler of ``model.dataset``."""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from model import dataset
from model.dataset import (
    Labels,
    assign,
    epoch_order,
    load_split,
    species_balanced_weights,
    training_pool,
)


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


def test_splits_follow_the_protocol():
    assert assign(25, 172, "x", "family-holdout") == "train"  # family 172 % 5 == 2
    assert assign(26, 175, "x", "family-holdout") == "test"
    assert assign(25, 172, "x", "species-holdout") == "test"
    assert assign(26, 172, "x", "species-holdout") == "val"
    parts = {assign(1, 1, f"file{i}", "all") for i in range(200)}
    assert parts == {"train", "val", "test"}


def test_no_test_family_leaks_into_training(tiny_dataset):
    data = load_split(tiny_dataset, "family-holdout")
    train_families = set(data.labels.family[data.parts["train"]])
    test_families = set(data.labels.family[data.parts["test"]])
    assert test_families and not train_families & test_families
    assert all(f % 5 == 0 for f in test_families)


def test_training_pool_repeats_images_alone_in_their_file():
    rows = [
        {"num": "1", "type1": "Grass", "type2": "Poison", "family": "1", "style": s, "file": f}
        for s, f in [("gen5", "1.gif")] * 3 + [("art", "1.svg"), ("box", "1.png")]
    ]
    labels = Labels.from_rows(rows)
    train = np.array([0, 1, 2, 3, 4])
    assert sorted(training_pool(labels, train, 1)) == [0, 1, 2, 3, 4]
    pool = training_pool(labels, train, 3)
    assert sorted(pool) == [0, 1, 2, 3, 3, 3, 4, 4, 4]
    assert sorted(training_pool(labels, train[:2], 3)) == [0, 1]  # frames of one GIF: no repeat


def test_holdout_style_never_trains(tiny_dataset):
    data = load_split(tiny_dataset, "all", holdout_style="official-artwork")
    styles = {p: set(data.labels.style[idx]) for p, idx in data.parts.items()}
    assert "official-artwork" not in styles["train"] | styles["val"]
    assert "official-artwork" in styles["test"]


def test_augment_is_seeded_and_keeps_the_shape(tiny_dataset):
    from model.dataset import augment

    data = load_split(tiny_dataset, "all")
    batch = data.images[:8]
    a = augment(batch, 32, torch.Generator().manual_seed(1))
    b = augment(batch, 32, torch.Generator().manual_seed(1))
    c = augment(batch, 32, torch.Generator().manual_seed(2))
    assert a.shape == (8, 3, 32, 32) and torch.isfinite(a).all()
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


def test_post_framing_shows_a_smaller_subject_inside_a_letterboxed_canvas():
    from model.dataset import _random_affine, to_float

    opaque = np.zeros((64, 50, 50, 4), np.uint8)
    opaque[:, 2:48, 2:48] = 255  # a subject filling its stored framing, inside its 4% margin
    g = torch.Generator().manual_seed(0)
    sprites, canvas = _random_affine(to_float(opaque, 48), g, post_share=0.0)
    posts, post_canvas = _random_affine(to_float(opaque, 48), g, post_share=1.0)
    assert torch.isinf(canvas).all()
    assert (post_canvas < 1).all() and (post_canvas.max(1).values > 0.8).all()
    aspect = post_canvas.max(1).values / post_canvas.min(1).values
    assert (aspect >= 1).all() and (aspect <= 16 / 9 + 1e-6).all()
    # the subject stays on its canvas (a pixel of slack for the resampling)...
    centres = torch.linspace(-1 + 1 / 48, 1 - 1 / 48, 48)
    slack = 2 / 48
    outside = (centres.abs().view(1, 1, 48) > post_canvas[:, 0].view(-1, 1, 1) + slack) | (
        centres.abs().view(1, 48, 1) > post_canvas[:, 1].view(-1, 1, 1) + slack
    )
    assert posts[:, 3][outside].max() < 0.05
    # ...its side at most 95% of the canvas' shorter one: smaller than sprites are framed
    area, sprite_area = posts[:, 3].mean((1, 2)), sprites[:, 3].mean((1, 2))
    assert area.median() < sprite_area.median() and area.min() < sprite_area.min() / 2
    assert (area <= (0.95 * post_canvas.min(1).values) ** 2 * 1.2).all()


def test_augmented_posts_are_letterboxed_in_white(tiny_dataset):
    from model.dataset import augment
    from model.preprocess import MEAN, STD

    batch = load_split(tiny_dataset, "all").images[:32]
    unnormalise = torch.tensor(STD).view(1, 3), torch.tensor(MEAN).view(1, 3)
    corners = {}
    for share in (0.0, 1.0):
        x = augment(batch, 32, torch.Generator().manual_seed(5), post_share=share)
        corners[share] = x[:, :, 0, 0] * unnormalise[0] + unnormalise[1]
    assert (corners[1.0] > 0.6).all()  # white, give or take brightness, contrast and JPEG
    assert not (corners[0.0] > 0.6).all()  # a background


def test_noise_backgrounds_come_in_the_grain_asked_for():
    single_pixels, blobs = noise_roughness((1.0, 1.0)), noise_roughness((8.0, 8.0))
    assert len(single_pixels) > 100 and len(blobs) > 100  # a fifth of backgrounds are noise
    assert single_pixels.median() > 2 * blobs.median()


def test_training_noise_spans_the_evaluation_grain_and_finer():
    from model.dataset import NOISE_CELL, TRAIN_NOISE_CELL

    training, evaluation = noise_roughness(TRAIN_NOISE_CELL), noise_roughness(NOISE_CELL)
    assert training.min() < evaluation.median()
    assert training.max() > 1.5 * evaluation.max()


def noise_roughness(noise_cell: tuple[float, float]) -> torch.Tensor:
    """The mean step between neighbouring pixels of each noise background among 1,000."""
    from model.dataset import BACKGROUNDS, random_backgrounds

    g = torch.Generator().manual_seed(0)
    backgrounds, kinds = random_backgrounds(1000, 64, g, noise_cell)
    noise = backgrounds[kinds == BACKGROUNDS.index("noise")]
    return (noise[..., 1:] - noise[..., :-1]).abs().mean((1, 2, 3))


def test_eval_view_puts_the_sprite_on_white(tiny_dataset):
    from model.preprocess import MEAN, STD, model_input

    data = load_split(tiny_dataset, "all")
    x = model_input(data.images[:2], 32)
    corner = x[:, :, 0, 0] * np.array(STD) + np.array(MEAN)
    np.testing.assert_allclose(corner, np.ones((2, 3)), atol=1e-4)


def test_view_scale_shrinks_the_subject_inside_a_border():
    from model.dataset import to_float

    block = np.zeros((1, 20, 20, 4), np.uint8)
    block[..., :] = 255  # an opaque white square filling the frame
    full, shrunk = to_float(block, 20), to_float(block, 20, scale=0.8)
    assert full.shape == shrunk.shape == (1, 4, 20, 20)
    assert full[0, 3].min() == 1.0
    opaque_rows = (shrunk[0, 3] > 0.5).any(1).nonzero().flatten()
    assert opaque_rows.tolist() == list(range(2, 18))  # 16 of 20 pixels, centred
