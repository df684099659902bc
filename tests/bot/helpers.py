"""Spec'd mocks of discord.py objects and a bot wired to stand-in resources.

The mocks carry the real classes' spec, so ``isinstance`` checks pass and a misspelt attribute
fails the test instead of silently returning a new mock.
"""

from __future__ import annotations

import itertools
from unittest.mock import AsyncMock, MagicMock

import aiohttp
import discord

from bot.bot import Neuralmon
from bot.inference import InferenceQueue
from bot.settings import Settings
from bot.store import Store

_ids = itertools.count(1000)


def mock_member(bot: bool = False, user_id: int | None = None) -> MagicMock:
    member = MagicMock(spec=discord.Member)
    member.id = user_id or next(_ids)
    member.bot = bot
    member.display_name = f"user{member.id}"
    return member


def mock_attachment(url: str, filename="pic.png", content_type="image/png", size=1000):
    attachment = MagicMock(spec=discord.Attachment)
    attachment.url, attachment.filename = url, filename
    attachment.content_type, attachment.size = content_type, size
    return attachment


def mock_interaction(user_id: int, guild_id: int) -> MagicMock:
    interaction = MagicMock(spec=discord.Interaction)
    interaction.user = mock_member(user_id=user_id)
    interaction.guild_id = guild_id
    interaction.response = MagicMock(spec=discord.InteractionResponse)
    interaction.response.send_message = AsyncMock()
    interaction.response.send_modal = AsyncMock()
    return interaction


def mock_permissions(**overrides) -> discord.Permissions:
    permissions = discord.Permissions(send_messages=True, embed_links=True, attach_files=True,
                                      read_message_history=True)  # fmt: skip
    permissions.update(**overrides)
    return permissions


def mock_channel(channel_id: int | None = None, **permissions) -> MagicMock:
    channel = MagicMock(spec=discord.TextChannel)
    channel.id = channel_id or next(_ids)
    channel.permissions_for = MagicMock(return_value=mock_permissions(**permissions))
    return channel


def mock_message(attachments=(), author=None, channel=None) -> MagicMock:
    message = MagicMock(spec=discord.Message)
    message.id = next(_ids)
    message.author = author or mock_member()
    message.attachments = list(attachments)
    message.channel = channel or mock_channel()
    message.guild = MagicMock(spec=discord.Guild)
    message.guild.id = next(_ids)
    message.guild.me = mock_member(bot=True)
    message.reply = AsyncMock()
    return message


async def make_bot(predictor, tmp_path, **settings) -> Neuralmon:
    """A bot with real settings, store and queue, and the given predictor; never logs in."""
    session = aiohttp.ClientSession()
    store = await Store.open(tmp_path / "bot.db")
    bot = Neuralmon(Settings(token="test", **settings), session, InferenceQueue(predictor), store)
    return bot


async def close_bot(bot: Neuralmon) -> None:
    await bot.inference.close()
    await bot.store.close()
    await bot.http_session.close()
    await bot.close()
