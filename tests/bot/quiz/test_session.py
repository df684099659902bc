"""The quiz session without Discord: a table that records what it is asked to show."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from bot.quiz.game import Outcome
from bot.quiz.session import ALREADY_RUNNING, NOT_POSTED, QuestionNotPosted, QuizSession
from model import pokedex

PIKACHU = pokedex.load()[25]


class Table:
    def __init__(self):
        self.shown: list[tuple] = []
        self.refuse = False

    async def ask(self, channel, round_, remaining, art):
        if self.refuse:
            raise QuestionNotPosted("no permission")
        self.shown.append(("ask", channel.id, round_.species.num, remaining))

    async def reveal(self, channel, round_, winner, art):
        self.shown.append(("reveal", channel.id, round_.species.num, winner))

    async def reading(self, art):
        return ("Electric",)


class Store:
    def __init__(self):
        self.wins: list[tuple] = []

    async def round_opened(self, *args): ...

    async def round_closed(self, *args): ...

    async def record_win(self, guild_id, user_id, points, seconds, name):
        self.wins.append((guild_id, user_id, name))


class Art:
    async def art(self, num):
        return f"art of {num}"


@pytest.fixture
async def session():
    quiz = QuizSession(Table(), Store(), Art(), quiz_seconds=30)
    quiz.pick_species = lambda generations: PIKACHU
    quiz.between_rounds = 0
    yield quiz
    await quiz.close()


CHANNEL = SimpleNamespace(id=7)


async def test_one_round_per_channel_and_a_win_recorded(session):
    assert await session.start(CHANNEL, guild_id=1) is None
    assert await session.start(CHANNEL, guild_id=1, series=True) == ALREADY_RUNNING
    assert session.guess(7, 5, "Ash", "Raichu") is Outcome.WRONG
    assert session.guess(7, 5, "Ash", "pikachu") is Outcome.CORRECT  # answered at once
    assert session.guess(7, 6, "Misty", "Pikachu") is Outcome.LATE
    await session.scores_written()
    assert session.table.shown == [("ask", 7, 25, 0), ("reveal", 7, 25, "Ash")]
    assert session.store.wins == [(1, 5, "Ash")]
    assert session.round(7) is None


async def test_a_series_goes_on_after_a_quick_win(session):
    await session.start(CHANNEL, guild_id=1, rounds=2)
    session.guess(7, 5, "Ash", "Pikachu")
    await session.rounds_finished()
    assert [s[0] for s in session.table.shown] == ["ask", "reveal", "ask"]
    assert session.round(7) is not None and session.round(7).open


async def test_a_question_not_posted_frees_the_channel(session):
    session.table.refuse = True
    assert await session.start(CHANNEL, guild_id=1) == NOT_POSTED
    assert session.round(7) is None


async def test_time_runs_out_and_the_round_is_revealed_without_a_winner(session):
    session.quiz_seconds = 0.05
    await session.start(CHANNEL, guild_id=None)
    await asyncio.sleep(0.2)
    assert session.table.shown[-1] == ("reveal", 7, 25, None) and session.round(7) is None
