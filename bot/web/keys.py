"""Typed keys for what the web application holds."""

from __future__ import annotations

from aiohttp import ClientSession, web
from sqlalchemy.engine import Engine

from bot.ratelimit import RateLimits
from bot.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", Engine)
HTTP = web.AppKey("http", ClientSession)
RATE_LIMITS = web.AppKey("rate_limits", RateLimits)
