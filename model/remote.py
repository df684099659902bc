"""The network on a model server: a client of the Open Inference Protocol (KServe v2, REST),
which Triton, MLServer, KServe and TorchServe (through KServe) all speak.

    Predictor.remote("http://triton:8000")      # what INFERENCE_URL does in the bot

The server runs what ``python -m model export`` wrote; this side still decodes, frames and
labels images, so a request carries only the normalised frames
(``POST /v2/models/{model}/infer``, JSON) and the answer only the probabilities. Standard
library HTTP: the predictor runs in a worker thread, never on an event loop.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import numpy as np

from model.runtime import INPUT, MAX_BATCH, OUTPUTS

TIMEOUT = 10.0  # seconds for one request


class RemoteError(Exception):
    """The model server cannot be reached, or answered what this network does not expect."""


class RemoteNetwork:
    def __init__(self, url: str, model: str = "neuralmon", timeout: float = TIMEOUT):
        self.url = url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self.input_name = INPUT  # Triton's PyTorch backend calls it image__0: see check()

    def check(self, input_size: int, n_species: int) -> None:
        """Fail early if the model is not ready or is not the network the checkpoint describes
        (the class lists come from the checkpoint, so they must be the export's)."""
        metadata = self._request("GET", f"/v2/models/{self.model}")
        self._request("GET", f"/v2/models/{self.model}/ready")
        inputs = metadata.get("inputs") or [{}]
        outputs = {_base_name(o.get("name", "")): o for o in metadata.get("outputs", [])}
        self.input_name = inputs[0].get("name", INPUT)
        expected = {
            "input": [3, input_size, input_size],
            OUTPUTS[0]: [18],
            OUTPUTS[1]: [n_species],
        }
        served = {
            "input": inputs[0].get("shape", [])[-3:],
            OUTPUTS[0]: outputs.get(OUTPUTS[0], {}).get("shape", [])[-1:],
            OUTPUTS[1]: outputs.get(OUTPUTS[1], {}).get("shape", [])[-1:],
        }
        if served != expected:
            raise RemoteError(
                f"model {self.model!r} at {self.url} is not the checkpoint's network "
                f"(served {served}, expected {expected}): export the checkpoint the bot uses "
                "(CHECKPOINT, or the shipped weights) with `python -m model export`"
            )

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        chunks = [images[start : start + MAX_BATCH] for start in range(0, len(images), MAX_BATCH)]
        answers = [self._infer(chunk) for chunk in chunks]
        return tuple(np.concatenate(part) for part in zip(*answers, strict=True))

    has_type_maps = False  # a model server gives probabilities only

    def type_maps(self, images: np.ndarray) -> np.ndarray:
        raise NotImplementedError("a model server gives probabilities only")

    def _infer(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        request = {
            "inputs": [{
                "name": self.input_name,
                "shape": list(images.shape),
                "datatype": "FP32",
                # three decimals: far finer than the 8-bit pixels behind them, a third the JSON
                "data": np.round(images, 3).ravel().tolist(),
            }],
            "outputs": [{"name": name} for name in OUTPUTS],
        }  # fmt: skip
        answer = self._request("POST", f"/v2/models/{self.model}/infer", request)
        outputs = {_base_name(o["name"]): o for o in answer.get("outputs", [])}
        try:
            return tuple(
                np.asarray(outputs[name]["data"], np.float32).reshape(len(images), -1)
                for name in OUTPUTS
            )
        except (KeyError, ValueError) as exc:
            raise RemoteError(f"the model server's answer lacks {exc}") from None

    def _request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                text = response.read()
        except urllib.error.HTTPError as exc:
            raise RemoteError(
                f"the model server answered {exc.code} to {method} {path}: {_reason(exc)}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise RemoteError(f"cannot reach the model server at {self.url}: {reason}") from None
        try:
            return json.loads(text) if text else {}
        except json.JSONDecodeError:
            raise RemoteError(f"the model server sent something else than JSON to {path}") from None


def _base_name(name: str) -> str:
    """``type_probs__0`` (Triton's PyTorch backend) -> ``type_probs``."""
    return name.split("__")[0]


def _reason(error: urllib.error.HTTPError) -> str:
    """The server's error message: KServe v2 puts it in ``{"error": ...}``."""
    body = error.read(2000).decode("utf-8", "replace")
    try:
        return str(json.loads(body).get("error", body))
    except (json.JSONDecodeError, AttributeError):
        return body.strip() or str(error.reason)
