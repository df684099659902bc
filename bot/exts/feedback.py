"""Right / Wrong under classification replies, /feedback for admins, /forget-my-feedback.

Nothing is kept unless a server's admins run /feedback on. Then each reply's buttons take
answers for FEEDBACK_HOURS (after a restart too: their ids say which picture they are about),
and the answered pictures are kept for FEEDBACK_DAYS. Thin: ``bot.feedback.answers`` reads an
answer, ``Store.feedback`` keeps it, ``model.feedback`` writes the export.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot import metrics
from bot.delivery import with_retries
from bot.feedback.answers import Answer, AnswerError, parse_answer
from bot.feedback.store import KEPT_BYTES, Reading, kept_picture
from bot.ratelimit import RateLimiter
from bot.reading import ImageReading
from bot.render import shown_typing
from model import pokedex
from model.feedback import FeedbackImage, write_export

if TYPE_CHECKING:
    from bot.bot import Neuralmon

log = logging.getLogger(__name__)

ROWS = 5  # a message's rows of buttons: one per picture
EXPORT_MARGIN = 2**20  # of the upload limit, for the CSV files and the zip's own bytes
ANNOUNCEMENT = (
    "**Feedback is on in this server.** Under my replies, **Right** and **Wrong** let you tell "
    "me what a picture shows, so that I can be trained to read better. To learn from it, I keep "
    "each picture I read here for {hours:g} hours; the ones somebody answers I keep for {days:g} "
    "days, with: the picture and its hash, the channel, who posted it and who answered (Discord "
    "ids), the answers, the time and my reading. Admins can export or delete it all "
    "(`/feedback`); `/forget-my-feedback` deletes your own."
)
EXPIRED = "This reading has expired: I take answers for {hours:g} hours after a reply."
UNAVAILABLE = "I couldn't keep your answer just now; try again in a minute."


def described(answer: Answer) -> str:
    if answer.kind == "species":
        species = pokedex.load()[answer.species]
        return f"it is {species.name} (#{species.num})"
    if answer.kind == "types":
        return f"its types are {answer.types}"
    if answer.kind == "fan-made":
        return "it is fan-made" + (f" ({answer.types})" if answer.types else "")
    return "it is not a Pokémon"


class FeedbackButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"feedback:(?P<verdict>right|wrong):(?P<image>[0-9]+)",
):
    """Right or Wrong for one picture; its id lives in the button, so it works after a
    restart."""

    def __init__(
        self, verdict: str, image_id: int, label_suffix: str = "", row: int | None = None
    ) -> None:
        style = discord.ButtonStyle.success if verdict == "right" else discord.ButtonStyle.danger
        super().__init__(
            discord.ui.Button(
                label=verdict.capitalize() + label_suffix,
                style=style,
                custom_id=f"feedback:{verdict}:{image_id}",
            ),
            row=row,
        )
        self.verdict, self.image_id = verdict, image_id

    @classmethod
    async def from_custom_id(cls, interaction, item, match) -> FeedbackButton:
        return cls(match["verdict"], int(match["image"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = interaction.client.get_cog("Feedback")
        if cog is None:
            await interaction.response.send_message("Feedback is off right now.", ephemeral=True)
            return
        await cog.pressed(interaction, self.verdict, self.image_id)


class WrongModal(discord.ui.Modal, title="What is in the picture?"):
    what = discord.ui.TextInput(
        label="Which Pokémon is it?",
        placeholder='A name in any language, its number, "not a Pokémon" or "fan-made"',
        max_length=100,
    )
    types = discord.ui.TextInput(
        label="Its types, if it is fan-made (optional)",
        placeholder="Fire/Flying",
        required=False,
        max_length=40,
    )

    def __init__(self, cog: Feedback, image: FeedbackImage):
        super().__init__(timeout=600)
        self.cog, self.image = cog, image

    async def on_submit(self, interaction: discord.Interaction) -> None:
        try:
            answer = parse_answer(self.what.value, self.types.value)
        except AnswerError as exc:
            await interaction.response.send_message(str(exc), ephemeral=True)
            return
        await self.cog.record(interaction, self.image, answer)


class ConfirmDeletion(discord.ui.View):
    def __init__(self, cog: Feedback):
        super().__init__(timeout=60)
        self.cog = cog

    @discord.ui.button(label="Delete everything", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        count = await self.cog.store.delete_server(interaction.guild_id)
        self.stop()
        await interaction.response.edit_message(
            content=f"Deleted all feedback of this server: {count} pictures and their answers.",
            view=None,
        )


class Feedback(commands.Cog):
    group = app_commands.Group(
        name="feedback",
        description="What people say of my readings: collect, export, delete",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: Neuralmon, clock=time.time):
        self.bot, self.clock = bot, clock
        self.store = bot.store.feedback
        settings = bot.settings
        self.window = settings.feedback_hours * 3600
        self.retention = settings.feedback_days * 86400
        self.limit = RateLimiter(*settings.feedback_rate)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(FeedbackButton)
        self.purge.start()

    async def cog_unload(self) -> None:
        self.purge.cancel()
        self.bot.remove_dynamic_items(FeedbackButton)

    @tasks.loop(hours=1)
    async def purge(self) -> None:
        try:
            count = await self.store.purge(self.clock(), self.window, self.retention)
        except Exception:  # the database may be back in an hour; answers are not lost
            log.exception("could not delete expired feedback")
            return
        if count:
            log.info("deleted %d expired feedback pictures", count)

    # ------------------------------------------------------------------ answers

    async def pressed(self, interaction: discord.Interaction, verdict: str, image_id: int):
        try:
            image = await self.store.image(image_id)
        except Exception:
            log.exception("could not read feedback picture %d", image_id)
            await interaction.response.send_message(UNAVAILABLE, ephemeral=True)
            return
        if image is None or image.created + self.window < self.clock():
            await interaction.response.send_message(
                EXPIRED.format(hours=self.window / 3600), ephemeral=True
            )
            return
        if verdict == "wrong":
            await interaction.response.send_modal(WrongModal(self, image))
            return
        if image.predicted_species is not None:
            await self.record(interaction, image, Answer("species", image.predicted_species))
        else:
            await self.record(interaction, image, Answer("types", types=image.predicted_types))

    async def record(
        self, interaction: discord.Interaction, image: FeedbackImage, answer: Answer
    ) -> None:
        user = interaction.user.id
        if not self.limit.allowed(user):
            wait = self.limit.retry_after(user)
            await interaction.response.send_message(
                f"You're answering quickly; try again in {wait:.0f} s.", ephemeral=True
            )
            return
        try:
            if not await self.store.enabled(image.guild_id):
                await interaction.response.send_message(
                    "Feedback is off in this server now.", ephemeral=True
                )
                return
            self.limit.hit(user)
            changed = await self.store.answer(image, user, answer, self.clock())
        except Exception:
            log.exception("could not keep an answer to feedback picture %d", image.image_id)
            await interaction.response.send_message(UNAVAILABLE, ephemeral=True)
            return
        metrics.FEEDBACK.labels(answer.kind).inc()
        thanks = "Changed your answer" if changed else "Thanks"
        await interaction.response.send_message(f"{thanks}: {described(answer)}.", ephemeral=True)

    # ------------------------------------------------------------------ commands

    async def cog_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """A command that failed (the database away) still answers, privately."""
        log.error("/%s failed", interaction.command and interaction.command.qualified_name,
                  exc_info=error)  # fmt: skip
        text = "That didn't work just now; try again in a minute."
        with contextlib.suppress(discord.HTTPException):
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)

    @group.command(name="on", description="Collect what people say of my readings here")
    async def switch_on(self, interaction: discord.Interaction) -> None:
        first = await self.store.set_enabled(interaction.guild_id, True)
        text = ANNOUNCEMENT.format(hours=self.window / 3600, days=self.retention / 86400)
        if first:  # once, for everyone in the channel
            await interaction.response.send_message(text)
        else:
            await interaction.response.send_message(text, ephemeral=True)

    @group.command(name="off", description="Stop collecting; what was kept stays until deleted")
    async def switch_off(self, interaction: discord.Interaction) -> None:
        await self.store.set_enabled(interaction.guild_id, False)
        await interaction.response.send_message(
            "Feedback is off: no more pictures are kept. What was kept stays until it expires "
            "or you delete it (`/feedback delete`).",
            ephemeral=True,
        )

    @group.command(name="export", description="A zip of the answered pictures and a CSV")
    async def export(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        limit = interaction.guild.filesize_limit if interaction.guild else 10 * 2**20
        part_bytes = max(KEPT_BYTES, limit - EXPORT_MARGIN)
        parts = 0
        async for images, labels in self.store.export(interaction.guild_id, part_bytes):
            parts += 1
            data = await asyncio.to_thread(write_export, images, labels)
            await send_file(
                interaction,
                f"Part {parts}: {len(images)} pictures, {len(labels)} answers.",
                data,
                f"feedback-{interaction.guild_id}-{parts}.zip",
            )
        if not parts:
            await interaction.followup.send("Nobody has answered yet.", ephemeral=True)

    @group.command(name="delete", description="Delete one person's feedback, or all of it")
    @app_commands.describe(user="Whose feedback; leave empty to delete the whole server's")
    async def delete(self, interaction: discord.Interaction, user: discord.User | None = None):
        if user is None:
            await interaction.response.send_message(
                "Delete every picture and answer kept in this server?",
                view=ConfirmDeletion(self),
                ephemeral=True,
            )
            return
        pictures, answers = await self.store.delete_user(interaction.guild_id, user.id)
        await interaction.response.send_message(
            f"Deleted {pictures} pictures {user.mention} posted and {answers} of their answers.",
            ephemeral=True,
        )

    @group.command(name="ignore", description="Leave a person's answers out of the export")
    @app_commands.describe(ignored="False: count their answers again")
    async def ignore(
        self, interaction: discord.Interaction, user: discord.User, ignored: bool = True
    ) -> None:
        await self.store.set_ignored(interaction.guild_id, user.id, ignored)
        state = "left out of" if ignored else "counted again in"
        await interaction.response.send_message(
            f"{user.mention}'s answers are {state} the export.", ephemeral=True
        )

    @app_commands.command(
        name="forget-my-feedback",
        description="Delete your answers here and the pictures of yours I kept",
    )
    @app_commands.guild_only()
    async def forget_me(self, interaction: discord.Interaction) -> None:
        pictures, answers = await self.store.delete_user(interaction.guild_id, interaction.user.id)
        await interaction.response.send_message(
            f"Deleted {answers} of your answers and {pictures} of your pictures.", ephemeral=True
        )


async def send_file(interaction: discord.Interaction, text: str, data: bytes, name: str):
    """A private follow-up with a file, made anew on each try."""
    await with_retries(
        lambda: interaction.followup.send(
            text, file=discord.File(io.BytesIO(data), name), ephemeral=True
        )
    )


async def feedback_view(
    bot: Neuralmon,
    guild_id: int | None,
    channel_id: int,
    poster_id: int,
    readings: list[ImageReading],
    clock=time.time,
) -> discord.ui.View | None:
    """Right / Wrong for each picture read, in a server that collects feedback (the pictures
    are kept then); None elsewhere, or when they cannot be kept: the reply goes without."""
    good = [r for r in readings if r.prediction][:ROWS]
    if guild_id is None or not good:
        return None
    try:
        if not await bot.store.feedback.enabled(guild_id):
            return None
        version = bot.inference.predictor.version
        ids = []
        for r in good:
            picture, suffix = await asyncio.to_thread(kept_picture, r.data)
            species = r.prediction.species[0].num if r.prediction.species_confident else None
            typing = "/".join(shown_typing(r.prediction))
            reading = Reading(guild_id, channel_id, poster_id, version, species, typing)
            ids.append(await bot.store.feedback.keep(reading, picture, suffix, clock()))
    except Exception:
        log.exception("could not keep pictures for feedback; replying without buttons")
        return None
    view = discord.ui.View(timeout=None)
    for row, image_id in enumerate(ids):
        suffix = f" · {row + 1}" if len(ids) > 1 else ""
        for verdict in ("right", "wrong"):
            view.add_item(FeedbackButton(verdict, image_id, suffix, row))
    return view


async def setup(bot: Neuralmon) -> None:
    await bot.add_cog(Feedback(bot))
