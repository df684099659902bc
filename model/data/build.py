"""Turn whatever sprite sources are in the data directory into one training-ready dataset.

Output, in ``<data>/dataset/``:
    images.npy     uint8 [N, size, size, 4]: RGBA, cropped to content, padded square, resized
    index.csv      one row per image: species, types, family, source, style, file, frame
    manifest.json  sources found, counts per source and per type, skipped files, timings

Each source file is one *group* (``file``): the frames of one GIF belong together, so that
evaluation can average them and a split never separates them.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence

from model import pokedex
from model.data.sources import FEEDBACK_DIR, GEN5_DIR, NPM_PACKAGES, POKEAPI_KINDS, npm_package_dir
from model.images import evenly_spaced, prepare_sprite

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
INDEX_FIELDS = ("num", "name", "type1", "type2", "family", "source", "style", "file", "frame")
DREAM_WORLD_DIR = "package/sprites/pokemon/other/dream-world"
GEN5_VARIANTS = {"": "gen5-front", "back": "gen5-back", "shiny": "gen5-shiny",
                 "back/shiny": "gen5-back-shiny"}  # fmt: skip
BOX_VARIANTS = {"regular": "box", "shiny": "box-shiny"}


@dataclass(frozen=True)
class SourceFile:
    path: Path
    num: int
    source: str  # fine-grained: gen5-back-shiny, box-shiny, official-artwork...
    style: str  # the art style, for hold-outs by style: gen5, dream-world, box, ...
    pixel_art: bool


def discover(root: Path) -> list[SourceFile]:
    """Every usable source file under ``root``: base forms of species 1..1025 only."""
    found: list[SourceFile] = []
    sprites = npm_package_dir(root, NPM_PACKAGES[0])
    for sub, source in GEN5_VARIANTS.items():
        found += _numbered(sprites / GEN5_DIR / sub, "*.gif", source, "gen5", pixel_art=True)
    found += _numbered(sprites / DREAM_WORLD_DIR, "*.svg", "dream-world", "dream-world", False)

    box = npm_package_dir(root, NPM_PACKAGES[1]) / "package"
    if (box / "data" / "pokemon.json").exists():
        slugs = json.loads((box / "data" / "pokemon.json").read_text("utf-8"))
        for folder, source in BOX_VARIANTS.items():
            for key, entry in slugs.items():
                path = box / "pokemon-gen8" / folder / f"{entry['slug']['eng']}.png"
                if path.exists():
                    found.append(SourceFile(path, int(key), source, "box", pixel_art=True))

    for kind in POKEAPI_KINDS:
        style = f"pokeapi-{kind}" if kind == "default" else kind
        found += _numbered(root / "pokeapi" / kind, "*.png", style, style, kind == "default")
    return found + _feedback(root / FEEDBACK_DIR)


def _feedback(folder: Path) -> list[SourceFile]:
    """Pictures named in chat (``data import-feedback``): ``feedback/{num}/{time}-{hash}.ext``."""
    if not folder.is_dir():
        return []
    return [
        SourceFile(path, int(path.parent.name), "feedback", "feedback", pixel_art=False)
        for path in sorted(folder.glob("*/*"))
        if path.parent.name.isdigit() and 1 <= int(path.parent.name) <= pokedex.LAST_NUMBER
    ]


def _numbered(folder: Path, pattern: str, source: str, style: str, pixel_art: bool):
    """Files named ``{num}.ext`` (forms such as ``201-a`` are skipped: their types differ)."""
    if not folder.is_dir():
        return []
    files = [p for p in folder.glob(pattern) if p.stem.isdigit()]
    return [
        SourceFile(p, int(p.stem), source, style, pixel_art)
        for p in sorted(files, key=lambda p: int(p.stem))
        if 1 <= int(p.stem) <= pokedex.LAST_NUMBER
    ]


def load_frames(path: Path, max_frames: int, render_px: int) -> list[Image.Image]:
    """Decode a source file: up to ``max_frames`` evenly spaced frames of a GIF, SVGs rendered."""
    if path.suffix == ".svg":
        import cairosvg  # a training-only dependency (the `train` extra)

        return [Image.open(io.BytesIO(cairosvg.svg2png(url=str(path), output_width=render_px)))]
    with Image.open(path) as img:
        wanted = set(evenly_spaced(getattr(img, "n_frames", 1), max_frames))
        frames = [
            f.convert("RGBA") for i, f in enumerate(ImageSequence.Iterator(img)) if i in wanted
        ]
    return frames


def process_file(
    src: SourceFile, size: int, max_frames: int
) -> tuple[list[tuple[int, np.ndarray]], str | None]:
    """One source file -> (list of (frame index, RGBA array)), error message or None)."""
    try:
        frames = load_frames(src.path, max_frames, render_px=2 * size)
        out = []
        for i, frame in enumerate(frames):
            prepared = prepare_sprite(frame, size, src.pixel_art)
            if prepared is not None:
                out.append((i, np.asarray(prepared, dtype=np.uint8)))
        return out, None if out else "no visible pixels"
    except Exception as exc:  # a corrupt file is reported and skipped, never fatal
        return [], f"{type(exc).__name__}: {exc}"


def _process_star(args: tuple[SourceFile, int, int]):
    return process_file(*args)


@dataclass
class BuildResult:
    out_dir: Path
    count: int
    per_source: Counter
    per_type: Counter
    skipped: list[dict[str, str]]
    seconds: float
    generations: dict[str, dict]  # the manifest's: species, and images per style


def build(
    root: Path,
    out_dir: Path | None = None,
    size: int = 128,
    max_frames: int = 8,
    workers: int | None = None,
    progress: bool = True,
) -> BuildResult:
    """Build ``<root>/dataset`` from the sources present; returns counts for the summary."""
    started = time.perf_counter()
    out_dir = out_dir or root / "dataset"
    dex = pokedex.load()
    sources = discover(root)
    if not sources:
        raise FileNotFoundError(
            f"no sprite sources under {root}: run `python -m model data fetch` first"
        )
    tmp_dir = out_dir.with_name(f".{out_dir.name}.partial")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir(parents=True)

    raw_path = tmp_dir / "images.raw"
    with raw_path.open("wb") as raw:
        rows, skipped = _write_frames(sources, root, raw, size, max_frames, workers, progress)
    _raw_to_npy(raw_path, tmp_dir / "images.npy", (len(rows), size, size, 4))
    with (tmp_dir / "index.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=INDEX_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    seconds = time.perf_counter() - started
    manifest = build_manifest(rows, skipped, size, max_frames, seconds, dex)
    (tmp_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp_dir, out_dir)
    per_source, per_type = _source_and_type_counts(rows)
    return BuildResult(
        out_dir, len(rows), per_source, per_type, skipped, seconds, manifest["generations"]
    )


def _write_frames(
    sources: list, root: Path, raw, size: int, max_frames: int, workers: int | None,
    progress: bool,
) -> tuple[list[dict], list[dict[str, str]]]:  # fmt: skip
    """Every source file's frames, framed, appended to ``raw``: (their index rows, the files
    skipped and why)."""
    from tqdm import tqdm

    dex = pokedex.load()
    rows: list[dict] = []
    skipped: list[dict[str, str]] = []
    framed = _map(sources, size, max_frames, workers)
    with tqdm(total=len(sources), desc="build", unit="file", disable=not progress) as bar:
        for src, (frames, error) in zip(sources, framed, strict=True):
            bar.update()
            rel = str(src.path.relative_to(root))
            if error:
                log.warning("skipped %s: %s", rel, error)
                skipped.append({"file": rel, "error": error})
                continue
            species = dex[src.num]
            for frame, pixels in frames:
                raw.write(pixels.tobytes())
                rows.append({
                    "num": src.num, "name": species.name, "type1": species.types[0],
                    "type2": species.types[1] if len(species.types) > 1 else "",
                    "family": species.family, "source": src.source, "style": src.style,
                    "file": rel, "frame": frame,
                })  # fmt: skip
    return rows, skipped


def _source_and_type_counts(rows: list[dict]) -> tuple[Counter, Counter]:
    per_source = Counter(r["source"] for r in rows)
    per_type = Counter(t for r in rows for t in (r["type1"], r["type2"]) if t)
    return per_source, per_type


def build_manifest(
    rows: list[dict], skipped: list, size: int, max_frames: int, seconds: float, dex
) -> dict:
    """What the dataset holds: counts per source, type, style and generation; what was skipped."""
    per_source, per_type = _source_and_type_counts(rows)
    return {
        "format_version": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "size": size,
        "max_frames": max_frames,
        "count": len(rows),
        "species": len({r["num"] for r in rows}),
        "sources": {
            s: {"images": n, "files": len({r["file"] for r in rows if r["source"] == s})}
            for s, n in sorted(per_source.items())
        },
        "types": dict(sorted(per_type.items())),
        "styles": _counts(rows, "style"),
        "generations": {
            str(gen): {"species": len({r["num"] for r in group}), "styles": _counts(group, "style")}
            for gen, group in _groups(rows, lambda r: dex[int(r["num"])].generation)
        },
        "skipped": skipped,
        "inputs": sorted({"/".join(Path(r["file"]).parts[:2]) for r in rows}),
        "build_seconds": round(seconds, 1),
        "files": {"images": "images.npy", "index": "index.csv"},
    }


def _groups(rows: list[dict], key) -> list[tuple[object, list[dict]]]:
    """``rows`` grouped by ``key(row)``, in the keys' order."""
    out: dict[object, list[dict]] = {}
    for row in rows:
        out.setdefault(key(row), []).append(row)
    return sorted(out.items())


def _counts(rows: list[dict], field: str) -> dict[str, dict[str, int]]:
    """Images, files and species of ``rows`` per value of ``field`` (a style, a source)."""
    return {
        value: {
            "images": len(group),
            "files": len({r["file"] for r in group}),
            "species": len({r["num"] for r in group}),
        }
        for value, group in _groups(rows, lambda r: r[field])
    }


def _map(
    sources: list[SourceFile], size: int, max_frames: int, workers: int | None
) -> Iterator[tuple[list[tuple[int, np.ndarray]], str | None]]:
    """Process files in order, on ``workers`` processes (1: in this process)."""
    workers = workers or os.cpu_count() or 1
    tasks = ((s, size, max_frames) for s in sources)
    if workers == 1:
        yield from map(_process_star, tasks)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(_process_star, tasks, chunksize=16)


def _raw_to_npy(raw_path: Path, npy_path: Path, shape: tuple[int, ...]) -> None:
    """Prefix the streamed pixel bytes with a .npy header (streamed: never all in memory)."""
    with npy_path.open("wb") as out, raw_path.open("rb") as raw:
        header = {"descr": "|u1", "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_2_0(out, header)
        shutil.copyfileobj(raw, out, length=16 << 20)
    raw_path.unlink()


def summary_table(result: BuildResult) -> str:
    """The table printed after a build: images per source and per type, skipped, time."""
    lines = [f"{'source':<24}{'images':>8}"]
    lines += [f"{s:<24}{n:>8}" for s, n in sorted(result.per_source.items())]
    lines += [f"{'total':<24}{result.count:>8}", ""]
    styles = sorted({s for gen in result.generations.values() for s in gen["styles"]})
    lines += [f"{'generation':<12}{'species':>8}" + "".join(f"{s:>18}" for s in styles)]
    for gen, counts in result.generations.items():
        cells = "".join(f"{counts['styles'].get(s, {}).get('images', 0):>18}" for s in styles)
        lines.append(f"{gen:<12}{counts['species']:>8}{cells}")
    lines += ["", f"{'type':<24}{'images':>8}"]
    lines += [f"{t:<24}{result.per_type.get(t, 0):>8}" for t in pokedex.TYPES]
    lines += [
        "",
        f"skipped files: {len(result.skipped)}",
        f"built {result.count} images in {result.seconds:.1f} s -> {result.out_dir}",
    ]
    return "\n".join(lines)


@dataclass
class BuiltDataset:
    images: np.ndarray  # uint8 [N, size, size, 4], memory-mapped
    rows: list[dict[str, str]]
    manifest: dict


def read_dataset(out_dir: Path) -> BuiltDataset:
    """Open a dataset written by ``build`` (images memory-mapped, not read into memory)."""
    manifest = json.loads((out_dir / "manifest.json").read_text("utf-8"))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{out_dir}: dataset format {manifest.get('format_version')}, "
            f"expected {FORMAT_VERSION}: rebuild with `python -m model data build`"
        )
    images = np.load(out_dir / "images.npy", mmap_mode="r")
    with (out_dir / "index.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != len(images):
        raise ValueError(f"{out_dir}: {len(images)} images but {len(rows)} index rows")
    return BuiltDataset(images, rows, manifest)
