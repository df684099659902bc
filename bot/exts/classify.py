"""Images in chat -> types: automatic replies, /classify, "Classify image", /explain, /autoclassify.

Thin: Discord events in, ``bot.reading`` and ``bot.render`` do the work.
Automatic replies are on in every channel unless WATCHED_CHANNELS names some; admins switch a
channel with /autoclassify. Over a rate limit, extra images are skipped silently.
"""

from __future__ import annotations

import asyncio
import io
import logging
from functools import partial
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands
from PIL import Image

from bot.attachments import AttachmentError, fetch_image, is_image
from bot.delivery import embed_groups, fit, packed, png, shown_name, with_retries
from bot.exts.feedback import feedback_view
from bot.inference import Busy
from bot.ratelimit import RateLimiter
from bot.reading import BUSY, FAILED, ImageReading, read_image
from bot.render import prediction_embed, prediction_text
from model.explain import ExplainUnavailable, explain_prepared
from model.images import FORMAT_NAMES, ImageError

if TYPE_CHECKING:
    from bot.bot import Neuralmon

log = logging.getLogger(__name__)
NO_PINGS = discord.AllowedMentions.none()
Message = tuple[str, list[discord.Embed], bool]


RATE_LIMITED = "You're sending images faster than I can read them; try again in a few seconds."


def reply_messages(readings: list[ImageReading], embeds_allowed: bool) -> list[Message]:
    """The messages (text, embeds, whether it is the last) that answer one message's images,
    each within Discord's limits: the errors first, then the readings."""
    errors = [f"{shown_name(r.filename)}: {r.error}" for r in readings if r.error]
    good = [r for r in readings if r.prediction]
    if embeds_allowed:
        groups = embed_groups([prediction_embed(r.prediction, r.filename) for r in good]) or [[]]
        messages = [(fit("\n".join(errors)), groups[0]), *(("", group) for group in groups[1:])]
    else:
        texts = [prediction_text(r.prediction, r.filename) for r in good]
        messages = [(text, []) for text in packed(texts + errors)]
    return [(text, embeds, n == len(messages) - 1) for n, (text, embeds) in enumerate(messages)]


class Classify(commands.Cog):
    def __init__(self, bot: Neuralmon):
        self.bot = bot
        settings = bot.settings
        self.user_limit = RateLimiter(*settings.user_rate)
        self.channel_limit = RateLimiter(*settings.channel_rate)
        self._told_missing_permissions: set[int] = set()
        self.menu = app_commands.ContextMenu(name="Classify image", callback=self.classify_menu)
        bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    # ------------------------------------------------------------------ automatic replies

    async def enabled_in(self, channel: discord.abc.MessageableChannel) -> bool:
        switch = await self.bot.store.autoclassify(channel.id)
        if switch is not None:
            return switch
        watched = self.bot.settings.watched_channels
        return not watched or channel.id in watched

    def take_rate(self, user_id: int, channel_id: int, wanted: int) -> int:
        """How many of ``wanted`` images the limits allow now (and count them)."""
        granted = 0
        for _ in range(wanted):
            if not (self.user_limit.allowed(user_id) and self.channel_limit.allowed(channel_id)):
                break
            self.user_limit.hit(user_id)
            self.channel_limit.hit(channel_id)
            granted += 1
        return granted

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or not message.attachments:
            return
        images = [a for a in message.attachments if is_image(a.content_type, a.filename)]
        images = images[: self.bot.settings.max_images_per_message]
        if not images or not await self.enabled_in(message.channel):
            return
        granted = self.take_rate(message.author.id, message.channel.id, len(images))
        if not granted:
            log.debug("rate limit: skipped %d images from %s", len(images), message.author.id)
            return
        readings = await self.read_all(images[:granted])
        await self.reply(message, readings)

    async def read_all(self, attachments: list[discord.Attachment]) -> list[ImageReading]:
        bot = self.bot
        return list(
            await asyncio.gather(
                *(
                    read_image(a, bot.http_session, bot.inference, bot.settings.max_image_bytes)
                    for a in attachments
                )
            )
        )

    async def reply(self, message: discord.Message, readings: list[ImageReading]) -> None:
        channel = message.channel
        permissions = channel.permissions_for(message.guild.me) if message.guild else None
        if permissions is not None and not permissions.send_messages:
            self._log_missing_once(channel.id, "Send Messages")
            return
        embeds_allowed = permissions is None or permissions.embed_links
        view = await feedback_view(
            self.bot, message.guild and message.guild.id, channel.id, message.author.id, readings
        )
        try:
            for content, embeds, last in reply_messages(readings, embeds_allowed):
                send = partial(message.reply, content or None, embeds=embeds,
                               allowed_mentions=NO_PINGS, mention_author=False,
                               **({"view": view} if last and view else {}))  # fmt: skip
                await with_retries(send)
        except discord.Forbidden:
            self._log_missing_once(channel.id, "Send Messages / Read Message History")
        except discord.HTTPException as exc:
            log.warning("could not reply in channel %s: %s", channel.id, exc)

    def _log_missing_once(self, channel_id: int, what: str) -> None:
        if channel_id not in self._told_missing_permissions:
            self._told_missing_permissions.add(channel_id)
            log.warning(
                "missing permission %s in channel %s; staying quiet there", what, channel_id
            )

    # ------------------------------------------------------------------ commands

    async def answer(
        self,
        interaction: discord.Interaction,
        readings: list[ImageReading],
        poster_id: int | None = None,
    ) -> None:
        """Reply to a deferred interaction; an unusable image gets a private message. Feedback
        names ``poster_id`` (default: who ran the command) as the pictures' poster."""
        private = bool(readings) and all(r.error for r in readings)
        poster_id = interaction.user.id if poster_id is None else poster_id
        view = await feedback_view(
            self.bot, interaction.guild_id, interaction.channel_id or 0, poster_id, readings
        )
        try:
            if private:
                await interaction.delete_original_response()
            for content, embeds, last in reply_messages(readings, embeds_allowed=True):
                send = partial(interaction.followup.send, content, embeds=embeds,
                               ephemeral=private, allowed_mentions=NO_PINGS,
                               **({"view": view} if last and view else {}))  # fmt: skip
                await with_retries(send)
        except discord.HTTPException as exc:
            log.warning("could not answer a command: %s", exc)

    async def within_rate(self, interaction: discord.Interaction, wanted: int) -> int:
        """How many of ``wanted`` images a command may read (the automatic replies' limits);
        none: the user is told so privately."""
        granted = self.take_rate(interaction.user.id, interaction.channel_id or 0, wanted)
        if not granted:
            await interaction.response.send_message(RATE_LIMITED, ephemeral=True)
        return granted

    @app_commands.command(name="classify", description="Read the Pokémon types in an image")
    @app_commands.describe(image=f"A {FORMAT_NAMES} image")
    async def classify_command(
        self, interaction: discord.Interaction, image: discord.Attachment
    ) -> None:
        if not await self.within_rate(interaction, 1):
            return
        await interaction.response.defer(thinking=True)
        await self.answer(interaction, await self.read_all([image]))

    async def classify_menu(self, interaction: discord.Interaction, message: discord.Message):
        images = message.attachments[: self.bot.settings.max_images_per_message]
        if not images:
            await interaction.response.send_message(
                "That message has no image attached.", ephemeral=True
            )
            return
        granted = await self.within_rate(interaction, len(images))
        if not granted:
            return
        await interaction.response.defer(thinking=True)
        await self.answer(interaction, await self.read_all(images[:granted]), message.author.id)

    @app_commands.command(name="explain", description="Show where the network looked")
    @app_commands.describe(image=f"A {FORMAT_NAMES} image")
    async def explain_command(
        self, interaction: discord.Interaction, image: discord.Attachment
    ) -> None:
        if not await self.within_rate(interaction, 1):
            return
        await interaction.response.defer(thinking=True)
        try:
            picture = await self.explanation(image)
        except (AttachmentError, ImageError, ExplainUnavailable) as exc:
            await self.answer(interaction, [ImageReading(image.filename, error=str(exc))])
            return
        except Busy:
            await self.answer(interaction, [ImageReading(image.filename, error=BUSY)])
            return
        except Exception:
            log.exception("explaining %r failed", image.filename)
            await self.answer(interaction, [ImageReading(image.filename, error=FAILED)])
            return
        data = png(picture)
        try:
            await with_retries(
                lambda: interaction.followup.send(
                    file=discord.File(io.BytesIO(data), "explain.png"),
                    allowed_mentions=NO_PINGS,
                )
            )
        except discord.HTTPException as exc:
            log.warning("could not answer /explain: %s", exc)

    async def explanation(self, image: discord.Attachment) -> Image.Image:
        """The explain picture of an attachment: downloaded, decoded in the decoding threads,
        drawn in the explanation thread."""
        settings, inference = self.bot.settings, self.bot.inference
        data = await fetch_image(image, self.bot.http_session, settings.max_image_bytes)
        prepared = await inference.prepare(data)
        return await inference.explain(explain_prepared, prepared)

    @app_commands.command(name="autoclassify", description="Read images posted in this channel")
    @app_commands.describe(on="on: answer every image here; off: only /classify")
    @app_commands.default_permissions(manage_channels=True)
    @app_commands.guild_only()
    async def autoclassify(self, interaction: discord.Interaction, on: bool) -> None:
        await self.bot.store.set_autoclassify(interaction.guild_id, interaction.channel_id, on)
        state = "on: I'll read images posted here" if on else "off: use /classify here"
        await interaction.response.send_message(f"Automatic replies are {state}.", ephemeral=True)


async def setup(bot: Neuralmon) -> None:
    await bot.add_cog(Classify(bot))
