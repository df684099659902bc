"""What the bot shows: embeds (and a plain-text fallback) for a prediction."""

from __future__ import annotations

import discord

from bot.delivery import shown_name
from model import pokedex
from model.predict import Prediction
from model.typechart import TYPE_COLOURS, matchups

BAR_WIDTH = 12
TYPES_SHOWN = 3


def type_colour(typing: tuple[str, ...]) -> discord.Colour:
    """The embed colour of a typing: its first type's."""
    return discord.Colour.from_str(TYPE_COLOURS[typing[0]])


def bar(p: float, width: int = BAR_WIDTH) -> str:
    filled = round(p * width)
    return "█" * filled + "░" * (width - filled)


def _multiplier(m: float) -> str:
    return {4.0: "4×", 2.0: "2×", 0.5: "½×", 0.25: "¼×"}.get(m, f"{m:g}×")


def matchup_lines(typing: tuple[str, ...]) -> dict[str, str]:
    m = matchups(typing)
    return {
        "Weak to": ", ".join(f"{t} {_multiplier(x)}" for t, x in m.weak.items()) or "nothing",
        "Resists": ", ".join(f"{t} {_multiplier(x)}" for t, x in m.resists.items()) or "nothing",
        "Immune to": ", ".join(m.immune) or "nothing",
    }


def species_line(prediction: Prediction) -> str | None:
    """The named species with its true types, when the network is confident."""
    if not prediction.species_confident:
        return None
    top = prediction.species[0]
    species = pokedex.load()[top.num]
    return f"#{species.num} {species.name} ({'/'.join(species.types)}), {top.p:.0%} sure"


def shown_typing(prediction: Prediction) -> tuple[str, ...]:
    """A known species has its real typing; otherwise the network's reading."""
    if prediction.species_confident:
        return pokedex.load()[prediction.species[0].num].types
    return prediction.typing


def prediction_embed(prediction: Prediction, filename: str) -> discord.Embed:
    typing = shown_typing(prediction)
    embed = discord.Embed(
        title=f"{'/'.join(typing)} type",
        description=shown_name(filename)
        + (f" · {prediction.frames} frames" if prediction.frames > 1 else ""),
        colour=type_colour(typing),
    )
    embed.add_field(
        name="Types",
        value="\n".join(f"`{bar(t.p)}` {t.type} {t.p:.0%}" for t in prediction.types[:TYPES_SHOWN]),
        inline=False,
    )
    if line := species_line(prediction):
        embed.add_field(name="Species", value=line, inline=False)
    for name, value in matchup_lines(typing).items():
        embed.add_field(name=name, value=value, inline=False)
    return embed


def prediction_text(prediction: Prediction, filename: str) -> str:
    """The same reading as plain text, for channels where the bot may not embed."""
    typing = shown_typing(prediction)
    lines = [f"{shown_name(filename)}: {'/'.join(typing)} type"]
    lines += [f"`{bar(t.p)}` {t.type} {t.p:.0%}" for t in prediction.types[:TYPES_SHOWN]]
    if line := species_line(prediction):
        lines.append(f"Species: {line}")
    lines += [f"{name}: {value}" for name, value in matchup_lines(typing).items()]
    return "\n".join(lines)
