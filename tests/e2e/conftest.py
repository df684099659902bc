"""Fixtures: the fake Discord, and the bot started through ``bot.__main__.run`` against it."""

from __future__ import annotations

import asyncio

import discord
import pytest
import yarl

import bot.__main__ as entry
from bot.settings import Settings
from tests.e2e.fake_discord import FakeDiscord


@pytest.fixture
async def fake_discord(monkeypatch):
    fake = FakeDiscord()
    await fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", f"{fake.base}/api/v10")
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket,
        "DEFAULT_GATEWAY",
        yarl.URL(f"ws://127.0.0.1:{fake.port}/"),
    )
    yield fake
    await fake.stop()


@pytest.fixture
async def running_bot(fake_discord, tiny_checkpoint, tmp_path):
    """The real bot, same code path as `python -m bot`, with the tiny test checkpoint."""
    settings = Settings(token="fake-token", checkpoint=tiny_checkpoint,
                        database=tmp_path / "e2e.db", data_dir=tmp_path / "data",
                        sprites_url=f"{fake_discord.base}/sprites/pokemon/")  # fmt: skip
    fake_discord.settings = settings  # lets a test find the bot's own resources
    task = asyncio.create_task(entry.run(settings))
    async with asyncio.timeout(30):
        await fake_discord.identified.wait()
    await asyncio.sleep(0.2)  # READY handlers, command sync
    if task.done():  # the bot stopped: show why
        task.result()
    yield fake_discord
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
