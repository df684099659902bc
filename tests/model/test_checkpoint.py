"""Checkpoints: one file, loaded with ``weights_only``, refused in one line when foreign."""

import pytest
import torch

from model import checkpoint


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
