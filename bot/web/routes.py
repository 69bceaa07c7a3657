"""URL routes of the bot web service."""

from __future__ import annotations

from aiohttp import web

from bot.web import health
from bot.web.keys import ENGINE, HTTP, SETTINGS

routes = web.RouteTableDef()

@routes.get("/health")
async def health_report(request: web.Request) -> web.Response:
    """Each component's health; 503 when any is down, so monitors can alert on the status."""
    app = request.app
    report = await health.check(app[SETTINGS], app[ENGINE], app[HTTP])
    return web.json_response(report, status=200 if report["ok"] else 503)


@routes.get("/health/live")
async def live(_: web.Request) -> web.Response:
    """This process answers (used by the launcher; says nothing about the others)."""
    return web.json_response({"ok": True})
