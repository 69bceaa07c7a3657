"""Application factory of the bot web service."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

from aiohttp import ClientSession, web

from bot.handover.console import setup_console
from bot.handover.keys import SESSIONS
from bot.handover.rasa_link import install_rasa_link
from bot.handover.service import get_banner
from bot.handover.settings import HandoverSettings
from bot.ratelimit import RateLimits
from bot.settings import Settings
from bot.storage.db import make_engine
from bot.tips.api import install as install_tips
from bot.tips.settings import TipSettings
from bot.web.keys import ENGINE, HTTP, RATE_LIMITS, SETTINGS
from bot.web.routes import routes
from bot.web.upload import setup_upload
from bot.web.widget import BANNER_SOURCE, setup_widget


async def _resources(app: web.Application) -> AsyncIterator[None]:
    """The database engine and the outgoing HTTP session live exactly as long as the app."""
    app[ENGINE] = make_engine(app[SETTINGS].database_url)
    app[HTTP] = ClientSession()
    yield
    await app[HTTP].close()
    app[ENGINE].dispose()


def _banner(app: web.Application) -> str | None:
    """The staff's emergency banner, for the widget."""
    with app[SESSIONS]() as session:
        return get_banner(session)


def create_app(settings: Settings, *, handover: HandoverSettings | None = None
               ) -> web.Application:
    """Build the web application for `settings` (tests build one per case; `handover`
    overrides the handover settings read from the environment)."""
    app = web.Application(client_max_size=1024 * 1024)
    app[SETTINGS] = settings
    app[RATE_LIMITS] = RateLimits.from_redis_url(settings.redis_url)
    app.cleanup_ctx.append(_resources)
    install_tips(app, TipSettings.from_env(os.environ, settings.root))
    setup_console(app, handover)
    install_rasa_link(app)
    setup_widget(app)
    setup_upload(app)
    app[BANNER_SOURCE] = lambda: _banner(app)
    app.add_routes(routes)
    return app
