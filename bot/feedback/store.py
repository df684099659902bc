"""Feedback in the bot's database (tables of migration 4 in ``bot.store``): which servers opted
in, the pictures kept while people may answer, their answers, and the people an admin ignores.

A picture read in a server that opted in is kept for ``window`` (the life of its buttons); one
that somebody answered is kept for ``retention`` from when it was posted; the others go when
their window ends. Deleting a picture deletes its answers.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bot.databases import Database
from bot.feedback.answers import Answer
from model.feedback import FeedbackImage, FeedbackLabel
from model.images import open_image, sniff

KEPT_BYTES = 2 * 2**20  # a larger picture is kept as a copy reduced to KEPT_SIDE
KEPT_SIDE = 1024
IMAGE_COLUMNS = (
    "image_id, guild_id, channel_id, poster_id, sha256, created, model_version, "
    "predicted_species, predicted_types, suffix"
)


def kept_picture(data: bytes) -> tuple[bytes, str]:
    """(the bytes to keep, their file suffix): the picture as posted, or when over
    ``KEPT_BYTES`` its first frame reduced to ``KEPT_SIDE`` pixels as WebP. ``data`` has been
    read by the bot's decoder, within its budget."""
    found = sniff(data)
    if len(data) <= KEPT_BYTES and found:
        return data, found.suffixes[0]
    img = open_image(data, max_bytes=len(data))
    img.thumbnail((KEPT_SIDE, KEPT_SIDE))
    out = io.BytesIO()
    img.save(out, "WEBP", quality=90)
    return out.getvalue(), ".webp"


@dataclass(frozen=True)
class Reading:
    """A picture the bot answered, as feedback keeps it."""

    guild_id: int
    channel_id: int
    poster_id: int
    model_version: str
    predicted_species: int | None
    predicted_types: str


class FeedbackStore:
    def __init__(self, db: Database):
        self.db = db
        self._enabled: dict[int, bool] = {}  # read on every reply in a server: kept once read

    async def enabled(self, guild_id: int) -> bool:
        if guild_id not in self._enabled:
            row = await self.db.fetchone(
                "SELECT enabled FROM feedback_guilds WHERE guild_id = ?", guild_id
            )
            self._enabled[guild_id] = bool(row and row[0])
        return self._enabled[guild_id]

    async def set_enabled(self, guild_id: int, on: bool) -> bool:
        """Switch the server's collection; True when it is switched on for the first time."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT announced FROM feedback_guilds WHERE guild_id = ?", guild_id
            )
            first = on and not (row and row[0])
            await tx.execute(
                "INSERT INTO feedback_guilds (guild_id, enabled, announced) VALUES (?, ?, ?) "
                "ON CONFLICT (guild_id) DO UPDATE SET enabled = excluded.enabled, "
                "announced = CASE WHEN excluded.announced = 1 THEN 1 "
                "ELSE feedback_guilds.announced END",
                guild_id, int(on), int(on),
            )  # fmt: skip
        self._enabled[guild_id] = on
        return first

    async def keep(self, reading: Reading, picture: bytes, suffix: str, now: float) -> int:
        """Keep a picture while people may answer; returns its id (for its buttons)."""
        image_id = secrets.randbits(62)
        await self.db.execute(
            f"INSERT INTO feedback_images ({IMAGE_COLUMNS}, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            image_id, reading.guild_id, reading.channel_id, reading.poster_id,
            hashlib.sha256(picture).hexdigest(), float(now), reading.model_version,
            reading.predicted_species, reading.predicted_types, suffix, picture,
        )  # fmt: skip
        return image_id

    async def image(self, image_id: int) -> FeedbackImage | None:
        row = await self.db.fetchone(
            f"SELECT {IMAGE_COLUMNS} FROM feedback_images WHERE image_id = ?", image_id
        )
        return _image(row) if row else None

    async def answer(self, image: FeedbackImage, user_id: int, answer: Answer, now: float) -> bool:
        """Keep ``user_id``'s answer, replacing an earlier one; True when it replaced one."""
        async with self.db.transaction() as tx:
            earlier = await tx.fetchone(
                "SELECT 1 FROM feedback_labels WHERE image_id = ? AND user_id = ?",
                image.image_id, user_id,
            )  # fmt: skip
            await tx.execute(
                "INSERT INTO feedback_labels "
                "(image_id, user_id, guild_id, by_poster, kind, species, types, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (image_id, user_id) DO UPDATE SET "
                "kind = excluded.kind, species = excluded.species, types = excluded.types, "
                "created = excluded.created",
                image.image_id, user_id, image.guild_id, int(user_id == image.poster_id),
                answer.kind, answer.species, answer.types, float(now),
            )  # fmt: skip
            await tx.execute(
                "UPDATE feedback_images SET answered = 1 WHERE image_id = ?", image.image_id
            )
        return earlier is not None

    async def set_ignored(self, guild_id: int, user_id: int, ignored: bool) -> None:
        if ignored:
            await self.db.execute(
                "INSERT INTO feedback_ignored (guild_id, user_id) VALUES (?, ?) "
                "ON CONFLICT DO NOTHING",
                guild_id, user_id,
            )  # fmt: skip
        else:
            await self.db.execute(
                "DELETE FROM feedback_ignored WHERE guild_id = ? AND user_id = ?",
                guild_id, user_id,
            )  # fmt: skip

    async def delete_server(self, guild_id: int) -> int:
        """Delete every picture and answer of a server; returns how many pictures."""
        async with self.db.transaction() as tx:
            (count,) = await tx.fetchone(
                "SELECT COUNT(*) FROM feedback_images WHERE guild_id = ?", guild_id
            )
            await tx.execute("DELETE FROM feedback_labels WHERE guild_id = ?", guild_id)
            await tx.execute("DELETE FROM feedback_images WHERE guild_id = ?", guild_id)
        return count

    async def delete_user(self, guild_id: int, user_id: int) -> tuple[int, int]:
        """Delete a person's answers in a server, and the pictures they posted with everyone's
        answers to them; returns (pictures, answers of theirs)."""
        async with self.db.transaction() as tx:
            (pictures,) = await tx.fetchone(
                "SELECT COUNT(*) FROM feedback_images WHERE guild_id = ? AND poster_id = ?",
                guild_id, user_id,
            )  # fmt: skip
            (answers,) = await tx.fetchone(
                "SELECT COUNT(*) FROM feedback_labels WHERE guild_id = ? AND user_id = ?",
                guild_id, user_id,
            )  # fmt: skip
            await tx.execute(
                "DELETE FROM feedback_labels WHERE image_id IN (SELECT image_id FROM "
                "feedback_images WHERE guild_id = ? AND poster_id = ?) "
                "OR (guild_id = ? AND user_id = ?)",
                guild_id, user_id, guild_id, user_id,
            )  # fmt: skip
            await tx.execute(
                "DELETE FROM feedback_images WHERE guild_id = ? AND poster_id = ?",
                guild_id, user_id,
            )  # fmt: skip
        return pictures, answers

    async def purge(self, now: float, window: float, retention: float) -> int:
        """Delete pictures nobody answered within ``window`` seconds, and answered ones older
        than ``retention``; returns how many."""
        condition = "(answered = 0 AND created < ?) OR created < ?"
        async with self.db.transaction() as tx:
            (count,) = await tx.fetchone(
                f"SELECT COUNT(*) FROM feedback_images WHERE {condition}",
                now - window, now - retention,
            )  # fmt: skip
            await tx.execute(
                "DELETE FROM feedback_labels WHERE image_id IN (SELECT image_id FROM "
                f"feedback_images WHERE {condition})",
                now - window, now - retention,
            )  # fmt: skip
            await tx.execute(
                f"DELETE FROM feedback_images WHERE {condition}", now - window, now - retention
            )
        return count

    async def export(
        self, guild_id: int, part_bytes: int
    ) -> AsyncIterator[tuple[list[tuple[FeedbackImage, bytes]], list[FeedbackLabel]]]:
        """A server's answered pictures with the answers of people not ignored, in parts of at
        most ``part_bytes`` of pictures (one picture may exceed it alone)."""
        sizes = await self.db.fetchall(
            "SELECT image_id, LENGTH(data) FROM feedback_images WHERE guild_id = ? "
            "AND answered = 1 ORDER BY created, image_id",
            guild_id,
        )
        for ids in _parts(sizes, part_bytes):
            marks = ", ".join("?" * len(ids))
            rows = await self.db.fetchall(
                f"SELECT {IMAGE_COLUMNS}, data FROM feedback_images WHERE image_id IN ({marks}) "
                "ORDER BY created, image_id",
                *ids,
            )
            labels = await self.db.fetchall(
                "SELECT image_id, user_id, by_poster, kind, species, types, created "
                f"FROM feedback_labels WHERE image_id IN ({marks}) AND user_id NOT IN "
                "(SELECT user_id FROM feedback_ignored WHERE guild_id = ?) "
                "ORDER BY image_id, created",
                *ids, guild_id,
            )  # fmt: skip
            yield (
                [(_image(row[:-1]), bytes(row[-1])) for row in rows],
                [FeedbackLabel(r[0], r[1], bool(r[2]), *r[3:]) for r in labels],
            )


def _parts(sizes: list[tuple[int, int]], part_bytes: int) -> list[list[int]]:
    parts: list[list[int]] = []
    total = part_bytes
    for image_id, size in sizes:
        if total + size > part_bytes and (not parts or parts[-1]):
            parts.append([])
            total = 0
        parts[-1].append(image_id)
        total += size
    return parts


def _image(row: tuple) -> FeedbackImage:
    image_id, guild_id, channel_id, poster_id, sha256, created, version, species, types, suffix = (
        row
    )
    return FeedbackImage(
        image_id, f"images/{image_id}{suffix}", sha256, guild_id, channel_id, poster_id,
        created, version, species, types,
    )  # fmt: skip
