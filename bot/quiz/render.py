"""Quiz messages: the question, the reveal, leaderboard pages, stats."""

from __future__ import annotations

import discord

from bot.quiz.game import Round
from bot.render import type_colour
from bot.store import Score


def escape(name: str) -> str:
    """A display name as plain text: its markdown and mentions shown, not applied."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(name))


def question_embed(round_: Round, remaining: int = 0) -> discord.Embed:
    embed = discord.Embed(
        title="Who's that Pokémon?",
        description=f"Type its name in chat (any language) or press **Guess**. "
        f"You have {round_.duration:.0f} seconds.",
        colour=discord.Colour.blurple(),
    )
    if not round_.hard:
        embed.add_field(name="Types", value="/".join(round_.species.types))
    if remaining:
        embed.set_footer(
            text=f"{remaining} more round{'s' if remaining > 1 else ''} after this one"
        )
    embed.set_image(url="attachment://whosthat.png")
    return embed


def reveal_embed(round_: Round, winner_name: str | None) -> discord.Embed:
    s = round_.species
    names = " · ".join(n for n in (s.name_ja, s.name_ja_romaji, s.name_zh) if n)
    if winner_name:
        result = (
            f"**{escape(winner_name)}** got it in {round_.won_after:.1f} s "
            f"(+{round_.points} points)"
        )
    else:
        result = "Time's up: nobody got it."
    embed = discord.Embed(
        title=f"It's {s.name}! (#{s.num})",
        description=f"{names}\n{'/'.join(s.types)} type\n\n{result}",
        colour=type_colour(s.types),
    )
    embed.set_image(url="attachment://reveal.png")
    return embed


def leaderboard_embed(guild_name: str, page: list[Score], names: dict[int, str], start: int,
                      players: int) -> discord.Embed:  # fmt: skip
    lines = [
        f"**{start + i + 1}.** {escape(names.get(s.user_id) or f'user {s.user_id}')}: "
        f"{s.points} points, {s.wins} wins, best streak {s.best_streak}"
        for i, s in enumerate(page)
    ]
    embed = discord.Embed(
        title=f"Leaderboard · {guild_name}",
        description="\n".join(lines) or "No scores yet: start a round with /whosthat.",
        colour=discord.Colour.gold(),
    )
    embed.set_footer(text=f"{players} players")
    return embed


def stats_embed(name: str, score: Score | None) -> discord.Embed:
    embed = discord.Embed(title=f"{name}'s quiz stats", colour=discord.Colour.gold())
    if score is None:
        embed.description = "No wins yet."
        return embed
    embed.add_field(name="Points", value=str(score.points))
    embed.add_field(name="Wins", value=str(score.wins))
    embed.add_field(name="Streak", value=f"{score.streak} (best {score.best_streak})")
    if score.fastest is not None:
        embed.add_field(name="Fastest", value=f"{score.fastest:.1f} s")
    return embed
