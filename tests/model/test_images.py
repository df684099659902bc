"""The decoding budget: what a posted file may cost is bounded by what it holds."""

import io

import pytest
from PIL import Image

from model import images
from model.images import ImageError, decode_frames, frame_image, frame_indices, open_image
from tests.hostile import CASES, bar_png, decode_cost, gif_with_screen, zero_png
from tests.synthetic import encoded, png_bytes, sprite


@pytest.fixture(scope="module")
def normal_art_cost() -> dict:
    return decode_cost(png_bytes(sprite((1024, 1024), (100, 80, 920, 960))))


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_crafted_file_costs_no_more_than_a_normal_picture(name, normal_art_cost):
    cost = decode_cost(CASES[name]())
    assert cost["outcome"].endswith(("frames", "views")) or "too large" in cost["outcome"], cost
    # memory measured in a process of its own: a normal 1024 x 1024 picture's, give or take
    assert cost["rise_mb"] <= 2 * normal_art_cost["rise_mb"] + 8, (cost, normal_art_cost)


def test_a_canvas_too_large_for_its_file_is_refused_before_decoding(monkeypatch):
    sparse, huge = zero_png(2048, 2048, "L"), gif_with_screen(6300, 6300)
    monkeypatch.setattr(Image.Image, "load", lambda self: pytest.fail("decoded"))
    with pytest.raises(ImageError, match="too large for its file"):
        open_image(sparse)
    with pytest.raises(ImageError, match=r"too large \(6300 x 6300"):
        open_image(huge)


def test_a_large_canvas_that_carries_its_weight_is_read():
    noisy = Image.effect_noise((1500, 1500), 60).convert("RGB")  # about 2 MB of PNG
    assert len(decode_frames(png_bytes(noisy))) == 1


def test_a_long_strip_is_reduced_before_it_is_framed():
    (frame,) = decode_frames(bar_png(20000))
    assert frame.size == (1000, 1)  # blocks of 20 averaged
    pixels, views = frame_image(bar_png(20000), 128)
    assert pixels.shape == (1, 128, 128, 4) and not views  # too long to be read through views


def test_a_large_jpeg_is_decoded_at_a_reduced_scale():
    photo = Image.effect_noise((3000, 2000), 40).convert("RGB")
    img = open_image(encoded(photo, "JPEG"))
    img.load()
    assert img.size == (1500, 1000)  # DCT scaling, a quarter of the pixels decoded
    # then blocks of 2 averaged: the longer side ends between MAX_SIDE / 2 and MAX_SIDE
    assert decode_frames(encoded(photo, "JPEG"))[0].size == (750, 500)


def test_a_screenshot_is_decoded_at_half_scale():
    screenshot = Image.effect_noise((1280, 720), 40).convert("RGB")
    img = open_image(encoded(screenshot, "JPEG"))
    img.load()
    assert img.size == (640, 360)


def test_an_animation_looks_at_as_many_frames_as_its_canvas_affords():
    small = Image.open(io.BytesIO(gif_with_screen(64, 64, frames=64)))
    assert frame_indices(small) == [0, 9, 18, 27, 36, 45, 54, 63]
    large = Image.open(io.BytesIO(gif_with_screen(1024, 1024, frames=64)))
    assert frame_indices(large) == [0, 1]  # FRAME_PIXEL_BUDGET: two 1024 x 1024 canvases


def test_running_out_of_memory_while_decoding_is_a_friendly_answer(monkeypatch):
    def out_of_memory(img):
        raise MemoryError

    monkeypatch.setattr(images, "to_rgba", out_of_memory)
    with pytest.raises(ImageError, match="too large to read"):
        frame_image(png_bytes(sprite()), 128)


def test_frames_are_sampled_evenly_first_and_last_included():
    assert images.evenly_spaced(64, 8) == [0, 9, 18, 27, 36, 45, 54, 63]
    assert images.evenly_spaced(3, 8) == [0, 1, 2]
    assert images.evenly_spaced(1, 8) == [0] and images.evenly_spaced(10, 1) == [0]
