"""Settings from the environment and ``.env`` (python-dotenv), validated once into one object:
a pydantic model whose fields are the settings, each with its variable's name and its default
written once; errors become one line each. Every setting is documented in ``.env.example``, and
nothing else is (a test checks both ways).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from dotenv import load_dotenv
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from bot.databases import POSTGRES_SCHEMES
from model.data import data_dir
from model.data.sources import POKEAPI_BASE_URL
from model.images import MAX_BYTES

NO_TOKEN = (
    "DISCORD_TOKEN is not set: copy .env.example to .env and paste your bot's token "
    "(Discord Developer Portal -> your application -> Bot -> Reset Token)."
)
# pydantic's error kinds, said as a person would
SAID = {
    "int_parsing": "should be a whole number",
    "int_from_float": "should be a whole number",
    "float_parsing": "should be a number",
    "greater_than": "should be more than 0",
    "greater_than_equal": "should be 1 or more",
}


class SettingsError(Exception):
    """A setting is missing or invalid; the message says what to do."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, str_strip_whitespace=True)

    token: str = Field(alias="DISCORD_TOKEN", repr=False)  # never let it reach a log line
    command_prefix: str = Field("!", alias="COMMAND_PREFIX")
    dev_guild_id: int | None = Field(None, alias="DEV_GUILD_ID")  # slash commands sync at once
    watched_channels: frozenset[int] = Field(frozenset(), alias="WATCHED_CHANNELS")  # empty: all
    checkpoint: Path | None = Field(None, alias="CHECKPOINT")  # None: the shipped weights
    inference_backend: Literal["onnx", "torch"] = Field("onnx", alias="INFERENCE_BACKEND")
    inference_url: str | None = Field(None, alias="INFERENCE_URL")  # a model server (KServe v2)
    inference_model: str = Field("neuralmon", alias="INFERENCE_MODEL")
    max_image_mb: float = Field(MAX_BYTES / 2**20, gt=0, alias="MAX_IMAGE_MB")
    max_images_per_message: int = Field(4, gt=0, alias="MAX_IMAGES_PER_MESSAGE")
    user_rate: tuple[int, float] = Field((3, 10.0), alias="USER_RATE")  # images per seconds
    channel_rate: tuple[int, float] = Field((10, 10.0), alias="CHANNEL_RATE")
    database: Path = Field(Path("neuralmon.db"), alias="DATABASE_PATH")  # unless database_url
    database_url: str | None = Field(None, alias="DATABASE_URL", repr=False)  # may hold a password
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    health_port: int | None = Field(None, alias="HEALTH_PORT")
    data_dir: Path = Field(default_factory=data_dir, alias="NEURALMON_DATA")  # quiz art
    quiz_seconds: float = Field(60.0, gt=0, alias="QUIZ_SECONDS")
    sprites_url: str = Field(POKEAPI_BASE_URL, alias="SPRITES_URL")  # quiz art not on disk
    feedback_hours: float = Field(24.0, gt=0, alias="FEEDBACK_HOURS")  # a reply's buttons live
    feedback_days: float = Field(180.0, gt=0, alias="FEEDBACK_DAYS")  # answered pictures are kept
    feedback_rate: tuple[int, float] = Field((5, 60.0), alias="FEEDBACK_RATE")  # answers/seconds
    shard_count: int | None = Field(None, ge=1, alias="SHARD_COUNT")  # with shard_ids: some shards
    shard_ids: tuple[int, ...] | None = Field(None, alias="SHARD_IDS", validate_default=True)

    @property
    def store_target(self) -> str | Path:
        """What ``Store.open`` takes: the database URL, else the SQLite file."""
        return self.database_url or self.database

    @property
    def max_image_bytes(self) -> int:
        return int(self.max_image_mb * 1024 * 1024)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """The settings named in ``env`` (empty values count as unset), or ``SettingsError``."""
        names = {field.alias for field in cls.model_fields.values()}
        given = {k: v.strip() for k, v in env.items() if k in names and v.strip()}
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            raise SettingsError(_said(exc.errors()[0])) from None

    @field_validator("watched_channels", mode="before")
    @classmethod
    def _channels(cls, value):
        return _ids(value) if isinstance(value, str) else value

    @field_validator("inference_backend", "log_level", mode="before")
    @classmethod
    def _any_case(cls, value):
        return value.lower() if isinstance(value, str) else value

    @field_validator("user_rate", "channel_rate", "feedback_rate", mode="before")
    @classmethod
    def _rate(cls, value):
        """``"3/10"``: three per ten seconds."""
        if not isinstance(value, str):
            return value
        count, _, seconds = value.partition("/")
        try:
            rate = (int(count), float(seconds))
        except ValueError:
            raise ValueError("should look like 3/10 (3 per 10 seconds)") from None
        if rate[0] < 1 or rate[1] <= 0:
            raise ValueError("both numbers should be more than 0")
        return rate

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if not isinstance(logging.getLevelName(value.upper()), int):
            raise ValueError("is not a level: use DEBUG, INFO, ...")
        return value.upper()

    @field_validator("inference_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("should start with http:// or https://")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        scheme = urlsplit(value).scheme if value else None
        if value and scheme not in (*POSTGRES_SCHEMES, "sqlite"):
            raise ValueError(
                f"should start with postgresql:// (or sqlite:/// for a file), not {scheme}://"
            )
        return value

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir(cls, value):
        return data_dir(value)

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _shard_ids(cls, value):
        """``0-1`` or ``0,1``: this process runs shards 0 and 1."""
        if not isinstance(value, str):
            return value
        chosen: list[int] = []
        for part in filter(None, (p.strip() for p in value.split(","))):
            first, _, last = part.partition("-")
            try:
                chosen += range(int(first), int(last or first) + 1)
            except ValueError:
                raise ValueError("should look like 0-1 or 0,1") from None
        return tuple(sorted(set(chosen)))

    @field_validator("shard_ids")
    @classmethod
    def _shards(cls, ids: tuple[int, ...] | None, info: ValidationInfo):
        """With SHARD_COUNT, the shards this process runs: by default all of them."""
        count = info.data.get("shard_count")
        if count is None:
            if ids:
                raise ValueError("needs SHARD_COUNT (the total number of shards)")
            return None
        ids = ids or tuple(range(count))
        if ids[0] < 0 or ids[-1] >= count:
            raise ValueError(f"should be shard ids from 0 to {count - 1}")
        return ids


def _ids(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part.strip()) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError("should be whole numbers, separated by commas") from None


def _said(error: dict) -> str:
    """One pydantic error as one line: the variable, what it was, what is wrong."""
    if error["type"] == "missing":
        return NO_TOKEN  # the one setting without a default
    name = error["loc"][0]  # the variable's name, as given
    if error["type"] == "value_error":
        reason = str(error["ctx"]["error"])
    elif error["type"] == "literal_error":
        reason = "should be " + error["ctx"]["expected"].replace("'", "")
    else:
        reason = SAID.get(error["type"], error["msg"])
    return f"{name}={error['input']!r} {reason}"


def load_settings(env_file: str | os.PathLike = ".env") -> Settings:
    """Read ``env_file`` if present (real environment variables win), then validate."""
    if Path(env_file).is_file():
        load_dotenv(env_file, override=False)
    return Settings.from_env(os.environ)
