"""Where a round's art comes from: official artwork first (the game's classic look), sprites
when the data directory has no artwork."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import numpy as np

from bot.quiz.art import ArtSource
from model.data.sources import gen5_front
from tests.synthetic import save_gif, save_png, sprite

ART_COLOUR = (250, 210, 40)


async def art_of(data: Path, num: int, tmp_path: Path):
    async with aiohttp.ClientSession() as session:
        # nothing listens on port 9: a download would fail, so what comes back is local
        source = ArtSource(data, tmp_path / "cache", session, base_url="http://127.0.0.1:9/")
        return await source.art(num)


def main_colour(img) -> tuple[int, ...]:
    pixels = np.asarray(img.convert("RGBA")).reshape(-1, 4)
    return tuple(np.median(pixels[pixels[:, 3] > 128][:, :3], axis=0).astype(int))


async def test_official_art_is_preferred_to_sprites(tmp_path):
    data = tmp_path / "data"
    save_png(
        data / "pokeapi/official-artwork/25.png", sprite((300, 300), (20, 20, 280, 280), ART_COLOUR)
    )
    gif = gen5_front(data, 25)
    save_gif(gif, color=(40, 120, 220))

    art = await art_of(data, 25, tmp_path)
    assert art.size == (300, 300) and main_colour(art) == ART_COLOUR

    (data / "pokeapi/official-artwork/25.png").unlink()
    sprite_art = await art_of(data, 25, tmp_path)
    assert main_colour(sprite_art) == (40, 120, 220)  # the Gen V sprite, when art is missing


async def test_a_gen_9_species_has_its_art(tmp_path):
    data = tmp_path / "data"
    save_png(data / "pokeapi/official-artwork/1000.png", sprite(color=ART_COLOUR))
    assert main_colour(await art_of(data, 1000, tmp_path)) == ART_COLOUR


async def test_a_cache_that_cannot_be_written_still_gives_the_art(tmp_path, monkeypatch, caplog):
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    from bot.quiz import art as art_module
    from tests.synthetic import png_bytes

    async def serve(request):
        return web.Response(body=png_bytes(sprite(color=ART_COLOUR)))

    app = web.Application()
    app.router.add_get("/{path:.*}", serve)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()

    def disk_full(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(art_module, "atomic_write", disk_full)
    async with aiohttp.ClientSession() as session:
        url = str(server.make_url("/"))
        source = ArtSource(tmp_path / "data", tmp_path / "cache", session, url)
        art = await source.art(25)
    await server.close()
    assert main_colour(art) == ART_COLOUR
    assert "could not cache the art of #25" in caplog.text
