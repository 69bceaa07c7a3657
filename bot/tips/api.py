"""The staff JSON API for tips (docs/staff-api.md, docs/openapi.yaml).

``GET /api/tips/{reference}``, ``GET /api/tips?since=…`` and
``GET /api/tips/{reference}/attachments/{position}``, each with
``Authorization: Bearer <token>`` (``python -m bot tips token create NAME``).

Decrypted tips go into the response body only: handlers log nothing about a tip but its
reference, and responses say ``Cache-Control: no-store`` so no proxy or browser keeps them.
:func:`install` adds the routes and the delivery worker to the bot web service.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from functools import partial
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.tips import TIP_CIPHER, TIP_DELIVERY, TIP_SETTINGS
from bot.tips.crypto import TipCipher
from bot.tips.delivery import delivery_worker
from bot.tips.models import DELIVERY_STATES
from bot.tips.reference import normalise
from bot.tips.settings import DeliveryConfig, TipSettings
from bot.tips.store import TipUnreadable, get_attachment, get_tip, iso, list_tips
from bot.tips.tokens import verify_token
from bot.web.keys import ENGINE

log = logging.getLogger(__name__)

api_routes = web.RouteTableDef()
DEFAULT_LIMIT, MAX_LIMIT = 100, 500
NO_STORE = {"Cache-Control": "no-store"}
T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_dumps = partial(json.dumps, ensure_ascii=False)


def _error(status: int, code: str, message: str, **headers: str) -> web.Response:
    return web.json_response(
        {"error": code, "message": message}, status=status, headers={**NO_STORE, **headers}
    )


async def _blocking(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(None, partial(func, *args, **kwargs))


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def staff_only(handler: Handler) -> Handler:
    """401 unless the request carries a valid bearer token; database trouble is a 503."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        token = _bearer(request)
        unauthorised = _error(
            401,
            "unauthorised",
            "A valid bearer token is required.",
            **{"WWW-Authenticate": 'Bearer realm="polisbot-tips"'},
        )
        if token is None:
            return unauthorised
        try:
            if await _blocking(verify_token, request.app[ENGINE], token) is None:
                return unauthorised
            return await handler(request)
        except TipUnreadable:
            log.error("a tip cannot be decrypted with the configured keys")
            return _error(
                500, "unreadable", "The tip cannot be decrypted with the configured keys."
            )
        except SQLAlchemyError as error:
            log.error("tip API: database unavailable: %s", type(error).__name__)
            return _error(503, "unavailable", "The tip store is unavailable; try again.")

    wrapped.__doc__ = handler.__doc__
    return wrapped


def parse_since(value: str) -> datetime:
    """An ISO 8601 date or date-time; Z or an offset, naive means UTC. Raises ValueError.

    Also accepts an offset whose "+" arrived as a space (an unencoded "+" in a query string).
    """
    text = value.strip()
    text = re.sub(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$", r"\1+\2", text)
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    # Python 3.10 reads only 3 or 6 decimals of a second; ISO 8601 allows any number.
    text = re.sub(r"\.(\d+)", lambda m: "." + m[1][:6].ljust(6, "0"), text, count=1)
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _reference(request: web.Request) -> str | None:
    return normalise(request.match_info["reference"])


def _attachment_url(reference: str) -> Callable[[int], str]:
    return lambda position: f"/api/tips/{reference}/attachments/{position}"


@api_routes.get("/api/tips")
@staff_only
async def list_handler(request: web.Request) -> web.StreamResponse:
    """Tips created at or after `since`, oldest first; `limit` (≤ 500) and `status` optional."""
    query = request.query
    try:
        since = (
            parse_since(query["since"])
            if "since" in query
            else datetime.min.replace(tzinfo=timezone.utc)
        )
    except ValueError:
        return _error(400, "bad_since", "since must be an ISO 8601 date or date-time.")
    try:
        limit = int(query.get("limit", DEFAULT_LIMIT))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        return _error(400, "bad_limit", f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    status = query.get("status")
    if status is not None and status not in DELIVERY_STATES:
        return _error(400, "bad_status", f"status must be one of {', '.join(DELIVERY_STATES)}.")
    cipher = request.app[TIP_CIPHER]
    found = await _blocking(
        list_tips, request.app[ENGINE], cipher, since=since, limit=limit + 1, status=status
    )
    page = found[:limit]
    return web.json_response(
        {
            "tips": [t.to_json(_attachment_url(t.reference)) for t in page],
            "count": len(page),
            "more": len(found) > limit,
            "next_since": iso(page[-1].created_at) if page else None,
        },
        headers=NO_STORE,
        dumps=_dumps,
    )


@api_routes.get("/api/tips/{reference}")
@staff_only
async def tip_handler(request: web.Request) -> web.StreamResponse:
    """One tip by its reference (case and dashes do not matter)."""
    reference = _reference(request)
    tip = None
    if reference is not None:
        tip = await _blocking(get_tip, request.app[ENGINE], reference, request.app[TIP_CIPHER])
    if tip is None:
        return _error(404, "not_found", "There is no tip with that reference.")
    return web.json_response(
        tip.to_json(_attachment_url(tip.reference)), headers=NO_STORE, dumps=_dumps
    )


@api_routes.get("/api/tips/{reference}/attachments/{position:\\d+}")
@staff_only
async def attachment_handler(request: web.Request) -> web.StreamResponse:
    """One picture of a tip, as the bytes the citizen sent."""
    reference = _reference(request)
    position = int(request.match_info["position"])
    picture = None
    if reference is not None:
        cipher = request.app[TIP_CIPHER]
        picture = await _blocking(get_attachment, request.app[ENGINE], reference, position, cipher)
    if picture is None or picture.data is None:
        return _error(404, "not_found", "There is no such picture.")
    extension = picture.content_type.rsplit("/", 1)[-1].replace("jpeg", "jpg")
    return web.Response(
        body=picture.data,
        content_type=picture.content_type,
        headers={
            **NO_STORE,
            # The citizen's file name is in the JSON; a fixed one here cannot break the header.
            "Content-Disposition": f'attachment; filename="{reference}-{position}.{extension}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


def install(
    app: web.Application,
    settings: TipSettings,
    *,
    cipher: TipCipher | None = None,
    delivery: DeliveryConfig | None = None,
) -> None:
    """Give the bot web service the tip API and the delivery worker.

    Call it in ``create_app`` after the context that opens ``app[ENGINE]`` and ``app[HTTP]``
    is registered. `cipher` and `delivery` default to what `settings` describe (a webhook
    only if ``TIP_WEBHOOK_URL`` is set).
    """
    app[TIP_SETTINGS] = settings
    app[TIP_CIPHER] = cipher or TipCipher.from_settings(settings.encryption_keys, settings.key_file)
    config = delivery or DeliveryConfig.from_settings(settings)
    if config is not None:
        app[TIP_DELIVERY] = config
    app.add_routes(api_routes)
    app.cleanup_ctx.append(delivery_worker)
