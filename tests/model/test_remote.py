"""The network on a model server: a real MLServer serving our export, and a stub for failures."""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from model.__main__ import main
from model.export import export
from model.predict import Predictor
from model.remote import RemoteError, RemoteNetwork
from tests.postgres import free_port
from tests.synthetic import many_frame_gif, png_bytes, sprite


@pytest.fixture(scope="module")
def mlserver(tiny_checkpoint, tmp_path_factory):
    """URL of MLServer (from PyPI) serving ``python -m model export`` of the tiny checkpoint."""
    # not imported here: MLServer's protobuf messages clash with Triton's client (test_export)
    if not all(importlib.util.find_spec(name) for name in ("mlserver", "onnxruntime")):
        pytest.skip("MLServer and onnxruntime are not installed (pip install -e '.[dev]')")
    repository = tmp_path_factory.mktemp("serving")
    export(tiny_checkpoint, repository)
    port = free_port()
    env = os.environ | {
        "MLSERVER_HOST": "127.0.0.1", "MLSERVER_HTTP_PORT": str(port),
        "MLSERVER_GRPC_PORT": str(free_port()), "MLSERVER_METRICS_PORT": str(free_port()),
        "MLSERVER_PARALLEL_WORKERS": "0",
    }  # fmt: skip
    log = repository / "mlserver.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("mlserver")), "start", str(repository)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/v2/models/neuralmon/ready", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"MLServer did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


IMAGES = [png_bytes(sprite(color=(230, 60, 30))), png_bytes(sprite(color=(40, 90, 230))),
          many_frame_gif(6)]  # fmt: skip


def test_mlserver_gives_the_local_predictions(mlserver, tiny_checkpoint):
    local = Predictor.load(tiny_checkpoint).predict(IMAGES)
    remote = Predictor.remote(mlserver, path=tiny_checkpoint).predict(IMAGES)
    for here, there in zip(local, remote, strict=True):
        assert [t.type for t in here.types[:2]] == [t.type for t in there.types[:2]]
        assert max(abs(a.p - b.p) for a, b in zip(here.types, there.types, strict=True)) < 2e-3
        assert [s.num for s in here.species[:3]] == [s.num for s in there.species[:3]]
        assert here.frames == there.frames


def test_batches_larger_than_the_server_takes_are_split(mlserver, tiny_checkpoint):
    predictor = Predictor.remote(mlserver, path=tiny_checkpoint)
    gif = many_frame_gif(8)  # 8 frames each: 10 images are 80 frames, over the 64 per request
    predictions = predictor.predict([gif] * 10)
    assert len(predictions) == 10 and all(p.frames == 8 for p in predictions)
    assert len({p.types[0].p for p in predictions}) == 1  # the same image, the same answer


def test_predict_command_on_a_server(mlserver, tiny_checkpoint, tmp_path, capsys):
    image = tmp_path / "red.png"
    image.write_bytes(IMAGES[0])
    argv = ["predict", str(image), "--json", "--checkpoint", str(tiny_checkpoint)]
    assert main(argv) == 0
    local = json.loads(capsys.readouterr().out)
    assert main([*argv, "--server", mlserver]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert [t["type"] for t in remote["types"][:2]] == [t["type"] for t in local["types"][:2]]


def test_a_server_serving_another_network_is_refused_at_start(mlserver, tiny_checkpoint):
    with pytest.raises(RemoteError, match="not the checkpoint's network"):
        RemoteNetwork(mlserver).check(input_size=64, n_species=1025)
    with pytest.raises(RemoteError, match="answered 404"):
        Predictor.remote(mlserver, model="no-such-model", path=tiny_checkpoint)


def test_nobody_listening_is_a_clear_error(tiny_checkpoint):
    with pytest.raises(RemoteError, match=r"cannot reach the model server at http://127\.0\.0\.1"):
        Predictor.remote(f"http://127.0.0.1:{free_port()}", path=tiny_checkpoint)


class _Stub(BaseHTTPRequestHandler):
    """Answers every request with the server's ``reply``: (status, body)."""

    def do_GET(self):
        self._answer()

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self._answer()

    def _answer(self):
        status, body = self.server.reply
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def stub():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ((500, b'{"error": "CUDA out of memory"}'), "answered 500 .*CUDA out of memory"),
        ((502, b"<html>Bad Gateway</html>"), "answered 502 .*Bad Gateway"),
        ((200, b"<html>a proxy's login page</html>"), "something else than JSON"),
        ((200, b'{"outputs": []}'), "answer lacks"),
    ],
)
def test_bad_answers_are_clear_errors(stub, tiny_checkpoint, reply, message):
    stub.reply = reply
    network = RemoteNetwork(f"http://127.0.0.1:{stub.server_port}")
    predictor = Predictor(Predictor.load(tiny_checkpoint).info, network)
    with pytest.raises(RemoteError, match=message):
        predictor.predict(IMAGES[:1])


def test_a_hung_server_times_out(tiny_checkpoint):
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    network = RemoteNetwork(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=0.5)
    started = time.monotonic()
    with pytest.raises(RemoteError, match=r"cannot reach|timed out"):
        Predictor(Predictor.load(tiny_checkpoint).info, network).predict(IMAGES[:1])
    assert time.monotonic() - started < 5
    listener.close()


def test_explanations_need_the_network_here(tiny_checkpoint):
    from model.explain import ExplainUnavailable, explain_image

    remote = Predictor(Predictor.load(tiny_checkpoint).info, RemoteNetwork("http://unused"))
    with pytest.raises(ExplainUnavailable, match="model server"):
        explain_image(remote, IMAGES[0])
