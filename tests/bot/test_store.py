import sqlite3

from bot.store import MIGRATIONS, Store


async def test_migrations_run_once_and_settings_survive_a_reopen(tmp_path):
    path = tmp_path / "data" / "neuralmon.db"
    store = await Store.open(path)
    assert await store.version() == len(MIGRATIONS)
    assert await store.autoclassify(5) is None
    await store.set_autoclassify(1, 5, False)
    await store.set_autoclassify(1, 6, True)
    await store.set_autoclassify(1, 6, False)
    await store.close()

    again = await Store.open(path)  # a new bot instance on the same file
    assert await again.version() == len(MIGRATIONS)
    assert (await again.autoclassify(5), await again.autoclassify(6)) == (False, False)
    await again.close()


async def test_database_uses_wal(tmp_path):
    store = await Store.open(tmp_path / "x.db")
    await store.close()
    with sqlite3.connect(tmp_path / "x.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
