"""Synthetic posts: the sprites as people post them, read back the way the bot reads images."""

import io
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model import pokedex
from model.__main__ import main
from model.dataset import BACKGROUNDS, load_split
from model.evaluate import as_posts, evaluate, make_post, markdown, views_per_post
from tests.synthetic import sprite

MAGENTA = (255, 0, 255)


def magenta_sprite() -> np.ndarray:
    return np.asarray(sprite((40, 40), (8, 8, 32, 32), MAGENTA))


def test_a_post_is_an_opaque_picture_holding_the_sprite():
    posts = [make_post(magenta_sprite(), np.random.default_rng(seed)) for seed in range(12)]
    formats = set()
    for data, _ in posts:
        img = Image.open(io.BytesIO(data))
        formats.add(img.format)
        assert img.mode == "RGB" and min(img.size) >= 160 and max(img.size) <= 480 * 16 / 9 + 1
        pixels = np.asarray(img).reshape(-1, 3).astype(int)
        near_magenta = (np.abs(pixels - MAGENTA).sum(1) < 90).mean()
        # the ellipse fills 79% of its box, which spans 50-95% of the short side: 11-71% of the post
        assert 0.03 < near_magenta < 0.75
    assert formats == {"PNG", "JPEG"}
    again = make_post(magenta_sprite(), np.random.default_rng(0))
    assert again == posts[0]  # a seed gives the same post


def test_a_post_says_what_kind_of_background_it_has():
    posts = [make_post(magenta_sprite(), np.random.default_rng(seed)) for seed in range(40)]
    assert {kind for _, kind in posts} == set(BACKGROUNDS)
    for data, kind in posts:
        pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
        corner = pixels[:8, :8].reshape(-1, 3)
        if kind == "white":
            assert (corner > 230).all()
        if kind == "noise":  # neighbouring pixels differ
            assert np.abs(np.diff(pixels[:40, :40], axis=1)).mean() > 5


def test_posts_can_show_small_subjects():
    def magenta_share(subject_share) -> float:
        shares = []
        for seed in range(8):
            post, _ = make_post(magenta_sprite(), np.random.default_rng(seed), subject_share)
            pixels = np.asarray(Image.open(io.BytesIO(post))).reshape(-1, 3).astype(int)
            shares.append((np.abs(pixels - MAGENTA).sum(1) < 90).mean())
        return float(np.mean(shares))

    # the subject's side a quarter to a half of the post's shorter side: about a quarter the area
    assert magenta_share((0.25, 0.5)) < magenta_share((0.5, 0.95)) / 2.5


def test_posts_keep_their_labels_and_go_through_the_bots_framing(tiny_dataset):
    data = load_split(tiny_dataset, "family-holdout")
    test = data.parts["test"][:10]
    posted, backgrounds = as_posts(data, test)
    assert len(backgrounds) == 10 and set(backgrounds) <= set(BACKGROUNDS)
    first = posted.parts["test"]
    assert posted.images.shape[1:] == (128, 128, 4) and posted.images.dtype == np.uint8
    assert len(first) == 10 and first[0] == 0 and (np.diff(first) >= 1).all()
    views = views_per_post(posted)
    assert set(views) <= {1, 14, 27} and len(set(views)) > 1  # plain ones, busy square or wide
    owner = np.repeat(np.arange(10), views)  # every view keeps its post's labels
    assert posted.labels.num.tolist() == data.labels.num[test][owner].tolist()
    assert (posted.labels.types == data.labels.types[test][owner]).all()


def test_evaluate_on_posts_says_so(tiny_checkpoint, tiny_dataset):
    clean = evaluate(tiny_checkpoint, tiny_dataset)
    posts = evaluate(tiny_checkpoint, tiny_dataset, posts=True)
    assert posts["posts"] and not clean["posts"]
    assert posts["subject_share"] == [0.5, 0.95] and clean["subject_share"] is None
    assert "(the subject 50%-95% of its shorter side)" in markdown(posts)
    assert posts["test_images"] == clean["test_images"]
    assert posts["models"]["neuralmon"] != clean["models"]["neuralmon"]
    by_background = posts["per_background"]
    assert set(by_background) <= set(BACKGROUNDS) and "per_background" not in clean
    assert sum(entry["images"] for entry in by_background.values()) == posts["test_images"]
    assert "| background | images |" in markdown(posts)
    assert "| background |" not in markdown(clean)


def test_evaluate_refuses_a_subject_share_that_cannot_be(tiny_checkpoint, capsys):
    from model.__main__ import main

    for bad in (["0.6", "0.3"], ["0", "0.5"], ["0.5", "1.5"]):
        args = ["evaluate", str(tiny_checkpoint), "--posts", "--subject-share", *bad]
        assert main(args) == 2
        assert "--subject-share wants 0 < MIN <= MAX <= 1" in capsys.readouterr().err


def test_evaluate_reads_the_validation_files_when_asked(tiny_checkpoint, tiny_dataset):
    val = load_split(tiny_dataset, "family-holdout").parts["val"]
    report = evaluate(tiny_checkpoint, tiny_dataset, part="val")
    assert report["part"] == "val" and report["test_images"] == len(val)
    on_test = evaluate(tiny_checkpoint, tiny_dataset)
    assert report["models"]["neuralmon"] != on_test["models"]["neuralmon"]
    assert "validation species" in markdown(report)
    posts = evaluate(tiny_checkpoint, tiny_dataset, posts=True, part="val")
    assert posts["test_images"] == len(val)


@pytest.fixture(scope="module")
def all_checkpoint(tiny_dataset, tmp_path_factory) -> Path:
    """A network of the shipped split: every species trained, so the reports name species."""
    from model.train import TrainConfig, train

    cfg = TrainConfig(
        split="all", out=tmp_path_factory.mktemp("all") / "all.pt", dataset_dir=tiny_dataset,
        arch="net2017", pretrained=False, input_size=32, epochs=1, batch_size=16, progress=False,
    )  # fmt: skip
    train(cfg)
    return cfg.out


def test_evaluate_counts_how_often_the_bot_would_name_the_species(
    tiny_checkpoint, tiny_dataset, all_checkpoint
):
    clean = evaluate(all_checkpoint, tiny_dataset, flip=False)
    assert list(clean["naming"]) == ["plain"]  # sprites: one view each
    assert clean["naming"]["plain"]["images"] == clean["test_images"]
    assert clean["naming"]["plain"]["bar"] == 0.6
    assert "Species named at the bot's bars, per image: plain pictures" in markdown(clean)

    posts = evaluate(all_checkpoint, tiny_dataset, flip=False, posts=True)
    data = load_split(tiny_dataset, "all")
    posted, _ = as_posts(data, data.parts["test"])  # the same posts: they are seeded
    views = views_per_post(posted)
    assert posts["naming"]["busy"]["images"] == (views > 1).sum() > 0
    assert posts["naming"]["plain"]["images"] == (views == 1).sum() > 0
    assert posts["naming"]["busy"]["bar"] == 0.75
    # hold-out splits never trained on their test species: nothing to name
    assert "naming" not in evaluate(tiny_checkpoint, tiny_dataset)


def test_evaluate_reads_every_image_of_a_style_per_generation(tiny_dataset, all_checkpoint):
    data = load_split(tiny_dataset, "all")
    art = np.flatnonzero(data.labels.style == "official-artwork")
    report = evaluate(all_checkpoint, tiny_dataset, posts=True, style="official-artwork")
    assert report["test_images"] == len(art) == report["trained_images"]  # split all trains art
    assert set(report["per_style"]) == {"official-artwork"}
    text = markdown(report)
    assert f"every `official-artwork` image ({len(art)} of them trained)" in text
    assert "shown as a synthetic post (draw 0)" in text

    by_generation = report["per_generation"]
    dex = pokedex.load()
    expected = Counter(str(dex[int(n)].generation) for n in data.labels.num[art])
    assert {g: e["images"] for g, e in by_generation.items()} == expected
    assert list(by_generation) == sorted(expected)
    for entry in by_generation.values():
        assert 0 <= entry["named_wrongly"] <= entry["named"] <= 1
        assert 0 <= entry["per_species"]["species_top1"] <= 1
    assert "| generation | images |" in text and "named_wrongly" in text

    # the naming curve: fewer named, and fewer wrongly, as the bar rises
    for curve in (kind["curve"] for kind in report["naming"].values()):
        bars, named, wrong = zip(*curve, strict=True)
        assert list(bars) == sorted(bars) and list(named) == sorted(named, reverse=True)
        assert list(wrong) == sorted(wrong, reverse=True)
        assert all(w <= n for n, w in zip(named, wrong, strict=True))

    other_draw = evaluate(
        all_checkpoint, tiny_dataset, posts=True, style="official-artwork", post_seed=1
    )
    assert other_draw["post_seed"] == 1
    assert other_draw["models"]["neuralmon"] != report["models"]["neuralmon"]


def test_evaluate_writes_a_report_beside_the_baselines(tiny_checkpoint, tiny_dataset, tmp_path):
    out = tmp_path / "report"
    args = ["evaluate", str(tiny_checkpoint), "--dataset", str(tiny_dataset), "-o", str(out),
            "--baseline", str(tiny_checkpoint)]  # fmt: skip
    assert main(args) == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report["models"]) == {"neuralmon", "always-Water", "net2017"}
    ours = report["models"]["neuralmon"]["per_species"]
    assert set(ours) == {"primary_top1", "any_type_top1", "primary_top3", "exact_type_set",
                         "macro_recall"}  # fmt: skip
    data = load_split(tiny_dataset, "family-holdout")
    test = data.parts["test"]
    nums = np.unique(data.labels.num[test])
    water_share = np.mean([data.labels.primary[test][data.labels.num[test] == n][0] == 2
                           for n in nums])  # fmt: skip
    water = report["models"]["always-Water"]["per_species"]["primary_top1"]
    assert water == pytest.approx(water_share)
    assert len(report["confusion_per_species"]) == 18
    assert sum(map(sum, report["confusion_per_species"])) == report["test_species"] == len(nums)
    assert (out / "confusion.png").stat().st_size > 0
    assert "| primary_top1 |" in (out / "report.md").read_text()


def test_evaluate_reads_the_old_protocols_species_when_asked(tiny_checkpoint, tiny_dataset):
    data = load_split(tiny_dataset, "family-holdout")
    test_nums = data.labels.num[data.parts["test"]]
    limit = int(np.median(test_nums))
    report = evaluate(tiny_checkpoint, tiny_dataset, flip=False, max_species=limit)
    assert report["test_images"] == (test_nums <= limit).sum() < len(test_nums)
    assert f"species (of 1..{limit})" in markdown(report)
