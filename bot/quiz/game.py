"""A round's rules, as a state machine driven by explicit times (no clock inside, no Discord).

Open -> won (first correct guess) or expired (time ran out). Guesses after that are late.
Hints come in steps, each lowering the points, with a cooldown between them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from bot.quiz.matching import answer_matches
from model.pokedex import Species

BASE_POINTS = 10
HARD_BONUS = 5
HINT_COST = 2


class Outcome(enum.Enum):
    CORRECT = "correct"
    WRONG = "wrong"
    LATE = "late"  # the round is over (won by someone else, or out of time)


def letters_hint(name: str) -> str:
    """Every other letter shown: ``Pikachu`` -> ``P _ k _ c _ u``."""
    shown, letters = [], 0
    for char in name:
        if char.isalpha():
            shown.append(char if letters % 2 == 0 else "_")
            letters += 1
        else:
            shown.append(char)
    return " ".join(shown)


@dataclass
class Round:
    species: Species
    started: float
    duration: float = 60.0
    hard: bool = False
    network_typing: tuple[str, ...] | None = None  # the network's reading of the silhouette
    hint_cooldown: float = 10.0
    hints_given: int = 0
    winner: int | None = None
    won_after: float | None = None
    expired: bool = False
    _last_hint: float = field(default=float("-inf"), repr=False)

    @property
    def deadline(self) -> float:
        return self.started + self.duration

    @property
    def open(self) -> bool:
        return self.winner is None and not self.expired

    @property
    def points(self) -> int:
        base = BASE_POINTS + (HARD_BONUS if self.hard else 0)
        return max(1, base - HINT_COST * self.hints_given)

    def guess(self, user_id: int, text: str, now: float) -> Outcome:
        if self.open and now >= self.deadline:
            self.expired = True
        if not self.open:
            return Outcome.LATE
        if not answer_matches(text, self.species.num):
            return Outcome.WRONG
        self.winner, self.won_after = user_id, now - self.started
        return Outcome.CORRECT

    def expire(self, now: float) -> bool:
        """End the round if its time is up; True when this call ended it."""
        if self.open and now >= self.deadline:
            self.expired = True
            return True
        return False

    def hint_steps(self) -> list[str]:
        s = self.species
        steps = []
        if self.network_typing:
            steps.append(f"neuralmon thinks it looks {'/'.join(self.network_typing)}")
        if self.hard:  # easy rounds show the types from the start
            steps.append(f"Its type is {'/'.join(s.types)}")
        steps += [
            f"It first appeared in generation {s.generation}",
            f"Its name starts with {s.name[0]}",
            f"Its name: {letters_hint(s.name)}",
        ]
        return steps

    def hint(self, now: float) -> str | None:
        """The next hint, or None while cooling down, after the last one, or once over."""
        steps = self.hint_steps()
        if not self.open or self.hints_given >= len(steps):
            return None
        if now - self._last_hint < self.hint_cooldown:
            return None
        self._last_hint = now
        self.hints_given += 1
        return steps[self.hints_given - 1]
