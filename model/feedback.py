"""Feedback from chat: what people said an image shows, and the export that carries it.

An export is a zip a person can open:

    images/<image_id>.<ext>   each picture as the bot kept it
    images.csv                one row per picture (``IMAGE_FIELDS``)
    labels.csv                one row per person's answer (``LABEL_FIELDS``)

The bot writes it (``/feedback export``) and ``python -m model data import-feedback`` reads it,
so both import this module: it needs nothing beyond the standard library.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

# What an answer says the picture shows. "types": the types the bot read are right (a reading
# that named no species); "fan-made" may carry the types its artist gave it.
KINDS = ("species", "types", "not-pokemon", "fan-made")


@dataclass(frozen=True)
class FeedbackImage:
    image_id: int
    file: str  # within the zip: images/<image_id>.<ext>
    sha256: str
    guild_id: int
    channel_id: int
    poster_id: int
    created: float  # Unix time
    model_version: str
    predicted_species: int | None  # the species the reply named, if it named one
    predicted_types: str  # "Fire/Flying"


@dataclass(frozen=True)
class FeedbackLabel:
    image_id: int
    user_id: int
    by_poster: bool
    kind: str  # one of KINDS
    species: int | None
    types: str  # "Fire/Flying", or "" when the answer gave none
    created: float


IMAGE_FIELDS = tuple(f.name for f in fields(FeedbackImage))
LABEL_FIELDS = tuple(f.name for f in fields(FeedbackLabel))


@dataclass(frozen=True)
class Verdict:
    """What most people said of one picture."""

    kind: str
    species: int | None
    types: str
    votes: int  # people who said it
    voters: int  # people who answered


def verdict(labels: Iterable[FeedbackLabel]) -> Verdict | None:
    """The answer given by more people than any other (kind and species), or None on a tie.
    Each person has one answer per picture, so no one person outvotes several others."""
    labels = list(labels)
    votes = Counter((label.kind, label.species) for label in labels)
    if not votes:
        return None
    ranked = votes.most_common(2)
    if len(ranked) == 2 and ranked[0][1] == ranked[1][1]:
        return None
    (kind, species), count = ranked[0]
    said_types = Counter(
        label.types for label in labels if (label.kind, label.species) == (kind, species)
    )
    types = max(said_types, key=lambda t: (said_types[t], bool(t)))  # ties: the typed one
    return Verdict(kind, species, types, count, len(labels))


def _csv(rows: Iterable[object], names: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in asdict(row).items()})
    return out.getvalue()


def write_export(images: list[tuple[FeedbackImage, bytes]], labels: list[FeedbackLabel]) -> bytes:
    """The zip of ``images`` (each with its bytes) and ``labels``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for image, data in images:  # pictures are compressed already
            archive.writestr(image.file, data, compress_type=zipfile.ZIP_STORED)
        archive.writestr("images.csv", _csv((i for i, _ in images), IMAGE_FIELDS),
                         compress_type=zipfile.ZIP_DEFLATED)  # fmt: skip
        archive.writestr("labels.csv", _csv(labels, LABEL_FIELDS),
                         compress_type=zipfile.ZIP_DEFLATED)  # fmt: skip
    return buffer.getvalue()


def _number(text: str) -> int | None:
    return int(text) if text else None


def read_export(
    path: str | Path,
) -> tuple[dict[int, FeedbackImage], list[FeedbackLabel], zipfile.ZipFile]:
    """(images by id, labels, the open archive to read pictures from). Raises ValueError for a
    file that is not an export."""
    try:
        archive = zipfile.ZipFile(path)
        images_text = archive.read("images.csv").decode("utf-8")
        labels_text = archive.read("labels.csv").decode("utf-8")
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(f"{path} is not a feedback export: {exc}") from None
    images = {}
    for row in csv.DictReader(io.StringIO(images_text)):
        image = FeedbackImage(
            int(row["image_id"]), row["file"], row["sha256"], int(row["guild_id"]),
            int(row["channel_id"]), int(row["poster_id"]), float(row["created"]),
            row["model_version"], _number(row["predicted_species"]), row["predicted_types"],
        )  # fmt: skip
        images[image.image_id] = image
    labels = [_label(row) for row in csv.DictReader(io.StringIO(labels_text))]
    return images, labels, archive


def _label(row: dict[str, str]) -> FeedbackLabel:
    return FeedbackLabel(
        int(row["image_id"]), int(row["user_id"]), row["by_poster"] == "True", row["kind"],
        _number(row["species"]), row["types"], float(row["created"]),
    )  # fmt: skip
