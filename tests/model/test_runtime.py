"""The bot's runtime: the shipped bundle in step with its checkpoint, ONNX Runtime computing
what torch does, exact type maps, and inference with no torch in the process."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model import runtime
from model.predict import DEFAULT_WEIGHTS, Predictor
from model.runtime import WeightsError, bundle_paths, file_digest
from tests.synthetic import encoded, many_frame_gif, png_bytes, sprite

ROOT = Path(__file__).resolve().parents[2]


def sample_images() -> list[bytes]:
    """Sprites, a post on a busy background, a JPEG and an animation."""
    rng = np.random.default_rng(0)
    busy = rng.integers(0, 256, (300, 400, 3), np.uint8)
    busy[100:220, 150:260] = (230, 60, 30)
    return [
        png_bytes(sprite(color=(230, 60, 30))),
        png_bytes(sprite((96, 80), (10, 6, 80, 70), (40, 90, 230))),
        encoded(sprite(color=(60, 190, 60)).convert("RGB"), "JPEG", quality=70),
        png_bytes(image_from(busy)),
        many_frame_gif(4),
    ]


def image_from(pixels: np.ndarray):
    from PIL import Image

    return Image.fromarray(pixels, "RGB")


@pytest.fixture(scope="module")
def shipped() -> dict[str, Predictor]:
    return {backend: Predictor.load(backend=backend) for backend in ("onnx", "torch")}


def test_the_shipped_bundle_is_the_shipped_checkpoint():
    onnx_path, info_path = bundle_paths(DEFAULT_WEIGHTS)
    info = json.loads(info_path.read_text())
    assert info["checkpoint_sha256"] == file_digest(DEFAULT_WEIGHTS), (
        "model/weights/neuralmon.pt changed: run `python -m model bundle`"
    )
    assert info["onnx_sha256"] == file_digest(onnx_path)
    assert sum(f.stat().st_size for f in DEFAULT_WEIGHTS.parent.iterdir()) < 25 * 2**20


def test_onnx_runtime_gives_torch_probabilities_on_sample_images(shipped):
    onnx, torch_ = shipped["onnx"], shipped["torch"]
    prepared = [onnx.prepare(image) for image in sample_images()]
    x = onnx.model_input(np.concatenate([p.pixels for p in prepared]))
    assert len(x) > len(prepared)  # the busy post's views and the animation's frames
    for got, want in zip(onnx.network(x), torch_.network(x), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)
    for a, b in zip(onnx.predict_prepared(prepared), torch_.predict_prepared(prepared),
                    strict=True):  # fmt: skip
        assert a.typing == b.typing and [s.num for s in a.species] == [s.num for s in b.species]


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_type_maps_average_to_the_type_logits(shipped, backend):
    predictor = shipped[backend]
    x = predictor.model_input(predictor.prepare(sample_images()[0]).pixels)
    maps = predictor.network.type_maps(x)
    assert maps.shape[:2] == (1, 18) and maps.shape[2] == maps.shape[3] > 1
    from_maps = 1 / (1 + np.exp(-maps.mean((2, 3))))
    np.testing.assert_allclose(from_maps, predictor.network(x)[0], atol=1e-5)


def test_a_tiny_bundle_matches_its_checkpoint(tiny_checkpoint):
    onnx = Predictor.load(tiny_checkpoint, "onnx")
    torch_ = Predictor.load(tiny_checkpoint, "torch")
    x = np.random.default_rng(1).standard_normal((70, 3, 32, 32), np.float32)  # over 64
    for got, want in zip(onnx.network(x), torch_.network(x), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert not onnx.network.has_type_maps  # net2017 pools no feature map


def test_a_checkpoint_without_its_bundle_says_how_to_make_one(tiny_checkpoint, tmp_path):
    lonely = tmp_path / "lonely.pt"
    shutil.copyfile(tiny_checkpoint, lonely)
    with pytest.raises(WeightsError, match=r"python -m model bundle .*lonely\.pt"):
        Predictor.load(lonely)
    assert Predictor.load(lonely, "torch").input_size == 32


def test_a_bundle_out_of_step_is_refused(tiny_checkpoint, tmp_path):
    for source in (tiny_checkpoint, *bundle_paths(tiny_checkpoint)):
        shutil.copyfile(source, tmp_path / f"copy{source.suffix}")
    onnx_path, info_path = bundle_paths(tmp_path / "copy.pt")
    shutil.copyfile(DEFAULT_WEIGHTS.with_suffix(".onnx"), onnx_path)  # another network
    with pytest.raises(WeightsError, match="not the network"):
        runtime.load(onnx_path)
    info_path.write_text('{"format_version": 99}')
    with pytest.raises(WeightsError, match="bundle format"):
        runtime.read_info(info_path)


BLOCK_TORCH = """
import importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "torchvision", "timm", "onnx", "onnxscript"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Refuse())
"""


def without_torch(code: str) -> subprocess.CompletedProcess:
    """``code`` run in a Python where torch, timm and onnx cannot be imported."""
    return subprocess.run(
        [sys.executable, "-c", BLOCK_TORCH + code], cwd=ROOT, capture_output=True, text=True
    )


def test_the_bot_predicts_and_explains_without_torch(tmp_path):
    """As in the light install (`make run`): torch cannot even be imported."""
    image = tmp_path / "red.png"
    image.write_bytes(sample_images()[0])
    done = without_torch(
        f"""
import bot.__main__, bot.exts.classify, bot.exts.quiz
from model.explain import explain_image
from model.predict import Predictor
predictor = Predictor.load()
data = open({str(image)!r}, "rb").read()
print(len(predictor.predict([data])[0].types), explain_image(predictor, data).size[0] > 0)
print(sorted(m for m in sys.modules if m.split(".")[0] in {{"torch", "timm", "onnx", "tqdm"}}))
"""
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["18 True", "[]"]


def test_the_torch_backend_without_torch_says_what_to_install(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DISCORD_TOKEN=x\nINFERENCE_BACKEND=torch\n")
    done = without_torch(
        f"""
import os
os.chdir({str(tmp_path)!r})
from bot.__main__ import main
sys.exit(main())
"""
    )
    assert done.returncode == 2, done.stderr
    assert "INFERENCE_BACKEND=torch needs torch: pip install -e '.[train]'" in done.stderr


def test_the_command_line_predicts_without_torch_and_says_what_training_needs(tmp_path):
    image = tmp_path / "red.png"
    image.write_bytes(sample_images()[0])
    done = without_torch(
        f"""
from model.__main__ import main
assert main(["predict", {str(image)!r}, "--json"]) == 0
assert main(["train", "--split", "all", "--out", "x.pt"]) == 1
"""
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["path"] == str(image)
    assert "torch is not installed: pip install -e '.[train]'" in done.stderr
