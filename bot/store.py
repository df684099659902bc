"""The bot's SQLite database (aiosqlite, WAL): versioned migrations and small queries.

``PRAGMA user_version`` records how many migrations have run; each runs in one transaction.
"""

from __future__ import annotations

import logging
import os
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
]


class Store:
    def __init__(self, db: aiosqlite.Connection):
        self.db = db

    @classmethod
    async def open(cls, path: str | os.PathLike) -> Store:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)  # transactions by hand
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA busy_timeout=5000")
        store = cls(db)
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
