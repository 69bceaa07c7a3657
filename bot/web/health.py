"""Health of each component, checked live (nothing cached, nothing guessed)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.settings import Settings

TIMEOUT = ClientTimeout(total=2)


async def _http_ok(http: ClientSession, url: str) -> dict[str, Any]:
    try:
        async with http.get(url, timeout=TIMEOUT) as reply:
            return {"ok": reply.status == 200, "status": reply.status}
    except (ClientError, asyncio.TimeoutError, OSError) as error:
        return {"ok": False, "error": type(error).__name__}


def _database_ok(engine: Engine) -> dict[str, Any]:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"ok": True, "dialect": engine.dialect.name}
    except Exception as error:  # noqa: BLE001 - any failure means "not healthy"
        return {"ok": False, "error": type(error).__name__}


def _supervisor(status_file: str) -> dict[str, Any] | None:
    """What the launcher's supervisor last wrote: each service running or being restarted,
    and its restarts so far; None when no launcher supervises this system."""
    if not status_file:
        return None
    try:
        services = json.loads(Path(status_file).read_text(encoding="utf-8"))["services"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {"ok": all(s.get("running") for s in services.values()), "services": services}


async def check(settings: Settings, engine: Engine, http: ClientSession) -> dict[str, Any]:
    """{"ok": bool, "components": {name: {"ok": bool, ...}}} for database, Rasa and actions,
    and the supervisor's view of the processes when the launcher runs them."""
    database = await asyncio.get_running_loop().run_in_executor(None, _database_ok, engine)
    rasa, actions = await asyncio.gather(
        _http_ok(http, f"{settings.rasa_url}/"),
        _http_ok(http, f"{settings.actions_url}/health"),
    )
    components = {"database": database, "rasa": rasa, "actions": actions, "web": {"ok": True}}
    supervisor = _supervisor(settings.supervisor_status_file)
    if supervisor is not None:
        components["supervisor"] = supervisor
    return {"ok": all(c["ok"] for c in components.values()), "components": components}
