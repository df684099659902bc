"""The explain picture: where the network saw its top type, from either backend."""

import numpy as np
import pytest
from PIL import Image

from model.__main__ import main
from tests.model.test_predict import GOOD


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_explain_draws_the_saliency_picture(backend, tmp_path):
    image, out = tmp_path / "in.png", tmp_path / "out.png"
    image.write_bytes(GOOD["png"])
    assert main(["explain", str(image), "-o", str(out), "--backend", backend]) == 0
    with Image.open(out) as picture:
        assert picture.size == (3 * 256 + 40, 256 + 40)
        heat_panel = np.asarray(picture.convert("RGB"))[30:286, 276:532]
        assert heat_panel.std() > 5  # not a blank panel


def test_explain_says_why_a_network_without_type_maps_cannot(tiny_checkpoint, tmp_path, capsys):
    image = tmp_path / "in.png"
    image.write_bytes(GOOD["png"])
    assert main(["explain", str(image), "--checkpoint", str(tiny_checkpoint)]) == 1
    assert "net2017) pools no feature map" in capsys.readouterr().err


def test_explain_refuses_a_bad_image_politely(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"")
    assert main(["explain", str(bad)]) == 1
    assert "the file is empty" in capsys.readouterr().err
