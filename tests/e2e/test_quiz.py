"""A quiz round played by two fake users through the fake Discord."""

from model import pokedex
from tests.e2e.fake_discord import body


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


async def test_the_guess_modal_is_answered_at_once_in_a_series(running_bot):
    """Discord gives a modal 3 seconds for its answer: the reveal, the pause between rounds
    and the next round must not come first."""
    import time

    fake = running_bot
    await fake.post_message(1, "!whosthat 1 easy 2")
    question = await fake.wait_for(lambda r: body(r).get("files"))
    species = pokedex.load()[fake.artwork_served[-1]]
    sent = question.reply  # the message as the bot got it back, with its id
    buttons = sent["components"][0]["components"]
    guess = next(b for b in buttons if b["label"] == "Guess")["custom_id"]

    await fake.click(2, sent, guess)
    opened = await fake.wait_for(lambda r: r.path.endswith("/callback") and body(r)["type"] == 9)
    modal = opened.body["data"]
    answer_input = modal["components"][0]["components"][0]["custom_id"]
    submitted = time.perf_counter()
    await fake.submit_modal(2, modal["custom_id"], {answer_input: species.name})
    answer = await fake.wait_for(
        lambda r: r.path.endswith("/callback") and body(r)["type"] == 4
        and body(r)["data"].get("content") == "Correct!"
    )  # fmt: skip
    assert answer.at - submitted < 2.5
    assert not any(
        r.at < answer.at and body(r).get("embeds", [{}])[0].get("title") == "Who's that Pokémon?"
        for r in fake.requests[fake.requests.index(question) + 1 :]
    ), "the next round started before the guess was answered"
    second = await fake.wait_for(
        lambda r: r is not question and body(r).get("files")
        and body(r)["embeds"][0]["title"] == "Who's that Pokémon?"
    )  # fmt: skip
    assert second.at > answer.at
