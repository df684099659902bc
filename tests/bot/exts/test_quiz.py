"""The quiz cog on spec'd mocks with a controllable clock: a round's whole life."""

from __future__ import annotations

import asyncio
import logging
from unittest.mock import AsyncMock

import pytest

from bot.exts.quiz import WRONG, Quiz
from bot.quiz.session import QuizSession
from model import pokedex
from tests.bot.exts.test_classify import KnownPredictor
from tests.bot.helpers import close_bot, make_bot, mock_channel, mock_member, mock_message
from tests.synthetic import save_png, sprite

PIKACHU = pokedex.load()[25]


class Clock:
    def __init__(self):
        self.now = 500.0

    def __call__(self):
        return self.now


@pytest.fixture
async def quiz(tmp_path):
    save_png(tmp_path / "data/pokeapi/official-artwork/25.png", sprite(color=(250, 210, 40)))
    bot = await make_bot(KnownPredictor(), tmp_path, data_dir=tmp_path / "data", quiz_seconds=30)
    clock = Clock()
    cog = Quiz(bot, clock=clock)
    cog.session.pick_species = lambda generations: PIKACHU
    cog.session.between_rounds = 0
    cog.session.score_retry_delays = (0.01, 0.01)
    channel = mock_channel()
    channel.send = AsyncMock()
    yield cog, clock, channel
    await cog.cog_unload()
    await close_bot(bot)


def guess(channel, text, author=None):
    message = mock_message(channel=channel, author=author)
    message.content = text
    message.add_reaction = AsyncMock()
    return message


async def test_a_round_from_question_to_reveal(quiz):
    cog, clock, channel = quiz
    assert await cog.session.start(channel, guild_id=1) is None
    question = channel.send.await_args.kwargs
    assert question["embed"].title == "Who's that Pokémon?"
    assert question["file"].filename == "whosthat.png"
    assert question["embed"].fields[0].value == "Electric"  # easy: the types are shown

    wrong = guess(channel, "Raichu")
    await cog.on_message(wrong)
    wrong.add_reaction.assert_awaited_once_with(WRONG)

    clock.now += 5
    assert cog.session.hint(channel.id) == "neuralmon thinks it looks Fire/Flying"  # stub network
    clock.now += 6
    winner = mock_member()
    winner.display_name = "Ash"
    await cog.on_message(guess(channel, "pikachu", winner))
    await cog.session.scores_written()
    reveal = channel.send.await_args.kwargs["embed"]
    assert reveal.title == "It's Pikachu! (#25)"
    assert "ピカチュウ · Pikachu · 皮卡丘" in reveal.description
    assert "**Ash** got it in 11.0 s (+8 points)" in reveal.description
    score = await cog.bot.store.stats(1, winner.id)
    assert (score.points, score.wins, score.fastest) == (8, 1, 11.0)
    assert await cog.bot.store.open_rounds() == []


async def test_two_correct_guesses_at_once_give_one_winner(quiz):
    cog, _, channel = quiz
    await cog.session.start(channel, guild_id=1)
    first, second = mock_member(), mock_member()
    first.display_name, second.display_name = "Misty", "Brock"
    await asyncio.gather(
        cog.on_message(guess(channel, "Pikachu", first)),
        cog.on_message(guess(channel, "Pikachu", second)),
    )
    await cog.session.scores_written()
    reveals = [c for c in channel.send.await_args_list if "got it" in c.kwargs["embed"].description]
    assert len(reveals) == 1
    assert (await cog.bot.store.stats(1, first.id)).wins == 1
    assert await cog.bot.store.stats(1, second.id) is None


async def test_time_runs_out_and_reveals(quiz):
    cog, _clock, channel = quiz
    cog.session.quiz_seconds = 0.05
    clock_real = asyncio.get_running_loop().time
    cog.session.clock = clock_real  # this test lets real time pass
    await cog.session.start(channel, guild_id=1)
    revealed = asyncio.Event()
    channel.send.side_effect = lambda **kwargs: revealed.set()
    async with asyncio.timeout(10):  # however busy the machine is
        await revealed.wait()
    assert "Time's up" in channel.send.await_args.kwargs["embed"].description
    assert cog.session.round(channel.id) is None


async def test_one_round_per_channel_and_start_cooldown(quiz):
    cog, _clock, channel = quiz
    assert await cog.session.start(channel, guild_id=1) is None
    assert "just started" in await cog.session.start(channel, guild_id=1)  # spam-starting
    cog.session.start_limit.seconds = 0
    assert "already running" in await cog.session.start(channel, guild_id=1)
    other = mock_channel()
    other.send = AsyncMock()
    assert await cog.session.start(other, guild_id=1) is None


async def test_a_series_starts_the_next_round(quiz):
    cog, _clock, channel = quiz
    await cog.session.start(channel, guild_id=1, rounds=2)
    assert "1 more round" in channel.send.await_args.kwargs["embed"].footer.text
    await cog.on_message(guess(channel, "Pikachu", mock_member()))  # won at once
    await cog.session.rounds_finished()  # the reveal, and the next round
    titles = [c.kwargs["embed"].title for c in channel.send.await_args_list]
    assert titles == ["Who's that Pokémon?", "It's Pikachu! (#25)", "Who's that Pokémon?"]


async def test_without_art_the_round_explains_what_to_do(quiz, tmp_path):
    cog, _, channel = quiz
    cog.session.pick_species = lambda generations: pokedex.load()[1]
    cog.session.art.base_url = "http://127.0.0.1:9/"  # nothing listens there
    reason = await cog.session.start(channel, guild_id=1)
    assert "python -m model data fetch" in reason
    channel.send.assert_not_awaited()


async def test_a_broken_database_loses_scores_not_the_game(quiz, caplog, monkeypatch):
    cog, _clock, channel = quiz
    await cog.session.start(channel, guild_id=1)

    async def read_only(*args):
        raise OSError("attempt to write a readonly database")

    monkeypatch.setattr(cog.bot.store, "record_win", read_only)
    monkeypatch.setattr(cog.bot.store, "round_closed", read_only)
    with caplog.at_level(logging.ERROR):
        await cog.on_message(guess(channel, "Pikachu", mock_member()))
        await cog.session.scores_written()
    assert "It's Pikachu!" in channel.send.await_args.kwargs["embed"].title
    assert caplog.text.count("score database unavailable") == 1
    cog.session.start_limit.seconds = 0
    assert await cog.session.start(channel, guild_id=1) is None  # the next round still starts


async def test_rounds_left_open_are_ended_on_restart(quiz, monkeypatch):
    cog, _, channel = quiz
    await cog.bot.store.round_opened(channel.id, 1, 25, 0.0)
    await cog.cog_load()  # a new run of the bot
    monkeypatch.setattr(cog.bot, "get_channel", lambda cid: channel if cid == channel.id else None)
    await cog.on_ready()
    text = channel.send.await_args.args[0]
    assert "I restarted during a round, so it has ended: it was Pikachu." in text
    assert await cog.bot.store.open_rounds() == []
    await cog.on_ready()  # a reconnect's READY says nothing more
    assert channel.send.await_count == 1


async def test_a_generation_9_round_draws_from_all_of_gen_9(quiz):
    cog, _, _ = quiz
    picks = {QuizSession.pick_species(cog.session, {9}).num for _ in range(2000)}
    assert picks == set(range(906, 1026))  # Scarlet and Violet's 120, nothing else


async def test_a_win_waits_out_a_locked_database_and_the_reveal_does_not(quiz, caplog):
    cog, _, channel = quiz
    await cog.session.start(channel, guild_id=1)
    real_write, failures = cog.bot.store.record_win, []

    async def locked_twice(*args):
        if len(failures) < 2:
            failures.append(args)
            raise OSError("database is locked")
        return await real_write(*args)

    cog.bot.store.record_win = locked_twice
    winner = mock_member()
    with caplog.at_level(logging.INFO):
        await cog.on_message(guess(channel, "Pikachu", winner))
        await cog.session.rounds_finished()
        assert "It's Pikachu!" in channel.send.await_args.kwargs["embed"].title  # not waiting
        await cog.session.scores_written()
    assert (await cog.bot.store.stats(1, winner.id)).wins == 1
    assert not cog.session.scores_broken
    assert caplog.text.count("could not write a win (database is locked)") == 2
    assert "score database available again" in caplog.text


async def test_a_win_the_database_never_takes_is_logged_as_lost(quiz, caplog):
    cog, _, channel = quiz
    await cog.session.start(channel, guild_id=1)

    async def read_only(*args):
        raise OSError("attempt to write a readonly database")

    cog.bot.store.record_win = read_only
    winner = mock_member()
    await cog.on_message(guess(channel, "Pikachu", winner))
    await cog.session.scores_written()
    assert f"lost a win: user {winner.id}, +" in caplog.text
    assert caplog.text.count("could not write a win") == len(cog.session.score_retry_delays) + 1


async def test_a_question_that_cannot_be_sent_ends_its_round(quiz):
    import discord

    cog, _, channel = quiz
    response = AsyncMock(status=403, reason="Forbidden")
    channel.send.side_effect = discord.Forbidden(response, "Missing Permissions")
    reason = await cog.session.start(channel, guild_id=1)
    assert "could not post the question" in reason
    assert cog.session.round(channel.id) is None and channel.id not in cog.session.live
    channel.send.side_effect = None
    cog.session.start_limit.seconds = 0
    assert await cog.session.start(channel, guild_id=1) is None


async def test_a_question_is_sent_again_after_a_discord_outage(quiz, monkeypatch):
    import discord

    from bot import delivery

    monkeypatch.setattr(delivery, "RETRY_DELAYS", (0.0, 0.0))
    cog, _, channel = quiz
    outage = discord.DiscordServerError(AsyncMock(status=503, reason="Unavailable"), "")
    channel.send.side_effect = [outage, outage, None]
    assert await cog.session.start(channel, guild_id=1) is None
    assert channel.send.await_count == 3
    files = [c.kwargs["file"] for c in channel.send.await_args_list]
    assert len({id(f) for f in files}) == 3  # a new upload each time: a File is read once
