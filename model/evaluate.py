"""Evaluation on the test part (or with ``--part val`` the validation part) of the split a
checkpoint was trained on.

    python -m model evaluate runs/family.pt --baseline runs/family-net2017.pt -o reports/family

Writes ``report.json`` (every number), ``report.md`` (the tables), ``confusion.png`` (the
row-normalised 18x18 confusion of primary types, per species) beside the two baselines:
always-Water, and the 2017 network trained on the same split by the same code (``--baseline``).

``--posts`` first turns every test image into a synthetic post (``make_post``: the sprite
scaled onto a background, saved as PNG or JPEG) and reads it back the way the bot does
(``Predictor.prepare``, then its views of a busy picture pooled, ``pool_views``): the measure
for images as people post them.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from model import checkpoint, pokedex
from model.dataset import (
    BACKGROUNDS,
    FEEDBACK_STYLE,
    POST_SUBJECT_SHARE,
    Labels,
    SplitData,
    load_split,
    random_backgrounds,
)
from model.images import crop_to_content
from model.metrics import (
    confusion,
    group_mean,
    naming,
    naming_curve,
    per_type_precision_recall,
    scores,
)
from model.predict import BUSY_CONFIDENCE, SPECIES_CONFIDENCE, Predictor, pool_views
from model.preprocess import model_input

WATER = pokedex.TYPES.index("Water")
TYPE_METRICS = ("primary_top1", "any_type_top1", "primary_top3", "exact_type_set", "macro_recall")
SPECIES_METRICS = ("species_top1", "species_top5")
PART_NAMES = {"test": "test", "val": "validation"}


@torch.inference_mode()
def predict_indices(
    model,
    data: SplitData,
    indices: np.ndarray,
    size: int,
    flip: bool = True,
    batch: int = 256,
    device: torch.device | str = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """(type probabilities, species probabilities); ``flip`` averages with the mirror image."""
    model.eval()
    types, species = [], []
    for start in range(0, len(indices), batch):
        x = torch.from_numpy(model_input(data.images[indices[start : start + batch]], size))
        x = x.to(device)
        views = [x, torch.flip(x, dims=[3])] if flip else [x]
        outputs = [model(v) for v in views]
        types.append(torch.stack([torch.sigmoid(t) for t, _ in outputs]).mean(0).cpu().numpy())
        species.append(torch.stack([torch.softmax(s, 1) for _, s in outputs]).mean(0).cpu().numpy())
    return np.concatenate(types), np.concatenate(species)


def make_post(
    rgba: np.ndarray,
    rng: np.random.Generator,
    subject_share: tuple[float, float] = POST_SUBJECT_SHARE,
) -> tuple[bytes, str]:
    """A sprite (uint8 [S, S, 4]) as someone might post it: scaled (blocky or smooth) so that it
    spans ``subject_share`` (by default 50-95%) of the shorter side of a 160-480 px canvas of
    aspect up to 16:9, placed anywhere on it, over a white, solid, gradient, noise or cluttered
    background; saved as PNG or as JPEG of quality 50-95. Returns the file and the background's
    kind (one of ``BACKGROUNDS``)."""
    sprite = crop_to_content(Image.fromarray(np.ascontiguousarray(rgba), "RGBA"))
    short = int(rng.integers(160, 481))
    long = int(short * rng.uniform(1.0, 16 / 9))
    width, height = (long, short) if rng.random() < 0.5 else (short, long)
    scale = short * rng.uniform(*subject_share) / max(sprite.size)
    size = (max(1, round(sprite.width * scale)), max(1, round(sprite.height * scale)))
    resample = Image.Resampling.NEAREST if rng.random() < 0.5 else Image.Resampling.LANCZOS
    sprite = sprite.resize(size, resample)
    g = torch.Generator().manual_seed(int(rng.integers(2**62)))
    backgrounds, kind = random_backgrounds(1, max(width, height), g)
    background = backgrounds[0, :, :height, :width]
    canvas = Image.fromarray(
        (background.permute(1, 2, 0) * 255).round().to(torch.uint8).numpy(), "RGB"
    )
    at = (int(rng.integers(0, width - size[0] + 1)), int(rng.integers(0, height - size[1] + 1)))
    canvas.paste(sprite, at, sprite)
    out = io.BytesIO()
    if rng.random() < 0.5:
        canvas.save(out, "JPEG", quality=int(rng.integers(50, 96)))
    else:
        canvas.save(out, "PNG")
    return out.getvalue(), BACKGROUNDS[int(kind[0])]


def as_posts(
    data: SplitData,
    indices: np.ndarray,
    subject_share: tuple[float, float] = POST_SUBJECT_SHARE,
    seed: int = 0,
) -> tuple[SplitData, np.ndarray]:
    """The images ``indices`` as synthetic posts read back by the bot's framing step, the same
    posts every run of a ``seed``: a SplitData of every view of every post
    (``Predictor.prepare``), in order, whose test part is each post's first view
    (``predict_posts`` reads them), and each post's background kind."""
    rng = np.random.default_rng(seed)
    posts = [make_post(data.images[i], rng, subject_share) for i in indices]
    backgrounds = np.array([kind for _, kind in posts])
    return as_read(data, indices, [post for post, _ in posts]), backgrounds


def as_read(data: SplitData, indices: np.ndarray, pictures: list[bytes]) -> SplitData:
    """``pictures`` (the files of the images ``indices``) read back by the bot's framing step:
    a SplitData of every view of every picture (``Predictor.prepare``), in order, whose test
    part is each picture's first view (``predict_posts`` reads them)."""
    views = [Predictor.prepare(picture).pixels for picture in pictures]
    rows = np.repeat(np.asarray(indices), [len(v) for v in views])
    labels = Labels(**{f.name: getattr(data.labels, f.name)[rows] for f in fields(Labels)})
    first = np.cumsum([0] + [len(v) for v in views[:-1]])
    return SplitData(np.concatenate(views), labels, {"test": first})


def feedback_pictures(info: dict, data: SplitData, root: Path) -> tuple[np.ndarray, list[bytes]]:
    """The pictures named in chat that the checkpoint never trained on, one row per file: all
    of them for a checkpoint trained before there were any, else its split's test part (for
    split "all", the newest). Raises ValueError when there are none."""
    trained = checkpoint.trained_on_style(info["meta"], FEEDBACK_STYLE)
    pool = data.parts["test"] if trained else np.concatenate(list(data.parts.values()))
    pool = pool[data.labels.style[pool] == FEEDBACK_STYLE]
    _, first = np.unique(data.labels.file[pool], return_index=True)
    indices = np.sort(pool[first])
    if not len(indices):
        raise ValueError(
            "no pictures named in chat to test on: import a /feedback export with "
            "`python -m model data import-feedback EXPORT.zip`"
            + (" (this checkpoint trained on the others)" if trained else "")
        )
    return indices, [(root / data.labels.file[i]).read_bytes() for i in indices]


def views_per_post(posts: SplitData) -> np.ndarray:
    """How many views each post of ``as_posts`` is read through (1: a plain picture)."""
    return np.diff([*posts.parts["test"], len(posts.images)])


def predict_posts(
    model, posts: SplitData, size: int, flip: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Each post of ``as_posts`` read as the bot reads it: its views pooled."""
    type_p, species_p = predict_indices(model, posts, np.arange(len(posts.images)), size, flip)
    cuts = posts.parts["test"][1:]  # where each post's views begin
    views = zip(np.split(type_p, cuts), np.split(species_p, cuts), strict=True)
    pooled = [pool_views(t, s) for t, s in views]
    return np.stack([t for t, _ in pooled]), np.stack([s for _, s in pooled])


@dataclass
class Reading:
    """The images one evaluation reads, and how: as files or as posts, flipped or not."""

    data: SplitData
    indices: np.ndarray  # the rows of ``data`` scored (with posts: each post's first view)
    species: list[int]  # the checkpoint's species list
    species_known: bool  # split "all": every test species was trained on
    posts: bool
    flip: bool
    backgrounds: np.ndarray | None  # with posts: each post's background kind

    def predictions(self, net, size: int) -> tuple[np.ndarray, np.ndarray]:
        if self.posts:
            return predict_posts(net, self.data, size, self.flip)
        return predict_indices(net, self.data, self.indices, size, self.flip)

    def scores(self, type_p, species_p, threshold, has_species_head: bool = True) -> dict:
        """Per species and per image; species metrics only where species are known."""
        out = {}
        keep = TYPE_METRICS + (SPECIES_METRICS if self.species_known and has_species_head else ())
        both = scores(type_p, species_p, self.data.labels, self.indices, self.species, threshold)
        for name, m in both.items():
            out[name] = {k: m[k] for k in keep}
        return out


def read_images(
    info: dict, dataset_dir: Path, part: str, style: str | None, posts: bool,
    subject_share: tuple[float, float], post_seed: int, flip: bool, feedback: bool = False,
    max_species: int | None = None,
) -> tuple[Reading, int]:  # fmt: skip
    """(what to read, how many of its images were trained on), of species 1..``max_species``
    within those the checkpoint trained on."""
    cfg = info["meta"]["config"]
    limits = [n for n in (checkpoint.species_limit(cfg), max_species) if n]
    data = load_split(dataset_dir, cfg["split"], cfg["holdout_style"], min(limits, default=None))
    known = cfg["split"] == "all"  # hold-out test species were never trained on
    if feedback:  # the files as posted, read as the bot reads them
        indices, pictures = feedback_pictures(info, data, dataset_dir.parent)
        read = as_read(data, indices, pictures)
        return Reading(read, read.parts["test"], info["species"], known, True, flip, None), 0
    indices = data.parts[part]
    if style:
        every = np.concatenate(list(data.parts.values()))
        indices = np.sort(every[data.labels.style[every] == style])
    trained = int(np.isin(indices, data.parts["train"]).sum())
    if style and not checkpoint.trained_on_style(info["meta"], style):
        trained = 0  # a checkpoint trained before the dataset had this style
    backgrounds = None
    if posts:
        data, backgrounds = as_posts(data, indices, subject_share, post_seed)
        indices = data.parts["test"]
    return Reading(data, indices, info["species"], known, posts, flip, backgrounds), trained


def evaluate(
    checkpoint_path: Path,
    dataset_dir: Path,
    baseline_path: Path | None = None,
    flip: bool = True,
    posts: bool = False,
    subject_share: tuple[float, float] = POST_SUBJECT_SHARE,
    part: str = "test",
    style: str | None = None,
    post_seed: int = 0,
    feedback: bool = False,
    max_species: int | None = None,
) -> dict:
    """``part`` "val" reads the validation files, which choose between runs; "test" reports.
    ``style`` reads every image of that style instead, trained or not (the report says how
    many were trained): the way to read a style whose files training never holds out.
    ``feedback`` reads the pictures named in chat that the checkpoint never trained on, as
    posted, as the bot reads them (``feedback_pictures``). ``max_species`` reads species
    1..N only (a protocol over the whole Pokédex, on the old one's species)."""
    model, info = checkpoint.load(checkpoint_path)
    cfg = info["meta"]["config"]
    reading, trained = read_images(
        info, dataset_dir, part, style, posts, subject_share, post_seed, flip, feedback,
        max_species,
    )  # fmt: skip
    type_p, species_p = reading.predictions(model, info["input_size"])
    report = {
        "checkpoint": str(checkpoint_path),
        "split": cfg["split"],
        "holdout_style": cfg["holdout_style"],
        "part": part,
        "style": style,
        "feedback": feedback,
        "max_species": max_species,
        "trained_images": trained,
        "post_seed": post_seed if posts else None,
        "test_images": len(reading.indices),
        "test_species": len(np.unique(reading.data.labels.num[reading.indices])),
        "threshold": info["threshold"],
        "flip_averaged": flip,
        "posts": posts,
        "subject_share": list(subject_share) if posts else None,
        "train_meta": {
            k: info["meta"].get(k) for k in ("best_epoch", "seconds", "images_per_second")
        }
        | {"members": [m["path"] for m in info["meta"].get("members", [])]},  # an ensemble's
        "models": model_scores(reading, type_p, species_p, info, baseline_path),
    }
    return report | groups_and_naming(reading, type_p, species_p, info["threshold"])


def model_scores(
    reading: Reading, type_p, species_p, info: dict, baseline_path: Path | None
) -> dict:
    """The network's scores beside always-Water's and, with a baseline, the 2017 network's."""
    threshold = info["threshold"]
    water = np.zeros_like(type_p)
    water[:, WATER] = 1.0
    models = {
        "neuralmon": reading.scores(type_p, species_p, threshold),
        "always-Water": reading.scores(water, species_p, threshold, has_species_head=False),
    }
    if baseline_path:
        base_model, base_info = checkpoint.load(baseline_path)
        base_cfg, cfg = base_info["meta"]["config"], info["meta"]["config"]
        if (base_cfg["split"], base_cfg["holdout_style"]) != (cfg["split"], cfg["holdout_style"]):
            raise ValueError("the baseline was trained on another split")
        base_type, base_species = reading.predictions(base_model, base_info["input_size"])
        models["net2017"] = reading.scores(base_type, base_species, base_info["threshold"])
    return models


def groups_and_naming(reading: Reading, type_p, species_p, threshold: float) -> dict:
    """Naming at the bot's bars; scores per style, generation and background; the confusion
    of primary types per species."""
    labels, indices, species = reading.data.labels, reading.indices, reading.species
    nums = labels.num[indices]
    # a post read through several views is a busy picture, named at the busy bar
    busy = views_per_post(reading.data) > 1 if reading.posts else np.zeros(len(indices), bool)
    out = {}
    if reading.species_known:  # how often the bot would name the species, and rightly
        out["naming"] = {
            kind: naming(species_p[rows], nums[rows], species, bar)
            | {"curve": naming_curve(species_p[rows], nums[rows], species)}
            for kind, rows, bar in (
                ("plain", ~busy, SPECIES_CONFIDENCE),
                ("busy", busy, BUSY_CONFIDENCE),
            )
            if rows.any()
        }
    named = species_p.max(1) >= np.where(busy, BUSY_CONFIDENCE, SPECIES_CONFIDENCE)
    wrong = named & (np.asarray(species)[species_p.argmax(1)] != nums)
    scored = (type_p, species_p, named, wrong, threshold)
    styles = labels.style[indices]
    out["per_style"] = by_group(reading, *scored, styles, tuple(sorted(set(styles))))
    dex = pokedex.load()
    generations = np.array([dex[int(n)].generation for n in nums])
    out["per_generation"] = by_group(reading, *scored, generations, tuple(range(1, 10)))
    if reading.backgrounds is not None:
        out["per_background"] = by_group(reading, *scored, reading.backgrounds, BACKGROUNDS)
    nums, species_type_p = group_mean(nums, type_p)
    primary = np.array([pokedex.TYPES.index(dex[int(n)].types[0]) for n in nums])
    matrix = confusion(species_type_p, primary)
    out["confusion_per_species"] = matrix.tolist()
    out["per_type"] = per_type_precision_recall(matrix)
    return out


def by_group(
    reading: Reading, type_p, species_p, named, wrong, threshold: float,
    groups: np.ndarray, order: tuple,
) -> dict:  # fmt: skip
    """The images' scores within each group (a style, a generation, a post's background);
    with known species, the share named at the bot's bars and the share named wrongly."""
    out = {}
    for group in (g for g in order if g in groups):
        rows = groups == group
        args = (type_p[rows], species_p[rows], reading.data.labels, reading.indices[rows])
        out[str(group)] = {
            "images": int(rows.sum()),
            **scores(*args, reading.species, threshold),
        }
        if reading.species_known:
            out[str(group)] |= {
                "named": float(named[rows].mean()),
                "named_wrongly": float(wrong[rows].mean()),
            }
    return out


def _what_was_read(report: dict) -> str:
    if report.get("feedback"):
        return (
            f": pictures named in chat, never trained on, as posted: {report['test_species']}"
            " species,"
        )
    if report.get("style"):
        return (
            f": every `{report['style']}` image ({report['trained_images']} of them trained),"
            f" {report['test_species']} species,"
        )
    within = f" (of 1..{report['max_species']})" if report.get("max_species") else ""
    return f": {report['test_species']} {PART_NAMES[report['part']]} species{within},"


def markdown(report: dict) -> str:
    models = list(report["models"])
    lines = [
        f"Split `{report['split']}`"
        + (f", style `{report['holdout_style']}` held out" if report["holdout_style"] else "")
        + _what_was_read(report)
        + f" {report['test_images']} images"
        + (", flip-averaged" if report["flip_averaged"] else "")
        + (
            f", each shown as a synthetic post (draw {report['post_seed']})"
            if report.get("posts")
            else ""
        )
        + (
            " (the subject {:.0%}-{:.0%} of its shorter side)".format(*report["subject_share"])
            if report.get("subject_share")
            else ""
        )
        + ".",
        "",
        "| metric | " + " | ".join(f"{m} per species | {m} per image" for m in models) + " |",
        "| --- |" + " ---: | ---: |" * len(models),
    ]
    for metric in report["models"]["neuralmon"]["per_species"]:
        cells = []
        for m in models:
            for level in ("per_species", "per_image"):
                cells.append(_pct(report["models"][m][level].get(metric)))
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    if report.get("naming"):
        named = "; ".join(
            f"{kind} pictures (bar {n['bar']}): {_pct(n['named'])} of {n['images']},"
            f" {_pct(n['right'])} of them rightly"
            for kind, n in report["naming"].items()
        )
        lines += ["", f"Species named at the bot's bars, per image: {named}."]
    lines += _group_tables(report)
    lines += ["", "Per type (primary type, per species):", ""]
    lines += ["| type | precision | recall | species |", "| --- | ---: | ---: | ---: |"]
    for name, entry in report["per_type"].items():
        precision, recall = _pct(entry["precision"]), _pct(entry["recall"])
        lines.append(f"| {name} | {precision} | {recall} | {entry['support']} |")
    return "\n".join(lines) + "\n"


def _group_tables(report: dict) -> list[str]:
    """The per-style, per-generation and per-background tables of a report."""
    lines: list[str] = []
    keys = list(report["models"]["neuralmon"]["per_species"])
    naming_keys = ("named", "named_wrongly") if report.get("naming") else ()
    for group in ("style", "generation", "background"):
        if f"per_{group}" not in report:
            continue
        lines += ["", f"Per {group} (neuralmon; per species / per image; named: per image):", ""]
        lines += [
            f"| {group} | images | " + " | ".join(keys + list(naming_keys)) + " |",
            "| --- | ---: |" + " ---: |" * (len(keys) + len(naming_keys)),
        ]
        for name, entry in report[f"per_{group}"].items():
            cells = [
                f"{_pct(entry['per_species'][k])} / {_pct(entry['per_image'][k])}" for k in keys
            ] + [_pct(entry[k]) for k in naming_keys]
            lines.append(f"| {name} | {entry['images']} | " + " | ".join(cells) + " |")
    return lines


def _pct(value: float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    return f"{100 * value:.1f}%"


def plot_confusion(matrix: np.ndarray, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.asarray(matrix, dtype=float)
    normalised = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(8.5, 7.5))
    image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(18), pokedex.TYPES, rotation=60, ha="right")
    ax.set_yticks(range(18), pokedex.TYPES)
    ax.set_xlabel("predicted (arg-max type)")
    ax.set_ylabel("true primary type")
    ax.set_title(title)
    for i in range(18):
        for j in range(18):
            if counts[i, j]:
                color = "white" if normalised[i, j] > 0.5 else "black"
                ax.text(j, i, int(counts[i, j]), ha="center", va="center", fontsize=7, color=color)
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of the row")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(report: dict, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2))
    (out_dir / "report.md").write_text(markdown(report))
    title = (
        f"{report['split']}: primary type per {PART_NAMES[report['part']]} species (rows sum to 1)"
    )
    plot_confusion(np.array(report["confusion_per_species"]), out_dir / "confusion.png", title)
