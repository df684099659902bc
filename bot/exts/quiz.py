"""The "Who's that Pokémon?" cog: rounds, guesses, hints, reveal, leaderboard.

Thin: the rules are in ``bot.quiz.game``, the matching in ``bot.quiz.matching``, pictures in
``bot.quiz.silhouette``, scores in ``bot.store``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import random
import time
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.delivery import png, with_retries
from bot.quiz import render
from bot.quiz.art import ArtSource, ArtUnavailable
from bot.quiz.game import AlreadyRunning, Outcome, Round, Rounds
from bot.quiz.silhouette import question_picture, reveal_picture
from bot.ratelimit import RateLimiter
from model import pokedex

if TYPE_CHECKING:
    from bot.bot import Neuralmon

log = logging.getLogger(__name__)
NO_PINGS = discord.AllowedMentions.none()
WRONG = "❌"
REFUSED = "⏳"  # a prefix command that cannot run now: a reaction, not a message for everyone
PAGE = 10
JUST_STARTED = "A round was just started here; wait a few seconds."
ALREADY_RUNNING = "A round is already running in this channel."
SCORE_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # about a minute


@dataclass
class _Live:
    """What a channel's running round needs besides its rules."""

    channel: Any  # a messageable channel
    guild_id: int | None
    generation: int | None
    hard: bool
    remaining: int  # rounds still to play after this one
    art: Any  # the full-colour picture, for the reveal
    timer: asyncio.Task | None = None


class GuessModal(discord.ui.Modal, title="Who's that Pokémon?"):
    answer = discord.ui.TextInput(label="Your guess", max_length=40)

    def __init__(self, cog: Quiz, channel_id: int):
        super().__init__()
        self.cog, self.channel_id = cog, channel_id

    async def on_submit(self, interaction: discord.Interaction) -> None:
        outcome = await self.cog.take_guess(
            self.channel_id, interaction.user, str(self.answer.value)
        )
        text = {Outcome.CORRECT: "Correct!", Outcome.WRONG: "Not that one.",
                Outcome.LATE: "This round is over."}[outcome]  # fmt: skip
        await interaction.response.send_message(text, ephemeral=True)


class RoundView(discord.ui.View):
    def __init__(self, cog: Quiz, channel_id: int, timeout: float):
        super().__init__(timeout=timeout)
        self.cog, self.channel_id = cog, channel_id

    @discord.ui.button(label="Guess", style=discord.ButtonStyle.primary)
    async def guess(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_modal(GuessModal(self.cog, self.channel_id))

    @discord.ui.button(label="Hint", style=discord.ButtonStyle.secondary)
    async def hint(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        text = self.cog.next_hint(self.channel_id)
        if text is None:
            await interaction.response.send_message("No hint right now.", ephemeral=True)
        else:
            await interaction.response.send_message(f"Hint: {text}", allowed_mentions=NO_PINGS)


class LeaderboardView(discord.ui.View):
    def __init__(self, cog: Quiz, guild: discord.Guild, players: int):
        super().__init__(timeout=300)
        self.cog, self.guild, self.players, self.start = cog, guild, players, 0

    async def show(self, interaction: discord.Interaction) -> None:
        embed = await self.cog.leaderboard_page(self.guild, self.start, self.players)
        self.previous.disabled = self.start == 0
        self.next.disabled = self.start + PAGE >= self.players
        await interaction.response.edit_message(embed=embed, view=self)

    @discord.ui.button(label="◀", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button):
        self.start = max(0, self.start - PAGE)
        await self.show(interaction)

    @discord.ui.button(label="▶", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button):
        self.start += PAGE
        await self.show(interaction)


class Quiz(commands.Cog):
    def __init__(self, bot: Neuralmon, clock=time.monotonic, rng: random.Random | None = None):
        self.bot, self.clock, self.rng = bot, clock, rng or random.Random()
        settings = bot.settings
        self.art = ArtSource(
            settings.data_dir, settings.data_dir / "quiz-cache", bot.http_session,
            settings.sprites_url,
        )  # fmt: skip
        self.rounds = Rounds()
        self.start_limit = RateLimiter(1, 5.0)
        self.between_rounds = 3.0  # seconds between the rounds of a series
        self.scores_broken = False
        self.score_retry_delays = SCORE_RETRY_DELAYS
        self._score_writes: set[asyncio.Task] = set()
        self._finishing: set[asyncio.Task] = set()
        self._score_order = asyncio.Lock()  # wins are written in the order they happened
        self._live: dict[int, _Live] = {}
        self._left_open: list[tuple[int, int]] = []

    async def cog_load(self) -> None:
        try:
            self._left_open = await self.bot.store.open_rounds()
        except Exception:
            log.exception("could not read rounds left open")
            self._left_open = []

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """End rounds the last run left open: say so in their channels, then forget them."""
        left, self._left_open = self._left_open, []
        for channel_id, num in left:
            channel = self.bot.get_channel(channel_id)
            if channel is not None:
                with contextlib.suppress(discord.HTTPException):
                    await channel.send(
                        f"I restarted during a round, so it has ended: it was "
                        f"{pokedex.load()[num].name}. Start a new one with /whosthat.",
                        allowed_mentions=NO_PINGS,
                    )
            await self._quietly(self.bot.store.round_closed(channel_id), "end a round")
        if left:
            log.info("ended %d rounds left open by the last run", len(left))

    async def cog_unload(self) -> None:
        for live in self._live.values():
            if live.timer:
                live.timer.cancel()
        await self.scores_written(timeout=10.0)

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` beside the caller, kept until done (the reveal, the next round)."""
        task = asyncio.create_task(work)
        self._finishing.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self._finishing.discard(task)
        if not task.cancelled() and task.exception():
            log.error("finishing a round failed", exc_info=task.exception())

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

    # ------------------------------------------------------------------ rounds

    def pick_species(self, generations: set[int] | None) -> pokedex.Species:
        pool = [s for s in pokedex.load() if not generations or s.generation in generations]
        return self.rng.choice(pool)

    async def start_round(
        self,
        channel: discord.abc.Messageable,
        guild_id: int | None,
        generation: int | None = None,
        hard: bool = False,
        rounds: int = 1,
        series: bool = False,
    ) -> str | None:
        """Post a round in ``channel``. Returns a reason when it cannot start. The next round
        of a ``series`` is not held to the limit on starting rounds, which is for people."""
        if not series and not self.start_limit.allowed(channel.id):
            return JUST_STARTED
        current = self.rounds.get(channel.id)
        if current and current.open:
            return ALREADY_RUNNING
        species = self.pick_species({generation} if generation else None)
        try:
            art = await self.art.art(species.num)
        except ArtUnavailable as exc:
            log.warning("no art for #%d: %s", species.num, exc)
            return ("I have no Pokémon art: run `python -m model data fetch` on the bot's machine, "
                    "or let it reach GitHub to download art.")  # fmt: skip
        self.start_limit.hit(channel.id)
        reading = await self._network_typing(art)
        round_ = Round(species, self.clock(), self.bot.settings.quiz_seconds, hard, reading)
        try:
            self.rounds.start(channel.id, round_)
        except AlreadyRunning:
            return ALREADY_RUNNING
        live = _Live(channel, guild_id, generation, hard, rounds - 1, art)
        self._live[channel.id] = live
        try:
            await self._ask(live, round_)
        except discord.HTTPException as exc:
            log.warning("could not post a question in %s: %s", channel.id, exc)
            self._live.pop(channel.id, None)
            self.rounds.finish(channel.id)
            return "I could not post the question here; check that I may send files and embeds."
        opened = self.bot.store.round_opened(channel.id, guild_id, species.num, time.time())
        await self._quietly(opened, "note the round")
        live.timer = asyncio.create_task(self._timeout(channel.id, round_))
        return None

    async def _ask(self, live: _Live, round_: Round) -> None:
        picture = png(await asyncio.to_thread(question_picture, live.art, live.hard, self.rng))
        channel_id = live.channel.id
        await with_retries(
            lambda: live.channel.send(
                embed=render.question_embed(round_, live.remaining),
                file=discord.File(io.BytesIO(picture), "whosthat.png"),
                view=RoundView(self, channel_id, round_.duration),
                allowed_mentions=NO_PINGS,
            )
        )

    async def _network_typing(self, art) -> tuple[str, ...] | None:
        try:
            prepared = await self.bot.inference.prepare(art)
            return (await self.bot.inference.classify(prepared)).typing
        except Exception as exc:  # a hint is a nicety: the round goes on without it
            log.debug("no network hint: %s", exc)
            return None

    async def _timeout(self, channel_id: int, round_: Round) -> None:
        await asyncio.sleep(max(0.0, round_.deadline - self.clock()))
        if round_.expire(self.clock()):
            await self.finish(channel_id, round_, None)

    async def finish(self, channel_id: int, round_: Round, winner) -> None:
        """Reveal, record the score, and start the next round of a series."""
        live = self._live.pop(channel_id)
        self.rounds.finish(channel_id)
        if live.timer and live.timer is not asyncio.current_task():
            live.timer.cancel()
        if winner is not None and live.guild_id is not None:
            win = (live.guild_id, winner.id, round_.points, round_.won_after, winner.display_name)
            task = asyncio.create_task(self._record_win(*win))
            self._score_writes.add(task)
            task.add_done_callback(self._score_writes.discard)
        await self._quietly(self.bot.store.round_closed(channel_id), "end a round")
        picture = png(await asyncio.to_thread(reveal_picture, live.art))
        try:
            await with_retries(
                lambda: live.channel.send(
                    embed=render.reveal_embed(round_, winner.display_name if winner else None),
                    file=discord.File(io.BytesIO(picture), "reveal.png"),
                    allowed_mentions=NO_PINGS,
                )
            )
        except discord.HTTPException as exc:
            log.warning("could not reveal in %s: %s", channel_id, exc)
        if live.remaining > 0:
            await asyncio.sleep(self.between_rounds)
            reason = await self.start_round(
                live.channel, live.guild_id, live.generation, live.hard, live.remaining, series=True
            )
            if reason:
                log.info("the series in %s stopped: %s", channel_id, reason)

    async def _record_win(self, guild_id: int, user_id: int, points: int, seconds: float,
                          name: str) -> None:  # fmt: skip
        """Write a win, trying again for about a minute while the database is unavailable."""
        async with self._score_order:
            for delay in (*self.score_retry_delays, None):
                try:
                    await self.bot.store.record_win(guild_id, user_id, points, seconds, name)
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

    async def take_guess(self, channel_id: int, user: discord.abc.User, text: str) -> Outcome:
        round_ = self.rounds.get(channel_id)
        if round_ is None:
            return Outcome.LATE
        outcome = round_.guess(user.id, text, self.clock())
        if outcome is Outcome.CORRECT:  # the guesser hears at once: a modal has 3 s to answer
            self._in_background(self.finish(channel_id, round_, user))
        return outcome

    def next_hint(self, channel_id: int) -> str | None:
        round_ = self.rounds.get(channel_id)
        return round_.hint(self.clock()) if round_ else None

    # ------------------------------------------------------------------ Discord events

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or not message.content:
            return
        round_ = self.rounds.get(message.channel.id)
        if round_ is None or not round_.open:
            return
        if message.content.startswith(self.bot.settings.command_prefix):
            return
        outcome = await self.take_guess(message.channel.id, message.author, message.content)
        if outcome is Outcome.WRONG:  # without Add Reactions, a wrong guess stays quiet
            with contextlib.suppress(discord.HTTPException):
                await message.add_reaction(WRONG)

    @commands.hybrid_command(
        name="whosthat", description="Start a 'Who's that Pokémon?' round",
        usage="[generation 1-9] [easy|hard] [rounds 1-10]",
    )  # fmt: skip
    @app_commands.describe(
        generation="Only Pokémon from this generation (1-9)",
        difficulty="easy: types shown; hard: silhouette only, turned or cropped",
        rounds="How many rounds in a row (1-10)",
    )
    async def whosthat(
        self,
        ctx: commands.Context,
        generation: commands.Range[int, 1, 9] | None = None,
        difficulty: Literal["easy", "hard"] = "easy",
        rounds: commands.Range[int, 1, 10] = 1,
    ) -> None:
        if ctx.interaction:
            await ctx.defer()
        try:
            reason = await self.start_round(
                ctx.channel, ctx.guild.id if ctx.guild else None, generation,
                difficulty == "hard", rounds,
            )  # fmt: skip
        except Exception:
            log.exception("could not start a round in %s", ctx.channel.id)
            reason = "Something went wrong while starting the round; try again in a moment."
        if reason in (JUST_STARTED, ALREADY_RUNNING):  # said again and again when people race
            await self.refuse(ctx, reason)
        elif reason:
            await ctx.send(reason, ephemeral=True, allowed_mentions=NO_PINGS)
        elif ctx.interaction:
            await ctx.send("Round started!", ephemeral=True)

    @commands.hybrid_command(name="hint", description="A hint for the running round")
    async def hint(self, ctx: commands.Context) -> None:
        text = self.next_hint(ctx.channel.id)
        if text is None:
            await self.refuse(ctx, "No hint right now (none left, or wait a moment).")
            return
        await ctx.send(f"Hint: {text}", allowed_mentions=NO_PINGS)

    async def refuse(self, ctx: commands.Context, reason: str) -> None:
        """Say why a command cannot run: privately to a slash command; to a prefix command
        with a reaction, so that repeating it does not fill the channel."""
        try:
            if ctx.interaction:
                await ctx.send(reason, ephemeral=True, allowed_mentions=NO_PINGS)
            else:
                await ctx.message.add_reaction(REFUSED)
        except discord.HTTPException as exc:
            log.debug("could not refuse a command: %s", exc)

    async def cog_command_error(self, ctx: commands.Context, error: Exception) -> None:
        """A prefix command written wrong gets its usage, in a line."""
        if isinstance(error, commands.UserInputError) and ctx.command is not None:
            usage = f"{ctx.clean_prefix}{ctx.command.name} {ctx.command.usage or ''}".strip()
            with contextlib.suppress(discord.HTTPException):
                await ctx.send(f"Usage: `{usage}`", ephemeral=True, allowed_mentions=NO_PINGS)
            return
        log.error("command %s failed", ctx.command, exc_info=error)

    @app_commands.command(name="leaderboard", description="Quiz scores in this server")
    @app_commands.guild_only()
    async def leaderboard(self, interaction: discord.Interaction) -> None:
        players = await self.bot.store.players(interaction.guild_id)
        view = LeaderboardView(self, interaction.guild, players)
        view.previous.disabled = True
        view.next.disabled = players <= PAGE
        embed = await self.leaderboard_page(interaction.guild, 0, players)
        await interaction.response.send_message(embed=embed, view=view, allowed_mentions=NO_PINGS)

    async def leaderboard_page(self, guild: discord.Guild, start: int, players: int):
        page = await self.bot.store.leaderboard(guild.id, start, PAGE)
        names = {}
        for score in page:
            member = guild.get_member(score.user_id)
            names[score.user_id] = member.display_name if member else score.name
        return render.leaderboard_embed(guild.name, page, names, start, players)

    @app_commands.command(name="stats", description="Quiz stats of a player")
    @app_commands.guild_only()
    async def stats(self, interaction: discord.Interaction, user: discord.Member | None = None):
        member = user or interaction.user
        score = await self.bot.store.stats(interaction.guild_id, member.id)
        await interaction.response.send_message(
            embed=render.stats_embed(member.display_name, score), allowed_mentions=NO_PINGS
        )


async def setup(bot: Neuralmon) -> None:
    await bot.add_cog(Quiz(bot))
