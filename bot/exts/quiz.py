"""The "Who's that Pokémon?" cog: commands, buttons and messages.

Thin: the rounds, series, timers and wins are ``bot.quiz.session``'s, the rules
``bot.quiz.game``'s, the matching ``bot.quiz.matching``'s, pictures ``bot.quiz.silhouette``'s,
scores ``bot.store``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import random
import time
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.delivery import png, with_retries
from bot.quiz import render
from bot.quiz.art import ArtSource
from bot.quiz.game import Outcome, Round
from bot.quiz.session import ALREADY_RUNNING, JUST_STARTED, QuestionNotPosted, QuizSession
from bot.quiz.silhouette import question_picture, reveal_picture
from model import pokedex

if TYPE_CHECKING:
    from bot.bot import Neuralmon

log = logging.getLogger(__name__)
NO_PINGS = discord.AllowedMentions.none()
WRONG = "❌"
REFUSED = "⏳"  # a prefix command that cannot run now: a reaction, not a message for everyone
PAGE = 10


class GuessModal(discord.ui.Modal, title="Who's that Pokémon?"):
    answer = discord.ui.TextInput(label="Your guess", max_length=40)

    def __init__(self, cog: Quiz, channel_id: int):
        super().__init__()
        self.cog, self.channel_id = cog, channel_id

    async def on_submit(self, interaction: discord.Interaction) -> None:
        user = interaction.user
        outcome = self.cog.session.guess(
            self.channel_id, user.id, user.display_name, str(self.answer.value)
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
        text = self.cog.session.hint(self.channel_id)
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
    """The commands, buttons and messages of the quiz; its rules and state are the session's
    (``bot.quiz.session``), which this cog serves as the ``Table`` where rounds are shown."""

    def __init__(self, bot: Neuralmon, clock=time.monotonic, rng: random.Random | None = None):
        self.bot = bot
        settings = bot.settings
        art = ArtSource(
            settings.data_dir, settings.data_dir / "quiz-cache", bot.http_session,
            settings.sprites_url,
        )  # fmt: skip
        self.session = QuizSession(self, bot.store, art, settings.quiz_seconds, clock, rng)
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
            await self.session.close_left_open(channel_id)
        if left:
            log.info("ended %d rounds left open by the last run", len(left))

    async def cog_unload(self) -> None:
        await self.session.close()

    # ------------------------------------------------------------------ the table

    async def ask(self, channel, round_: Round, remaining: int, art) -> None:
        picture = png(await asyncio.to_thread(question_picture, art, round_.hard, self.session.rng))
        try:
            await with_retries(
                lambda: channel.send(
                    embed=render.question_embed(round_, remaining),
                    file=discord.File(io.BytesIO(picture), "whosthat.png"),
                    view=RoundView(self, channel.id, round_.duration),
                    allowed_mentions=NO_PINGS,
                )
            )
        except discord.HTTPException as exc:
            raise QuestionNotPosted(exc) from exc

    async def reveal(self, channel, round_: Round, winner: str | None, art) -> None:
        picture = png(await asyncio.to_thread(reveal_picture, art))
        try:
            await with_retries(
                lambda: channel.send(
                    embed=render.reveal_embed(round_, winner),
                    file=discord.File(io.BytesIO(picture), "reveal.png"),
                    allowed_mentions=NO_PINGS,
                )
            )
        except discord.HTTPException as exc:
            log.warning("could not reveal in %s: %s", channel.id, exc)

    async def reading(self, art) -> tuple[str, ...] | None:
        try:
            prepared = await self.bot.inference.prepare(art)
            return (await self.bot.inference.classify(prepared)).typing
        except Exception as exc:  # a hint is a nicety: the round goes on without it
            log.debug("no network hint: %s", exc)
            return None

    # ------------------------------------------------------------------ Discord events

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or not message.content:
            return
        round_ = self.session.round(message.channel.id)
        if round_ is None or not round_.open:
            return
        if message.content.startswith(self.bot.settings.command_prefix):
            return
        author = message.author
        outcome = self.session.guess(
            message.channel.id, author.id, author.display_name, message.content
        )
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
            reason = await self.session.start(
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
        text = self.session.hint(ctx.channel.id)
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
