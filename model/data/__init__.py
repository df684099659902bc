"""Sprite data: fetch the sources, build a training-ready dataset, preview it."""

import os
from pathlib import Path

DATA_ENV = "NEURALMON_DATA"


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """Where sprite sources and built datasets live.

    The flag wins, then ``$NEURALMON_DATA``, then the per-user data directory
    (``$XDG_DATA_HOME/neuralmon``, by default ``~/.local/share/neuralmon``).
    """
    if override:
        return Path(override).expanduser()
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(xdg) / "neuralmon"
