"""``python -m model ensemble``: checkpoints averaged into one that loads like any other."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from model import checkpoint
from model.__main__ import main
from model.ensemble import combine
from model.predict import Predictor
from model.train import TrainConfig, train
from tests.synthetic import png_bytes, sprite


def another_member(tiny_checkpoint, tiny_dataset, out, **changes) -> None:
    """Train a one-epoch member on the tiny checkpoint's recipe, with ``changes``."""
    config = checkpoint.load_info(tiny_checkpoint)["meta"]["config"]
    cfg = TrainConfig(**{k: v for k, v in config.items() if k in TrainConfig.__dataclass_fields__})
    train(replace(cfg, out=out, dataset_dir=tiny_dataset, epochs=1, **changes))


@pytest.fixture(scope="module")
def types_only(tiny_dataset, tiny_checkpoint, tmp_path_factory):
    """A second member: another seed, trained without a species head."""
    out = tmp_path_factory.mktemp("member") / "types-only.pt"
    another_member(tiny_checkpoint, tiny_dataset, out, seed=1, species_weight=0)
    return out


def test_the_ensemble_averages_its_members(tiny_checkpoint, types_only, tiny_dataset, tmp_path):
    out = tmp_path / "ensemble.pt"
    combine([tiny_checkpoint, types_only], out, tiny_dataset)
    members = [
        Predictor.load(tiny_checkpoint, "torch").network,
        Predictor.load(types_only, "torch").network,
    ]
    ensemble = Predictor.load(out, "torch")
    x = torch.randn(4, 3, ensemble.input_size, ensemble.input_size).numpy()
    type_p, species_p = ensemble.network(x)
    np.testing.assert_allclose(type_p, (members[0](x)[0] + members[1](x)[0]) / 2, atol=1e-5)
    # the member without a species head has no say in species
    np.testing.assert_allclose(species_p, members[0](x)[1], atol=1e-5)
    prediction = ensemble.predict([png_bytes(sprite())])[0]
    assert len(prediction.types) == 18 and len(prediction.species) == 5
    assert [m["arch"] for m in checkpoint.load_info(out)["members"]] == ["net2017", "net2017"]


def test_members_of_different_splits_are_refused(tiny_checkpoint, tiny_dataset, tmp_path):
    _, info = checkpoint.load(tiny_checkpoint)
    other = tmp_path / "other-split.pt"
    model, _ = checkpoint.load(tiny_checkpoint)
    meta = info["meta"] | {"config": info["meta"]["config"] | {"split": "all"}}
    fields = {k: info[k] for k in ("arch", "input_size", "species", "mean", "std")}
    checkpoint.save(other, model, meta=meta, **fields)
    with pytest.raises(ValueError, match="another split"):
        combine([tiny_checkpoint, other], tmp_path / "x.pt", tiny_dataset)


def test_ensemble_command(tiny_checkpoint, types_only, tiny_dataset, tmp_path, capsys):
    out = tmp_path / "cli.pt"
    argv = ["ensemble", str(tiny_checkpoint), str(types_only), "--out", str(out),
            "--dataset", str(tiny_dataset)]  # fmt: skip
    assert main(argv) == 0
    assert "2 networks averaged" in capsys.readouterr().out
    assert main(["ensemble", str(tiny_checkpoint), str(out), "--out", str(tmp_path / "y.pt"),
                 "--dataset", str(tiny_dataset)]) == 1  # fmt: skip
    assert "ensemble already" in capsys.readouterr().err


def test_an_ensemble_is_evaluated_like_any_checkpoint(tiny_checkpoint, types_only, tiny_dataset,
                                                      tmp_path):  # fmt: skip
    from model.evaluate import evaluate

    out = tmp_path / "ensemble.pt"
    combine([tiny_checkpoint, types_only], out, tiny_dataset)
    report = evaluate(out, tiny_dataset, baseline_path=types_only)
    assert report["train_meta"]["members"] == [str(tiny_checkpoint), str(types_only)]
    assert set(report["models"]) == {"neuralmon", "always-Water", "net2017"}


def test_members_can_weigh_differently_on_types(tiny_checkpoint, types_only, tiny_dataset,
                                                tmp_path):  # fmt: skip
    out = tmp_path / "weighted.pt"
    combine([tiny_checkpoint, types_only], out, tiny_dataset, type_weights=[3, 1])
    members = [
        Predictor.load(tiny_checkpoint, "torch").network,
        Predictor.load(types_only, "torch").network,
    ]
    ensemble = Predictor.load(out, "torch")
    x = torch.randn(2, 3, ensemble.input_size, ensemble.input_size).numpy()
    expected = 0.75 * members[0](x)[0] + 0.25 * members[1](x)[0]
    np.testing.assert_allclose(ensemble.network(x)[0], expected, atol=1e-5)
    with pytest.raises(ValueError, match="one type weight per checkpoint"):
        combine([tiny_checkpoint, types_only], out, tiny_dataset, type_weights=[1])


@pytest.fixture(scope="module")
def mixed_sizes(tiny_dataset, tiny_checkpoint, tmp_path_factory):
    """An ensemble of a 24 px member and the 32 px tiny checkpoint: (ensemble, small member)."""
    folder = tmp_path_factory.mktemp("mixed")
    small = folder / "small.pt"
    another_member(tiny_checkpoint, tiny_dataset, small, seed=2, input_size=24)
    combine([small, tiny_checkpoint], folder / "mixed.pt", tiny_dataset)
    return folder / "mixed.pt", small


def test_members_of_different_input_sizes_read_the_image_at_their_own(tiny_checkpoint,
                                                                      mixed_sizes):  # fmt: skip
    out, small = mixed_sizes
    ensemble = Predictor.load(out, "torch")
    assert ensemble.input_size == checkpoint.load_info(tiny_checkpoint)["input_size"] == 32
    x = torch.randn(3, 3, 32, 32)
    shrunk = torch.nn.functional.interpolate(x, size=(24, 24), mode="bilinear", antialias=True)
    small_p = Predictor.load(small, "torch").network(shrunk.numpy())
    large_p = Predictor.load(tiny_checkpoint, "torch").network(x.numpy())
    for got, a, b in zip(ensemble.network(x.numpy()), small_p, large_p, strict=True):
        np.testing.assert_allclose(got, (a + b) / 2, atol=1e-5)
    assert len(ensemble.predict([png_bytes(sprite())])[0].types) == 18


def test_an_ensemble_of_different_input_sizes_exports_to_onnx(mixed_sizes, tmp_path):
    """The members' antialiased resize is in the exported graph and computes the same."""
    from model.export import export
    from model.runtime import OUTPUTS

    onnxruntime = pytest.importorskip("onnxruntime")
    out, _ = mixed_sizes
    result = export(out, tmp_path)
    assert result.max_difference < 1e-4
    x = torch.randn(5, 3, 32, 32)
    session = onnxruntime.InferenceSession(result.onnx, providers=["CPUExecutionProvider"])
    got = session.run(list(OUTPUTS), {"image": x.numpy()})
    for array, want in zip(got, Predictor.load(out, "torch").network(x.numpy()), strict=True):
        np.testing.assert_allclose(array, want, atol=1e-4)
