import asyncio

import pytest

from bot.databases import PostgresConnection, SQLiteConnection
from bot.store import Store


@pytest.fixture
async def store(database_url):
    store = await Store.open(database_url)
    yield store
    await store.close()


async def test_wins_add_up_with_streaks_and_fastest(store):
    await store.record_win(1, 10, points=10, seconds=12.0, name="Ash")
    await store.record_win(1, 10, points=6, seconds=8.5)  # no name given: the last one stays
    s = await store.record_win(1, 10, points=10, seconds=30.0)
    assert (s.points, s.wins, s.streak, s.best_streak, s.fastest) == (26, 3, 3, 3, 8.5)
    assert s.name == "Ash"
    await store.record_win(1, 20, points=10, seconds=5.0)  # someone else breaks the streak
    s = await store.stats(1, 10)
    assert (s.streak, s.best_streak) == (0, 3)
    assert (await store.stats(1, 20)).streak == 1
    assert await store.stats(2, 10) is None  # per guild


async def test_leaderboard_pages(store):
    for user in range(12):
        await store.record_win(1, user, points=user + 1, seconds=10)
    first = await store.leaderboard(1, 0, 5)
    assert [s.user_id for s in first] == [11, 10, 9, 8, 7]
    assert [s.user_id for s in await store.leaderboard(1, 10, 5)] == [1, 0]
    assert await store.players(1) == 12


async def test_scores_survive_a_new_bot_instance(database_url):
    first = await Store.open(database_url)
    await first.record_win(1, 10, points=10, seconds=3)
    await first.round_opened(555, 1, 25, 1000.0)
    await first.close()
    second = await Store.open(database_url)
    assert (await second.stats(1, 10)).points == 10
    assert await second.open_rounds() == [(555, 25)]
    await second.round_closed(555)
    assert await second.open_rounds() == []
    await second.close()


async def test_a_failed_write_leaves_no_half_score(store, monkeypatch):
    await store.record_win(1, 10, points=10, seconds=3)
    for connection_class in (SQLiteConnection, PostgresConnection):
        real_execute = connection_class.execute

        async def failing(self, sql, *args, real_execute=real_execute):
            if sql.startswith("UPDATE scores SET points"):
                raise RuntimeError("disk on fire")
            await real_execute(self, sql, *args)

        monkeypatch.setattr(connection_class, "execute", failing)
    with pytest.raises(RuntimeError):
        await store.record_win(1, 20, points=10, seconds=3)
    monkeypatch.undo()
    assert (await store.stats(1, 10)).streak == 1  # the streak reset was rolled back
    assert await store.stats(1, 20) is None


async def test_simultaneous_wins_all_count(store):
    """Wins landing at once (two channels, or two shards) each add up, none is lost."""
    await asyncio.gather(*(store.record_win(1, 10, points=1, seconds=5) for _ in range(20)))
    s = await store.stats(1, 10)
    assert (s.points, s.wins, s.streak) == (20, 20, 20)
