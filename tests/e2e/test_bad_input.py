"""A corpus of bad (and awkward) files posted through the fake Discord: each gets its
documented outcome, and the bot still answers afterwards."""

import asyncio

import numpy as np
from PIL import Image

from tests.synthetic import encoded, many_frame_gif, png_bytes, png_declaring_size, sprite

RED = sprite(color=(230, 60, 30))
REPLY, SILENT = "reply", "silent"
CORPUS = [
    # name, bytes, content type, outcome, text expected in the reply (None: an embed)
    ("magic.png", b"\x00\x01\x02\x03" * 100, "image/png", REPLY, "not a PNG, JPEG, GIF or WebP"),
    ("truncated.png", png_bytes(sprite((200, 200)))[:300], "image/png", REPLY, "truncated"),
    ("empty.png", b"", "image/png", REPLY, "that file is empty"),
    ("bomb.png", png_declaring_size(30000, 30000), "image/png", REPLY, "too large"),
    ("header.png", png_declaring_size(7000, 7000), "image/png", REPLY, "too large"),
    ("frames.gif", many_frame_gif(5000), "image/gif", REPLY, None),
    ("cmyk.jpg", encoded(RED.convert("RGB").convert("CMYK"), "JPEG"), "image/jpeg", REPLY, None),
    ("deep.png", png_bytes(Image.fromarray(np.arange(1600, dtype=np.uint16).reshape(40, 40))),
     "image/png", REPLY, None),
    ("art.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml", SILENT, None),
    ("notes.png", b"just text\n" * 50, "text/plain", SILENT, None),
    ("renamed.png", b"just text\n" * 50, "image/png", REPLY, "not a PNG, JPEG, GIF or WebP"),
]  # fmt: skip


async def test_every_bad_file_gets_its_documented_outcome(running_bot, capsys):
    fake = running_bot
    for user, (name, data, content_type, outcome, text) in enumerate(CORPUS, start=100):
        before = len(fake.sent("messages"))
        await fake.post_message(user, files=[(name, data, content_type)])
        if outcome == SILENT:
            await asyncio.sleep(1.0)
            assert len(fake.sent("messages")) == before, name
            continue
        reply = await fake.wait_for(
            lambda r, n=before: r.method == "POST" and r in fake.sent("messages")[n:], timeout=15
        )
        if text is None:
            assert reply.body["embeds"], name
        else:
            assert text in reply.body["content"], (name, reply.body["content"])
    await fake.post_message(999, files=[("after.png", png_bytes(RED), "image/png")])
    after = await fake.wait_for(lambda r: r in fake.sent("messages")[-1:] and r.body["embeds"])
    assert after.body["embeds"][0]["description"] == "`after.png`"
    with capsys.disabled():
        print(f"\nbad-input corpus: {len(CORPUS)} cases tried, the bot still answers")
