import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import discord
import pytest

import bot.__main__ as entry
from bot import bot as bot_module
from bot.bot import extension_names
from tests.bot.helpers import close_bot, make_bot

ROOT = Path(__file__).resolve().parents[2]


def test_missing_token_exits_2_with_one_clear_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "DISCORD_TOKEN is not set" in lines[0] and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        (discord.LoginFailure("Improper token has been passed."), "rejected the token"),
        (discord.PrivilegedIntentsRequired(None), "Message Content intent"),
    ],
)
def test_rejected_login_exits_2(monkeypatch, caplog, error, advice):
    monkeypatch.setenv("DISCORD_TOKEN", "not-a-real-token")

    async def refuse(settings):
        raise error

    monkeypatch.setattr(entry, "run", refuse)
    assert entry.main() == 2
    assert advice in caplog.text
    assert "not-a-real-token" not in caplog.text


def test_missing_weights_exit_2_with_advice(monkeypatch, caplog, tmp_path):
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("CHECKPOINT", str(tmp_path / "nowhere.pt"))
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "db.sqlite"))
    assert entry.main() == 2
    assert "no model weights at" in caplog.text and "CHECKPOINT" in caplog.text


def test_an_unreachable_database_exits_1_without_its_password(monkeypatch, caplog):
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:hunter2@127.0.0.1:9/neuralmon")
    monkeypatch.setattr(entry.Predictor, "load", lambda path, backend: None)
    assert entry.main() == 1
    assert "cannot open the database postgresql://bot:***@127.0.0.1:9/neuralmon" in caplog.text
    assert "hunter2" not in caplog.text


def test_a_database_folder_that_cannot_be_made_exits_2_at_once(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    env = os.environ | {"PYTHONPATH": str(ROOT), "DISCORD_TOKEN": "t",
                        "DATABASE_PATH": str(tmp_path / "a-file" / "neuralmon.db")}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "bot"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2, done.stderr
    critical = [line for line in done.stderr.splitlines() if "CRITICAL" in line]
    assert len(critical) == 1 and "cannot open the database" in critical[0], done.stderr
    assert "Traceback" not in done.stderr


def test_a_locked_database_exits_2_and_leaves_no_thread_behind(monkeypatch, caplog, tmp_path):
    import sqlite3
    import threading

    path = tmp_path / "locked.db"
    asyncio.run(_created(path))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a long write
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("DATABASE_PATH", str(path))
    monkeypatch.setattr(entry.Predictor, "load", lambda path, backend: None)
    before = set(threading.enumerate())
    try:
        assert entry.main() == 2
    finally:
        holder.rollback()
    assert "cannot open the database" in caplog.text and "locked" in caplog.text
    left = [t for t in set(threading.enumerate()) - before if not t.daemon and t.is_alive()]
    assert left == []  # nothing keeps a stopped bot from exiting


async def _created(path: Path) -> None:
    from bot.store import Store

    await (await Store.open(path)).close()


def test_a_checkpoint_refused_by_safe_loading_exits_2_in_one_line(monkeypatch, caplog, tmp_path):
    import torch

    unsafe = tmp_path / "unsafe.pt"
    torch.save({"state_dict": {}, "hook": print}, unsafe)  # a global: weights_only refuses it
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("CHECKPOINT", str(unsafe))
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "db.sqlite"))
    monkeypatch.setenv("INFERENCE_BACKEND", "torch")
    assert entry.main() == 2
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert "is not a neuralmon checkpoint that loads safely" in line and "\n" not in line
    assert "weights_only=False" not in caplog.text


def test_a_checkpoint_without_its_bundle_exits_2_saying_how_to_write_it(
    monkeypatch, caplog, tmp_path
):
    checkpoint = tmp_path / "mine.pt"
    checkpoint.write_bytes(b"not read: the ONNX backend looks for mine.json")
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("CHECKPOINT", str(checkpoint))
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "db.sqlite"))
    assert entry.main() == 2
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert f"python -m model bundle {checkpoint}" in line


def test_an_unreachable_model_server_exits_1(monkeypatch, caplog):
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("INFERENCE_URL", "http://127.0.0.1:9")
    assert entry.main() == 1
    assert "cannot reach the model server at http://127.0.0.1:9" in caplog.text


async def test_setup_hook_logs_a_broken_extension_and_loads_the_rest(monkeypatch, caplog, tmp_path):
    monkeypatch.setattr(
        bot_module, "extension_names", lambda: ["bot.exts.no_such_extension", "tests.bot.fake_ext"]
    )
    bot = await make_bot(predictor=None, tmp_path=tmp_path)
    monkeypatch.setattr(bot, "sync_commands", lambda: _nothing())
    with caplog.at_level(logging.INFO):
        await bot.setup_hook()
    assert "could not load extension bot.exts.no_such_extension" in caplog.text
    assert "tests.bot.fake_ext" in bot.extensions
    await close_bot(bot)


async def _nothing():
    return None


def test_extension_names_lists_modules_under_exts():
    names = extension_names()
    assert "bot.exts.classify" in names
    assert all(name.startswith("bot.exts.") for name in names)


async def test_bot_never_pings_by_default(tmp_path):
    bot = await make_bot(predictor=None, tmp_path=tmp_path)
    mentions = bot.allowed_mentions
    assert not (mentions.everyone or mentions.users or mentions.roles or mentions.replied_user)
    await close_bot(bot)


async def test_shard_settings_make_a_sharded_bot(tmp_path):
    import aiohttp
    from discord.ext import commands

    from bot.bot import create_bot
    from bot.inference import InferenceQueue
    from bot.settings import Settings
    from bot.store import Store

    settings = Settings(token="t", shard_count=4, shard_ids=(2, 3))
    async with aiohttp.ClientSession() as session:
        store = await Store.open(tmp_path / "s.db")
        bot = create_bot(settings, session, InferenceQueue(None), store)
        assert isinstance(bot, commands.AutoShardedBot)
        assert (bot.shard_count, bot.shard_ids) == (4, [2, 3])
        plain = create_bot(Settings(token="t"), session, InferenceQueue(None), store)
        assert not isinstance(plain, commands.AutoShardedBot)
        await store.close()
