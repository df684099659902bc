"""The real discord.py client against the fake Discord: what users see, and outages."""

import asyncio

from tests.e2e.fake_discord import CHANNEL_ID
from tests.synthetic import png_bytes, sprite

IMAGE = ("fire.png", png_bytes(sprite()), "image/png")


def replies(fake):
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith("/messages")]


async def test_an_image_gets_a_reply_with_the_embed(running_bot):
    fake = running_bot
    posted = await fake.post_message(42, files=[IMAGE])
    reply = await fake.wait_for(lambda r: r in replies(fake))
    assert reply.path == f"channels/{CHANNEL_ID}/messages"
    assert str(reply.body["message_reference"]["message_id"]) == posted["id"]
    assert reply.body["allowed_mentions"]["parse"] == []
    [embed] = reply.body["embeds"]
    assert embed["title"].endswith("type") and embed["fields"][0]["name"] == "Types"
    assert "`fire.png`" in embed["description"]


async def test_a_text_file_named_png_gets_a_friendly_reply(running_bot):
    fake = running_bot
    await fake.post_message(42, files=[("notes.png", b"hello there\n" * 20, "image/png")])
    reply = await fake.wait_for(lambda r: r in replies(fake))
    assert "not a PNG, JPEG, GIF or WebP image" in reply.body["content"]


async def test_a_429_on_sending_still_delivers_the_reply_once(running_bot):
    fake = running_bot
    fake.faults["POST messages"] = ["429"]
    await fake.post_message(42, files=[IMAGE])
    await fake.wait_for(lambda r: r in replies(fake) and len(replies(fake)) == 2, timeout=15)
    await asyncio.sleep(0.5)
    assert len(replies(fake)) == 2  # the refused attempt and one retry: the user sees one


async def test_a_dropped_gateway_resumes_and_the_bot_answers_again(running_bot):
    fake = running_bot
    await fake.drop_connection()
    async with asyncio.timeout(20):
        await fake.identified.wait()
    assert fake.resumes + fake.identifies >= 2
    await fake.post_message(42, files=[IMAGE])
    await fake.wait_for(lambda r: r in replies(fake), timeout=15)


async def test_slash_classify_is_answered_through_the_interaction(running_bot):
    fake = running_bot
    interaction = await fake.slash_command(42, "classify", attachment=IMAGE)
    callback = await fake.wait_for(lambda r: r.path.endswith("/callback"))
    assert callback.path == f"interactions/{interaction['id']}/{interaction['token']}/callback"
    assert callback.body["type"] == 5  # "thinking..."
    followup = await fake.wait_for(
        lambda r: r.method == "POST" and r.path.startswith("webhooks/") and r.body
    )
    assert followup.path.endswith(interaction["token"])
    assert followup.body["embeds"][0]["title"].endswith("type")


async def test_a_channel_turned_off_stays_silent(running_bot):
    fake = running_bot
    await fake.slash_command(1, "autoclassify", [{"name": "on", "type": 5, "value": False}])
    answer = await fake.wait_for(lambda r: r.path.endswith("/callback"))
    assert "Automatic replies are off" in answer.body["data"]["content"]
    await fake.post_message(42, files=[IMAGE])
    await asyncio.sleep(1.5)
    assert replies(fake) == []


async def test_a_500_on_sending_is_retried_and_the_bot_stays_up(running_bot):
    fake = running_bot
    fake.faults["POST messages"] = ["500"]
    await fake.post_message(42, files=[IMAGE])
    await fake.wait_for(lambda r: len(replies(fake)) == 2, timeout=20)  # discord.py retries
    await fake.post_message(43, files=[IMAGE])
    await fake.wait_for(lambda r: len(replies(fake)) == 3, timeout=20)


async def test_a_failed_attachment_download_gets_a_friendly_message(running_bot):
    fake = running_bot
    fake.faults["GET files"] = ["404"]
    await fake.post_message(42, files=[IMAGE])
    reply = await fake.wait_for(lambda r: r in replies(fake))
    assert "Discord would not give me that file" in reply.body["content"]
