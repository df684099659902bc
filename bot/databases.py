"""SQLite or PostgreSQL behind one small interface, chosen by a URL.

    Database.open("neuralmon.db")                       # a file: SQLite (aiosqlite, WAL)
    Database.open("postgresql://user:pw@host/neuralmon")  # a server: PostgreSQL (asyncpg pool)

Queries are written once, in SQL both understand, with ``?`` placeholders (rewritten to ``$1``,
``$2``, ... for PostgreSQL). ``connect()`` lends one connection for a few queries;
``transaction()`` one connection inside a transaction that takes the write lock first, so
several bot processes sharing the database never interleave a migration or a score update.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import aiosqlite

POSTGRES_SCHEMES = ("postgresql", "postgres")
# Any fixed number: PostgreSQL advisory lock that serialises writers across processes.
_POSTGRES_LOCK = 0x6E657572616C


class Connection(Protocol):
    async def execute(self, sql: str, *args: Any) -> None: ...
    async def fetchone(self, sql: str, *args: Any) -> tuple | None: ...
    async def fetchall(self, sql: str, *args: Any) -> list[tuple]: ...


class Database(ABC):
    """Where the bot keeps its settings and scores."""

    @staticmethod
    async def open(target: str | os.PathLike) -> Database:
        """A PostgreSQL URL, a ``sqlite:///path`` URL, or a file path."""
        text = os.fspath(target)
        if urlsplit(text).scheme in POSTGRES_SCHEMES:
            return await PostgresDatabase.open(text)
        return await SQLiteDatabase.open(text.removeprefix("sqlite://"))

    @property
    @abstractmethod
    def description(self) -> str:
        """Where the data lives, safe to log (no password)."""

    @abstractmethod
    def connect(self) -> AbstractAsyncContextManager[Connection]: ...

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        """A connection in a transaction holding the database's write lock: commits at the end
        of the block, rolls back if it raises."""

    @abstractmethod
    async def schema_version(self, connection: Connection) -> int: ...

    @abstractmethod
    async def set_schema_version(self, connection: Connection, version: int) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    async def execute(self, sql: str, *args: Any) -> None:
        async with self.connect() as connection:
            await connection.execute(sql, *args)

    async def fetchone(self, sql: str, *args: Any) -> tuple | None:
        async with self.connect() as connection:
            return await connection.fetchone(sql, *args)

    async def fetchall(self, sql: str, *args: Any) -> list[tuple]:
        async with self.connect() as connection:
            return await connection.fetchall(sql, *args)


# ------------------------------------------------------------------------------------ SQLite


class SQLiteConnection:
    def __init__(self, db: aiosqlite.Connection):
        self.db = db

    async def execute(self, sql: str, *args: Any) -> None:
        await self.db.execute(sql, args)

    async def fetchone(self, sql: str, *args: Any) -> tuple | None:
        async with self.db.execute(sql, args) as cursor:
            row = await cursor.fetchone()
        return None if row is None else tuple(row)

    async def fetchall(self, sql: str, *args: Any) -> list[tuple]:
        async with self.db.execute(sql, args) as cursor:
            return [tuple(row) async for row in cursor]


class SQLiteDatabase(Database):
    """One connection in WAL mode. A lock keeps one coroutine's transaction from swallowing
    another's statements; other processes on the same file wait up to 5 s for the write lock."""

    def __init__(self, db: aiosqlite.Connection, path: Path):
        self.path = path
        self._connection = SQLiteConnection(db)
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str) -> SQLiteDatabase:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)  # transactions by hand
        # Wait for other processes' locks first: switching to WAL takes one when the file is new.
        # Each pragma answers a row: read it, or the open statement keeps a read lock that turns
        # a later BEGIN IMMEDIATE into an instant "database is locked".
        try:
            for pragma in ("PRAGMA busy_timeout=5000", "PRAGMA journal_mode=WAL"):
                await _run_pragma(db, pragma)
        except BaseException:  # its thread would keep the process alive
            await db.close()
            raise
        return cls(db, Path(path))

    @property
    def description(self) -> str:
        return f"SQLite file {self.path}"

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Connection]:
        async with self._lock:
            yield self._connection

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._lock:
            await self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                await self._connection.execute("ROLLBACK")
                raise
            await self._connection.execute("COMMIT")

    async def schema_version(self, connection: Connection) -> int:
        return (await connection.fetchone("PRAGMA user_version"))[0]

    async def set_schema_version(self, connection: Connection, version: int) -> None:
        await connection.execute(f"PRAGMA user_version = {int(version)}")

    async def close(self) -> None:
        await self._connection.db.close()


async def _run_pragma(db: aiosqlite.Connection, pragma: str, tries: int = 50) -> None:
    """Run a pragma, waiting out other processes that create the same file at the same moment
    (the switch to WAL can answer "database is locked" without waiting for the busy timeout)."""
    for attempt in range(tries):
        try:
            async with db.execute(pragma) as cursor:
                await cursor.fetchall()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == tries - 1:
                raise
            await asyncio.sleep(0.1)


# -------------------------------------------------------------------------------- PostgreSQL


@lru_cache(maxsize=256)
def postgres_sql(sql: str) -> str:
    """``?`` placeholders -> ``$1, $2, ...`` (our queries hold no literal question marks)."""
    numbers = itertools.count(1)
    return re.sub(r"\?", lambda _: f"${next(numbers)}", sql)


def redact(url: str) -> str:
    """The URL without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresConnection:
    def __init__(self, connection):  # an asyncpg connection
        self.connection = connection

    async def execute(self, sql: str, *args: Any) -> None:
        await self.connection.execute(postgres_sql(sql), *args)

    async def fetchone(self, sql: str, *args: Any) -> tuple | None:
        row = await self.connection.fetchrow(postgres_sql(sql), *args)
        return None if row is None else tuple(row)

    async def fetchall(self, sql: str, *args: Any) -> list[tuple]:
        return [tuple(row) for row in await self.connection.fetch(postgres_sql(sql), *args)]


class PostgresDatabase(Database):
    """A small asyncpg pool; the schema version lives in a one-row table."""

    def __init__(self, pool, url: str):
        self.pool = pool
        self.url = url

    @classmethod
    async def open(cls, url: str) -> PostgresDatabase:
        import asyncpg  # only deployments on PostgreSQL need it

        pool = await asyncpg.create_pool(url, min_size=1, max_size=4, timeout=10)
        return cls(pool, url)

    @property
    def description(self) -> str:
        return f"PostgreSQL {redact(self.url)}"

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Connection]:
        async with self.pool.acquire() as connection:
            yield PostgresConnection(connection)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", _POSTGRES_LOCK)
            yield PostgresConnection(connection)

    async def schema_version(self, connection: Connection) -> int:
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
        )
        row = await connection.fetchone("SELECT version FROM schema_version")
        return 0 if row is None else row[0]

    async def set_schema_version(self, connection: Connection, version: int) -> None:
        await connection.execute("DELETE FROM schema_version")
        await connection.execute("INSERT INTO schema_version (version) VALUES (?)", version)

    async def close(self) -> None:
        await self.pool.close()
