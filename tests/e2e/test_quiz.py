"""A quiz round played by two fake users through the fake Discord."""

from model import pokedex


def body(r) -> dict:
    return r.body if isinstance(r.body, dict) else {}


async def test_two_players_a_wrong_guess_a_hint_a_winner_and_the_leaderboard(running_bot):
    fake = running_bot
    await fake.post_message(1, "!whosthat")
    question = await fake.wait_for(
        lambda r: r.method == "POST" and r.path.endswith("/messages") and body(r).get("files")
    )
    assert question.body["embeds"][0]["title"] == "Who's that Pokémon?"
    species = pokedex.load()[fake.artwork_served[-1]]

    await fake.post_message(1, "definitely not a pokemon")
    await fake.wait_for(lambda r: r.method == "PUT" and "reactions" in r.path)

    await fake.post_message(1, "!hint")
    await fake.wait_for(lambda r: "Hint:" in (body(r).get("content") or ""))

    await fake.post_message(2, species.name.upper())
    reveal = await fake.wait_for(
        lambda r: body(r).get("embeds") and body(r)["embeds"][0]["title"].startswith("It's")
    )
    assert reveal.body["embeds"][0]["title"] == f"It's {species.name}! (#{species.num})"
    assert "**user2** got it" in reveal.body["embeds"][0]["description"]

    await fake.slash_command(1, "leaderboard")
    board = await fake.wait_for(lambda r: r.path.endswith("/callback"))
    assert "**1.** user2: " in board.body["data"]["embeds"][0]["description"]


async def test_a_read_only_database_logs_once_and_the_game_goes_on(running_bot, caplog):
    import gc
    import logging

    from bot.store import Store

    fake = running_bot
    # Make the bot's database refuse writes, as a read-only file would (chmod means nothing to
    # root, who runs CI). The bot made its Store inside bot.__main__.run: find it.
    store = next(
        o for o in gc.get_objects() if type(o) is Store and o.db.path == fake.settings.database
    )
    await store.db.execute("PRAGMA query_only = ON")
    with caplog.at_level(logging.ERROR):
        await fake.post_message(1, "!whosthat")
        await fake.wait_for(lambda r: body(r).get("files"))
        species = pokedex.load()[fake.artwork_served[-1]]
        await fake.post_message(2, species.name)
        reveal = await fake.wait_for(
            lambda r: body(r).get("embeds") and body(r)["embeds"][0]["title"].startswith("It's")
        )
    assert "**user2** got it" in reveal.body["embeds"][0]["description"]
    assert caplog.text.count("score database unavailable") == 1
