"""Optional HTTP server for operators: /healthz (JSON) and /metrics (Prometheus text)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

if TYPE_CHECKING:
    from bot.bot import Neuralmon

QUEUE_DEPTH = Gauge("neuralmon_queue_depth", "Images waiting for the network")
GATEWAY_LATENCY = Gauge("neuralmon_gateway_latency_seconds", "Discord heartbeat latency")


def health_app(bot: Neuralmon) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        latency = bot.latency
        body = {
            "ready": bot.is_ready(),
            "gateway_latency_ms": None if math.isnan(latency) else round(latency * 1000, 1),
            "queue_depth": bot.inference.depth,
            "guilds": len(bot.guilds),
        }
        return web.json_response(body, status=200 if body["ready"] else 503)

    async def metrics(request: web.Request) -> web.Response:
        QUEUE_DEPTH.set(bot.inference.depth)
        if not math.isnan(bot.latency):
            GATEWAY_LATENCY.set(bot.latency)
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


async def start_health_server(bot: Neuralmon, port: int, host: str = "0.0.0.0") -> web.AppRunner:
    runner = web.AppRunner(health_app(bot), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
