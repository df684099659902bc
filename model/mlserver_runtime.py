"""MLServer runtime for the exported ONNX network (``python -m model export`` copies this file
next to ``model-settings.json`` as ``neuralmon_runtime.py``).

It runs inside MLServer, which needs only ``mlserver``, ``onnxruntime`` and ``numpy``: nothing
from neuralmon is imported here.
"""

from __future__ import annotations

import asyncio

import onnxruntime
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse
from mlserver.utils import get_model_uri


class OnnxModel(MLModel):
    async def load(self) -> bool:
        path = await get_model_uri(self._settings)
        self._session = onnxruntime.InferenceSession(
            path,
            providers=onnxruntime.get_available_providers(),  # CUDA first, when present
        )
        self._input = self._session.get_inputs()[0].name
        self._outputs = [output.name for output in self._session.get_outputs()]
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        inputs = {request_input.name: request_input for request_input in payload.inputs}
        if self._input not in inputs:
            raise ValueError(f"the request needs an input named {self._input!r}")
        images = NumpyCodec.decode_input(inputs[self._input]).astype("float32")
        # onnxruntime releases the GIL: the server keeps answering health checks meanwhile
        results = await asyncio.to_thread(self._session.run, self._outputs, {self._input: images})
        return InferenceResponse(
            model_name=self.name,
            outputs=[
                NumpyCodec.encode_output(name, array)
                for name, array in zip(self._outputs, results, strict=True)
            ],
        )
