"""Application factory of the bot web service."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

from aiohttp import ClientSession, web

from bot.settings import Settings
from bot.storage.db import make_engine
from bot.tips.api import install as install_tips
from bot.tips.settings import TipSettings
from bot.web.keys import ENGINE, HTTP, SETTINGS
from bot.web.routes import routes


async def _resources(app: web.Application) -> AsyncIterator[None]:
    """The database engine and the outgoing HTTP session live exactly as long as the app."""
    app[ENGINE] = make_engine(app[SETTINGS].database_url)
    app[HTTP] = ClientSession()
    yield
    await app[HTTP].close()
    app[ENGINE].dispose()


def create_app(settings: Settings) -> web.Application:
    """Build the web application for `settings` (tests build one per case)."""
    app = web.Application(client_max_size=1024 * 1024)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_resources)
    install_tips(app, TipSettings.from_env(os.environ, settings.root))
    app.add_routes(routes)
    return app
