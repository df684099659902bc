"""The bot's database: versioned migrations and small queries, on SQLite or PostgreSQL.

The migrations and queries are plain SQL that both understand (``bot.databases`` runs them);
the schema version says how many migrations have run, and pending ones run in one transaction
that holds the write lock, so processes starting together migrate once.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from bot.databases import Connection, Database
from bot.feedback.store import FeedbackStore

log = logging.getLogger(__name__)

# Discord ids need 64 bits (BIGINT); REAL is 32 bits in PostgreSQL, hence DOUBLE PRECISION.
# SQLite reads both as its INTEGER and REAL, so databases made before these names changed
# need nothing.
MIGRATIONS: list[str] = [
    # 1: per-channel switch for automatic classification
    """
    CREATE TABLE channel_settings (
        channel_id   BIGINT PRIMARY KEY,
        guild_id     BIGINT,
        autoclassify INTEGER NOT NULL
    );
    """,
    # 2: quiz scores per guild and user, and the rounds running (to end them after a restart)
    """
    CREATE TABLE scores (
        guild_id     BIGINT NOT NULL,
        user_id      BIGINT NOT NULL,
        points       INTEGER NOT NULL DEFAULT 0,
        wins         INTEGER NOT NULL DEFAULT 0,
        streak       INTEGER NOT NULL DEFAULT 0,
        best_streak  INTEGER NOT NULL DEFAULT 0,
        fastest      DOUBLE PRECISION,
        PRIMARY KEY (guild_id, user_id)
    );
    CREATE INDEX scores_by_points ON scores (guild_id, points DESC);
    CREATE TABLE open_rounds (
        channel_id   BIGINT PRIMARY KEY,
        guild_id     BIGINT,
        species      INTEGER NOT NULL,
        started      DOUBLE PRECISION NOT NULL
    );
    """,
    # 3: the winner's display name at their last win (members are not cached without the
    # members intent, so the leaderboard could not name them otherwise)
    """
    ALTER TABLE scores ADD COLUMN name TEXT;
    """,
    # 4: feedback (bot.feedback.store): servers that opted in, pictures people may answer,
    # their answers, and the people whose answers an admin ignores
    """
    CREATE TABLE feedback_guilds (
        guild_id     BIGINT PRIMARY KEY,
        enabled      INTEGER NOT NULL,
        announced    INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE feedback_images (
        image_id     BIGINT PRIMARY KEY,
        guild_id     BIGINT NOT NULL,
        channel_id   BIGINT NOT NULL,
        poster_id    BIGINT NOT NULL,
        sha256       TEXT NOT NULL,
        created      DOUBLE PRECISION NOT NULL,
        model_version TEXT NOT NULL,
        predicted_species INTEGER,
        predicted_types TEXT NOT NULL,
        suffix       TEXT NOT NULL,
        data         BYTEA NOT NULL,
        answered     INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX feedback_images_by_guild ON feedback_images (guild_id, created);
    CREATE TABLE feedback_labels (
        image_id     BIGINT NOT NULL,
        user_id      BIGINT NOT NULL,
        guild_id     BIGINT NOT NULL,
        by_poster    INTEGER NOT NULL,
        kind         TEXT NOT NULL,
        species      INTEGER,
        types        TEXT NOT NULL,
        created      DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (image_id, user_id)
    );
    CREATE INDEX feedback_labels_by_user ON feedback_labels (guild_id, user_id);
    CREATE TABLE feedback_ignored (
        guild_id     BIGINT NOT NULL,
        user_id      BIGINT NOT NULL,
        PRIMARY KEY (guild_id, user_id)
    );
    """,
]


SCORE_COLUMNS = "user_id, points, wins, streak, best_streak, fastest, name"


@dataclass(frozen=True)
class Score:
    user_id: int
    points: int
    wins: int
    streak: int
    best_streak: int
    fastest: float | None
    name: str | None = None


class Store:
    def __init__(self, db: Database):
        self.db = db
        # Channel switches, read on every image message: kept in memory once read. Safe with
        # several processes, since a channel's guild (and so its /autoclassify) has one shard.
        self._switches: dict[int, bool | None] = {}
        self.feedback = FeedbackStore(db)

    @classmethod
    async def open(cls, target: str | os.PathLike) -> Store:
        """A file path (SQLite) or a database URL; runs pending migrations."""
        store = cls(await Database.open(target))
        try:
            await store.migrate()
        except BaseException:
            await store.close()
            raise
        return store

    async def close(self) -> None:
        await self.db.close()

    async def version(self) -> int:
        async with self.db.connect() as connection:
            return await self.db.schema_version(connection)

    async def migrate(self) -> None:
        async with self.db.transaction() as tx:
            current = await self.db.schema_version(tx)
            for number, sql in enumerate(MIGRATIONS[current:], start=current + 1):
                for statement in filter(str.strip, sql.split(";")):
                    await tx.execute(statement)
                log.info("%s: migrating to version %d", self.db.description, number)
            if current < len(MIGRATIONS):
                await self.db.set_schema_version(tx, len(MIGRATIONS))

    async def autoclassify(self, channel_id: int) -> bool | None:
        """The channel's switch, or None when nobody has set it."""
        if channel_id not in self._switches:
            row = await self.db.fetchone(
                "SELECT autoclassify FROM channel_settings WHERE channel_id = ?", channel_id
            )
            self._switches[channel_id] = None if row is None else bool(row[0])
        return self._switches[channel_id]

    async def set_autoclassify(self, guild_id: int | None, channel_id: int, on: bool) -> None:
        await self.db.execute(
            "INSERT INTO channel_settings (channel_id, guild_id, autoclassify) VALUES (?, ?, ?) "
            "ON CONFLICT (channel_id) DO UPDATE SET autoclassify = excluded.autoclassify",
            channel_id, guild_id, int(on),
        )  # fmt: skip
        self._switches[channel_id] = on

    # ---------------------------------------------------------------- quiz

    async def record_win(
        self, guild_id: int, user_id: int, points: int, seconds: float, name: str | None = None
    ) -> Score:
        """Add a win, in one transaction: points, wins, streaks (others' reset), fastest."""
        seconds = float(seconds)
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO scores (guild_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                guild_id, user_id,
            )  # fmt: skip
            await tx.execute(
                "UPDATE scores SET streak = 0 WHERE guild_id = ? AND user_id != ?",
                guild_id, user_id,
            )  # fmt: skip
            await tx.execute(
                "UPDATE scores SET points = points + ?, wins = wins + 1, streak = streak + 1, "
                "best_streak = CASE WHEN streak + 1 > best_streak "
                "THEN streak + 1 ELSE best_streak END, "
                "fastest = CASE WHEN fastest IS NULL OR ? < fastest THEN ? ELSE fastest END, "
                "name = COALESCE(?, name) WHERE guild_id = ? AND user_id = ?",
                points, seconds, seconds, name, guild_id, user_id,
            )  # fmt: skip
            return await self._stats(tx, guild_id, user_id)

    async def stats(self, guild_id: int, user_id: int) -> Score | None:
        async with self.db.connect() as connection:
            return await self._stats(connection, guild_id, user_id)

    @staticmethod
    async def _stats(connection: Connection, guild_id: int, user_id: int) -> Score | None:
        row = await connection.fetchone(
            f"SELECT {SCORE_COLUMNS} FROM scores WHERE guild_id = ? AND user_id = ?",
            guild_id, user_id,
        )  # fmt: skip
        return Score(*row) if row else None

    async def leaderboard(self, guild_id: int, offset: int = 0, limit: int = 10) -> list[Score]:
        rows = await self.db.fetchall(
            f"SELECT {SCORE_COLUMNS} FROM scores WHERE guild_id = ? "
            "ORDER BY points DESC, wins DESC, user_id LIMIT ? OFFSET ?",
            guild_id, limit, offset,
        )  # fmt: skip
        return [Score(*row) for row in rows]

    async def players(self, guild_id: int) -> int:
        row = await self.db.fetchone("SELECT COUNT(*) FROM scores WHERE guild_id = ?", guild_id)
        return row[0]

    async def round_opened(
        self, channel_id: int, guild_id: int | None, species: int, started: float
    ) -> None:
        await self.db.execute(
            "INSERT INTO open_rounds (channel_id, guild_id, species, started) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (channel_id) DO UPDATE SET guild_id = excluded.guild_id, "
            "species = excluded.species, started = excluded.started",
            channel_id, guild_id, species, float(started),
        )  # fmt: skip

    async def round_closed(self, channel_id: int) -> None:
        await self.db.execute("DELETE FROM open_rounds WHERE channel_id = ?", channel_id)

    async def open_rounds(self) -> list[tuple[int, int]]:
        """(channel, species) of rounds left open when the bot last stopped."""
        return await self.db.fetchall("SELECT channel_id, species FROM open_rounds")
