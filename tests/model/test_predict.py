"""Inference API and command line: every kind of image people post, good and bad."""

import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from model.__main__ import main
from model.images import ImageError, busy_views, prepare_sprite, subject
from model.predict import Predictor, pool_views
from tests.synthetic import (
    encoded,
    many_frame_gif,
    png_bytes,
    png_declaring_size,
    save_gif,
    sprite,
)


@pytest.fixture(scope="module")
def predictor(tiny_checkpoint) -> Predictor:
    return Predictor.load(tiny_checkpoint)


def _animated(tmp_path_factory=None) -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        return save_gif(Path(tmp) / "a.gif", frames=3).read_bytes()


RED = sprite(color=(230, 60, 30))
rgb16 = Image.fromarray((np.linspace(0, 65535, 40 * 40).reshape(40, 40)).astype(np.uint16))
GOOD = {
    "png": png_bytes(RED),
    "pil image": RED,
    "jpeg": encoded(RED.convert("RGB"), "JPEG"),
    "cmyk jpeg": encoded(RED.convert("RGB").convert("CMYK"), "JPEG"),
    "webp": encoded(RED, "WEBP"),
    "palette with transparency": encoded(RED.convert("P"), "PNG", transparency=0),
    "16-bit greyscale png": png_bytes(rgb16),
    "greyscale with alpha": png_bytes(RED.convert("LA")),
    "tiny 1x1": png_bytes(Image.new("RGB", (1, 1), "red")),
    "huge non-square": encoded(Image.new("RGB", (4000, 300), "blue"), "JPEG"),
    "animated gif": _animated(),
    "5000-frame gif": many_frame_gif(5000),
}
BAD = {
    "empty": (b"", "empty"),
    "text named .png": (b"hello, this is not an image\n" * 10, "not an image"),
    "truncated png": (png_bytes(sprite((200, 200)))[:300], "truncated or corrupt"),
    "decompression bomb": (png_declaring_size(30000, 30000), "too large"),
    "50 MB file": (b"\x89PNG\r\n\x1a\n" + bytes(50 * 1024 * 1024), "larger than 8 MB"),
    "bmp": (encoded(RED.convert("RGB"), "BMP"), "BMP images are not supported"),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "not an image"),
    "fully transparent": (png_bytes(Image.new("RGBA", (20, 20))), "fully transparent"),
    "tiff": (encoded(RED, "TIFF"), "not supported"),
}


@pytest.mark.parametrize("name", GOOD)
def test_accepts_every_common_kind_of_image(predictor, name):
    [prediction] = predictor.predict([GOOD[name]])
    assert [t.p for t in prediction.types] == sorted((t.p for t in prediction.types), reverse=True)
    assert len(prediction.types) == 18 and len({t.type for t in prediction.types}) == 18
    assert all(0 <= t.p <= 1 for t in prediction.types)
    assert len(prediction.species) == 5 and 1 <= len(prediction.typing) <= 2
    assert prediction.typing[0] == prediction.types[0].type


def test_animation_frames_are_averaged(predictor):
    assert predictor.predict([GOOD["animated gif"]])[0].frames == 3
    assert predictor.predict([GOOD["5000-frame gif"]])[0].frames == 8


@pytest.mark.parametrize("name", BAD)
def test_bad_images_get_a_clear_error(predictor, name):
    data, message = BAD[name]
    with pytest.raises(ImageError, match=message):
        predictor.predict([data])


def test_a_batch_equals_one_by_one(predictor):
    images = [GOOD["png"], GOOD["jpeg"], GOOD["animated gif"], GOOD["webp"]]
    batched = predictor.predict(images)
    single = [predictor.predict([image])[0] for image in images]
    for a, b in zip(batched, single, strict=True):
        np.testing.assert_allclose([t.p for t in a.types], [t.p for t in b.types], atol=1e-5)
        assert [s.num for s in a.species] == [s.num for s in b.species]


def test_predictor_is_thread_safe(predictor):
    images = [GOOD["png"], GOOD["jpeg"], GOOD["webp"], GOOD["cmyk jpeg"]] * 4
    expected = [predictor.predict([i])[0].typing for i in images]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda i: predictor.predict([i])[0].typing, images))
    assert got == expected


def test_predict_json_lines_have_the_exact_schema(tiny_checkpoint, tmp_path, capsys):
    paths = []
    for name in ("png", "jpeg", "animated gif"):
        path = tmp_path / f"{name.replace(' ', '_')}.img"
        path.write_bytes(GOOD[name])
        paths.append(str(path))
    assert main(["predict", *paths, "--json", "--checkpoint", str(tiny_checkpoint)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for path, line in zip(paths, lines, strict=True):
        obj = json.loads(line)
        assert list(obj) == ["path", "types", "species"] and obj["path"] == path
        assert [list(t) for t in obj["types"]] == [["type", "p"]] * 18
        assert [t["p"] for t in obj["types"]] == sorted(
            (t["p"] for t in obj["types"]), reverse=True
        )
        assert [list(s) for s in obj["species"]] == [["num", "name", "p"]] * 5
        assert all(isinstance(s["num"], int) and s["name"] for s in obj["species"])


def test_predict_goes_on_after_an_unreadable_file(tiny_checkpoint, tmp_path, capsys):
    good, bad = tmp_path / "good.png", tmp_path / "bad.png"
    good.write_bytes(GOOD["png"])
    bad.write_bytes(b"not an image at all")
    args = ["predict", str(bad), str(tmp_path / "missing.png"), str(good)]
    assert main([*args, "--checkpoint", str(tiny_checkpoint)]) == 1
    captured = capsys.readouterr()
    assert f"error: {bad}: this is not an image" in captured.err
    assert "missing.png: No such file" in captured.err
    assert captured.out.startswith(f"{good}: ")  # the readable table for the good one


def test_decoding_checks_limits_before_pixels():
    from model.images import decode_frames

    with pytest.raises(ImageError, match="too large"):
        decode_frames(png_declaring_size(7000, 7000))  # 49 M pixels, over any canvas limit
    frames = decode_frames(io.BytesIO(GOOD["png"]).getvalue())
    assert frames[0].mode == "RGBA"


def test_the_compiled_forward_pass_equals_the_eager_one(tiny_checkpoint):
    import torch

    from model.net import Probabilities

    predictor = Predictor.load(tiny_checkpoint, "torch")
    x = np.random.default_rng(0).standard_normal((5, 3, 32, 32), np.float32)
    with torch.inference_mode():
        eager = Probabilities(predictor.network.model).eval()(torch.from_numpy(x))
    for fast, slow in zip(predictor.network(x), eager, strict=True):
        np.testing.assert_allclose(fast, slow.numpy(), atol=1e-4, rtol=1e-4)


def test_shipped_weights_load_by_default():
    from model.predict import DEFAULT_WEIGHTS

    shipped = Predictor.load()
    assert sum(f.stat().st_size for f in DEFAULT_WEIGHTS.parent.iterdir()) < 25 * 2**20
    assert shipped.info["arch"] == "lite0" and shipped.info["meta"]["config"]["split"] == "all"
    [prediction] = shipped.predict([GOOD["png"]])
    assert len(prediction.types) == 18 and len(prediction.species) == 5


def _on_canvas(
    size: tuple[int, int], at: tuple[int, int], fill, noise: bool = False
) -> Image.Image:
    """A red 40x30 ellipse pasted at ``at`` on an opaque canvas (plain or noisy)."""
    if noise:
        pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), np.uint8)
        canvas = Image.fromarray(pixels, "RGB").convert("RGBA")
    else:
        canvas = Image.new("RGBA", size, fill)
    subject = sprite((40, 30), (0, 0, 39, 29), (220, 30, 30))
    canvas.paste(subject, at, subject)
    return canvas


@pytest.mark.parametrize("fill", [(255, 255, 255, 255), (30, 140, 60, 255)])
def test_a_post_on_a_plain_background_is_cropped_to_its_subject(fill):
    post = _on_canvas((320, 180), (200, 20), fill)
    assert subject(post).size == (40, 30)
    jpeg = Image.open(io.BytesIO(encoded(post.convert("RGB"), "JPEG", quality=60)))
    box = subject(jpeg.convert("RGBA"))
    assert 40 <= box.width <= 48 and 30 <= box.height <= 38  # JPEG rings within its 8 px blocks
    huge = _on_canvas((3000, 2000), (2500, 1200), fill)
    assert subject(huge).size == (40, 30)  # sampled, then refined


def test_transparent_and_blank_pictures_are_one_view_as_they_are():
    transparent = sprite()
    blank = Image.new("RGBA", (100, 100), (255, 255, 255, 255))
    busy = _on_canvas((200, 200), (50, 50), None, noise=True)
    for img in (transparent, blank):
        assert subject(img) is img
    assert subject(busy) is None


@pytest.mark.parametrize(
    ("size", "views", "reduced"),
    [((200, 200), 14, (200, 200)), ((320, 180), 27, (320, 180)), ((180, 320), 27, (180, 320)),
     ((2000, 1100), 27, (334, 184))],
)  # fmt: skip
def test_a_busy_picture_is_read_whole_and_through_zoomed_crops(size, views, reduced):
    busy = _on_canvas(size, (10, 10), None, noise=True).filter(ImageFilter.GaussianBlur(3))
    whole, *crops = busy_views(busy, 128)
    assert len(crops) + 1 == views
    # the whole picture as a sprite is framed, from a copy reduced to 160-320 px on its shorter side
    small = busy.reduce(min(size) // 160) if min(size) >= 320 else busy
    assert small.size == reduced
    assert np.array_equal(whole, np.asarray(prepare_sprite(small, 128)))
    assert len({c.tobytes() for c in crops}) == len(crops)  # each shows another part
    # the top-left crop of each grid, 80% then 60% of the shorter side, is framed as that
    # square of the picture would be (the same soft edge), give or take its alignment
    squares = 3 if views == 27 else 0
    for share, crop in ((0.8, crops[squares]), (0.6, crops[-15 if views == 27 else -9])):
        side = round(min(reduced) * share)
        corner = np.asarray(prepare_sprite(small.crop((0, 0, side, side)), 128), int)
        assert np.array_equal(crop[..., 3], corner[..., 3])
        seen = corner[..., 3:] / 255  # colours as the network sees them, premultiplied
        difference = np.abs(crop[..., :3].astype(int) * seen - corner[..., :3] * seen)
        assert difference.mean() < 1, (share, difference.mean())


@pytest.mark.parametrize("size", [(2, 2), (7, 5), (13, 40), (161, 99), (641, 321)])
def test_a_busy_picture_of_any_size_gives_its_views(size):
    noise = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), np.uint8)
    views = busy_views(Image.fromarray(noise, "RGB").convert("RGBA"), 128)
    assert views.shape[1:] == (128, 128, 4)
    assert len(views) == (27 if max(size) / min(size) > 1.15 else 14)


def test_a_busy_still_picture_is_read_through_its_views_as_one_picture(predictor):
    busy = png_bytes(_on_canvas((320, 180), (200, 20), None, noise=True))
    prepared = Predictor.prepare(busy)
    assert prepared.views and prepared.pixels.shape == (27, 128, 128, 4)
    animated = Predictor.prepare(_animated())
    assert not animated.views and len(animated.pixels) == 3  # frames, not zoomed

    class SpeciesByView:  # each view sure of another species
        def __call__(self, images):
            species = np.zeros((len(images), len(predictor.species)))
            species[np.arange(len(images)), np.arange(len(images)) % 3] = 1
            return np.full((len(images), 18), 0.5), species

    [prediction] = Predictor(predictor.info, SpeciesByView()).predict_prepared([prepared])
    assert [s.p for s in prediction.species[:3]] == pytest.approx([9 / 27] * 3)
    assert prediction.frames == 1  # one picture, however many views
    assert not prediction.species_confident  # three species, a third each: too unsure to name


def test_views_are_pooled_by_how_sure_each_one_is():
    types = np.array([[0.8, 0.1], [0.2, 0.6]])
    species = np.array([[0.9, 0.1], [0.5, 0.5]])  # the subject's view, then an unsure one
    pooled_types, pooled_species = pool_views(types, species)
    weights = np.array([0.9**3, 0.5**3]) / (0.9**3 + 0.5**3)  # 0.854, 0.146
    assert pooled_types == pytest.approx(weights @ types)  # [0.712, 0.173], the mean [0.5, 0.35]
    assert pooled_species == pytest.approx(weights @ species)
    assert pooled_species.sum() == pytest.approx(1.0)
    one_view = pool_views(types[:1], species[:1])
    assert one_view[0] == pytest.approx(types[0]) and one_view[1] == pytest.approx(species[0])


def test_a_busy_picture_has_its_own_bar_for_naming(predictor):
    prepared = Predictor.prepare(png_bytes(_on_canvas((200, 200), (80, 80), None, noise=True)))

    def reading(prepared, sure: float):
        class Network:  # every view ``sure`` of the same species
            def __call__(self, images):
                species = np.full((len(images), len(predictor.species)), 1e-6)
                species[:, 7] = sure
                return np.full((len(images), 18), 0.5), species

        [prediction] = Predictor(predictor.info, Network()).predict_prepared([prepared])
        assert prediction.species[0].num == predictor.species[7]
        return prediction

    # a busy picture's pool leans on its surest views, so it has a higher bar (0.75, a sprite 0.6)
    assert reading(prepared, 0.8).species_confident
    assert not reading(prepared, 0.7).species_confident
    assert reading(Predictor.prepare(png_bytes(RED)), 0.65).species_confident


def test_a_sprite_posted_on_white_reads_like_the_sprite(predictor):
    clean = Predictor.prepare(png_bytes(sprite((40, 30), (0, 0, 39, 29), (220, 30, 30))))
    posted = Predictor.prepare(png_bytes(_on_canvas((640, 360), (500, 40), (255, 255, 255, 255))))
    composited = clean.pixels[..., :3] * (clean.pixels[..., 3:] / 255) + 255 * (
        1 - clean.pixels[..., 3:] / 255
    )  # the transparent sprite over white, as the network sees it
    visible = posted.pixels[..., 3] > 0
    difference = np.abs(posted.pixels[..., :3].astype(float) - composited)[visible]
    assert difference.mean() < 8


def test_inference_imports_no_training_code():
    import subprocess
    import sys

    code = ("import sys, model.predict, model.explain, model.export, bot.exts.classify; "
            "print(sorted(m for m in sys.modules if m in {'model.dataset', 'model.train', "
            "'model.evaluate', 'model.data.build', 'torchvision.transforms.v2'}))")  # fmt: skip
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr
