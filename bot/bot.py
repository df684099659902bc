"""The Bot subclass: holds the shared resources and loads the extensions in ``bot/exts``."""

from __future__ import annotations

import logging
import pkgutil

import aiohttp
import discord
from aiohttp import web
from discord.ext import commands

from bot import exts
from bot.health import start_health_server
from bot.inference import InferenceQueue
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger(__name__)


def extension_names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(exts.__path__, f"{exts.__name__}."))


class Neuralmon(commands.Bot):
    def __init__(
        self,
        settings: Settings,
        http_session: aiohttp.ClientSession,
        inference: InferenceQueue,
        store: Store,
        **options,
    ):
        intents = discord.Intents.default()
        intents.message_content = True  # to see image attachments and quiz guesses
        super().__init__(
            command_prefix=commands.when_mentioned_or(settings.command_prefix),
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            **options,
        )
        self.settings = settings
        self.http_session = http_session
        self.inference = inference
        self.store = store
        self._health: web.AppRunner | None = None

    async def setup_hook(self) -> None:
        await self.inference.start()
        if self.settings.health_port:
            self._health = await start_health_server(self, self.settings.health_port)
            log.info("health server on port %d", self.settings.health_port)
        for name in extension_names():
            try:
                await self.load_extension(name)
            except Exception:  # one broken extension must not take the others down
                log.exception("could not load extension %s", name)
            else:
                log.info("loaded extension %s", name)
        await self.sync_commands()

    async def sync_commands(self) -> None:
        """Slash commands: at once in the development server, else globally (up to an hour)."""
        guild_id = self.settings.dev_guild_id
        guild = discord.Object(guild_id) if guild_id else None
        if guild:
            self.tree.copy_global_to(guild=guild)
        try:
            synced = await self.tree.sync(guild=guild)
        except discord.HTTPException as exc:
            log.warning("could not sync slash commands: %s", exc)
        else:
            log.info("synced %d slash commands %s", len(synced), f"to {guild_id}" if guild else "")

    async def close(self) -> None:
        if self._health:
            await self._health.cleanup()
        await super().close()

    async def on_ready(self) -> None:
        log.info("logged in as %s (id %s) in %d servers", self.user, self.user.id, len(self.guilds))


class ShardedNeuralmon(Neuralmon, commands.AutoShardedBot):
    """The same bot over a range of shards (one process of several)."""


def create_bot(settings: Settings, *resources) -> Neuralmon:
    """A plain bot, or a sharded one when SHARD_COUNT is set."""
    if settings.shard_count is None:
        return Neuralmon(settings, *resources)
    return ShardedNeuralmon(
        settings, *resources, shard_count=settings.shard_count, shard_ids=list(settings.shard_ids)
    )
