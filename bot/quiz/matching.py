"""Fair answer matching: ``answer_matches(guess, number)``, ``named_species(guess)``.

Both sides are folded by ``pokedex.name_key`` (Unicode width, case, Latin accents, ♀/♂,
punctuation, spaces, invisible characters; hiragana read as katakana), then compared against
every name the Pokédex knows for the species: English, Japanese (katakana and romaji), Chinese.
A guess of six letters or more may be one typo away from the answer, unless that brings it as
close to another species' name: a real name of another species is never accepted.
"""

from __future__ import annotations

from functools import cache

from model import pokedex
from model.pokedex import name_key

TYPO_MIN_LENGTH = 6
# Spellings people use that the Pokédex does not list.
ALIASES: dict[int, tuple[str, ...]] = {
    29: ("Nidoran female",),
    32: ("Nidoran male",),
    122: ("Mister Mime",),
    439: ("Mime Junior",),
    866: ("Mister Rime",),
}


@cache
def _names() -> dict[str, frozenset[int]]:
    """Normalised name -> the species it names."""
    table: dict[str, set[int]] = {}
    for species in pokedex.load():
        for name in (*species.names, *ALIASES.get(species.num, ())):
            if key := name_key(name):
                table.setdefault(key, set()).add(species.num)
    return {k: frozenset(v) for k, v in table.items()}


def _within_one_edit(a: str, b: str) -> bool:
    """One insertion, deletion, substitution or swap of neighbours turns a into b (or none)."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diff) == 1:
            return True
        i = diff[0]
        return len(diff) == 2 and diff[1] == i + 1 and a[i] == b[i + 1] and a[i + 1] == b[i]
    short, long = sorted((a, b), key=len)
    i = next((k for k, (x, y) in enumerate(zip(short, long, strict=False)) if x != y), len(short))
    return short[i:] == long[i + 1 :]


def _is_latin(text: str) -> bool:
    return all(c < "\u0250" for c in text)


def named_species(guess: str) -> frozenset[int]:
    """The species ``guess`` may name: its exact name's, else every species whose name is one
    typo away (more than one: it is not clear which); empty when none is."""
    key = name_key(guess)
    if not key:
        return frozenset()
    names = _names()
    if key in names:
        return names[key]
    if len(key) < TYPO_MIN_LENGTH or not _is_latin(key):
        return frozenset()
    return frozenset(n for name, nums in names.items() if _within_one_edit(key, name) for n in nums)


def answer_matches(guess: str, number: int) -> bool:
    """Whether ``guess`` names species ``number``, and no other."""
    return named_species(guess) == {number}
