"""``python -m bot``: settings -> resources -> bot.start().

Exit status 2, with one line saying what to do, when the token is missing or rejected, the
checkpoint cannot be loaded or the database cannot be opened.
"""

from __future__ import annotations

import asyncio
import logging
import sys

import aiohttp
import discord

from bot.bot import create_bot
from bot.databases import redact
from bot.inference import InferenceQueue
from bot.settings import Settings, SettingsError, load_settings
from bot.store import Store
from model import extra_installing
from model.predict import Predictor
from model.remote import RemoteError
from model.runtime import WeightsError

log = logging.getLogger("bot")
# The settings that call for a package of an extra, which the light install (`make run`) lacks.
NEEDED_BY = {
    "torch": "INFERENCE_BACKEND=torch",
    "timm": "INFERENCE_BACKEND=torch",
    "asyncpg": "a PostgreSQL DATABASE_URL",
}


class DatabaseUnavailable(Exception):
    """The database cannot be opened; the message says which one (without its password)."""


class DatabaseUnreachable(DatabaseUnavailable):
    """A database server that does not answer, which may be restarting."""


def load_predictor(settings: Settings) -> Predictor:
    if settings.inference_url:
        predictor = Predictor.remote(
            settings.inference_url, settings.inference_model, settings.checkpoint
        )
        log.info("the network runs on %s", settings.inference_url)
        return predictor
    predictor = Predictor.load(settings.checkpoint, settings.inference_backend)
    log.info("the network runs here (%s)", settings.inference_backend)
    return predictor


async def run(settings: Settings) -> None:
    predictor = await asyncio.to_thread(load_predictor, settings)
    try:
        store = await Store.open(settings.store_target)
    except ModuleNotFoundError:
        raise  # an extra not installed: main() says which
    except Exception as exc:  # a server down, a wrong password, an unwritable folder
        where = redact(str(settings.store_target))
        server_down = settings.database_url is not None and isinstance(exc, OSError)
        error = DatabaseUnreachable if server_down else DatabaseUnavailable
        raise error(f"cannot open the database {where}: {exc}") from None
    log.info("scores and settings: %s", store.db.description)
    inference = InferenceQueue(predictor, max_bytes=settings.max_image_bytes)
    try:
        async with aiohttp.ClientSession() as http_session:
            bot = create_bot(settings, http_session, inference, store)
            async with bot:
                await bot.start(settings.token)
    finally:
        await inference.close()
        await store.close()


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )
    try:
        settings = load_settings()
    except SettingsError as exc:
        log.critical("%s", exc)
        return 2
    logging.getLogger().setLevel(settings.log_level)
    try:
        asyncio.run(run(settings))
    except discord.LoginFailure:
        log.critical("Discord rejected the token: put the current one in DISCORD_TOKEN in .env.")
        return 2
    except discord.PrivilegedIntentsRequired:
        log.critical(
            "Enable the Message Content intent: Developer Portal -> your application -> Bot -> "
            "Privileged Gateway Intents."
        )
        return 2
    except FileNotFoundError as exc:
        log.critical(
            "no model weights at %s: set CHECKPOINT in .env to a checkpoint from "
            "`python -m model train` (with its bundle: `python -m model bundle CHECKPOINT`), "
            "or leave it empty for the shipped weights.",
            exc.filename,
        )
        return 2
    except (DatabaseUnreachable, RemoteError) as exc:
        log.critical("%s", exc)
        return 1  # maybe passing (a server restarting): let systemd or Docker try again
    except (WeightsError, DatabaseUnavailable) as exc:
        log.critical("%s", exc)
        return 2
    except ModuleNotFoundError as exc:
        extra = extra_installing(exc.name or "")
        if exc.name not in NEEDED_BY or extra is None:
            raise
        log.critical("%s needs %s: pip install -e '.[%s]'", NEEDED_BY[exc.name], exc.name, extra)
        return 2
    except KeyboardInterrupt:
        log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
