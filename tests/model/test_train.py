"""Training on the tiny synthetic dataset: the loop, its options, warm restarts."""

from pathlib import Path

import numpy as np
import pytest
import torch

from model import checkpoint
from model.__main__ import main
from model.dataset import load_split


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
