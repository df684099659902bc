"""The feedback cog on spec'd mocks: buttons under replies in servers that opted in, answers,
expiry, rate limits, and a reply that is never lost to the feedback database."""

from __future__ import annotations

import logging

import pytest

from bot.exts.classify import Classify
from bot.exts.feedback import EXPIRED, Feedback, FeedbackButton, WrongModal
from tests.bot.exts.test_classify import KnownPredictor
from tests.bot.helpers import close_bot, make_bot, mock_attachment, mock_interaction, mock_message

HOUR = 3600.0


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def bot(tmp_path):
    predictor = KnownPredictor()
    predictor.version = "known"
    bot = await make_bot(predictor, tmp_path, feedback_rate=(2, 60.0), feedback_hours=1.0)
    yield bot
    await close_bot(bot)


async def replied_view(bot, files, names=("a.png",)):
    message = mock_message([mock_attachment(files("/ok.png"), name) for name in names])
    await bot.store.feedback.set_enabled(message.guild.id, True)
    await Classify(bot).on_message(message)
    return message, message.reply.await_args.kwargs.get("view")


async def test_no_buttons_where_the_server_has_not_opted_in(bot, files):
    message = mock_message([mock_attachment(files("/ok.png"))])
    await Classify(bot).on_message(message)
    assert "view" not in message.reply.await_args.kwargs
    assert await bot.store.db.fetchall("SELECT image_id FROM feedback_images") == []


async def test_each_picture_gets_its_row_of_buttons_and_is_kept(bot, files):
    message, view = await replied_view(bot, files, ("a.png", "b.png"))
    labels = [(item.item.label, item.item.row) for item in view.children]
    assert labels == [("Right · 1", 0), ("Wrong · 1", 0), ("Right · 2", 1), ("Wrong · 2", 1)]
    image = await bot.store.feedback.image(view.children[0].image_id)
    assert (image.guild_id, image.poster_id, image.model_version) == (
        message.guild.id, message.author.id, "known",
    )  # fmt: skip
    assert (image.predicted_species, image.predicted_types) == (6, "Fire/Flying")


async def test_the_reply_goes_without_buttons_when_pictures_cannot_be_kept(
    bot,
    files,
    monkeypatch,
    caplog,
):
    async def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(bot.store.feedback, "keep", broken)
    with caplog.at_level(logging.ERROR):
        message, view = await replied_view(bot, files)
    assert view is None and message.reply.await_args.kwargs["embeds"]
    assert "replying without buttons" in caplog.text


async def test_right_names_the_species_read_wrong_opens_the_form(bot, files):
    message, view = await replied_view(bot, files)
    cog = Feedback(bot)
    right, wrong = view.children
    assert isinstance(right, FeedbackButton)
    person = mock_interaction(7, message.guild.id)
    await cog.pressed(person, "right", right.image_id)
    assert person.response.send_message.await_args.args[0] == "Thanks: it is Charizard (#6)."
    await cog.pressed(person, "wrong", wrong.image_id)
    assert isinstance(person.response.send_modal.await_args.args[0], WrongModal)


async def test_answers_expire_with_the_buttons_and_are_rate_limited(bot, files):
    clock = Clock()
    message, view = await replied_view(bot, files)
    image_id = view.children[0].image_id
    cog = Feedback(bot, clock=clock)
    await bot.store.db.execute(
        "UPDATE feedback_images SET created = ? WHERE image_id = ?", clock.now, image_id
    )
    said = []
    for user in (1, 1, 1):
        person = mock_interaction(user, message.guild.id)
        await cog.pressed(person, "right", image_id)
        said.append(person.response.send_message.await_args.args[0])
    assert said[0].startswith("Thanks") and said[1].startswith("Changed your answer")
    assert said[2].startswith("You're answering quickly")

    clock.now += 2 * HOUR
    late = mock_interaction(2, message.guild.id)
    await cog.pressed(late, "right", image_id)
    assert late.response.send_message.await_args.args[0] == EXPIRED.format(hours=1)


async def test_no_answer_is_kept_once_the_server_switched_off(bot, files):
    message, view = await replied_view(bot, files)
    await bot.store.feedback.set_enabled(message.guild.id, False)
    person = mock_interaction(3, message.guild.id)
    await Feedback(bot).pressed(person, "right", view.children[0].image_id)
    assert "off in this server" in person.response.send_message.await_args.args[0]
    assert await bot.store.db.fetchall("SELECT * FROM feedback_labels") == []


async def test_a_database_fault_gets_a_clear_answer_not_a_failed_interaction(
    bot, files, monkeypatch, caplog
):
    message, view = await replied_view(bot, files)

    async def broken(*args):
        raise OSError("database is locked")

    monkeypatch.setattr(bot.store.feedback, "answer", broken)
    person = mock_interaction(3, message.guild.id)
    with caplog.at_level(logging.ERROR):
        await Feedback(bot).pressed(person, "right", view.children[0].image_id)
    assert "couldn't keep your answer" in person.response.send_message.await_args.args[0]
    assert "could not keep an answer" in caplog.text


async def test_a_failed_command_still_answers_privately(bot, caplog):
    from discord import app_commands

    person = mock_interaction(3, 5)
    person.response.is_done = lambda: False
    with caplog.at_level(logging.ERROR):
        await Feedback(bot).cog_app_command_error(person, app_commands.AppCommandError("db"))
    args, kwargs = person.response.send_message.await_args
    assert "didn't work" in args[0] and kwargs["ephemeral"] is True
