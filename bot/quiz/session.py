"""The quiz of every channel, without Discord: rounds and the series they belong to, guesses,
hints, the timer, the end of a round, and wins written in order with retries.

Where a round is shown is a ``Table`` (the cog: Discord messages); scores go to the store. One
``Live`` per channel holds all a running round needs.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from bot.quiz.art import ArtSource, ArtUnavailable
from bot.quiz.game import Outcome, Round
from bot.ratelimit import RateLimiter
from model import pokedex

log = logging.getLogger(__name__)
JUST_STARTED = "A round was just started here; wait a few seconds."
ALREADY_RUNNING = "A round is already running in this channel."
NO_ART = ("I have no Pokémon art: run `python -m model data fetch` on the bot's machine, or let "
          "it reach GitHub to download art.")  # fmt: skip
NOT_POSTED = "I could not post the question here; check that I may send files and embeds."
SCORE_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # about a minute


class QuestionNotPosted(Exception):
    """The table could not show a round's question."""


class Table(Protocol):
    """Where rounds are shown."""

    async def ask(self, channel: Any, round_: Round, remaining: int, art: Any) -> None:
        """Post the question (raises ``QuestionNotPosted``)."""

    async def reveal(self, channel: Any, round_: Round, winner: str | None, art: Any) -> None:
        """Post the answer and who found it; never raises."""

    async def reading(self, art: Any) -> tuple[str, ...] | None:
        """The network's typing of the art (a hint), or None."""


@dataclass
class Live:
    """A channel's running round and what it needs besides its rules."""

    round: Round
    channel: Any
    guild_id: int | None
    generation: int | None
    remaining: int  # rounds still to play after this one
    art: Any  # the full-colour picture, for the reveal
    timer: asyncio.Task | None = None


class QuizSession:
    def __init__(
        self,
        table: Table,
        store: Any,
        art: ArtSource,
        quiz_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ):
        self.table, self.store, self.art = table, store, art
        self.quiz_seconds, self.clock, self.rng = quiz_seconds, clock, rng or random.Random()
        self.start_limit = RateLimiter(1, 5.0)  # per channel, for people starting rounds
        self.between_rounds = 3.0  # seconds between the rounds of a series
        self.score_retry_delays = SCORE_RETRY_DELAYS
        self.scores_broken = False
        self.live: dict[int, Live] = {}
        self._score_writes: set[asyncio.Task] = set()
        self._finishing: set[asyncio.Task] = set()
        self._score_order = asyncio.Lock()  # wins are written in the order they happened

    def round(self, channel_id: int) -> Round | None:
        live = self.live.get(channel_id)
        return live.round if live else None

    def pick_species(self, generations: set[int] | None) -> pokedex.Species:
        pool = [s for s in pokedex.load() if not generations or s.generation in generations]
        return self.rng.choice(pool)

    async def start(
        self,
        channel: Any,
        guild_id: int | None,
        generation: int | None = None,
        hard: bool = False,
        rounds: int = 1,
        series: bool = False,
    ) -> str | None:
        """Start a round in ``channel``; a reason when it cannot. The next round of a
        ``series`` is not held to the limit on starting rounds, which is for people."""
        if not series and not self.start_limit.allowed(channel.id):
            return JUST_STARTED
        if self.round(channel.id):
            return ALREADY_RUNNING
        species = self.pick_species({generation} if generation else None)
        try:
            art = await self.art.art(species.num)
        except ArtUnavailable as exc:
            log.warning("no art for #%d: %s", species.num, exc)
            return NO_ART
        self.start_limit.hit(channel.id)
        reading = await self.table.reading(art)
        if self.round(channel.id):  # another start won the race while the art loaded
            return ALREADY_RUNNING
        round_ = Round(species, self.clock(), self.quiz_seconds, hard, reading)
        live = self.live[channel.id] = Live(round_, channel, guild_id, generation, rounds - 1, art)
        try:
            await self.table.ask(channel, round_, live.remaining, art)
        except QuestionNotPosted as exc:
            log.warning("could not post a question in %s: %s", channel.id, exc)
            self.live.pop(channel.id, None)
            return NOT_POSTED
        opened = self.store.round_opened(channel.id, guild_id, species.num, time.time())
        await self._quietly(opened, "note the round")
        live.timer = asyncio.create_task(self._timeout(channel.id, round_))
        return None

    def guess(self, channel_id: int, user_id: int, name: str, text: str) -> Outcome:
        """A guess; a right one ends the round in the background, so that the guesser hears
        at once (a modal has 3 seconds to answer)."""
        live = self.live.get(channel_id)
        if live is None:
            return Outcome.LATE
        outcome = live.round.guess(user_id, text, self.clock())
        if outcome is Outcome.CORRECT:
            self._in_background(self.finish(channel_id, (user_id, name)))
        return outcome

    def hint(self, channel_id: int) -> str | None:
        round_ = self.round(channel_id)
        return round_.hint(self.clock()) if round_ else None

    async def _timeout(self, channel_id: int, round_: Round) -> None:
        await asyncio.sleep(max(0.0, round_.deadline - self.clock()))
        if round_.expire(self.clock()):
            await self.finish(channel_id, None)

    async def finish(self, channel_id: int, winner: tuple[int, str] | None) -> None:
        """Reveal, record the win, and start the next round of a series."""
        live = self.live.pop(channel_id)
        if live.timer and live.timer is not asyncio.current_task():
            live.timer.cancel()
        round_ = live.round
        if winner is not None and live.guild_id is not None:
            win = (live.guild_id, winner[0], round_.points, round_.won_after, winner[1])
            task = asyncio.create_task(self._record_win(*win))
            self._score_writes.add(task)
            task.add_done_callback(self._score_writes.discard)
        await self._quietly(self.store.round_closed(channel_id), "end a round")
        await self.table.reveal(live.channel, round_, winner[1] if winner else None, live.art)
        if live.remaining > 0:
            await asyncio.sleep(self.between_rounds)
            reason = await self.start(
                live.channel, live.guild_id, live.generation, round_.hard, live.remaining,
                series=True,
            )  # fmt: skip
            if reason:
                log.info("the series in %s stopped: %s", channel_id, reason)

    async def _record_win(self, guild_id: int, user_id: int, points: int, seconds: float,
                          name: str) -> None:  # fmt: skip
        """Write a win, trying again for about a minute while the database is unavailable."""
        async with self._score_order:
            for delay in (*self.score_retry_delays, None):
                try:
                    await self.store.record_win(guild_id, user_id, points, seconds, name)
                except Exception as exc:
                    self._scores_failed(f"write a win ({exc})")
                    if delay is None:
                        log.error("lost a win: user %s, +%d points in guild %s",
                                  user_id, points, guild_id)  # fmt: skip
                        return
                    await asyncio.sleep(delay)
                else:
                    self._scores_work()
                    return

    async def close_left_open(self, channel_id: int) -> None:
        await self._quietly(self.store.round_closed(channel_id), "end a round")

    async def close(self) -> None:
        """Stop the timers; wait a little for the wins being written."""
        for live in self.live.values():
            if live.timer:
                live.timer.cancel()
        await self.scores_written(timeout=10.0)

    async def rounds_finished(self, timeout: float | None = None) -> None:
        """Wait for the rounds being finished: reveals, and the next rounds of a series."""
        if self._finishing:
            await asyncio.wait(set(self._finishing), timeout=timeout)

    async def scores_written(self, timeout: float | None = None) -> None:
        """Wait for the wins still being written, those of rounds being finished first (at
        shutdown: a little while, not forever)."""
        await self.rounds_finished(timeout)
        if self._score_writes:
            await asyncio.wait(set(self._score_writes), timeout=timeout)

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` beside the caller, kept until done."""
        task = asyncio.create_task(work)
        self._finishing.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self._finishing.discard(task)
        if not task.cancelled() and task.exception():
            log.error("finishing a round failed", exc_info=task.exception())

    @staticmethod
    async def _quietly(write: Awaitable[object], what: str) -> None:
        """Bookkeeping of rounds, which a broken database must not stop: logged, not raised."""
        try:
            await write
        except Exception as exc:
            log.warning("could not %s: %s", what, exc)

    def _scores_failed(self, what: str) -> None:
        if not self.scores_broken:
            log.error("score database unavailable; games go on without scores")
        log.warning("could not %s", what)
        self.scores_broken = True

    def _scores_work(self) -> None:
        if self.scores_broken:
            log.info("score database available again")
        self.scores_broken = False
