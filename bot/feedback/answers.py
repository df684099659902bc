"""What a "Wrong" answer says: a species by any name or spelling the quiz accepts (or its
number), "not a Pokémon" or "fan-made", and for a fan-made design the types its artist gave it.

``parse_answer`` raises ``AnswerError`` with a message fit to show the person who answered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.quiz.matching import named_species
from model import pokedex
from model.pokedex import name_key

NOT_POKEMON = frozenset(
    name_key(t) for t in ("not a Pokémon", "not Pokémon", "no Pokémon", "none", "nothing")
)
FAN_MADE = frozenset(
    name_key(t) for t in ("fan-made", "fan made", "fan art", "fakemon", "original character", "OC")
)
_TYPES = {t.casefold(): t for t in pokedex.TYPES}


class AnswerError(ValueError):
    """An answer the bot cannot take; the message says why."""


@dataclass(frozen=True)
class Answer:
    kind: str  # model.feedback.KINDS
    species: int | None = None
    types: str = ""  # "Fire/Flying"


def parse_types(text: str) -> str:
    """ "fire / flying", "Fire, Flying", "fire and flying" -> "Fire/Flying"; "" -> ""."""
    words = [w for w in re.split(r"[\s/,&+]+", text.casefold()) if w and w != "and"]
    unknown = [w for w in words if w not in _TYPES]
    if unknown:
        raise AnswerError(f"{', '.join(unknown)}: not a type. Types are like Fire or Water/Ground.")
    types = list(dict.fromkeys(_TYPES[w] for w in words))
    if len(types) > 2:
        raise AnswerError("A Pokémon has one or two types.")
    return "/".join(types)


def _species_by_number(text: str) -> int | None:
    match = re.fullmatch(r"#?\s*(\d{1,4})", text.strip())
    if match and 1 <= int(match[1]) <= pokedex.LAST_NUMBER:
        return int(match[1])
    return None


def parse_answer(what: str, types: str = "") -> Answer:
    """The answer of the "Wrong" form: what the picture shows, and types for a fan-made one."""
    key = name_key(what)
    if key in NOT_POKEMON:
        return Answer("not-pokemon")
    if key in FAN_MADE:
        return Answer("fan-made", types=parse_types(types))
    if (number := _species_by_number(what)) is not None:
        return Answer("species", number)
    found = named_species(what)
    if len(found) == 1:
        return Answer("species", next(iter(found)))
    if found:
        dex = pokedex.load()
        which = " or ".join(f"{dex[n].name} (#{n})" for n in sorted(found))
        raise AnswerError(f"Which one: {which}? Answer with its number.")
    raise AnswerError(
        "I don't know that Pokémon. Give its name in English, Japanese or Chinese, or its "
        'number; or answer "not a Pokémon" or "fan-made".'
    )
