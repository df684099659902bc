import pytest

from bot.settings import Settings, SettingsError, load_settings


def test_good_environment_gives_settings_with_defaults():
    settings = Settings.from_env({"DISCORD_TOKEN": " abc.def "})
    assert settings.token == "abc.def"
    assert settings.command_prefix == "!"
    assert settings.log_level == "INFO"


def test_values_are_read_and_normalised():
    env = {"DISCORD_TOKEN": "t", "COMMAND_PREFIX": "nm!", "LOG_LEVEL": "debug"}
    settings = Settings.from_env(env)
    assert (settings.command_prefix, settings.log_level) == ("nm!", "DEBUG")


@pytest.mark.parametrize("env", [{}, {"DISCORD_TOKEN": ""}, {"DISCORD_TOKEN": "   "}])
def test_missing_token_says_what_to_do(env):
    with pytest.raises(SettingsError, match=r"DISCORD_TOKEN is not set: copy \.env\.example"):
        Settings.from_env(env)


def test_bad_log_level_is_refused():
    with pytest.raises(SettingsError, match="LOG_LEVEL"):
        Settings.from_env({"DISCORD_TOKEN": "t", "LOG_LEVEL": "LOUD"})


def test_token_never_appears_in_repr():
    assert "s3cret" not in repr(Settings.from_env({"DISCORD_TOKEN": "s3cret"}))


def test_env_file_is_read_and_real_environment_wins(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("DISCORD_TOKEN=from-file\nCOMMAND_PREFIX=?\n")
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setenv("COMMAND_PREFIX", "$")
    settings = load_settings(env_file)
    assert (settings.token, settings.command_prefix) == ("from-file", "$")


def test_every_setting_is_read():
    env = {
        "DISCORD_TOKEN": "t", "DEV_GUILD_ID": "7",
        "WATCHED_CHANNELS": "1, 2,3", "CHECKPOINT": "runs/x.pt", "MAX_IMAGE_MB": "2.5",
        "MAX_IMAGES_PER_MESSAGE": "2", "USER_RATE": "5/30", "CHANNEL_RATE": "20/60",
        "DATABASE_PATH": "/var/lib/neuralmon/db.sqlite", "HEALTH_PORT": "8080",
    }  # fmt: skip
    s = Settings.from_env(env)
    assert (s.dev_guild_id, s.watched_channels) == (7, frozenset({1, 2, 3}))
    assert str(s.checkpoint) == "runs/x.pt" and s.max_image_bytes == int(2.5 * 2**20)
    assert s.max_images_per_message == 2
    assert (s.user_rate, s.channel_rate) == ((5, 30.0), (20, 60.0))
    assert str(s.database) == "/var/lib/neuralmon/db.sqlite" and s.health_port == 8080


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEV_GUILD_ID", "me", "whole number"),
        ("WATCHED_CHANNELS", "1,general", "whole number"),
        ("MAX_IMAGE_MB", "-1", "more than 0"),
        ("MAX_IMAGE_MB", "lots", "should be a number"),
        ("USER_RATE", "3 per 10", "3/10"),
        ("CHANNEL_RATE", "0/10", "more than 0"),
        ("HEALTH_PORT", "http", "whole number"),
    ],
)
def test_bad_values_say_what_is_wrong(name, value, message):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({"DISCORD_TOKEN": "t", name: value})
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({"DISCORD_TOKEN": "t", name: value})


def test_env_example_documents_every_setting_and_no_other():
    import re
    from pathlib import Path

    example = (Path(__file__).parents[2] / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z_]+)=", example, re.M))
    assert documented == {field.alias for field in Settings.model_fields.values()}


def test_inference_backend():
    assert Settings.from_env({"DISCORD_TOKEN": "t"}).inference_backend == "onnx"
    s = Settings.from_env({"DISCORD_TOKEN": "t", "INFERENCE_BACKEND": "Torch"})
    assert s.inference_backend == "torch"
    with pytest.raises(SettingsError, match="INFERENCE_BACKEND='tf' should be onnx or torch"):
        Settings.from_env({"DISCORD_TOKEN": "t", "INFERENCE_BACKEND": "tf"})


def test_inference_url():
    s = Settings.from_env({"DISCORD_TOKEN": "t", "INFERENCE_URL": "http://triton:8000"})
    assert (s.inference_url, s.inference_model) == ("http://triton:8000", "neuralmon")
    assert Settings.from_env({"DISCORD_TOKEN": "t"}).inference_url is None
    with pytest.raises(SettingsError, match="http://"):
        Settings.from_env({"DISCORD_TOKEN": "t", "INFERENCE_URL": "triton:8000"})


def test_a_database_url_wins_over_the_file_and_stays_out_of_repr():
    url = "postgresql://bot:hunter2@db.example:5432/neuralmon"
    s = Settings.from_env({"DISCORD_TOKEN": "t", "DATABASE_PATH": "x.db", "DATABASE_URL": url})
    assert s.store_target == url
    assert "hunter2" not in repr(s)
    assert Settings.from_env({"DISCORD_TOKEN": "t", "DATABASE_PATH": "x.db"}).store_target.name == (
        "x.db"
    )
    with pytest.raises(SettingsError, match="postgresql://"):
        Settings.from_env({"DISCORD_TOKEN": "t", "DATABASE_URL": "mysql://db/neuralmon"})


@pytest.mark.parametrize(
    ("count", "ids", "expected"),
    [("4", "0-1", (4, (0, 1))), ("4", "3,1", (4, (1, 3))), ("2", "", (2, (0, 1))),
     ("", "", (None, None))],
)  # fmt: skip
def test_shard_settings(count, ids, expected):
    s = Settings.from_env({"DISCORD_TOKEN": "t", "SHARD_COUNT": count, "SHARD_IDS": ids})
    assert (s.shard_count, s.shard_ids) == expected


@pytest.mark.parametrize(("count", "ids"), [("", "0"), ("2", "0-2"), ("0", ""), ("two", "")])
def test_bad_shard_settings(count, ids):
    with pytest.raises(SettingsError, match="SHARD"):
        Settings.from_env({"DISCORD_TOKEN": "t", "SHARD_COUNT": count, "SHARD_IDS": ids})
