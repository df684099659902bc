"""Replies within Discord's limits, names shown inert, server errors retried."""

from unittest.mock import AsyncMock

import discord
import pytest

from bot import delivery
from bot.delivery import embed_groups, fit, packed, shown_name, with_retries


def server_error(status: int) -> discord.DiscordServerError:
    return discord.DiscordServerError(AsyncMock(status=status, reason="error"), "")


def test_a_file_name_is_shown_as_inert_inline_code():
    name = "a`b`[click](https://x.example) @here **bold**\nnext.png"
    shown = shown_name(name, limit=200)
    assert shown.startswith("`") and shown.endswith("`") and shown.count("`") == 2
    assert "\n" not in shown and "@here" in shown  # text inside the span, not a mention
    long = shown_name("x" * 500 + ".png")
    assert len(long) == delivery.NAME_LIMIT + 2 and long.endswith("…`")
    assert shown_name("") == "`image`"


def test_text_is_cut_at_a_line_within_the_limit():
    text = "\n".join(f"line {i}" for i in range(1000))
    cut = fit(text, 100)
    assert len(cut) <= 100 and cut.endswith("\nline 12…")
    assert fit("short") == "short"
    assert len(fit("x" * 5000)) == delivery.CONTENT_LIMIT


def test_many_texts_are_packed_into_messages_within_the_limit():
    texts = [f"{i}: " + "y" * 700 for i in range(7)]
    messages = packed(texts)
    assert all(len(m) <= delivery.CONTENT_LIMIT for m in messages)
    assert "".join(messages).count("y") == 7 * 700 and len(messages) == 4


def test_embeds_are_grouped_within_count_and_size_limits():
    big = [discord.Embed(description="z" * 2500) for _ in range(5)]
    assert [len(g) for g in embed_groups(big)] == [2, 2, 1]
    small = [discord.Embed(title="t") for _ in range(23)]
    assert [len(g) for g in embed_groups(small)] == [10, 10, 3]
    assert embed_groups([]) == []


async def test_a_server_error_is_retried_then_given_up(monkeypatch):
    monkeypatch.setattr(delivery, "RETRY_DELAYS", (0.0, 0.0))
    send = AsyncMock(side_effect=[server_error(503), server_error(500), "sent"])
    assert await with_retries(send) == "sent" and send.await_count == 3
    send = AsyncMock(side_effect=server_error(503))
    with pytest.raises(discord.DiscordServerError):
        await with_retries(send)
    assert send.await_count == 3
    forbidden = AsyncMock(side_effect=discord.Forbidden(AsyncMock(status=403, reason="no"), ""))
    with pytest.raises(discord.Forbidden):
        await with_retries(forbidden)
    assert forbidden.await_count == 1  # a refusal is not retried
