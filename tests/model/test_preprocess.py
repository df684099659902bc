"""The inference view in NumPy is training's view in torch."""

import numpy as np
import pytest
import torch

from model.dataset import composite, normalize, to_float
from model.preprocess import EVAL_BACKGROUND, VIEW_SCALE, model_input, resize_matrix


@pytest.mark.parametrize("size", [32, 64, 96, 160])  # shrinking and, at 160, enlarging
def test_model_input_is_the_torch_view_of_training(size):
    frames = np.random.default_rng(size).integers(0, 256, (3, 128, 128, 4), np.uint8)
    frames[0, ..., 3] = 0  # a transparent frame: the background alone
    x = to_float(frames, size, VIEW_SCALE)
    background = torch.tensor(EVAL_BACKGROUND).view(1, 3, 1, 1).expand(len(x), 3, size, size)
    expected = normalize(composite(x, background)).numpy()
    np.testing.assert_allclose(model_input(frames, size), expected, atol=3e-5, rtol=0)


def test_a_resize_keeps_flat_colour_flat():
    for source, target in [(128, 86), (128, 144), (7, 3)]:
        matrix = resize_matrix(source, target)
        assert matrix.shape == (target, source)
        np.testing.assert_allclose(matrix.sum(1), 1, atol=1e-6)
        assert (matrix >= 0).all()
