import asyncio
import sqlite3

import pytest

from bot.databases import Database, postgres_sql, redact
from bot.store import MIGRATIONS, Store


async def test_migrations_run_once_and_settings_survive_a_reopen(database_url):
    store = await Store.open(database_url)
    assert await store.version() == len(MIGRATIONS)
    assert await store.autoclassify(5) is None
    await store.set_autoclassify(1, 5, False)
    await store.set_autoclassify(1, 6, True)
    await store.set_autoclassify(1, 6, False)
    await store.close()

    again = await Store.open(database_url)  # a new bot instance on the same database
    assert await again.version() == len(MIGRATIONS)
    assert (await again.autoclassify(5), await again.autoclassify(6)) == (False, False)
    await again.close()


async def test_a_channel_switch_is_read_from_the_database_once(database_url, monkeypatch):
    store = await Store.open(database_url)
    await store.set_autoclassify(1, 5, False)
    queries = []
    real_fetchone = store.db.fetchone

    async def counting(sql, *args):
        queries.append(sql)
        return await real_fetchone(sql, *args)

    monkeypatch.setattr(store.db, "fetchone", counting)
    assert [await store.autoclassify(5) for _ in range(3)] == [False] * 3
    assert [await store.autoclassify(6) for _ in range(3)] == [None] * 3
    assert len(queries) == 1  # channel 5 was known from its write; channel 6 read once
    await store.set_autoclassify(1, 6, True)
    assert await store.autoclassify(6) is True
    await store.close()


async def test_processes_starting_together_migrate_once(database_url):
    stores = await asyncio.gather(*(Store.open(database_url) for _ in range(3)))
    try:
        assert [await s.version() for s in stores] == [len(MIGRATIONS)] * 3
        await stores[0].set_autoclassify(1, 7, True)
        assert await stores[2].autoclassify(7) is True  # one database, seen by every process
    finally:  # an open SQLite connection's thread would keep the test run from exiting
        for store in stores:
            await store.close()


async def test_discord_ids_need_64_bits(database_url):
    store = await Store.open(database_url)
    snowflake = 1_234_567_890_123_456_789
    await store.set_autoclassify(snowflake, snowflake + 1, True)
    assert await store.autoclassify(snowflake + 1) is True
    await store.close()


async def test_an_old_sqlite_database_is_brought_up_to_date(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # as the first release left it: migration 1 only
        db.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
        db.execute("INSERT INTO channel_settings VALUES (5, 1, 0)")
    store = await Store.open(path)
    assert await store.version() == len(MIGRATIONS)
    assert await store.autoclassify(5) is False
    await store.close()


async def test_database_uses_wal(tmp_path):
    store = await Store.open(tmp_path / "x.db")
    await store.close()
    with sqlite3.connect(tmp_path / "x.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_a_sqlite_url_names_a_file(tmp_path):
    db = await Database.open(f"sqlite://{tmp_path}/via-url.db")
    await db.close()
    assert (tmp_path / "via-url.db").exists()


async def test_an_unreachable_server_fails_clearly():
    with pytest.raises(OSError):
        await Database.open("postgresql://nobody@127.0.0.1:9/neuralmon")


def test_placeholders_for_postgresql():
    assert postgres_sql("SELECT a FROM t WHERE b = ? AND c != ?") == (
        "SELECT a FROM t WHERE b = $1 AND c != $2"
    )


def test_passwords_stay_out_of_logs():
    assert redact("postgresql://bot:s3cret@db:5432/neuralmon") == (
        "postgresql://bot:***@db:5432/neuralmon"
    )
    assert redact("postgresql://db/neuralmon") == "postgresql://db/neuralmon"
