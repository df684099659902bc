import asyncio

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot import attachments
from bot.attachments import AttachmentError, check_size, download, is_image
from model.images import sniff
from tests.synthetic import encoded, png_bytes, sprite


@pytest.mark.parametrize(
    ("content_type", "filename", "expected"),
    [
        ("image/png", "a.png", True),
        ("image/jpeg", "photo", True),
        ("image/webp", "x.bin", True),
        ("image/gif; charset=binary", "x", True),
        ("text/plain", "a.png", False),  # Discord's word wins over the name
        ("image/svg+xml", "a.svg", False),
        (None, "Pic.JPG", True),
        (None, "notes.txt", False),
    ],
)
def test_is_image(content_type, filename, expected):
    assert is_image(content_type, filename) is expected


def test_sniff_reads_the_magic_bytes():
    img = sprite()
    assert sniff(png_bytes(img)).name == "PNG"
    assert sniff(encoded(img.convert("RGB"), "JPEG")).name == "JPEG"
    assert sniff(encoded(img, "GIF")).name == "GIF"
    assert sniff(encoded(img, "WEBP")).name == "WEBP"
    assert sniff(encoded(img.convert("RGB"), "BMP")) is None  # not one of the formats we read
    assert sniff(b"hello") is None and sniff(b"") is None and sniff(b"RIFF\0\0\0\0WAVE") is None


def test_size_checks():
    check_size(10, 100)
    with pytest.raises(AttachmentError, match="empty"):
        check_size(0, 100)
    with pytest.raises(AttachmentError, match=r"50\.0 MB; I read images up to 8 MB"):
        check_size(50 * 2**20, 8 * 2**20)


@pytest.fixture
async def files_server():
    body = png_bytes(sprite())

    async def ok(request):
        return web.Response(body=body, content_type="image/png")

    async def endless(request):  # chunked, no length: the limit must stop the read
        resp = web.StreamResponse()
        await resp.prepare(request)
        for _ in range(100):
            await resp.write(b"x" * 65536)
        return resp

    async def slow(request):
        await asyncio.sleep(5)
        return web.Response(body=body)

    app = web.Application()
    app.router.add_get("/ok.png", ok)
    app.router.add_get("/endless", endless)
    app.router.add_get("/slow", slow)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield server, session, body
    await server.close()


async def test_download_reads_the_file(files_server):
    server, session, body = files_server
    assert await download(session, str(server.make_url("/ok.png")), 10**6) == body


async def test_download_stops_at_the_limit(files_server):
    server, session, _ = files_server
    with pytest.raises(AttachmentError, match="up to 1 MB"):
        await download(session, str(server.make_url("/endless")), 2**20)


async def test_download_failures_are_friendly(files_server, monkeypatch):
    server, session, _ = files_server
    monkeypatch.setattr(attachments, "DOWNLOAD_SECONDS", 0.2)
    with pytest.raises(AttachmentError, match="HTTP 404"):
        await download(session, str(server.make_url("/missing")), 10**6)
    with pytest.raises(AttachmentError, match="could not download"):
        await download(session, str(server.make_url("/slow")), 10**6)
