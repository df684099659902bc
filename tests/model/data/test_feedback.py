"""A tiny synthetic feedback export: imported by majority, without copies, built into the
dataset as its own style, held out by time, and evaluated as posted."""

import io
import shutil

import numpy as np
from PIL import Image

from model.data.build import build
from model.data.feedback import import_feedback
from model.dataset import load_split
from model.evaluate import evaluate
from model.feedback import FeedbackImage, FeedbackLabel, write_export

DAY = 86400.0


def photo(colour) -> bytes:
    """A picture as people post them: opaque, the subject on a background."""
    img = Image.new("RGB", (120, 90), (235, 230, 220))
    img.paste(Image.new("RGB", (50, 50), colour), (35, 20))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def picture(image_id: int, data: bytes, created: float) -> tuple[FeedbackImage, bytes]:
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    image = FeedbackImage(image_id, f"images/{image_id}.jpg", sha, 1, 2, 3, created, "v", None,
                          "Fire")  # fmt: skip
    return image, data


def said(image_id: int, user: int, kind: str = "species", species: int | None = 4):
    return FeedbackLabel(image_id, user, user == 3, kind, species, "", 0.0)


def test_import_by_majority_build_hold_out_by_time_and_evaluate(
    tiny_dataset, tiny_checkpoint, tmp_path
):
    root = tmp_path / "data"
    shutil.copytree(tiny_dataset.parent / "pokeapi", root / "pokeapi")
    fire, water = photo((230, 70, 30)), photo((40, 90, 230))
    pictures = [picture(n, photo((230, 70 + 3 * n, 30)), n * DAY) for n in range(1, 6)]
    pictures += [picture(10, water, 10 * DAY), picture(11, fire, 11 * DAY)]
    labels = [said(n, u) for n in range(1, 6) for u in (3, 5)] + [said(1, 6, species=7)]
    labels += [said(10, 5, species=7), said(10, 6, species=8)]  # a tie: dropped
    labels += [said(11, 5, "not-pokemon", None)]
    first = tmp_path / "first.zip"
    first.write_bytes(write_export(pictures, labels))
    again = tmp_path / "again.zip"  # the same picture in a later export
    again.write_bytes(write_export([picture(20, pictures[0][1], 20 * DAY)], [said(20, 5)]))

    counts = import_feedback([first, again], root)
    assert counts == {"added": 5, "a tie": 1, "not a species (not-pokemon)": 1,
                      "imported before": 1}  # fmt: skip
    assert len(list((root / "feedback" / "4").iterdir())) == 5
    assert import_feedback([first], root)["imported before"] == 5  # nothing added twice

    dataset = build(root, size=32, workers=1, progress=False).out_dir
    data = load_split(dataset, "all")
    feedback = np.flatnonzero(data.labels.style == "feedback")
    assert len(feedback) == 5 and set(data.labels.num[feedback]) == {4}
    test = [i for i in feedback if i in data.parts["test"]]
    assert [data.labels.file[i].split("/")[-1][:8] for i in test] == ["19700106"]  # the newest

    report = evaluate(tiny_checkpoint, dataset, feedback=True, flip=False)
    assert report["feedback"] and report["trained_images"] == 0
    assert report["test_images"] == 5  # trained before any feedback: every picture tests
    assert 0 <= report["models"]["neuralmon"]["per_image"]["primary_top1"] <= 1
