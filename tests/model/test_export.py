"""``python -m model export``: files that Triton and MLServer read, and the same numbers."""

import json
import warnings

import numpy as np
import pytest
import torch

from model.__main__ import main
from model.checkpoint import load_info
from model.export import export
from model.predict import Predictor
from model.runtime import OUTPUTS


@pytest.fixture(scope="module")
def exported(tiny_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("serving")
    return out, export(tiny_checkpoint, out)


def test_the_exported_networks_compute_what_pytorch_does(exported, tiny_checkpoint):
    onnxruntime = pytest.importorskip("onnxruntime")
    _, result = exported
    assert result.max_difference < 1e-4
    predictor = Predictor.load(tiny_checkpoint, "torch")
    x = torch.randn(5, 3, predictor.input_size, predictor.input_size)  # not the export's batch
    expected = predictor.network(x.numpy())
    session = onnxruntime.InferenceSession(result.onnx, providers=["CPUExecutionProvider"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated, Triton reads it
        script = torch.jit.load(result.torchscript)
    for got in (session.run(list(OUTPUTS), {"image": x.numpy()}), [t.numpy() for t in script(x)]):
        for array, want in zip(got, expected, strict=True):
            np.testing.assert_allclose(array, want, atol=1e-4)


def test_triton_configs_parse_and_match_the_network(exported, tiny_checkpoint):
    text_format = pytest.importorskip("google.protobuf.text_format")
    model_config = pytest.importorskip("tritonclient.grpc.model_config_pb2")
    out, _ = exported
    info = load_info(tiny_checkpoint)
    for folder, platform in [("neuralmon", "onnxruntime_onnx"),
                             ("neuralmon-torchscript", "pytorch_libtorch")]:  # fmt: skip
        config = text_format.Parse((out / folder / "config.pbtxt").read_text(),
                                   model_config.ModelConfig())  # fmt: skip
        assert (config.name, config.platform) == (folder, platform)
        assert list(config.input[0].dims) == [3, info["input_size"], info["input_size"]]
        assert [list(o.dims) for o in config.output] == [[18], [len(info["species"])]]
        assert config.max_batch_size == 64 and config.HasField("dynamic_batching")


def test_mlserver_settings_name_the_runtime_beside_them(exported):
    out, _ = exported
    settings = json.loads((out / "neuralmon" / "model-settings.json").read_text())
    module, _, cls = settings["implementation"].partition(".")
    runtime = (out / "neuralmon" / f"{module}.py").read_text()
    assert f"class {cls}(MLModel)" in runtime
    assert "from model" not in runtime  # MLServer's environment has no neuralmon
    assert (out / "neuralmon" / settings["parameters"]["uri"]).resolve() == exported[1].onnx


def test_export_command(tiny_checkpoint, tmp_path, capsys):
    assert main(["export", str(tiny_checkpoint), "--out", str(tmp_path)]) == 0
    assert "largest difference from PyTorch" in capsys.readouterr().out
    assert (tmp_path / "neuralmon" / "1" / "model.onnx").stat().st_size > 0
