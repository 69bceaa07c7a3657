"""A local fake of Meta's Graph API: records every request and answers like Meta does.

- ``POST /<version>/me/messages`` (Messenger, Instagram) and
  ``POST /<version>/<phone-number-id>/messages`` (WhatsApp) answer success, or whatever was
  scripted with :meth:`FakeGraph.answer_next` (e.g. 429 then 200, or a permanent error).
- ``GET /<version>/<media-id>`` answers WhatsApp's media JSON for files added with
  :meth:`FakeGraph.add_media`; ``GET /cdn/<name>`` serves the bytes (the platforms' CDN).

Use it in-process through aiohttp's test server (``aiohttp_client(fake.app())``), or in a
background thread on a real port (:class:`FakeGraphServer`) for the end-to-end test.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any = None


@dataclass
class Media:
    data: bytes
    mime_type: str
    chunked: bool = False
    declared_size: int | None = None


@dataclass
class FakeGraph:
    """The fake's state: what was received, what to answer next, which files exist."""

    requests: list[Recorded] = field(default_factory=list)
    scripted: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    media: dict[str, Media] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # --- scripting ---------------------------------------------------------------------

    def answer_next(
        self,
        status: int,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` send calls get this answer (then success again)."""
        for _ in range(times):
            self.scripted.append((status, body or {}, headers or {}))

    def fail_next(
        self,
        status: int,
        code: int,
        subcode: int | None = None,
        message: str = "error",
        times: int = 1,
    ) -> None:
        """The next send calls get a Graph API error object."""
        error: dict[str, Any] = {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "Afake",
        }
        if subcode is not None:
            error["error_subcode"] = subcode
        self.answer_next(status, {"error": error}, times=times)

    def add_media(
        self,
        name: str,
        data: bytes,
        mime_type: str = "image/jpeg",
        *,
        chunked: bool = False,
        declared_size: int | None = None,
    ) -> None:
        """A file served at /cdn/<name>, and as WhatsApp media id <name>."""
        self.media[name] = Media(data, mime_type, chunked, declared_size)

    # --- reading what was sent ---------------------------------------------------------

    def sends(self) -> list[Recorded]:
        """Every send call (POST .../messages), in order, including failed attempts."""
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/messages")]

    def messages(self) -> list[dict[str, Any]]:
        """The JSON bodies of the send calls."""
        return [r.json for r in self.sends()]

    def wait_for_sends(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Block (from another thread) until `count` send calls arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.sends()) >= count:
                return self.messages()
            time.sleep(0.05)
        return self.messages()

    # --- the aiohttp app ---------------------------------------------------------------

    async def _send(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        self.requests.append(Recorded(request.method, request.path, dict(request.headers), body))
        if self.scripted:
            status, answer, headers = self.scripted.pop(0)
            return web.json_response(answer, status=status, headers=headers)
        number = next(self._ids)
        if isinstance(body, dict) and body.get("messaging_product") == "whatsapp":
            return web.json_response(
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                    "messages": [{"id": f"wamid.fake{number}"}],
                }
            )
        recipient = body.get("recipient", {}).get("id") if isinstance(body, dict) else None
        return web.json_response({"recipient_id": recipient, "message_id": f"m_fake{number}"})

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Recorded(request.method, request.path, dict(request.headers)))
        media = self.media.get(request.match_info["name"])
        if media is None:
            return web.json_response({"error": {"code": 100}}, status=404)
        if not media.chunked:
            return web.Response(body=media.data, content_type=media.mime_type)
        stream = web.StreamResponse(headers={"Content-Type": media.mime_type})
        stream.enable_chunked_encoding()
        await stream.prepare(request)
        for start in range(0, len(media.data), 64 * 1024):
            await stream.write(media.data[start : start + 64 * 1024])
        await stream.write_eof()
        return stream

    async def _media_info(self, request: web.Request) -> web.Response:
        self.requests.append(Recorded(request.method, request.path, dict(request.headers)))
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return web.json_response({"error": {"code": 190}}, status=401)
        name = request.match_info["media_id"]
        media = self.media.get(name)
        if media is None:
            return web.json_response({"error": {"code": 100}}, status=404)
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"{request.scheme}://{request.host}/cdn/{name}",
                "mime_type": media.mime_type,
                "sha256": "not-checked",
                "file_size": media.declared_size or len(media.data),
                "id": name,
            }
        )

    def app(self) -> web.Application:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/{version}/{node}/messages", self._send)
        app.router.add_get("/cdn/{name}", self._cdn)
        app.router.add_get("/{version}/{media_id}", self._media_info)
        return app


class FakeGraphServer:
    """The fake on a real port, served from a background thread (for the Rasa process)."""

    def __init__(self, fake: FakeGraph, port: int) -> None:
        self.fake = fake
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.fake.app())
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
