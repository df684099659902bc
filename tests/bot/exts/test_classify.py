"""The classification cog on spec'd mocks: real settings, store, queue, downloads from a local
server; a stand-in predictor whose answer is known."""

from __future__ import annotations

import logging
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest

from bot.exts.classify import Classify
from bot.reading import MODEL_SERVER_DOWN
from model.remote import RemoteError
from tests.bot.helpers import close_bot, make_bot, mock_attachment, mock_channel, mock_message
from tests.bot.test_render import CHARIZARD_LIKE


class KnownPredictor:
    def __init__(self):
        self.seen = 0

    def predict_prepared(self, prepared):
        self.seen += len(prepared)
        return [CHARIZARD_LIKE for _ in prepared]


@pytest.fixture
async def cog(tmp_path):
    predictor = KnownPredictor()
    bot = await make_bot(predictor, tmp_path, user_rate=(3, 60.0))
    cog = Classify(bot)
    yield cog
    await close_bot(bot)


async def test_an_image_gets_one_reply_with_the_embed(cog, files):
    message = mock_message([mock_attachment(files("/ok.png"), "dragon.png")])
    await cog.on_message(message)
    message.reply.assert_awaited_once()
    kwargs = message.reply.await_args.kwargs
    assert kwargs["allowed_mentions"].to_dict() == discord.AllowedMentions.none().to_dict()
    assert kwargs["mention_author"] is False
    [embed] = kwargs["embeds"]
    assert embed.title == "Fire/Flying type"
    assert embed.fields[1].value == "#6 Charizard (Fire/Flying), 90% sure"


async def test_several_images_share_one_reply_up_to_the_cap(cog, files):
    cog.bot.settings = cog.bot.settings.model_copy(update={"max_images_per_message": 2})
    attachments = [mock_attachment(files("/ok.png"), f"{i}.png") for i in range(3)]
    message = mock_message(attachments)
    await cog.on_message(message)
    assert len(message.reply.await_args.kwargs["embeds"]) == 2
    assert cog.bot.inference.predictor.seen == 2


async def test_non_images_and_bots_are_ignored(cog, files):
    text = mock_message([mock_attachment(files("/ok.png"), "notes.txt", "text/plain")])
    await cog.on_message(text)
    text.reply.assert_not_awaited()
    from tests.bot.helpers import mock_member

    by_bot = mock_message([mock_attachment(files("/ok.png"))], author=mock_member(bot=True))
    await cog.on_message(by_bot)
    by_bot.reply.assert_not_awaited()


async def test_a_fake_png_gets_a_friendly_error(cog, files):
    message = mock_message([mock_attachment(files("/text.png"), "fake.png")])
    await cog.on_message(message)
    args, kwargs = message.reply.await_args
    assert args[0] == "`fake.png`: that file is not a PNG, JPEG, GIF or WebP image inside"
    assert kwargs["embeds"] == []


async def test_too_large_is_refused_before_downloading(cog, files):
    message = mock_message([mock_attachment(files("/missing"), "big.png", size=50 * 2**20)])
    await cog.on_message(message)
    assert "50.0 MB; I read images up to 8 MB" in message.reply.await_args.args[0]


async def test_channel_switched_off_stays_silent(cog, files):
    channel = mock_channel()
    await cog.bot.store.set_autoclassify(1, channel.id, False)
    message = mock_message([mock_attachment(files("/ok.png"))], channel=channel)
    await cog.on_message(message)
    message.reply.assert_not_awaited()


async def test_watched_channels_limit_the_default(tmp_path, files):
    bot = await make_bot(KnownPredictor(), tmp_path, watched_channels=frozenset({42}))
    cog = Classify(bot)
    elsewhere = mock_message([mock_attachment(files("/ok.png"))])
    watched = mock_message([mock_attachment(files("/ok.png"))], channel=mock_channel(42))
    await cog.on_message(elsewhere)
    await cog.on_message(watched)
    elsewhere.reply.assert_not_awaited()
    watched.reply.assert_awaited_once()
    await close_bot(bot)


async def test_rate_limit_skips_extra_images(cog, files):
    from tests.bot.helpers import mock_member

    spammer = mock_member()
    messages = [mock_message([mock_attachment(files("/ok.png"))], author=spammer)
                for _ in range(5)]  # fmt: skip
    for message in messages:
        await cog.on_message(message)
    assert [m.reply.await_count for m in messages] == [1, 1, 1, 0, 0]  # 3 per minute


async def test_without_embed_links_the_reply_is_plain_text(cog, files):
    channel = mock_channel(embed_links=False)
    message = mock_message([mock_attachment(files("/ok.png"), "d.png")], channel=channel)
    await cog.on_message(message)
    args, kwargs = message.reply.await_args
    assert args[0].startswith("`d.png`: Fire/Flying type") and kwargs["embeds"] == []


async def test_without_send_permission_it_logs_once_and_stays_quiet(cog, files, caplog):
    channel = mock_channel(send_messages=False)
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            message = mock_message([mock_attachment(files("/ok.png"))], channel=channel)
            await cog.on_message(message)
            message.reply.assert_not_awaited()
    assert caplog.text.count("missing permission Send Messages") == 1


async def test_a_forbidden_reply_is_logged_not_raised(cog, files, caplog):
    message = mock_message([mock_attachment(files("/ok.png"))])
    message.reply.side_effect = discord.Forbidden(
        response=type("R", (), {"status": 403, "reason": "Forbidden"})(), message="no"
    )
    await cog.on_message(message)
    assert "missing permission" in caplog.text


def mock_interaction() -> MagicMock:
    interaction = MagicMock(spec=discord.Interaction)
    interaction.response = MagicMock(spec=discord.InteractionResponse)
    interaction.response.defer = AsyncMock()
    interaction.response.send_message = AsyncMock()
    interaction.followup = MagicMock(spec=discord.Webhook)
    interaction.followup.send = AsyncMock()
    interaction.delete_original_response = AsyncMock()
    return interaction


async def test_slash_classify_answers_in_public(cog, files):
    interaction = mock_interaction()
    await cog.classify_command.callback(cog, interaction, mock_attachment(files("/ok.png")))
    interaction.response.defer.assert_awaited_once_with(thinking=True)
    kwargs = interaction.followup.send.await_args.kwargs
    assert kwargs["embeds"][0].title == "Fire/Flying type"
    assert not kwargs["ephemeral"]


async def test_slash_classify_bad_input_gets_a_private_error(cog, files):
    interaction = mock_interaction()
    await cog.classify_command.callback(cog, interaction, mock_attachment(files("/text.png")))
    interaction.delete_original_response.assert_awaited_once()
    args, kwargs = interaction.followup.send.await_args
    assert "not a PNG, JPEG, GIF or WebP image" in args[0] and kwargs["ephemeral"] is True


async def test_context_menu_on_a_message_without_images(cog):
    interaction = mock_interaction()
    await cog.classify_menu(interaction, mock_message([]))
    interaction.response.send_message.assert_awaited_once_with(
        "That message has no image attached.", ephemeral=True
    )


async def test_autoclassify_switch_is_stored(cog):
    interaction = mock_interaction()
    interaction.guild_id, interaction.channel_id = 1, 77
    await cog.autoclassify.callback(cog, interaction, False)
    assert await cog.bot.store.autoclassify(77) is False
    assert interaction.response.send_message.await_args.kwargs["ephemeral"] is True


class OutagePredictor(KnownPredictor):
    """A model server that is down, then back."""

    down = True

    def predict_prepared(self, prepared):
        if self.down:
            raise RemoteError("cannot reach the model server at http://gpu:8000: refused")
        return super().predict_prepared(prepared)


async def test_a_model_server_outage_gets_a_friendly_reply_then_recovers(tmp_path, files, caplog):
    predictor = OutagePredictor()
    bot = await make_bot(predictor, tmp_path)
    cog = Classify(bot)
    during = mock_message([mock_attachment(files("/ok.png"), "a.png")])
    with caplog.at_level(logging.WARNING):
        await cog.on_message(during)
    assert during.reply.await_args.args[0] == f"`a.png`: {MODEL_SERVER_DOWN}"
    assert "http://gpu:8000" in caplog.text and "Traceback" not in caplog.text
    predictor.down = False
    after = mock_message([mock_attachment(files("/ok.png"), "b.png")])
    await cog.on_message(after)
    assert after.reply.await_args.kwargs["embeds"][0].title == "Fire/Flying type"
    await close_bot(bot)


async def test_explain_shares_the_rate_limit_and_says_busy(cog, files, monkeypatch):
    from bot.inference import Busy

    monkeypatch.setattr(cog.bot.inference, "explain", AsyncMock(side_effect=Busy))
    user = mock_interaction().user
    answers = []
    for _ in range(4):  # three per minute for one user (the cog fixture's limit)
        interaction = mock_interaction()
        interaction.user = user
        await cog.explain_command.callback(cog, interaction, mock_attachment(files("/ok.png")))
        answers.append(interaction)
    busy = answers[0].followup.send.await_args.args[0]
    assert "busy" in busy and answers[0].followup.send.await_args.kwargs["ephemeral"]
    refused = answers[3].response.send_message.await_args
    assert "faster than I can read" in refused.args[0] and refused.kwargs["ephemeral"]
    answers[3].response.defer.assert_not_awaited()


async def test_an_unexpected_failure_still_gets_an_answer(cog, files, monkeypatch, caplog):
    monkeypatch.setattr(cog.bot.inference, "prepare", AsyncMock(side_effect=KeyError("bug")))
    message = mock_message([mock_attachment(files("/ok.png"), "d.png")])
    await cog.on_message(message)
    assert "something went wrong while I read that image" in message.reply.await_args.args[0]
    assert "reading 'd.png' failed" in caplog.text
