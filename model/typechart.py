"""The type chart (Generation VI onwards): effectiveness of each attacking type, and the
matchups of a typing (what it is weak to, resists, and is immune to)."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from model.pokedex import TYPES

# The colours the games' interfaces use for each type (hex RGB), for bars and embeds.
TYPE_COLOURS = {
    "Normal": "#A8A77A", "Fire": "#EE8130", "Water": "#6390F0", "Electric": "#F7D02C",
    "Grass": "#7AC74C", "Ice": "#96D9D6", "Fighting": "#C22E28", "Poison": "#A33EA1",
    "Ground": "#E2BF65", "Flying": "#A98FF3", "Psychic": "#F95587", "Bug": "#A6B91A",
    "Rock": "#B6A136", "Ghost": "#735797", "Dragon": "#6F35FC", "Dark": "#705746",
    "Steel": "#B7B7CE", "Fairy": "#D685AD",
}  # fmt: skip

# attacker -> (super effective against, not very effective against, no effect on)
_CHART: dict[str, tuple[str, str, str]] = {
    "Normal": ("", "Rock Steel", "Ghost"),
    "Fire": ("Grass Ice Bug Steel", "Fire Water Rock Dragon", ""),
    "Water": ("Fire Ground Rock", "Water Grass Dragon", ""),
    "Electric": ("Water Flying", "Electric Grass Dragon", "Ground"),
    "Grass": ("Water Ground Rock", "Fire Grass Poison Flying Bug Dragon Steel", ""),
    "Ice": ("Grass Ground Flying Dragon", "Fire Water Ice Steel", ""),
    "Fighting": ("Normal Ice Rock Dark Steel", "Poison Flying Psychic Bug Fairy", "Ghost"),
    "Poison": ("Grass Fairy", "Poison Ground Rock Ghost", "Steel"),
    "Ground": ("Fire Electric Poison Rock Steel", "Grass Bug", "Flying"),
    "Flying": ("Grass Fighting Bug", "Electric Rock Steel", ""),
    "Psychic": ("Fighting Poison", "Psychic Steel", "Dark"),
    "Bug": ("Grass Psychic Dark", "Fire Fighting Poison Flying Ghost Steel Fairy", ""),
    "Rock": ("Fire Ice Flying Bug", "Fighting Ground Steel", ""),
    "Ghost": ("Psychic Ghost", "Dark", "Normal"),
    "Dragon": ("Dragon", "Steel", "Fairy"),
    "Dark": ("Psychic Ghost", "Fighting Dark Fairy", ""),
    "Steel": ("Ice Rock Fairy", "Fire Water Electric Steel", ""),
    "Fairy": ("Fighting Dragon Dark", "Fire Poison Steel", ""),
}


def effectiveness(attacker: str, defender: str) -> float:
    """Damage multiplier of an ``attacker``-type move on a pure ``defender``-type Pokémon."""
    strong, weak, none = (group.split() for group in _CHART[attacker])
    if defender in none:
        return 0.0
    return 2.0 if defender in strong else 0.5 if defender in weak else 1.0


@dataclass(frozen=True)
class Matchups:
    weak: dict[str, float]  # attacking type -> 2 or 4
    resists: dict[str, float]  # -> 0.5 or 0.25
    immune: tuple[str, ...]


def matchups(typing: tuple[str, ...] | list[str]) -> Matchups:
    """How every attacking type fares against a one- or two-type Pokémon."""
    unknown = [t for t in typing if t not in TYPES]
    if unknown or not 1 <= len(typing) <= 2:
        raise ValueError(f"not a typing: {typing!r}")
    multipliers = {a: prod(effectiveness(a, d) for d in typing) for a in TYPES}
    return Matchups(
        weak={a: m for a, m in multipliers.items() if m > 1},
        resists={a: m for a, m in multipliers.items() if 0 < m < 1},
        immune=tuple(a for a, m in multipliers.items() if m == 0),
    )
