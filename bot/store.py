"""The bot's SQLite database (aiosqlite, WAL): versioned migrations and small queries.

``PRAGMA user_version`` records how many migrations have run; each runs in one transaction.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

log = logging.getLogger(__name__)

MIGRATIONS: list[str] = [
    # 1: per-channel switch for automatic classification
    """
    CREATE TABLE channel_settings (
        channel_id   INTEGER PRIMARY KEY,
        guild_id     INTEGER,
        autoclassify INTEGER NOT NULL
    );
    """,
    # 2: quiz scores per guild and user, and the rounds running (to end them after a restart)
    """
    CREATE TABLE scores (
        guild_id     INTEGER NOT NULL,
        user_id      INTEGER NOT NULL,
        points       INTEGER NOT NULL DEFAULT 0,
        wins         INTEGER NOT NULL DEFAULT 0,
        streak       INTEGER NOT NULL DEFAULT 0,
        best_streak  INTEGER NOT NULL DEFAULT 0,
        fastest      REAL,
        PRIMARY KEY (guild_id, user_id)
    );
    CREATE INDEX scores_by_points ON scores (guild_id, points DESC);
    CREATE TABLE open_rounds (
        channel_id   INTEGER PRIMARY KEY,
        guild_id     INTEGER,
        species      INTEGER NOT NULL,
        started      REAL NOT NULL
    );
    """,
    # 3: the winner's display name at their last win (members are not cached without the
    # members intent, so the leaderboard could not name them otherwise)
    """
    ALTER TABLE scores ADD COLUMN name TEXT;
    """,
]


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
    def __init__(self, db: aiosqlite.Connection, path: str | os.PathLike = ":memory:"):
        self.db = db
        self.path = Path(path)

    @classmethod
    async def open(cls, path: str | os.PathLike) -> Store:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)  # transactions by hand
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA busy_timeout=5000")
        store = cls(db, path)
        await store.migrate()
        return store

    async def close(self) -> None:
        await self.db.close()

    async def version(self) -> int:
        async with self.db.execute("PRAGMA user_version") as cursor:
            return (await cursor.fetchone())[0]

    async def migrate(self) -> None:
        current = await self.version()
        for number, sql in enumerate(MIGRATIONS[current:], start=current + 1):
            await self.db.execute("BEGIN")
            try:
                for statement in filter(str.strip, sql.split(";")):
                    await self.db.execute(statement)
                await self.db.execute(f"PRAGMA user_version = {number}")
                await self.db.execute("COMMIT")
            except Exception:
                await self.db.execute("ROLLBACK")
                raise
            log.info("database migrated to version %d", number)

    async def autoclassify(self, channel_id: int) -> bool | None:
        """The channel's switch, or None when nobody has set it."""
        async with self.db.execute(
            "SELECT autoclassify FROM channel_settings WHERE channel_id = ?", (channel_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else bool(row[0])

    async def set_autoclassify(self, guild_id: int | None, channel_id: int, on: bool) -> None:
        await self.db.execute(
            "INSERT INTO channel_settings (channel_id, guild_id, autoclassify) VALUES (?, ?, ?) "
            "ON CONFLICT (channel_id) DO UPDATE SET autoclassify = excluded.autoclassify",
            (channel_id, guild_id, int(on)),
        )

    # ---------------------------------------------------------------- quiz

    async def record_win(
        self, guild_id: int, user_id: int, points: int, seconds: float, name: str | None = None
    ) -> Score:
        """Add a win, in one transaction: points, wins, streaks (others' reset), fastest."""
        await self.db.execute("BEGIN IMMEDIATE")
        try:
            await self.db.execute(
                "INSERT INTO scores (guild_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (guild_id, user_id),
            )
            await self.db.execute(
                "UPDATE scores SET streak = 0 WHERE guild_id = ? AND user_id != ?",
                (guild_id, user_id),
            )
            await self.db.execute(
                "UPDATE scores SET points = points + ?, wins = wins + 1, streak = streak + 1, "
                "best_streak = MAX(best_streak, streak + 1), "
                "fastest = MIN(COALESCE(fastest, ?), ?), name = COALESCE(?, name) "
                "WHERE guild_id = ? AND user_id = ?",
                (points, seconds, seconds, name, guild_id, user_id),
            )
            await self.db.execute("COMMIT")
        except BaseException:
            await self.db.execute("ROLLBACK")
            raise
        return await self.stats(guild_id, user_id)

    async def stats(self, guild_id: int, user_id: int) -> Score | None:
        async with self.db.execute(
            "SELECT user_id, points, wins, streak, best_streak, fastest, name FROM scores "
            "WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        ) as cursor:
            row = await cursor.fetchone()
        return Score(*row) if row else None

    async def leaderboard(self, guild_id: int, offset: int = 0, limit: int = 10) -> list[Score]:
        async with self.db.execute(
            "SELECT user_id, points, wins, streak, best_streak, fastest, name FROM scores "
            "WHERE guild_id = ? ORDER BY points DESC, wins DESC, user_id LIMIT ? OFFSET ?",
            (guild_id, limit, offset),
        ) as cursor:
            return [Score(*row) async for row in cursor]

    async def players(self, guild_id: int) -> int:
        async with self.db.execute(
            "SELECT COUNT(*) FROM scores WHERE guild_id = ?", (guild_id,)
        ) as cursor:
            return (await cursor.fetchone())[0]

    async def round_opened(
        self, channel_id: int, guild_id: int | None, species: int, started: float
    ):
        await self.db.execute(
            "INSERT OR REPLACE INTO open_rounds VALUES (?, ?, ?, ?)",
            (channel_id, guild_id, species, started),
        )

    async def round_closed(self, channel_id: int) -> None:
        await self.db.execute("DELETE FROM open_rounds WHERE channel_id = ?", (channel_id,))

    async def open_rounds(self) -> list[tuple[int, int]]:
        """(channel, species) of rounds left open when the bot last stopped."""
        async with self.db.execute("SELECT channel_id, species FROM open_rounds") as cursor:
            return [tuple(row) async for row in cursor]
