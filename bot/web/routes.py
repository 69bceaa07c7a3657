"""URL routes of the bot web service."""

from __future__ import annotations

from html import escape

from aiohttp import web

from bot.web import health
from bot.web.keys import ENGINE, HTTP, SETTINGS

routes = web.RouteTableDef()

PAGE = """<!doctype html>
<html lang="sv">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Polisens digitala assistent</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;
color:#1a1a1a;line-height:1.5}}.ok{{color:#0b6b2b}}.bad{{color:#a00000}}</style></head>
<body><main>
<h1>Polisens digitala assistent</h1>
<p>Tjänsten körs. <span lang="en">The service is running.</span></p>
<h2>Delar <span lang="en">(components)</span></h2>
<ul>{items}</ul>
<p><a href="/health">/health</a> (JSON)</p>
</main></body></html>
"""


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    """A page that shows the service runs and how each component is doing."""
    app = request.app
    report = await health.check(app[SETTINGS], app[ENGINE], app[HTTP])
    items = "".join(
        f'<li>{escape(name)}: <span class="{"ok" if c["ok"] else "bad"}">'
        f"{'fungerar' if c['ok'] else 'fungerar inte'}</span></li>"
        for name, c in report["components"].items()
    )
    return web.Response(text=PAGE.format(items=items), content_type="text/html")


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
