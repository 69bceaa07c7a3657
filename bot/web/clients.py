"""Who a request came from, for throttling: the peer's address, or behind a reverse proxy
we trust (CONSOLE_TRUST_PROXY) the address it added to X-Forwarded-For."""

from __future__ import annotations

from aiohttp import web

from bot.handover.keys import HANDOVER_SETTINGS


def client_address(request: web.Request) -> str:
    settings = request.app.get(HANDOVER_SETTINGS)
    if settings is not None and settings.trust_proxy:
        # the entry our own proxy added (the ones before it are the client's to write)
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
        if forwarded:
            return forwarded
    return request.remote or "-"
