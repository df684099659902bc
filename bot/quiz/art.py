"""Full-colour art of a species for a round: from the local sprite data, else downloaded once
from PokeAPI into an on-disk cache."""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path

import aiohttp
from PIL import Image

from model.data.sources import (
    POKEAPI_BASE_URL,
    POKEAPI_KINDS,
    atomic_write,
    gen5_front,
    pokeapi_file,
)

log = logging.getLogger(__name__)


class ArtUnavailable(Exception):
    """No art on disk and none could be downloaded."""


def local_candidates(data_dir: Path, num: int) -> list[Path]:
    """Where the data commands put art of ``num``, best first."""
    return [
        pokeapi_file(data_dir, "official-artwork", num),
        pokeapi_file(data_dir, "home", num),
        gen5_front(data_dir, num),
        pokeapi_file(data_dir, "default", num),
    ]


class ArtSource:
    def __init__(
        self,
        data_dir: Path,
        cache_dir: Path,
        session: aiohttp.ClientSession,
        base_url: str = POKEAPI_BASE_URL,
    ):
        self.data_dir, self.cache_dir = data_dir, cache_dir
        self.session, self.base_url = session, base_url.rstrip("/") + "/"

    async def art(self, num: int) -> Image.Image:
        for path in [*local_candidates(self.data_dir, num), self.cache_dir / f"{num}.png"]:
            if path.exists():
                try:
                    return await asyncio.to_thread(_open, path)
                except OSError as exc:
                    log.warning("unreadable art %s: %s", path, exc)
        data = await self._download(num)
        try:
            return await asyncio.to_thread(_open, data)
        except OSError as exc:
            raise ArtUnavailable(f"the downloaded art of #{num} is not an image") from exc

    async def _download(self, num: int) -> bytes:
        url = self.base_url + POKEAPI_KINDS["official-artwork"].format(num=num)
        try:
            async with asyncio.timeout(20), self.session.get(url) as resp:
                if resp.status != 200:
                    raise ArtUnavailable(f"HTTP {resp.status} for {url}")
                data = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ArtUnavailable(f"could not download {url}: {exc}") from exc
        try:  # the cache saves a download next time; a full disk costs only that
            await asyncio.to_thread(atomic_write, self.cache_dir / f"{num}.png", data)
        except OSError as exc:
            log.warning("could not cache the art of #%d: %s", num, exc)
        return data


def _open(source: Path | bytes) -> Image.Image:
    """Read (a file: in the worker thread that calls this) and decode the first frame, RGBA."""
    data = source.read_bytes() if isinstance(source, Path) else source
    with Image.open(io.BytesIO(data)) as img:
        img.seek(0)
        return img.convert("RGBA")
