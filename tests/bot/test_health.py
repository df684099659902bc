from unittest.mock import PropertyMock, patch

from aiohttp.test_utils import TestClient, TestServer

from bot.health import health_app
from tests.bot.exts.test_classify import KnownPredictor
from tests.bot.helpers import close_bot, make_bot, mock_attachment, mock_message
from tests.synthetic import png_bytes, sprite


async def test_healthz_reports_readiness_latency_and_queue(tmp_path):
    bot = await make_bot(KnownPredictor(), tmp_path)
    async with TestClient(TestServer(health_app(bot))) as client:
        resp = await client.get("/healthz")
        assert resp.status == 503  # not logged in yet
        assert (await resp.json())["ready"] is False
        with (
            patch.object(type(bot), "latency", new_callable=PropertyMock, return_value=0.042),
            patch.object(bot, "is_ready", return_value=True),
        ):
            resp = await client.get("/healthz")
            assert resp.status == 200
            assert await resp.json() == {
                "ready": True, "gateway_latency_ms": 42.0, "queue_depth": 0, "guilds": 0
            }  # fmt: skip
    await close_bot(bot)


async def test_metrics_count_predictions_and_errors(tmp_path):
    from aiohttp import web

    from bot.exts.classify import Classify

    async def serve(request):
        body = png_bytes(sprite()) if request.path == "/ok.png" else b"nope"
        return web.Response(body=body)

    app = web.Application()
    app.router.add_get("/{name}", serve)
    files = TestServer(app, host="127.0.0.1")
    await files.start_server()
    bot = await make_bot(KnownPredictor(), tmp_path)
    cog = Classify(bot)
    async with TestClient(TestServer(health_app(bot))) as client:
        before = await (await client.get("/metrics")).text()
        message = mock_message([mock_attachment(str(files.make_url("/ok.png"))),
                                mock_attachment(str(files.make_url("/bad.png")))])  # fmt: skip
        await cog.on_message(message)
        after = await (await client.get("/metrics")).text()
    assert (
        _value(after, "neuralmon_predictions_total")
        == _value(before, "neuralmon_predictions_total") + 1
    )
    assert _value(after, 'neuralmon_errors_total{kind="attachment"}') >= 1
    assert "neuralmon_prediction_seconds_bucket" in after and "neuralmon_queue_depth 0.0" in after
    await close_bot(bot)
    await files.close()


def _value(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0
