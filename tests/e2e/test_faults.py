"""Hostile files and bad days through the fake Discord: every image gets an answer, no reply
is lost to Discord's limits or its outages, and the prefix commands take their arguments."""

import asyncio

import pytest

from bot import attachments, delivery
from model import pokedex
from tests.e2e.fake_discord import _over_limits, body
from tests.hostile import CASES
from tests.synthetic import png_bytes, sprite

RED = png_bytes(sprite(color=(230, 60, 30)))


def replies(fake, after: int = 0) -> list:
    return [r for r in fake.sent("messages")[after:] if r.method == "POST"]


def lift_channel_limit() -> None:
    """More images than one channel may post in ten seconds: lift its limit (the bot's cog is
    made inside ``bot.__main__.run``, found here)."""
    import gc

    from bot.exts.classify import Classify
    from bot.ratelimit import RateLimiter

    for cog in (o for o in gc.get_objects() if type(o) is Classify):
        cog.channel_limit = RateLimiter(10**6, 1.0)


async def test_every_crafted_file_gets_a_reading_or_a_one_line_answer(running_bot):
    fake = running_bot
    lift_channel_limit()
    for user, (name, make) in enumerate(CASES.items(), start=300):
        before = len(fake.sent("messages"))
        await fake.post_message(user, files=[(f"{user}.png", make(), "image/png")])
        reply = await fake.wait_for(lambda r, n=before: r in replies(fake, n), timeout=20)
        content = reply.body.get("content") or ""
        assert reply.body.get("embeds") or ("too large" in content and "\n" not in content), name


async def test_long_and_hostile_file_names_are_shortened_and_inert(running_bot):
    fake = running_bot
    name = "`@here [free nitro](https://x.example)` **" + "x" * 3000 + ".png"
    files = [(name, RED, "image/png"), (name, b"not an image", "image/png")] * 2
    await fake.post_message(400, files=files)
    reply = await fake.wait_for(lambda r: r in replies(fake) and body(r).get("embeds"))
    assert _over_limits(reply.body) is None
    lines = reply.body["content"].splitlines()
    assert lines and all(line.count("`") == 2 for line in lines)  # nothing breaks out
    assert all(e["description"].count("`") == 2 for e in reply.body["embeds"])


@pytest.mark.parametrize("faults", [["503"], ["503", "503"], ["500"] * 5])
async def test_a_reply_outlasts_discord_server_errors(running_bot, monkeypatch, faults):
    fake = running_bot
    monkeypatch.setattr(delivery, "RETRY_DELAYS", (0.1, 0.2))
    fake.faults["POST messages"] = list(faults)
    before = len(fake.sent("messages"))
    await fake.post_message(401, files=[("red.png", RED, "image/png")])
    await fake.wait_for(lambda r: len(replies(fake, before)) == len(faults) + 1, timeout=40)
    assert replies(fake, before)[-1].body["embeds"][0]["description"] == "`red.png`"


async def test_an_attachment_url_that_hangs_gets_an_answer(running_bot, monkeypatch):
    fake = running_bot
    monkeypatch.setattr(attachments, "DOWNLOAD_SECONDS", 0.5)
    fake.faults["GET files"] = ["hang"]
    await fake.post_message(402, files=[("slow.png", RED, "image/png")])
    reply = await fake.wait_for(lambda r: r in replies(fake))
    assert "could not download that file" in reply.body["content"]


async def test_the_prefix_form_takes_generation_difficulty_and_rounds(running_bot):
    fake = running_bot
    await fake.post_message(403, "!whosthat 3 hard 5")
    question = await fake.wait_for(lambda r: body(r).get("files"))
    embed = question.body["embeds"][0]
    assert pokedex.load()[fake.artwork_served[-1]].generation == 3
    assert "4 more rounds" in embed["footer"]["text"]
    assert not embed.get("fields")  # hard: no types shown


async def test_the_prefix_form_may_leave_out_the_generation(running_bot):
    fake = running_bot
    await fake.post_message(403, "!whosthat hard")
    question = await fake.wait_for(lambda r: body(r).get("files"))
    assert not question.body["embeds"][0].get("fields")  # hard, any generation


async def test_a_prefix_command_written_wrong_gets_its_usage(running_bot):
    fake = running_bot
    await fake.post_message(404, "!whosthat 12")
    usage = await fake.wait_for(lambda r: "Usage:" in (body(r).get("content") or ""))
    assert "!whosthat [generation 1-9] [easy|hard] [rounds 1-10]" in usage.body["content"]


async def test_a_refused_prefix_command_is_a_reaction_not_a_message(running_bot):
    fake = running_bot
    before = len(replies(fake))
    for _ in range(3):
        await fake.post_message(405, "!hint")  # no round is running
    await fake.wait_for(lambda r: len([q for q in fake.requests if "reactions" in q.path]) == 3)
    await asyncio.sleep(0.3)
    assert len(replies(fake)) == before


async def test_slash_classify_shares_the_rate_limit(running_bot):
    fake = running_bot
    for _ in range(5):  # three per ten seconds for one user
        await fake.slash_command(406, "classify", attachment=("red.png", RED, "image/png"))
    callbacks = [r for r in fake.requests if r.path.endswith("/callback")]
    await fake.wait_for(
        lambda r: len([q for q in fake.requests if q.path.endswith("/callback")]) >= 5
    )
    refused = [r for r in fake.requests if r.path.endswith("/callback")
               and "faster than I can read" in str(r.body)]  # fmt: skip
    assert len(refused) == 2 and callbacks is not None


async def test_a_second_prefix_start_is_a_reaction_not_a_message(running_bot):
    fake = running_bot
    await fake.post_message(407, "!whosthat")
    await fake.wait_for(lambda r: body(r).get("files"))
    await fake.post_message(408, "!whosthat")  # a round is running: a reaction only
    await fake.wait_for(lambda r: r.method == "PUT" and "reactions" in r.path)
    assert not any("already running" in (body(r).get("content") or "") for r in fake.requests)
