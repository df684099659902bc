"""Settings from the environment and ``.env`` (python-dotenv), validated once into one object.

Every setting is documented in ``.env.example``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import load_dotenv

from bot.databases import POSTGRES_SCHEMES
from model.data import data_dir
from model.data.sources import POKEAPI_BASE_URL
from model.predict import BACKENDS


class SettingsError(Exception):
    """A setting is missing or invalid; the message says what to do."""


@dataclass(frozen=True)
class Settings:
    token: str = field(repr=False)  # never let the token reach a log line
    command_prefix: str = "!"
    owner_id: int | None = None
    dev_guild_id: int | None = None  # slash commands sync there at once (global sync is slow)
    watched_channels: frozenset[int] = frozenset()  # empty: every channel, until turned off
    checkpoint: Path | None = None  # None: the weights shipped with neuralmon
    inference_backend: str = "onnx"  # or "torch" (the `train` extra), in this process
    inference_url: str | None = None  # a model server (KServe v2) runs the network instead
    inference_model: str = "neuralmon"
    max_image_mb: float = 8.0
    max_images_per_message: int = 4
    user_rate: tuple[int, float] = (3, 10.0)  # images per seconds, per user
    channel_rate: tuple[int, float] = (10, 10.0)  # images per seconds, per channel
    database: Path = Path("neuralmon.db")  # SQLite file, unless database_url is set
    database_url: str | None = field(default=None, repr=False)  # PostgreSQL; may hold a password
    log_level: str = "INFO"
    health_port: int | None = None
    data_dir: Path = field(default_factory=data_dir)  # sprite data: quiz art
    quiz_seconds: float = 60.0
    sprites_url: str = POKEAPI_BASE_URL  # where quiz art is downloaded when not on disk
    shard_count: int | None = None  # set both to run this process over some shards
    shard_ids: tuple[int, ...] | None = None

    @property
    def store_target(self) -> str | Path:
        """What ``Store.open`` takes: the database URL, else the SQLite file."""
        return self.database_url or self.database

    @property
    def max_image_bytes(self) -> int:
        return int(self.max_image_mb * 1024 * 1024)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        def get(name: str) -> str:
            return env.get(name, "").strip()

        token = get("DISCORD_TOKEN")
        if not token:
            raise SettingsError(
                "DISCORD_TOKEN is not set: copy .env.example to .env and paste your bot's token "
                "(Discord Developer Portal -> your application -> Bot -> Reset Token)."
            )
        log_level = (get("LOG_LEVEL") or "INFO").upper()
        if not isinstance(logging.getLevelName(log_level), int):
            raise SettingsError(f"LOG_LEVEL={log_level!r} is not a level: use DEBUG, INFO, ...")
        defaults = {f.name: f.default for f in fields(cls)}
        return cls(
            token=token,
            command_prefix=get("COMMAND_PREFIX") or "!",
            owner_id=_int(get("OWNER_ID"), "OWNER_ID"),
            dev_guild_id=_int(get("DEV_GUILD_ID"), "DEV_GUILD_ID"),
            watched_channels=frozenset(
                _int(part.strip(), "WATCHED_CHANNELS")
                for part in get("WATCHED_CHANNELS").split(",")
                if part.strip()
            ),
            checkpoint=Path(get("CHECKPOINT")) if get("CHECKPOINT") else None,
            inference_backend=_choice(
                get("INFERENCE_BACKEND"),
                "INFERENCE_BACKEND",
                BACKENDS,
                defaults["inference_backend"],
            ),
            inference_url=_http_url(get("INFERENCE_URL")),
            inference_model=get("INFERENCE_MODEL") or defaults["inference_model"],
            max_image_mb=_number(get("MAX_IMAGE_MB"), "MAX_IMAGE_MB", defaults["max_image_mb"]),
            max_images_per_message=int(
                _number(get("MAX_IMAGES_PER_MESSAGE"), "MAX_IMAGES_PER_MESSAGE", 4)
            ),
            user_rate=_rate(get("USER_RATE"), "USER_RATE", defaults["user_rate"]),
            channel_rate=_rate(get("CHANNEL_RATE"), "CHANNEL_RATE", defaults["channel_rate"]),
            database=Path(get("DATABASE_PATH") or defaults["database"]),
            database_url=_database_url(get("DATABASE_URL")),
            log_level=log_level,
            health_port=_int(get("HEALTH_PORT"), "HEALTH_PORT"),
            data_dir=data_dir(get("NEURALMON_DATA") or None),
            quiz_seconds=_number(get("QUIZ_SECONDS"), "QUIZ_SECONDS", defaults["quiz_seconds"]),
            sprites_url=get("SPRITES_URL") or POKEAPI_BASE_URL,
            **_shards(get("SHARD_COUNT"), get("SHARD_IDS")),
        )


def _int(value: str, name: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r} should be a whole number") from None


def _number(value: str, name: str, default: float) -> float:
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r} should be a number") from None
    if number <= 0:
        raise SettingsError(f"{name}={value!r} should be more than 0")
    return number


def _choice(value: str, name: str, choices: tuple[str, ...], default: str) -> str:
    if not value:
        return default
    if value.lower() not in choices:
        raise SettingsError(f"{name}={value!r}: choose {' or '.join(choices)}")
    return value.lower()


def _rate(value: str, name: str, default: tuple[int, float]) -> tuple[int, float]:
    """``"3/10"``: three per ten seconds."""
    if not value:
        return default
    count, _, seconds = value.partition("/")
    try:
        rate = (int(count), float(seconds))
    except ValueError:
        raise SettingsError(f"{name}={value!r} should look like 3/10 (3 per 10 seconds)") from None
    if rate[0] < 1 or rate[1] <= 0:
        raise SettingsError(f"{name}={value!r}: both numbers should be more than 0")
    return rate


def _http_url(value: str) -> str | None:
    if value and urlsplit(value).scheme not in ("http", "https"):
        raise SettingsError(f"INFERENCE_URL={value!r} should start with http:// or https://")
    return value or None


def _database_url(value: str) -> str | None:
    if not value:
        return None
    scheme = urlsplit(value).scheme
    if scheme not in (*POSTGRES_SCHEMES, "sqlite"):
        raise SettingsError(
            f"DATABASE_URL should start with postgresql:// (or sqlite:/// for a file), "
            f"not {scheme or 'nothing'}://"
        )
    return value


def _shards(count: str, ids: str) -> dict:
    """``SHARD_COUNT=4``, ``SHARD_IDS=0-1`` or ``0,1``: this process runs shards 0 and 1 of 4."""
    if not count:
        if ids:
            raise SettingsError("SHARD_IDS needs SHARD_COUNT (the total number of shards)")
        return {}
    total = _int(count, "SHARD_COUNT")
    if total < 1:
        raise SettingsError("SHARD_COUNT should be 1 or more")
    chosen: list[int] = []
    for part in filter(None, (p.strip() for p in ids.split(","))):
        first, _, last = part.partition("-")
        start, end = _int(first, "SHARD_IDS"), _int(last or first, "SHARD_IDS")
        chosen += range(start, end + 1)
    chosen = sorted(set(chosen)) or list(range(total))
    if chosen[0] < 0 or chosen[-1] >= total:
        raise SettingsError(f"SHARD_IDS={ids!r}: shard ids run from 0 to {total - 1}")
    return {"shard_count": total, "shard_ids": tuple(chosen)}


def load_settings(env_file: str | os.PathLike = ".env") -> Settings:
    """Read ``env_file`` if present (real environment variables win), then validate."""
    if Path(env_file).is_file():
        load_dotenv(env_file, override=False)
    return Settings.from_env(os.environ)
