"""No Docker engine runs here: check that the deploy files agree with the Makefile, the settings
and .env.example, so a renamed setting or entry point cannot leave them behind."""

import re
from pathlib import Path

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "deploy/Dockerfile").read_text()
COMPOSE = (ROOT / "deploy/docker-compose.yml").read_text()
SERVICE = (ROOT / "deploy/neuralmon.service").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
DOCUMENTED = set(re.findall(r"^([A-Z_]+)=", ENV_EXAMPLE, re.M))


def test_every_file_starts_the_same_entry_point():
    assert "$(PY) -m bot" in MAKEFILE
    assert 'ENTRYPOINT ["python", "-m", "bot"]' in DOCKERFILE
    assert re.search(r"^ExecStart=\S+/python -m bot$", SERVICE, re.M)


def test_settings_named_in_deploy_files_are_documented_and_read():
    named = set(re.findall(r"\b([A-Z][A-Z_]{3,})[=:]", DOCKERFILE + COMPOSE + SERVICE))
    settings = named - {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PIP_NO_CACHE_DIR"}
    assert settings == {"NEURALMON_DATA", "DATABASE_PATH", "HEALTH_PORT"}
    assert settings <= DOCUMENTED
    env = {"DISCORD_TOKEN": "t", "NEURALMON_DATA": "/data", "DATABASE_PATH": "/data/n.db",
           "HEALTH_PORT": "8080"}  # fmt: skip
    s = Settings.from_env(env)
    assert (str(s.data_dir), str(s.database), s.health_port) == ("/data", "/data/n.db", 8080)


def test_data_and_database_live_on_the_volume():
    assert 'VOLUME ["/data"]' in DOCKERFILE
    assert "NEURALMON_DATA=/data" in DOCKERFILE and "DATABASE_PATH=/data/" in DOCKERFILE
    assert "neuralmon-data:/data" in COMPOSE
    assert "ReadWritePaths=/var/lib/neuralmon" in SERVICE
    assert "DATABASE_PATH=/var/lib/neuralmon/" in SERVICE


def test_healthcheck_uses_the_health_port():
    port = re.search(r"HEALTH_PORT=(\d+)", DOCKERFILE).group(1)
    assert f"http://127.0.0.1:{port}/healthz" in DOCKERFILE
    assert f"EXPOSE {port}" in DOCKERFILE
    assert f'HEALTH_PORT: "{port}"' in COMPOSE and f":{port}:{port}" in COMPOSE


def test_image_is_the_light_install_and_not_root():
    commands = [line for line in DOCKERFILE.splitlines() if not line.startswith("#")]
    assert any(line.startswith('RUN pip install ".[postgres]"') for line in commands)
    assert not any("torch" in line for line in commands)
    assert re.search(r"^USER 10001$", DOCKERFILE, re.M)  # the uid created above


def test_service_is_sandboxed_and_restarts():
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                 "PrivateTmp=yes", "Restart=on-failure", "RestartPreventExitStatus=2"):  # fmt: skip
        assert line in SERVICE


def test_dockerfile_passes_hadolint():
    import shutil
    import subprocess
    import sys

    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    done = subprocess.run([hadolint, str(ROOT / "deploy/Dockerfile")], capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_bot_install_leaves_training_to_the_extras():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=\[ ]", spec)[0] for spec in project["dependencies"]}
    assert "onnxruntime" in names
    assert not names & {"torch", "torchvision", "timm", "tqdm", "onnx", "asyncpg"}
    assert "$(PY) -m pip install --quiet -e .\n" in MAKEFILE  # what `make run` installs
