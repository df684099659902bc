"""``python -m model data import-feedback EXPORT.zip ...``: pictures people named in chat,
into the data directory as a style of their own (``feedback``), for ``data build``.

Each picture counts as what most people said of it (``model.feedback.verdict``): ties are
dropped, and so are pictures said not to be a Pokémon, fan-made ones and readings confirmed
for their types alone (the dataset is of species). A picture already imported (same hash,
from this export or an earlier one) is not added twice.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from pathlib import Path

from model.data.sources import FEEDBACK_DIR, FEEDBACK_HASH, atomic_write, feedback_file
from model.feedback import FeedbackLabel, read_export, verdict
from model.images import sniff

log = logging.getLogger(__name__)


def imported_hashes(root: Path) -> set[str]:
    """The hash prefixes of the pictures imported before (in their file names)."""
    return {path.stem.rpartition("-")[2] for path in (root / FEEDBACK_DIR).glob("*/*")}


def import_feedback(exports: list[Path], root: Path) -> Counter:
    """Add the pictures of ``exports`` that most people named a species; returns how many
    pictures went which way (added, a copy, a tie, not a species, unreadable)."""
    counts: Counter = Counter()
    seen = imported_hashes(root)
    for export in exports:
        images, labels, archive = read_export(export)
        by_image: dict[int, list[FeedbackLabel]] = defaultdict(list)
        for label in labels:
            by_image[label.image_id].append(label)
        with archive:
            for image_id, image in images.items():
                said = verdict(by_image[image_id])
                if said is None:
                    counts["a tie" if by_image[image_id] else "no answers"] += 1
                elif said.kind != "species":
                    counts[f"not a species ({said.kind})"] += 1
                elif image.sha256[:FEEDBACK_HASH] in seen:
                    counts["imported before"] += 1
                else:
                    data = archive.read(image.file)
                    if sniff(data) is None:
                        log.warning("%s: %s is not a picture; skipped", export, image.file)
                        counts["unreadable"] += 1
                        continue
                    suffix = Path(image.file).suffix
                    path = feedback_file(root, said.species, image.created, image.sha256, suffix)
                    atomic_write(path, data)
                    seen.add(image.sha256[:FEEDBACK_HASH])
                    counts["added"] += 1
    return counts
