"""A local server of test images, for the cogs' downloads."""

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.synthetic import png_bytes, sprite


@pytest.fixture
async def files():
    routes = {"/ok.png": png_bytes(sprite()), "/text.png": b"just some text, not an image"}

    async def serve(request):
        if request.path not in routes:
            raise web.HTTPNotFound()
        return web.Response(body=routes[request.path])

    app = web.Application()
    app.router.add_get("/{name}", serve)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield lambda path: str(server.make_url(path))
    await server.close()
