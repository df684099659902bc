"""A throwaway PostgreSQL server for the tests, from the machine's own PostgreSQL package.

Started once per test session on a free loopback port with trust authentication; each test
asks for a fresh database. Without PostgreSQL installed the tests that need it are skipped
(``apt-get install postgresql`` brings it). PostgreSQL refuses to run as root, so as root the
server runs as the package's ``postgres`` user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

USER = "neuralmon"


class Unavailable(Exception):
    """PostgreSQL cannot run here; the message says why."""


def server_binaries() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    # Debian keeps the server programs out of PATH, one folder per major version
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not versions:
        raise Unavailable("PostgreSQL is not installed (apt-get install postgresql)")
    return versions[-1]


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server() -> Iterator[str]:
    """Yields the admin URL of a running server; stops it and deletes its files afterwards."""
    bin_dir = server_binaries()
    as_user: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="neuralmon-pg-"))
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise Unavailable("running as root and there is no 'postgres' user") from None
        os.chown(workdir, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = workdir / "data", free_port()

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=120)

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8",
            "--no-sync")  # fmt: skip
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -c fsync=off "
                   f"-c unix_socket_directories={workdir}")  # fmt: skip
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
            str(workdir / "log"), "-w", "start")  # fmt: skip
        try:
            yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
    except subprocess.CalledProcessError as exc:
        log = workdir / "log"
        detail = log.read_text()[-2000:] if log.exists() else exc.stderr.decode()[-2000:]
        raise RuntimeError(f"PostgreSQL did not start: {detail}") from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
