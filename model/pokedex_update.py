"""Regenerate ``model/pokedex.csv`` from the npm packages ``@pkmn/dex`` and ``pokesprite-images``.

    python -m model.pokedex_update            # needs Node.js and npm

``@pkmn/dex`` gives numbers, English names, current types (Fairy included), generations and the
``prevo`` chain (a family's root is the end of that chain); ``pokesprite-images`` gives the
Japanese, romaji and Chinese names (species 1..905).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import tempfile
import unicodedata
from pathlib import Path

from model.data.fetch import FetchError, fetch_npm_package
from model.pokedex import CSV_PATH, FIELDS, LAST_NUMBER

DEX_PACKAGE = "@pkmn/dex@0.10.11"
NAMES_PACKAGE = "pokesprite-images@2.7.0"
# Showdown's data spells these two the way its battle syntax needs; the games write the symbols.
GAME_SPELLING = {"Nidoran-F": "Nidoran♀", "Nidoran-M": "Nidoran♂"}

# Prints every base species (no forme) as JSON; argv[1] is the path to @pkmn/dex's build.
DUMP_SPECIES_JS = r"""
const {Dex} = require(process.argv[1]);
const familyRoot = (s) => { while (s.prevo) s = Dex.species.get(s.prevo); return s.num; };
const rows = Dex.species.all()
  .filter((s) => s.num >= 1 && !s.forme)
  .map((s) => ({num: s.num, name: s.name, types: s.types, gen: s.gen, family: familyRoot(s)}));
process.stdout.write(JSON.stringify(rows));
"""


def load_species(dex_dir: Path) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        raise FetchError("node was not found: install Node.js to regenerate the Pokédex table.")
    entry = dex_dir / "package" / "build" / "index.js"
    out = subprocess.run(
        [node, "-e", DUMP_SPECIES_JS, str(entry)], capture_output=True, text=True, check=True
    )
    return sorted(
        (s for s in json.loads(out.stdout) if s["num"] <= LAST_NUMBER), key=lambda s: s["num"]
    )


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def build_rows(species: list[dict], names: dict[str, dict]) -> list[dict[str, str | int]]:
    rows = []
    for s in species:
        other = names.get(f"{s['num']:03d}", {}).get("name", {})
        types = [*s["types"], ""][:2]
        rows.append(
            {
                "num": s["num"],
                "name": _nfc(GAME_SPELLING.get(s["name"], s["name"])),
                "name_ja": _nfc(other.get("jpn", "")),
                "name_ja_romaji": _nfc(other.get("jpn_ro", "")),
                "name_zh": _nfc(other.get("chs", "")),
                "type1": types[0],
                "type2": types[1],
                "generation": s["gen"],
                "family": s["family"],
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, default=CSV_PATH)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        dex_dir, _ = fetch_npm_package(DEX_PACKAGE, Path(tmp))
        names_dir, _ = fetch_npm_package(NAMES_PACKAGE, Path(tmp))
        species = load_species(dex_dir)
        names = json.loads((names_dir / "package" / "data" / "pokemon.json").read_text("utf-8"))
    rows = build_rows(species, names)
    with args.out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} species to {args.out}")


if __name__ == "__main__":
    main()
