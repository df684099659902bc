"""The network in ONNX Runtime: how the bot predicts, with no torch in the process.

    model/weights/neuralmon.onnx   the network (weights stored as float16, computed in float32)
    model/weights/neuralmon.json   the rest of the checkpoint: format version, architecture,
                                   input size, normalisation, class lists, second-type threshold,
                                   training metadata, and the digests of both files

``python -m model bundle CHECKPOINT`` (``model.export.export_bundle``) writes the pair beside
the checkpoint, so the two stay in step: the JSON records the checkpoint's digest.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from model.pokedex import TYPES

FORMAT_VERSION = 1
INPUT = "image"  # float32 [N, 3, S, S], as model.preprocess.model_input makes it
OUTPUTS = ("type_probs", "species_probs")  # [N, 18] sigmoids, [N, K] softmax
# [N, 18, h, w]: the type logits at each place of the last feature map. The backbone pools its
# features by their mean and the type head is linear, so the maps' means are the type logits:
# the class activation map, exact and without gradients.
TYPE_MAPS = "type_maps"
MAX_BATCH = 64  # frames per request to a model server; the client splits larger batches


class WeightsError(ValueError):
    """Weights this code cannot load, said in one line with what to do."""


def bundle_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """(network, metadata) of a bundle, from the path of either or of its checkpoint."""
    path = Path(path)
    return path.with_suffix(".onnx"), path.with_suffix(".json")


def file_digest(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_info(path: str | os.PathLike) -> dict:
    """A bundle's metadata (``path``: the bundle's or its checkpoint's). Raises
    FileNotFoundError where there is none, WeightsError where it is not one this code reads."""
    _, info_path = bundle_paths(path)
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if Path(path).suffix == ".pt" and Path(path).exists():
            raise WeightsError(
                f"{path} has no bundle for ONNX Runtime beside it: write one with "
                f"`python -m model bundle {path}`, or use the torch backend "
                "(INFERENCE_BACKEND=torch, --backend torch)"
            ) from None
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{info_path} is not a neuralmon bundle: {exc}") from None
    if not isinstance(info, dict) or info.get("format_version") != FORMAT_VERSION:
        raise WeightsError(
            f"{info_path}: not bundle format {FORMAT_VERSION}; write it again with "
            "`python -m model bundle CHECKPOINT`"
        )
    if info.get("types") != list(TYPES):
        raise WeightsError(f"{info_path}: the bundle's type list differs from this code's")
    return info


class OnnxNetwork:
    """An exported network in ONNX Runtime on the CPU. Thread-safe: ONNX Runtime sessions may
    run from several threads at once."""

    def __init__(self, path: str | os.PathLike, threads: int | None = None):
        import onnxruntime  # here, so that the class lists load without it (model servers)

        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1  # one chain of layers: no parallel branches to run
        # idle threads sleep instead of spinning: the decoding threads need the cores between
        # batches, and a batch starts no later (measured: the same or less time per batch)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # errors only: its warnings name internal graph nodes
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self.has_type_maps = TYPE_MAPS in {out.name for out in self.session.get_outputs()}

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        type_p, species_p = self.session.run(list(OUTPUTS), {INPUT: images})
        return type_p, species_p

    def type_maps(self, images: np.ndarray) -> np.ndarray:
        return self.session.run([TYPE_MAPS], {INPUT: images})[0]


def load(path: str | os.PathLike, threads: int | None = None) -> tuple[OnnxNetwork, dict]:
    """(network, metadata) of a bundle; ``path``: the bundle's or its checkpoint's."""
    onnx_path, info_path = bundle_paths(path)
    info = read_info(path)
    if not onnx_path.exists():
        raise FileNotFoundError(2, "no ONNX network", str(onnx_path))
    if info.get("onnx_sha256") != file_digest(onnx_path):
        raise WeightsError(
            f"{onnx_path} is not the network {info_path} describes: write both again with "
            "`python -m model bundle CHECKPOINT`"
        )
    return OnnxNetwork(onnx_path, threads), info
