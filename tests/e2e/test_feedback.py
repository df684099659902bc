"""Feedback through the real client and the fake Discord: a server opts in, people press
Right and Wrong and fill in the form, an admin exports; buttons outlive the process."""

import csv
import io
import zipfile

from bot.feedback.store import Reading
from bot.store import Store
from model import pokedex
from tests.e2e.fake_discord import GUILD_ID, body
from tests.synthetic import png_bytes, sprite

IMAGE = ("fire.png", png_bytes(sprite()), "image/png")


def callback(fake, after: int, kind: int):
    return fake.wait_for(
        lambda r: fake.requests.index(r) >= after and r.path.endswith("/callback")
        and body(r)["type"] == kind
    )  # fmt: skip


async def subcommand(fake, user: int, name: str, options=None):
    await fake.slash_command(
        user, "feedback", [{"type": 1, "name": name, "options": options or []}]
    )


def buttons(message: dict) -> list[dict]:
    return [b for row in message.get("components", []) for b in row["components"]]


async def test_no_buttons_and_nothing_kept_until_a_server_opts_in(running_bot):
    fake = running_bot
    await fake.post_message(42, files=[IMAGE])
    reply = await fake.wait_for(lambda r: r.path.endswith("/messages") and body(r).get("embeds"))
    assert not reply.body.get("components")
    store = await Store.open(fake.settings.database)
    try:
        assert await store.db.fetchall("SELECT * FROM feedback_images") == []
    finally:
        await store.close()


async def test_right_wrong_and_the_form_are_kept_and_exported(running_bot):
    fake = running_bot
    await subcommand(fake, 1, "on")
    announced = await callback(fake, 0, 4)
    assert "Feedback is on in this server" in announced.body["data"]["content"]
    assert not announced.body["data"].get("flags")  # for everyone in the channel, once

    await fake.post_message(42, files=[IMAGE])
    reply = await fake.wait_for(lambda r: r.path.endswith("/messages") and body(r).get("embeds"))
    right, wrong = buttons(reply.reply)
    assert (right["label"], wrong["label"]) == ("Right", "Wrong")

    start = len(fake.requests)
    await fake.click(42, reply.reply, right["custom_id"])
    thanks = await callback(fake, start, 4)
    assert thanks.body["data"]["content"].startswith("Thanks: ")
    assert thanks.body["data"]["flags"] == 64  # only the one who answered sees it

    start = len(fake.requests)
    await fake.click(7, reply.reply, wrong["custom_id"])
    modal = (await callback(fake, start, 9)).body["data"]
    what, types = (row["components"][0]["custom_id"] for row in modal["components"])
    start = len(fake.requests)
    await fake.submit_modal(7, modal["custom_id"], {what: "pikachuu", types: ""})
    noted = await callback(fake, start, 4)
    assert noted.body["data"]["content"] == "Thanks: it is Pikachu (#25)."

    start = len(fake.requests)
    await fake.click(7, reply.reply, wrong["custom_id"])
    modal = (await callback(fake, start, 9)).body["data"]
    start = len(fake.requests)
    await fake.submit_modal(7, modal["custom_id"], {what: "Digimon", types: ""})
    refused = await callback(fake, start, 4)
    assert "I don't know that Pokémon" in refused.body["data"]["content"]

    start = len(fake.requests)
    await subcommand(fake, 1, "export")
    sent = await fake.wait_for(
        lambda r: fake.requests.index(r) >= start and r.path.startswith("webhooks")
        and body(r).get("files")
    )  # fmt: skip
    [file] = sent.body["files"]
    archive = zipfile.ZipFile(io.BytesIO(file["data"]))
    names = set(archive.namelist())
    assert {"images.csv", "labels.csv"} <= names and len(names) == 3  # and the one picture
    labels = list(csv.DictReader(io.StringIO(archive.read("labels.csv").decode())))
    # the poster's Right (of the types, or of a species named), user 7's Pikachu; not the
    # refused answer
    by_user = {r["user_id"]: r for r in labels}
    assert sorted(by_user) == ["42", "7"]
    assert by_user["42"]["by_poster"] == "True" and by_user["42"]["kind"] in ("types", "species")
    assert (by_user["7"]["by_poster"], by_user["7"]["kind"], by_user["7"]["species"]) == (
        "False", "species", "25",
    )  # fmt: skip


async def test_a_button_from_before_a_restart_still_answers(running_bot):
    """A picture kept by an earlier process: no view of this process knows its buttons."""
    fake = running_bot
    store = await Store.open(fake.settings.database)
    try:
        await store.feedback.set_enabled(GUILD_ID, True)
        image_id = await store.feedback.keep(
            Reading(GUILD_ID, 5, 42, "old", 4, "Fire"), png_bytes(sprite()), ".png", now=1e10
        )
    finally:
        await store.close()
    old_reply = fake.message(5, fake.bot_user(), {"components": [{"type": 1, "components": [
        {"type": 2, "style": 3, "label": "Right", "custom_id": f"feedback:right:{image_id}"}
    ]}]})  # fmt: skip
    await fake.click(42, old_reply, f"feedback:right:{image_id}")
    answer = await callback(fake, 0, 4)
    assert answer.body["data"]["content"] == f"Thanks: it is {pokedex.load()[4].name} (#4)."


async def test_slash_command_replies_get_the_buttons_too(running_bot):
    fake = running_bot
    await subcommand(fake, 1, "on")
    await callback(fake, 0, 4)
    await fake.slash_command(42, "classify", attachment=IMAGE)
    followup = await fake.wait_for(
        lambda r: r.path.startswith("webhooks") and body(r).get("embeds")
    )
    assert [b["label"] for b in buttons(followup.body)] == ["Right", "Wrong"]
