"""Sending to Discord without losing a reply: server errors are retried, text is kept within
Discord's limits, and names people chose are shown inert (no markdown, mentions or links)."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import discord
from PIL import Image

log = logging.getLogger(__name__)
T = TypeVar("T")

CONTENT_LIMIT = 2000  # characters in a message's text
NAME_LIMIT = 60  # characters of a file name shown
# discord.py retries a 500, 502 and 504 itself (five tries); a 503 and what outlasts those
# get a few more, further apart.
RETRY_DELAYS = (1.0, 3.0)


async def with_retries(send: Callable[[], Awaitable[T]]) -> T:
    """``await send()``, again after each of ``RETRY_DELAYS`` while Discord answers 5xx.
    ``send`` makes its request anew each time (a ``discord.File`` is read once)."""
    for delay in RETRY_DELAYS:
        try:
            return await send()
        except discord.DiscordServerError as exc:
            log.warning("Discord answered %s; trying again in %g s", exc.status, delay)
            await asyncio.sleep(delay)
    return await send()


def shown_name(name: str, limit: int = NAME_LIMIT) -> str:
    """A file name as inline code: backticks and line breaks replaced (they would end the code
    span), cut to ``limit`` characters. Inside the span, markdown, mentions and links are text."""
    clean = "".join("'" if c == "`" else " " if not c.isprintable() else c for c in name)
    if len(clean) > limit:
        clean = clean[: limit - 1] + "…"
    return f"`{clean or 'image'}`"


def fit(text: str, limit: int = CONTENT_LIMIT) -> str:
    """``text`` cut at the last line break that keeps it within ``limit`` characters."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit - 1)
    return text[: cut if cut > 0 else limit - 1] + "…"


EMBEDS_PER_MESSAGE = 10
EMBED_CHARACTERS = 6000  # all of a message's embeds together


def embed_groups(embeds: list[discord.Embed]) -> list[list[discord.Embed]]:
    """``embeds`` in order, grouped so that each group fits in one message."""
    groups: list[list[discord.Embed]] = []
    size = 0
    for embed in embeds:
        if (
            not groups
            or len(groups[-1]) == EMBEDS_PER_MESSAGE
            or size + len(embed) > EMBED_CHARACTERS
        ):
            groups.append([])
            size = 0
        groups[-1].append(embed)
        size += len(embed)
    return groups


def packed(texts: list[str], limit: int = CONTENT_LIMIT) -> list[str]:
    """``texts`` joined by blank lines into as few messages as fit within ``limit`` each."""
    messages: list[str] = []
    for text in (fit(t, limit) for t in texts):
        if messages and len(messages[-1]) + 2 + len(text) <= limit:
            messages[-1] += "\n\n" + text
        else:
            messages.append(text)
    return messages


def png(img: Image.Image) -> bytes:
    """``img`` as PNG bytes, for a ``discord.File`` made anew on each try."""
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()
