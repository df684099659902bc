"""The network for model servers: ONNX and TorchScript, in a model repository.

    python -m model export [CHECKPOINT] --out serving/

    serving/
      neuralmon/                 ONNX, for Triton (onnxruntime backend) and MLServer
        config.pbtxt             Triton's model configuration
        model-settings.json      MLServer's, with the runtime below
        neuralmon_runtime.py     MLServer runtime: onnxruntime behind the Open Inference Protocol
        1/model.onnx
      neuralmon-torchscript/     TorchScript, for Triton's PyTorch backend
        config.pbtxt
        1/model.pt

Both networks take ``image``: float32 [N, 3, S, S], normalised as ``model.preprocess.model_input``
makes it, and give ``type_probs`` [N, 18] (independent sigmoids) and ``species_probs`` [N, K]
(softmax). Decoding, framing and the class lists stay with the bot (``model.remote``).
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import warnings
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import torch

from model import checkpoint
from model.net import Probabilities, frozen

log = logging.getLogger(__name__)

NAME = "neuralmon"
INPUT = "image"
OUTPUTS = ("type_probs", "species_probs")
MAX_BATCH = 64  # frames per request; the client splits larger batches
RUNTIME_MODULE = "neuralmon_runtime"
RUNTIME_SOURCE = Path(__file__).with_name("mlserver_runtime.py")  # runs inside MLServer


@dataclass(frozen=True)
class Exported:
    onnx: Path
    torchscript: Path
    max_difference: float  # ONNX and TorchScript against PyTorch, on random input


def export(checkpoint_path: str | os.PathLike, out_dir: str | os.PathLike) -> Exported:
    model, info = checkpoint.load(checkpoint_path)
    size, n_species = info["input_size"], len(info["species"])
    served = Probabilities(model).eval()
    out = Path(out_dir)
    onnx_dir, script_dir = out / NAME, out / f"{NAME}-torchscript"

    onnx_path = onnx_dir / "1" / "model.onnx"
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(2, 3, size, size)
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    quiet = [logging.getLogger(name) for name in ("onnxscript", "onnx_ir")]
    for logger in quiet:  # the exporter's optimiser logs every pass at INFO
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
    with redirect_stdout(io.StringIO()):  # and prints its progress
        torch.onnx.export(
            served, (example,), onnx_path, input_names=[INPUT], output_names=list(OUTPUTS),
            dynamic_shapes={"image": {0: batch}}, dynamo=True, external_data=False,
        )  # fmt: skip
    (onnx_dir / "config.pbtxt").write_text(triton_config(NAME, "onnxruntime_onnx", size, n_species))
    (onnx_dir / "model-settings.json").write_text(mlserver_settings(size, n_species))
    shutil.copyfile(RUNTIME_SOURCE, onnx_dir / f"{RUNTIME_MODULE}.py")

    script_path = script_dir / "1" / "model.pt"
    script_path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # TorchScript is what Triton's backend reads
        torch.jit.save(frozen(served, size), script_path)
    (script_dir / "config.pbtxt").write_text(
        triton_config(f"{NAME}-torchscript", "pytorch_libtorch", size, n_species)
    )
    return Exported(onnx_path, script_path, _max_difference(served, onnx_path, script_path, size))


def triton_config(name: str, platform: str, size: int, n_species: int) -> str:
    # Triton's PyTorch backend finds tensors by position: names end in __<index>.
    suffix = (lambda i: f"__{i}") if platform == "pytorch_libtorch" else (lambda i: "")
    return f"""name: "{name}"
platform: "{platform}"
max_batch_size: {MAX_BATCH}
input [
  {{ name: "{INPUT}{suffix(0)}", data_type: TYPE_FP32, dims: [ 3, {size}, {size} ] }}
]
output [
  {{ name: "{OUTPUTS[0]}{suffix(0)}", data_type: TYPE_FP32, dims: [ 18 ] }},
  {{ name: "{OUTPUTS[1]}{suffix(1)}", data_type: TYPE_FP32, dims: [ {n_species} ] }}
]
dynamic_batching {{ max_queue_delay_microseconds: 2000 }}
"""


def mlserver_settings(size: int, n_species: int) -> str:
    settings = {
        "name": NAME,
        "implementation": f"{RUNTIME_MODULE}.OnnxModel",
        "parameters": {"uri": "./1/model.onnx"},
        "inputs": [{"name": INPUT, "datatype": "FP32", "shape": [-1, 3, size, size]}],
        "outputs": [
            {"name": OUTPUTS[0], "datatype": "FP32", "shape": [-1, 18]},
            {"name": OUTPUTS[1], "datatype": "FP32", "shape": [-1, n_species]},
        ],
    }
    return json.dumps(settings, indent=2) + "\n"


def _max_difference(served: torch.nn.Module, onnx_path: Path, script_path: Path, size: int):
    """Largest gap between PyTorch and the exported files (ONNX when onnxruntime is here)."""
    x = torch.randn(3, 3, size, size)
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        expected = [t.numpy() for t in served(x)]
        outputs = [[t.numpy() for t in torch.jit.load(script_path)(x)]]
    try:
        import onnxruntime
    except ImportError:
        log.warning("onnxruntime is not installed: the ONNX file was not checked")
    else:
        session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        outputs.append(session.run(list(OUTPUTS), {INPUT: x.numpy()}))
    return max(
        float(abs(got - want).max())
        for output in outputs
        for got, want in zip(output, expected, strict=True)
    )
