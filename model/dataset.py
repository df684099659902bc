"""Splits, labels and augmentation for the dataset written by ``model.data.build``.

Everything here works on whole batches of tensors, so augmentation costs little next to the
network's own work on a CPU.

Splits (GUIDE §2):
    family-holdout   test: evolution-family root % 5 == 0, validation: % 5 == 1 (the strict one)
    species-holdout  test: national number % 5 == 0, validation: % 5 == 1 (2017-comparable)
    all              every species trains; 5% of source files are held out for validation and
                     5% for test (whole files: the frames of one GIF stay together)
``holdout_style`` moves every image of one art style into the test set (never trained on), to
measure how species identification crosses styles.
"""

from __future__ import annotations

import io
import math
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.transforms.v2.functional import gaussian_blur

from model import pokedex
from model.data.build import read_dataset
from model.images import MARGIN
from model.preprocess import MEAN, STD, VIEW_SCALE

SPLITS = ("family-holdout", "species-holdout", "all")
# Styles whose files split "all" never holds out: official artwork is the only picture of most
# species of Gens 6-9, so a held-out one would leave its species unknown to the shipped bot. It
# is measured by posts of it (``evaluate --style``) and by a run that holds the style out.
ALWAYS_TRAINED_STYLES = ("official-artwork",)
# Pictures people posted and named in chat (``data import-feedback``). Split "all" holds out
# the newest FEEDBACK_TEST_SHARE of them, by the time in their file names: held out by time,
# never by random picture, since the same person posts look-alike pictures.
FEEDBACK_STYLE = "feedback"
FEEDBACK_TEST_SHARE = 0.2
BALANCES = ("files", "species")  # what an epoch draws evenly: files, or species (then styles)
# Of training images, the share framed like a post with a busy background: a picture up to 16:9
# shown whole, its subject mostly smaller than sprites are framed (``_post_framing``). 0.3 was
# chosen on validation posts and files, against 0 and 0.5 (docs/experiments/, *Posts*).
POST_SHARE = 0.3
# How much of a post's shorter side its subject spans: in training's posts framing and, by
# default, in evaluate's synthetic posts (``--subject-share``).
POST_SUBJECT_SHARE = (0.5, 0.95)
# The grain of noise backgrounds, in pixels: blobs of 8 pixels at the size drawn (as
# ``model.evaluate.make_post`` draws a post), and in training any grain from single pixels to
# blobs of 8, log-uniformly, because a busy picture reaches the network reduced by any factor
# and its texture with it. Busy posts on noise were the posts' largest gap (docs/experiments/).
NOISE_CELL = (8.0, 8.0)
TRAIN_NOISE_CELL = (1.0, 8.0)
BACKGROUNDS = ("white", "solid", "gradient", "noise", "clutter")  # the kinds, drawn alike
# Of training images, the share zoomed in so that the frame cuts the subject (a cropped post):
# it then spans CROP_SCALE of the frame.
CROP_SHARE = 0.1
CROP_SCALE = (1.05, 1.4)


def assign(num: int, family: int, file: str, split: str) -> str:
    """Which part of ``split`` an image belongs to: "train", "val" or "test"."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    if split == "all":
        bucket = zlib.crc32(file.encode()) % 20  # stable across runs and machines
    else:
        bucket = (family if split == "family-holdout" else num) % 5
    return "test" if bucket == 0 else "val" if bucket == 1 else "train"


@dataclass
class Labels:
    """Per-image labels as arrays, aligned with the image array."""

    num: np.ndarray  # national number
    types: np.ndarray  # float32 [N, 18] multi-hot
    primary: np.ndarray  # int64 index into TYPES
    family: np.ndarray
    style: np.ndarray  # str
    file: np.ndarray  # str: the source file, frames of one GIF share it

    @classmethod
    def from_rows(cls, rows: list[dict[str, str]]) -> Labels:
        index = {t: i for i, t in enumerate(pokedex.TYPES)}
        types = np.zeros((len(rows), len(pokedex.TYPES)), np.float32)
        for i, row in enumerate(rows):
            for t in (row["type1"], row["type2"]):
                if t:
                    types[i, index[t]] = 1.0
        return cls(
            num=np.array([int(r["num"]) for r in rows]),
            types=types,
            primary=np.array([index[r["type1"]] for r in rows], np.int64),
            family=np.array([int(r["family"]) for r in rows]),
            style=np.array([r["style"] for r in rows]),
            file=np.array([r["file"] for r in rows]),
        )


@dataclass
class SplitData:
    images: np.ndarray  # uint8 [N, S, S, 4], every image in the dataset, memory-mapped
    labels: Labels
    parts: dict[str, np.ndarray]  # "train" / "val" / "test" -> indices into images


def load_split(
    dataset_dir: Path,
    split: str,
    holdout_style: str | None = None,
    max_species: int | None = None,
) -> SplitData:
    """Read the dataset and divide it: species 1..``max_species`` (none: all)."""
    data = read_dataset(dataset_dir)
    labels = Labels.from_rows(data.rows)
    part = np.array([assign(int(r["num"]), int(r["family"]), r["file"], split) for r in data.rows])
    if split == "all":
        part[np.isin(labels.style, ALWAYS_TRAINED_STYLES)] = "train"
        feedback = labels.style == FEEDBACK_STYLE
        part[feedback] = newest_held_out(labels.file[feedback])
    if holdout_style:
        part[labels.style == holdout_style] = "test"
    keep = labels.num <= (max_species or pokedex.LAST_NUMBER)
    parts = {name: np.flatnonzero((part == name) & keep) for name in ("train", "val", "test")}
    return SplitData(data.images, labels, parts)


def newest_held_out(files: np.ndarray) -> np.ndarray:
    """ "test" for the files of the newest ``FEEDBACK_TEST_SHARE`` (by their names, which
    begin with the time), "train" for the others; the frames of one file stay together."""
    names = np.array([Path(f).name for f in files])
    newest_first = sorted(set(names), reverse=True)
    held_out = set(newest_first[: math.ceil(len(newest_first) * FEEDBACK_TEST_SHARE)])
    return np.where(np.isin(names, list(held_out)), "test", "train")


def species_balanced_weights(labels: Labels, train: np.ndarray) -> np.ndarray:
    """Each training image's probability of being drawn, such that every species is drawn
    alike, within a species every style alike, within a style every file and within a file
    every frame: one official artwork weighs as much as forty frames of Gen V sprites."""
    keys = list(zip(labels.num[train], labels.style[train], labels.file[train], strict=True))
    files = set(keys)
    files_per_style = Counter((num, style) for num, style, _ in files)
    styles_per_species = Counter(num for num, _ in files_per_style)
    frames = Counter(file for _, _, file in keys)
    weights = np.array(
        [
            1 / (styles_per_species[num] * files_per_style[num, style] * frames[file])
            for num, style, file in keys
        ]
    )
    return weights / weights.sum()


def epoch_order(
    labels: Labels,
    train: np.ndarray,
    rng: np.random.Generator,
    balance: str = "files",
    repeat_single: int = 1,
) -> np.ndarray:
    """The indices one epoch shows, in order. ``balance`` "files": every image of ``train``
    once (single-image files ``repeat_single`` times); "species": as many draws as ``train``
    has images, with replacement, by ``species_balanced_weights``."""
    if balance == "species":
        return rng.choice(train, size=len(train), p=species_balanced_weights(labels, train))
    return rng.permutation(training_pool(labels, train, repeat_single))


def training_pool(labels: Labels, train: np.ndarray, repeat_single: int = 1) -> np.ndarray:
    """The indices one epoch draws from: ``train``, with every image that is the only image of
    its source file (Dream World art, box sprites) ``repeat_single`` times, so that those styles
    are not drowned by the eight frames of each animated sprite."""
    _, inverse, counts = np.unique(labels.file[train], return_inverse=True, return_counts=True)
    single = train[counts[inverse] == 1]
    return np.concatenate([train] + [single] * (repeat_single - 1))


# ------------------------------------------------------------------------------ augmentation


def random_backgrounds(
    n: int, size: int, g: torch.Generator, noise_cell: tuple[float, float] = NOISE_CELL
) -> tuple[torch.Tensor, torch.Tensor]:
    """White, solid, gradient, noise or clutter backgrounds, one per image: [n, 3, size, size],
    and each one's kind (an index into ``BACKGROUNDS``). The noise's blobs span ``noise_cell``
    pixels (drawn log-uniformly per image)."""

    def rand(*shape):
        return torch.rand(*shape, generator=g)

    c1, c2 = rand(n, 3, 1, 1), rand(n, 3, 1, 1)
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    angle = rand(n, 1, 1, 1) * 2 * math.pi
    t = ((torch.cos(angle) * xs + torch.sin(angle) * ys) / math.sqrt(2) + 1) / 2
    gradient = c1 * (1 - t) + c2 * t
    low, high = noise_cell
    cell = torch.full((n,), low) if low == high else low * (high / low) ** rand(n)
    grid = (size / cell).long().clamp(min=1)  # blobs across the side
    blobs = torch.empty(n, 3, size, size)
    for k in grid.unique().tolist():
        same = grid == k
        coarse = rand(int(same.sum()), 3, k, k)
        blobs[same] = F.interpolate(coarse, size=(size, size), mode="bilinear")
    noise = c1 + (blobs - 0.5) * 0.8 + (rand(n, 3, size, size) - 0.5) * 0.25
    clutter = gradient.clone()
    for _ in range(6):  # random rectangles, like the panels and objects of a screenshot
        x0, y0 = rand(n, 1, 1, 1) * 2 - 1.2, rand(n, 1, 1, 1) * 2 - 1.2
        w, h = rand(n, 1, 1, 1) * 0.9 + 0.1, rand(n, 1, 1, 1) * 0.9 + 0.1
        inside = (xs >= x0) & (xs < x0 + w) & (ys >= y0) & (ys < y0 + h)
        clutter = torch.where(inside, rand(n, 3, 1, 1), clutter)
    kinds = torch.stack(
        [torch.ones_like(gradient), c1.expand_as(gradient), gradient, noise, clutter]
    )
    choice = torch.multinomial(torch.full((len(BACKGROUNDS),), 0.2), n, True, generator=g)
    return kinds[choice, torch.arange(n)].clamp(0, 1), choice


def _random_affine(
    x: torch.Tensor, g: torch.Generator, post_share: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale (the subject fills 55-105% of the frame, or ``CROP_SHARE`` of the images cropped:
    ``CROP_SCALE``), shift, small rotation, horizontal flip;
    ``post_share`` of the images framed instead as a post is (``_post_framing``), upright.
    Returns the images and each one's canvas half-extents (x, y) in [-1, 1] units."""
    n = len(x)
    scale = torch.empty(n).uniform_(0.55, 1.05, generator=g)
    crop = torch.rand(n, generator=g) < CROP_SHARE
    scale[crop] = torch.empty(int(crop.sum())).uniform_(*CROP_SCALE, generator=g)
    angle = torch.empty(n).uniform_(-12, 12, generator=g) * math.pi / 180
    flip = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    shift = torch.empty(n, 2).uniform_(-1, 1, generator=g) * (1.05 - scale).unsqueeze(1)
    canvas = torch.full((n, 2), math.inf)
    post = torch.rand(n, generator=g) < post_share
    if post.any():
        scale[post], centre, canvas[post] = _post_framing(int(post.sum()), g)
        angle[post] = 0  # upright, and so inside its canvas
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    matrix = torch.stack([torch.stack([cos * flip, -sin], 1), torch.stack([sin * flip, cos], 1)], 1)
    if post.any():  # the subject's centre (input 0) lands on ``centre``: input = A @ output + t
        shift[post] = -(matrix[post] @ centre.unsqueeze(2)).squeeze(2)
    theta = torch.cat([matrix, shift.unsqueeze(2)], 2)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    moved = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return moved, canvas


def _post_framing(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """How a post with a busy background reaches the network: the whole picture, of aspect up to
    16:9, framed like a sprite (a 4% margin, then ``VIEW_SCALE``), the subject spanning
    ``POST_SUBJECT_SHARE`` of its shorter side anywhere on it (as ``model.evaluate.make_post``
    draws them). Returns the subject's scale (of the stored framing), its centre and the canvas
    half-extents."""
    long = VIEW_SCALE / (1 + 2 * MARGIN)
    aspect = torch.empty(n).uniform_(1, 16 / 9, generator=g)
    wide = torch.rand(n, generator=g) < 0.5
    canvas = torch.stack(
        [torch.where(wide, long, long / aspect), torch.where(wide, long / aspect, long)], 1
    )
    content = torch.empty(n).uniform_(*POST_SUBJECT_SHARE, generator=g) * canvas.min(1).values
    room = (canvas - content.unsqueeze(1)).clamp(min=0)
    centre = (torch.rand(n, 2, generator=g) * 2 - 1) * room
    return content * (1 + 2 * MARGIN), centre, canvas


def _pixelate(x: torch.Tensor, mask: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Blocky upscaling, as when a small sprite is posted enlarged."""
    size = x.shape[-1]
    factor = int(torch.randint(2, 4, (1,), generator=g))
    small = F.interpolate(x[mask], size=(size // factor, size // factor), mode="area")
    x[mask] = F.interpolate(small, size=(size, size), mode="nearest")
    return x


def _downscale(rgb: torch.Tensor, mask: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Smooth loss of detail, as when a picture is posted small and shown enlarged."""
    size = rgb.shape[-1]
    small = round(size / float(torch.empty(1).uniform_(1.5, 4, generator=g)))
    reduced = F.interpolate(rgb[mask], size=(small, small), mode="area")
    rgb[mask] = F.interpolate(reduced, size=(size, size), mode="bilinear", align_corners=False)
    return rgb.clamp_(0, 1)


def _jpeg(rgb: torch.Tensor, mask: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """JPEG compression artefacts, at a random quality, on the masked images."""
    for i in mask.nonzero().flatten().tolist():
        quality = int(torch.randint(20, 90, (1,), generator=g))
        pixels = (rgb[i] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
        decoded = np.asarray(Image.open(buffer).convert("RGB"), dtype=np.float32) / 255
        rgb[i] = torch.from_numpy(decoded).permute(2, 0, 1)
    return rgb


def normalize(rgb: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(MEAN, device=rgb.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=rgb.device).view(1, 3, 1, 1)
    return (rgb - mean) / std


def to_float(rgba_uint8: torch.Tensor | np.ndarray, size: int, scale: float = 1.0) -> torch.Tensor:
    """uint8 [B, S, S, 4] -> float [B, 4, size, size] in 0..1, alpha premultiplied, resized;
    ``scale`` < 1 shrinks the picture inside a transparent border (``model_input``'s view,
    in torch for whole training batches)."""
    x = torch.tensor(np.asarray(rgba_uint8)).permute(0, 3, 1, 2).float().div_(255)
    x = torch.cat([x[:, :3] * x[:, 3:], x[:, 3:]], 1)  # premultiply so edges resize cleanly
    inner = round(size * scale)
    if x.shape[-1] != inner:
        x = F.interpolate(
            x, size=(inner, inner), mode="bilinear", antialias=True, align_corners=False
        )
    border = size - inner
    return F.pad(x, (border // 2, border - border // 2) * 2)


def composite(premultiplied: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
    """Premultiplied RGBA over an RGB background -> RGB."""
    alpha = premultiplied[:, 3:].clamp(0, 1)
    return (premultiplied[:, :3] + background * (1 - alpha)).clamp(0, 1)


def augment(
    rgba_uint8: np.ndarray | torch.Tensor,
    size: int,
    g: torch.Generator,
    post_share: float = POST_SHARE,
    noise_cell: tuple[float, float] = TRAIN_NOISE_CELL,
) -> torch.Tensor:
    """The training view of a batch: framing, backgrounds and artefacts vary; hues never do."""
    n = len(rgba_uint8)
    x, canvas = _random_affine(to_float(rgba_uint8, size), g, post_share)
    x = _pixelate(x, torch.rand(n, generator=g) < 0.15, g)
    backgrounds, _ = random_backgrounds(n, size, g, noise_cell)
    rgb = composite(x, backgrounds)
    centres = torch.linspace(-1 + 1 / size, 1 - 1 / size, size)
    outside = (centres.abs().view(1, 1, size) > canvas[:, 0].view(n, 1, 1)) | (
        centres.abs().view(1, size, 1) > canvas[:, 1].view(n, 1, 1)
    )
    rgb = torch.where(outside.unsqueeze(1), 1.0, rgb)  # a post's letterbox is white, as predicted
    # brightness and contrast move a little; hue and saturation are left alone (colour is type)
    contrast = torch.empty(n, 1, 1, 1).uniform_(0.85, 1.15, generator=g)
    brightness = torch.empty(n, 1, 1, 1).uniform_(-0.08, 0.08, generator=g)
    mean = rgb.mean((1, 2, 3), keepdim=True)
    rgb = ((rgb - mean) * contrast + mean + brightness).clamp(0, 1)
    blur = torch.rand(n, generator=g) < 0.15
    if blur.any():
        sigma = float(torch.empty(1).uniform_(0.4, 1.2, generator=g))
        rgb[blur] = gaussian_blur(rgb[blur], kernel_size=[5, 5], sigma=[sigma, sigma])
    downscale = torch.rand(n, generator=g) < 0.15
    if downscale.any():
        rgb = _downscale(rgb, downscale, g)
    rgb = _jpeg(rgb, torch.rand(n, generator=g) < 0.25, g)
    return normalize(rgb)
