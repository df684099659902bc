"""Settings from the environment and ``.env`` (python-dotenv), validated once into one object."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv


class SettingsError(Exception):
    """A setting is missing or invalid; the message says what to do."""


@dataclass(frozen=True)
class Settings:
    token: str
    command_prefix: str = "!"
    log_level: str = "INFO"

    def __repr__(self) -> str:  # never let the token reach a log line
        return f"Settings(token=<hidden>, command_prefix={self.command_prefix!r}, ...)"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        token = env.get("DISCORD_TOKEN", "").strip()
        if not token:
            raise SettingsError(
                "DISCORD_TOKEN is not set: copy .env.example to .env and paste your bot's token "
                "(Discord Developer Portal -> your application -> Bot -> Reset Token)."
            )
        log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
        if not isinstance(logging.getLevelName(log_level), int):
            raise SettingsError(f"LOG_LEVEL={log_level!r} is not a level: use DEBUG, INFO, ...")
        prefix = env.get("COMMAND_PREFIX", "!").strip() or "!"
        return cls(token=token, command_prefix=prefix, log_level=log_level)


def load_settings(env_file: str | os.PathLike = ".env") -> Settings:
    """Read ``env_file`` if present (real environment variables win), then validate."""
    if Path(env_file).is_file():
        load_dotenv(env_file, override=False)
    return Settings.from_env(os.environ)
