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
