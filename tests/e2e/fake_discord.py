"""A small fake Discord for end-to-end tests: REST under /api/v10 and a gateway websocket, on
127.0.0.1, served by aiohttp. It records every request the bot makes.

The real discord.py client talks to it after two patches (GUIDE §3): ``Route.BASE`` and
``DiscordWebSocket.DEFAULT_GATEWAY``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from aiohttp import WSMsgType, web

APP_ID = 900_000_000_000_000_001
BOT_ID = 900_000_000_000_000_002
GUILD_ID = 900_000_000_000_000_100
CHANNEL_ID = 900_000_000_000_000_200
# View Channel, Send Messages, Embed Links, Attach Files, Read History, Add Reactions
EVERYONE_PERMISSIONS = str(1024 | 2048 | 16384 | 32768 | 65536 | 64)


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py compares the whole Content-Type; aiohttp's json_response adds a charset
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


# Discord's limits on what a message may hold
LIMITS = {"content": 2000, "embeds": 10, "title": 256, "description": 4096, "fields": 25,
          "field name": 256, "field value": 1024, "embed total": 6000}  # fmt: skip


def _over_limits(body: Any) -> str | None:
    """What in a message body Discord would refuse for its length, if anything."""
    if not isinstance(body, dict):
        return None
    body = body.get("data", body) if isinstance(body.get("data"), dict) else body
    if len(body.get("content") or "") > LIMITS["content"]:
        return "content: must be 2000 or fewer in length"
    embeds = body.get("embeds") or []
    if len(embeds) > LIMITS["embeds"]:
        return "embeds: must be 10 or fewer in length"
    total = 0
    for embed in embeds:
        fields = embed.get("fields", [])
        texts = {"title": embed.get("title") or "", "description": embed.get("description") or ""}
        if len(fields) > LIMITS["fields"]:
            return "fields: must be 25 or fewer in length"
        for key, text in texts.items():
            if len(text) > LIMITS[key]:
                return f"{key}: too long"
        for f in fields:
            if len(f["name"]) > LIMITS["field name"] or len(f["value"]) > LIMITS["field value"]:
                return "field: too long"
        footer = (embed.get("footer") or {}).get("text") or ""
        total += sum(map(len, texts.values())) + len(footer)
        total += sum(len(f["name"]) + len(f["value"]) for f in fields)
    return "embeds: over 6000 characters in all" if total > LIMITS["embed total"] else None


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    at: float = field(default_factory=time.perf_counter)  # when it arrived
    reply: Any = None  # the JSON answered, if any (a posted message: with its id)


def body(r: Recorded) -> dict:
    """A recorded request's JSON body, or {} when it had none."""
    return r.body if isinstance(r.body, dict) else {}


@dataclass
class FakeDiscord:
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    faults: dict[str, list[str]] = field(default_factory=dict)  # "POST messages": ["429", ...]
    _ids = itertools.count(1_000_000_000_000_000_000)

    def __post_init__(self):
        self.app = web.Application(client_max_size=64 * 2**20)
        self.app.router.add_route("*", "/api/v10/{path:.*}", self.rest)
        self.app.router.add_get("/files/{name}", self.file)
        self.app.router.add_get("/sprites/pokemon/other/official-artwork/{num}.png", self.artwork)
        self.artwork_served: list[int] = []
        self.app.router.add_get("/", self.gateway)
        self.sockets: list[web.WebSocketResponse] = []
        self.identified = asyncio.Event()
        self.stopping = asyncio.Event()
        self.new_request = asyncio.Event()
        self.sequence = 0
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.identifies = 0
        self.resumes = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.stopping.set()
        for ws in self.sockets:
            await ws.close()
        if self.runner:
            await self.runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_file(self, name: str, data: bytes) -> str:
        """Serve ``data``; its URL keeps to safe characters (a CDN's does, whatever the name)."""
        key = quote(name, safe="")[:200]
        self.files[key] = data
        return f"{self.base}/files/{quote(key, safe='')}"

    def next_id(self) -> str:
        return str(next(self._ids))

    # ------------------------------------------------------------------ REST

    async def file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        fault = self._fault("GET files")
        if fault == "hang":  # a CDN that accepts the request and answers only at the end
            await self.stopping.wait()
        if name not in self.files or fault:
            return web.Response(status=404)
        return web.Response(body=self.files[name])

    async def artwork(self, request: web.Request) -> web.Response:
        """Stands in for PokeAPI's official artwork: a synthetic picture, and a record of which."""
        from tests.synthetic import png_bytes, sprite

        num = int(request.match_info["num"])
        self.artwork_served.append(num)
        return web.Response(body=png_bytes(sprite(color=(num % 256, 90, 200))))

    def _fault(self, key: str) -> str | None:
        queue = self.faults.get(key)
        return queue.pop(0) if queue else None

    async def rest(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        body: Any = None
        if request.content_type == "application/json":
            body = await request.json()
        elif request.content_type.startswith("multipart/"):
            body = {"files": []}
            async for part in await request.multipart():
                if part.name == "payload_json":
                    body |= json.loads(await part.text())
                else:
                    data = await part.read()
                    body["files"].append({"name": part.filename, "size": len(data), "data": data})
        record = Recorded(request.method, path, body)
        self.requests.append(record)
        self.new_request.set()
        kind = f"{request.method} {path.split('/')[-1] if path.startswith('channels') else path}"
        fault = self._fault(kind)
        if fault == "429":  # without "Via: 1.1 google" discord.py takes a 429 for a Cloudflare ban
            headers = {
                "Content-Type": "application/json",
                "Retry-After": "0.2",
                "Via": "1.1 google",
                "X-RateLimit-Scope": "user",
            }
            payload = {
                "message": "You are being rate limited.",
                "retry_after": 0.2,
                "global": False,
            }
            return web.Response(body=json.dumps(payload).encode(), status=429, headers=headers)
        if fault == "500":
            return _json({"message": "Internal Server Error", "code": 0}, 500)
        if fault == "503":
            return web.Response(status=503, text="upstream connect error")
        if problem := _over_limits(body):
            return _json({"message": "Invalid Form Body", "code": 50035, "errors": problem}, 400)
        response = await self.answer(request.method, path, body)
        if response.content_type == "application/json":
            record.reply = json.loads(response.body)
        return response

    async def answer(self, method: str, path: str, body: Any) -> web.Response:
        parts = path.split("/")
        if path == "users/@me":
            return _json(self.bot_user())
        if path == "oauth2/applications/@me":
            return _json(
                {
                    "id": str(APP_ID),
                    "name": "neuralmon",
                    "icon": None,
                    "description": "",
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "owner": self.user(1, "owner"),
                    "verify_key": "0",
                    "flags": 0,
                }
            )
        if parts[0] == "applications" and parts[-1] == "commands":
            commands = body if isinstance(body, list) else []
            return _json(
                [
                    {
                        "id": self.next_id(),
                        "application_id": str(APP_ID),
                        "version": "1",
                        "default_member_permissions": None,
                        "dm_permission": True,
                        "type": 1,
                        "description": "",
                        "options": [],
                    }
                    | c
                    for c in commands
                ]
            )
        if parts[0] == "channels" and parts[-1] == "messages" and method == "POST":
            sent = {k: v for k, v in (body or {}).items() if k != "attachments"}
            return _json(self.message(int(parts[1]), self.bot_user(), sent))
        if parts[0] == "channels" and "reactions" in parts:
            return web.Response(status=204)
        if parts[0] == "interactions":  # discord.py asks for the callback response
            return _json({"interaction": {"id": parts[1], "type": 2}})
        if parts[0] == "webhooks":
            if method == "DELETE":
                return web.Response(status=204)
            sent = {k: v for k, v in (body or {}).items() if k != "attachments"}
            return _json(self.message(CHANNEL_ID, self.bot_user(), sent))
        return _json({"message": f"fake Discord has no {method} {path}", "code": 0}, 404)

    def sent(self, kind: str = "messages") -> list[Recorded]:
        """Requests whose path ends with ``kind`` (messages, callback...)."""
        return [r for r in self.requests if r.path.rstrip("/").endswith(kind)]

    async def wait_for(self, predicate, timeout: float = 10.0) -> Recorded:
        """The first recorded request matching ``predicate``, waiting for it if needed."""
        async with asyncio.timeout(timeout):
            while True:
                for r in self.requests:
                    if predicate(r):
                        return r
                self.new_request.clear()
                await self.new_request.wait()

    # ------------------------------------------------------------------ gateway

    async def gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            payload = json.loads(msg.data)
            if payload["op"] == 1:
                await ws.send_str(json.dumps({"op": 11}))
            elif payload["op"] == 2:
                self.identifies += 1
                await self.dispatch("READY", self.ready(), ws)
                await self.dispatch("GUILD_CREATE", self.guild(), ws)
                self.identified.set()
            elif payload["op"] == 6:
                self.resumes += 1
                await self.dispatch("RESUMED", {}, ws)
                self.identified.set()
        return ws

    async def dispatch(self, event: str, data: dict, ws: web.WebSocketResponse | None = None):
        self.sequence += 1
        target = ws or self.sockets[-1]
        await target.send_str(json.dumps({"op": 0, "t": event, "s": self.sequence, "d": data}))

    async def drop_connection(self) -> None:
        """Close the gateway as an outage would; the client should resume."""
        self.identified.clear()
        await self.sockets[-1].close(code=4000, message=b"fake outage")

    # ------------------------------------------------------------------ payloads

    @staticmethod
    def user(user_id: int, name: str, bot: bool = False) -> dict:
        return {
            "id": str(user_id),
            "username": name,
            "discriminator": "0",
            "global_name": name,
            "avatar": None,
            "bot": bot,
        }

    def bot_user(self) -> dict:
        return self.user(BOT_ID, "neuralmon", bot=True)

    def ready(self) -> dict:
        return {
            "v": 10,
            "user": self.bot_user(),
            "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
            "session_id": "fake-session",
            "resume_gateway_url": f"ws://127.0.0.1:{self.port}/",
            "application": {"id": str(APP_ID), "flags": 0},
        }

    def guild(self) -> dict:
        now = datetime.now(UTC).isoformat()
        return {
            "id": str(GUILD_ID),
            "name": "Test Server",
            "owner_id": "1",
            "icon": None,
            "roles": [
                {
                    "id": str(GUILD_ID),
                    "name": "@everyone",
                    "permissions": EVERYONE_PERMISSIONS,
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                }
            ],
            "channels": [
                {
                    "id": str(CHANNEL_ID),
                    "type": 0,
                    "name": "general",
                    "position": 0,
                    "permission_overwrites": [],
                    "guild_id": str(GUILD_ID),
                }
            ],
            "members": [
                {
                    "user": self.bot_user(),
                    "roles": [],
                    "joined_at": now,
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                }
            ],
            "member_count": 3,
            "large": False,
            "features": [],
            "emojis": [],
            "stickers": [],
            "threads": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "unavailable": False,
            "joined_at": now,
        }

    def message(self, channel_id: int, author: dict, body: dict) -> dict:
        return {
            "id": self.next_id(),
            "channel_id": str(channel_id),
            "guild_id": str(GUILD_ID),
            "author": author,
            "content": body.get("content") or "",
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": body.get("attachments", []),
            "embeds": body.get("embeds", []),
            "components": body.get("components", []),
            "pinned": False,
            "type": 0,
        }

    async def post_message(self, author_id: int, content: str = "", files=(), channel=CHANNEL_ID):
        """A user posts in a channel: MESSAGE_CREATE, attachments served by this fake."""
        attachments = []
        for name, data, content_type in files:
            url = self.add_file(f"{self.next_id()}-{name}", data)
            attachments.append(
                {
                    "id": self.next_id(),
                    "filename": name,
                    "size": len(data),
                    "url": url,
                    "proxy_url": url,
                    "content_type": content_type,
                }
            )
        message = self.message(
            channel,
            self.user(author_id, f"user{author_id}"),
            {"content": content, "attachments": attachments},
        )
        message["member"] = {
            "roles": [],
            "joined_at": datetime.now(UTC).isoformat(),
            "deaf": False,
            "mute": False,
            "flags": 0,
        }
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    async def click(self, user_id: int, message: dict, custom_id: str) -> dict:
        """A user presses the button ``custom_id`` under the bot's ``message``."""
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._interaction(user_id, 3, data, message=message)

    async def submit_modal(self, user_id: int, custom_id: str, values: dict[str, str]) -> dict:
        """A user submits the modal ``custom_id``, its text inputs filled with ``values``."""
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": key, "value": value}]}
            for key, value in values.items()
        ]
        return await self._interaction(user_id, 5, {"custom_id": custom_id, "components": rows})

    async def slash_command(
        self, user_id: int, name: str, options: list | None = None, attachment: tuple | None = None
    ):
        """A user runs ``/name`` with ``options``, plus an ``image`` option for ``attachment``."""
        data: dict = {"id": self.next_id(), "name": name, "type": 1, "options": options or []}
        if attachment:
            filename, payload, content_type = attachment
            url = self.add_file(f"{self.next_id()}-{filename}", payload)
            att_id = self.next_id()
            data["options"].append({"name": "image", "type": 11, "value": att_id})
            data["resolved"] = {
                "attachments": {
                    att_id: {
                        "id": att_id,
                        "filename": filename,
                        "size": len(payload),
                        "url": url,
                        "proxy_url": url,
                        "content_type": content_type,
                    }
                }
            }
        return await self._interaction(user_id, 2, data)

    async def _interaction(
        self, user_id: int, kind: int, data: dict, message: dict | None = None
    ) -> dict:
        now = datetime.now(UTC).isoformat()
        interaction = {
            "id": self.next_id(),
            "application_id": str(APP_ID),
            "type": kind,
            "data": data,
            "guild_id": str(GUILD_ID),
            "channel_id": str(CHANNEL_ID),
            "channel": {"id": str(CHANNEL_ID), "type": 0, "guild_id": str(GUILD_ID)},
            "member": {
                "user": self.user(user_id, f"user{user_id}"),
                "roles": [],
                "joined_at": now,
                "deaf": False,
                "mute": False,
                "flags": 0,
                "permissions": EVERYONE_PERMISSIONS,
            },
            "token": f"token-{self.next_id()}",
            "version": 1,
            "app_permissions": EVERYONE_PERMISSIONS,
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {},
            "context": 0,
            "attachment_size_limit": 8 * 2**20,
        }
        if message is not None:
            interaction["message"] = message
        await self.dispatch("INTERACTION_CREATE", interaction)
        return interaction
