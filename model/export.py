"""The network exported: for the bot's own runtime, and for model servers.

    python -m model bundle [CHECKPOINT]       NAME.onnx and NAME.json beside it: what the bot
                                              runs in ONNX Runtime (``model.runtime``)
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

import numpy as np
import torch

from model import checkpoint
from model.net import Probabilities, frozen, has_type_maps
from model.runtime import (
    FORMAT_VERSION,
    INPUT,
    MAX_BATCH,
    OUTPUTS,
    TYPE_MAPS,
    bundle_paths,
    file_digest,
)

log = logging.getLogger(__name__)

NAME = "neuralmon"
RUNTIME_MODULE = "neuralmon_runtime"
RUNTIME_SOURCE = Path(__file__).with_name("mlserver_runtime.py")  # runs inside MLServer


@dataclass(frozen=True)
class Exported:
    onnx: Path
    torchscript: Path
    max_difference: float  # ONNX and TorchScript against PyTorch, on random input


@dataclass(frozen=True)
class Bundle:
    onnx: Path
    info: Path
    max_difference: float  # ONNX Runtime against PyTorch, on random input


def export(checkpoint_path: str | os.PathLike, out_dir: str | os.PathLike) -> Exported:
    model, info = checkpoint.load(checkpoint_path)
    size, n_species = info["input_size"], len(info["species"])
    served = Probabilities(model).eval()
    out = Path(out_dir)
    onnx_dir, script_dir = out / NAME, out / f"{NAME}-torchscript"

    onnx_path = onnx_dir / "1" / "model.onnx"
    write_onnx(served, onnx_path, OUTPUTS, size)
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


def export_bundle(
    checkpoint_path: str | os.PathLike, out: str | os.PathLike | None = None
) -> Bundle:
    """The checkpoint as the bot runs it (``model.runtime``): NAME.onnx and NAME.json beside the
    checkpoint, or at ``out`` (either's path)."""
    model, info = checkpoint.load(checkpoint_path)
    maps = has_type_maps(model)
    served = Probabilities(model, type_maps=maps).eval()
    onnx_path, info_path = bundle_paths(out or checkpoint_path)
    outputs = (*OUTPUTS, TYPE_MAPS) if maps else OUTPUTS
    write_onnx(served, onnx_path, outputs, info["input_size"])
    info = {
        **info,
        "format_version": FORMAT_VERSION,
        "checkpoint_format_version": info["format_version"],
        "outputs": list(outputs),
        "checkpoint_sha256": file_digest(checkpoint_path),
        "onnx_sha256": file_digest(onnx_path),
    }
    tmp = info_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, info_path)
    return Bundle(onnx_path, info_path, _bundle_difference(served, onnx_path, info["input_size"]))


def write_onnx(served: torch.nn.Module, path: Path, outputs: tuple[str, ...], size: int) -> None:
    """The module in ONNX, its weights stored as float16 and cast to float32 when loaded.

    Exported unoptimised so that batch norm stays apart from the convolutions: its parameters
    and the convolutions' then hold the checkpoint's float16 values exactly, and ONNX Runtime
    folds them together when it loads the file (the same float32 arithmetic, half the file).
    """
    from onnxscript import optimizer

    path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(2, 3, size, size)
    batch = torch.export.Dim("batch", min=1)
    quiet = [logging.getLogger(name) for name in ("onnxscript", "onnx_ir")]
    for logger in quiet:  # the exporter's optimiser logs every pass at INFO
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
    with redirect_stdout(io.StringIO()):  # and prints its progress
        program = torch.onnx.export(
            served, (example,), input_names=[INPUT], output_names=list(outputs),
            dynamic_shapes={"image": {0: batch}}, dynamo=True, optimize=False,
        )  # fmt: skip
    proto = program.model_proto
    optimizer.fold_constants(proto)
    optimizer.remove_unused_nodes(proto)
    _store_float16(proto)
    tmp = path.with_suffix(".onnx.tmp")
    tmp.write_bytes(proto.SerializeToString())
    os.replace(tmp, path)


def _store_float16(proto) -> None:
    """float32 weights that float16 holds exactly -> float16 weights and a Cast to float32."""
    import onnx
    from onnx import numpy_helper

    graph, kept, casts = proto.graph, [], []
    for tensor in graph.initializer:
        array = numpy_helper.to_array(tensor)
        half = array.astype(np.float16)
        if array.dtype != np.float32 or not np.array_equal(half.astype(np.float32), array):
            kept.append(tensor)
            continue
        kept.append(numpy_helper.from_array(half, f"{tensor.name}.float16"))
        casts.append(
            onnx.helper.make_node(
                "Cast", [f"{tensor.name}.float16"], [tensor.name], to=onnx.TensorProto.FLOAT
            )
        )
    nodes = [*casts, *graph.node]
    del graph.initializer[:], graph.node[:]
    graph.initializer.extend(kept)
    graph.node.extend(nodes)


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


def _bundle_difference(served: torch.nn.Module, onnx_path: Path, size: int) -> float:
    from model.runtime import OnnxNetwork

    x = torch.randn(3, 3, size, size)
    with torch.inference_mode():
        expected = [t.numpy() for t in served(x)]
    session = OnnxNetwork(onnx_path).session
    got = session.run(None, {INPUT: x.numpy()})
    return max(float(abs(a - b).max()) for a, b in zip(got, expected, strict=True))
