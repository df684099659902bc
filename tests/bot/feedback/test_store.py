"""Feedback storage on both databases: opting in, answers, retention, export and deletion."""

import io
import zipfile

import pytest
from PIL import Image

from bot.feedback.answers import Answer
from bot.feedback.store import KEPT_BYTES, KEPT_SIDE, Reading, kept_picture
from bot.store import Store
from model.feedback import read_export, verdict

GUILD, OTHER_GUILD, CHANNEL = 10, 11, 20
POSTER, ALICE, BOB = 1, 2, 3
HOUR = 3600.0


def png(colour=(200, 30, 30), size=(32, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def reading(guild=GUILD, poster=POSTER) -> Reading:
    return Reading(guild, CHANNEL, poster, "abc123", 25, "Electric")


@pytest.fixture
async def feedback(database_url):
    store = await Store.open(database_url)
    yield store.feedback
    await store.close()


async def keep(feedback, now=0.0, guild=GUILD, poster=POSTER, colour=(200, 30, 30)):
    image_id = await feedback.keep(reading(guild, poster), png(colour), ".png", now)
    return await feedback.image(image_id)


async def test_a_server_opts_in_once_announced_and_the_switch_survives_a_reopen(database_url):
    store = await Store.open(database_url)
    assert await store.feedback.enabled(GUILD) is False
    assert await store.feedback.set_enabled(GUILD, True) is True  # the first time: announce
    assert await store.feedback.set_enabled(GUILD, False) is False
    assert await store.feedback.set_enabled(GUILD, True) is False  # announced already
    await store.close()
    again = await Store.open(database_url)
    assert (await again.feedback.enabled(GUILD), await again.feedback.enabled(OTHER_GUILD)) == (
        True,
        False,
    )
    await again.close()


async def test_one_answer_per_person_the_latest_counts_and_the_export_holds_them(feedback):
    image = await keep(feedback)
    assert image.predicted_species == 25 and image.file.endswith(".png")
    assert await feedback.answer(image, ALICE, Answer("species", 26), now=1) is False
    assert await feedback.answer(image, ALICE, Answer("species", 25), now=2) is True  # changed
    await feedback.answer(image, POSTER, Answer("species", 25), now=3)
    await feedback.answer(image, BOB, Answer("fan-made", types="Fire"), now=4)
    unanswered = await keep(feedback, colour=(1, 2, 3))

    parts = [part async for part in feedback.export(GUILD, part_bytes=10**6)]
    assert len(parts) == 1
    images, labels = parts[0]
    assert [i.image_id for i, _ in images] == [image.image_id]  # not the unanswered one
    assert images[0][1] == png()
    assert sorted((lb.user_id, lb.kind, lb.species, lb.by_poster) for lb in labels) == [
        (POSTER, "species", 25, True), (ALICE, "species", 25, False),
        (BOB, "fan-made", None, False),
    ]  # fmt: skip
    assert verdict(labels).species == 25 and verdict(labels).votes == 2
    assert unanswered is not None


async def test_ignored_people_are_left_out_of_the_export(feedback):
    image = await keep(feedback)
    await feedback.answer(image, ALICE, Answer("species", 1), now=1)
    await feedback.answer(image, BOB, Answer("species", 4), now=1)
    await feedback.set_ignored(GUILD, BOB, True)
    [(_, labels)] = [part async for part in feedback.export(GUILD, 10**6)]
    assert [lb.user_id for lb in labels] == [ALICE]
    await feedback.set_ignored(GUILD, BOB, False)
    [(_, labels)] = [part async for part in feedback.export(GUILD, 10**6)]
    assert sorted(lb.user_id for lb in labels) == [ALICE, BOB]


async def test_retention_unanswered_go_after_the_window_answered_after_retention(feedback):
    old_answered = await keep(feedback, now=0)
    await feedback.answer(old_answered, ALICE, Answer("species", 25), now=1)
    old_unanswered = await keep(feedback, now=0)
    recent = await keep(feedback, now=90 * HOUR)
    assert await feedback.purge(now=100 * HOUR, window=24 * HOUR, retention=1000 * HOUR) == 1
    assert await feedback.image(old_unanswered.image_id) is None
    assert await feedback.image(old_answered.image_id) is not None
    assert await feedback.image(recent.image_id) is not None
    assert await feedback.purge(now=1001 * HOUR, window=24 * HOUR, retention=1000 * HOUR) == 2
    assert await feedback.image(old_answered.image_id) is None
    assert [part async for part in feedback.export(GUILD, 10**6)] == []


async def test_a_person_deletes_their_answers_and_pictures_an_admin_the_servers(feedback):
    posted_by_alice = await keep(feedback, poster=ALICE)
    await feedback.answer(posted_by_alice, BOB, Answer("species", 7), now=1)
    posted_by_bob = await keep(feedback, poster=BOB)
    await feedback.answer(posted_by_bob, ALICE, Answer("species", 7), now=1)
    await feedback.answer(posted_by_bob, BOB, Answer("species", 7), now=1)
    elsewhere = await keep(feedback, guild=OTHER_GUILD, poster=ALICE)
    await feedback.answer(elsewhere, ALICE, Answer("species", 7), now=1)

    assert await feedback.delete_user(GUILD, ALICE) == (1, 1)
    assert await feedback.image(posted_by_alice.image_id) is None  # with Bob's answer to it
    [(images, labels)] = [part async for part in feedback.export(GUILD, 10**6)]
    assert [i.image_id for i, _ in images] == [posted_by_bob.image_id]
    assert [lb.user_id for lb in labels] == [BOB]
    assert await feedback.image(elsewhere.image_id) is not None  # another server's stays

    assert await feedback.delete_server(GUILD) == 1
    assert [part async for part in feedback.export(GUILD, 10**6)] == []
    assert len([part async for part in feedback.export(OTHER_GUILD, 10**6)]) == 1


async def test_an_export_comes_in_parts_that_each_read_back(feedback, tmp_path):
    from model.feedback import write_export

    kept = []
    for shade in range(5):
        image = await keep(feedback, now=shade, colour=(shade, 0, 0))
        await feedback.answer(image, ALICE, Answer("species", 25), now=shade)
        kept.append(image.image_id)
    size = len(png())
    parts = [part async for part in feedback.export(GUILD, part_bytes=2 * size)]
    assert [len(images) for images, _ in parts] == [2, 2, 1]
    seen = []
    for n, (images, labels) in enumerate(parts):
        path = tmp_path / f"part{n}.zip"
        path.write_bytes(write_export(images, labels))
        read_images, read_labels, archive = read_export(path)
        assert list(read_images.values()) == [i for i, _ in images]
        assert read_labels == labels
        assert all(archive.read(i.file) == data for i, data in images)
        seen += read_images
    assert seen == kept


def test_a_large_picture_is_kept_reduced_and_a_small_one_as_posted():
    small = png()
    assert kept_picture(small) == (small, ".png")
    noisy = Image.effect_noise((1800, 1800), 100).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, "PNG")
    assert len(out.getvalue()) > KEPT_BYTES
    data, suffix = kept_picture(out.getvalue())
    assert suffix == ".webp" and len(data) <= KEPT_BYTES
    assert max(Image.open(io.BytesIO(data)).size) == KEPT_SIDE


def test_an_export_is_plain_zip_with_two_csv_files(tmp_path):
    from model.feedback import write_export

    path = tmp_path / "empty.zip"
    path.write_bytes(write_export([], []))
    assert sorted(zipfile.ZipFile(path).namelist()) == ["images.csv", "labels.csv"]
    (tmp_path / "not.zip").write_bytes(b"nope")
    with pytest.raises(ValueError, match="not a feedback export"):
        read_export(tmp_path / "not.zip")
