"""The web chat's picture upload for tips: ``POST /widget/upload``.

When the tip form asks for pictures, the widget sends each chosen file here, one request per
picture, as the raw request body:

    POST /widget/upload
    Authorization: Bearer <the session token session_confirm gave the widget>
    Content-Type: image/png                 (what the browser says; the bytes decide)
    X-Filename: <percent-encoded file name> (optional; only used in the check, never kept)

The signed session token (:class:`bot.channels.session_token.SessionTokens`, the same
``SESSION_SECRET`` as the socket.io channel) decides the conversation, never the client: the
picture is staged (:class:`bot.tips.uploads.PictureStaging`) for the conversation id that is
also the citizen's Rasa sender id, and the tip form takes the staged pictures from the
database when the tip is sent.

Answers are JSON, never cached. Success is 200 with the picture and how many the
conversation has staged. A refusal is ``{"error": code, "reason": {"sv": …, "en": …}}``:

| status | error | when |
|---|---|---|
| 401 | ``unauthorised`` | no token, a forged, tampered or expired one |
| 403 | ``origin`` | a browser on an origin outside ``CORS_ORIGINS`` |
| 400 | ``empty``, ``bad_body`` | no bytes, or the body broke off |
| 409 | ``too_many`` | the conversation already has 4 pictures |
| 413 | ``too_large`` | more than 10 MB together (a larger body is refused before it is read) |
| 415 | ``unsupported``, ``video`` | not a JPEG, PNG or GIF by its bytes |
| 415 | ``encoded`` | a compressed body (``Content-Encoding``): never inflated |
| 422 | ``unreadable`` | a damaged or cut-off picture |
| 429 | ``rate`` | more than 20 a minute for one conversation, or 300 from one address |
| 503 | ``unavailable`` | the database is unreachable |

Neither the bytes nor the file name are logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.session_token import SessionTokens
from bot.ratelimit import UPLOADS_PER_ADDRESS, UPLOADS_PER_CONVERSATION, RateLimits
from bot.storage.db import make_session_factory
from bot.tips import TIP_CIPHER
from bot.tips.draft import MAX_ATTACHMENTS, MAX_TOTAL_BYTES, AttachmentRefused, Problem
from bot.tips.uploads import PictureStaging, StagedPicture
from bot.web.clients import client_address
from bot.web.keys import ENGINE, RATE_LIMITS, SETTINGS

logger = logging.getLogger(__name__)

UPLOAD_PATH = "/widget/upload"
MAX_BODY = MAX_TOTAL_BYTES  # one picture can never be larger than all of them together
MAX_FILENAME_CHARS = 255
READ_CHUNK = 64 * 1024
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
ALLOWED_HEADERS = "Authorization, Content-Type, X-Filename"

# AttachmentRefused codes (bot.tips.draft) and the status each one answers with.
STATUS = {"empty": 400, "too_many": 409, "too_large": 413, "unsupported": 415, "video": 415,
          "unreadable": 422}

UNAUTHORISED = Problem(
    "session", "unauthorised",
    "Bilden kunde inte tas emot: chattsessionen är inte giltig längre. Ladda om sidan och "
    "försök igen.",
    "The picture could not be received: the chat session is no longer valid. Reload the page "
    "and try again.")
FOREIGN_ORIGIN = Problem(
    "origin", "origin",
    "Bilder tas bara emot från chatten på polisen.se.",
    "Pictures are accepted from the chat on polisen.se only.")
TOO_LARGE = Problem(
    "attachments", "too_large",
    f"Bilderna får vara högst {MAX_TOTAL_BYTES // (1024 * 1024)} MB tillsammans, och den här "
    "bilden får inte plats.",
    f"The pictures can be at most {MAX_TOTAL_BYTES // (1024 * 1024)} MB together, and this "
    "picture does not fit.")
BAD_BODY = Problem(
    "attachments", "bad_body",
    "Bilden kom inte fram hela. Försök igen.",
    "The picture did not arrive completely. Please try again.")
ENCODED = Problem(
    "attachments", "encoded",
    "Bilden kunde inte tas emot. Skicka den som den är, utan komprimering.",
    "The picture could not be received. Please send it as it is, without compression.")
TOO_OFTEN = Problem(
    "attachments", "rate",
    "Du har skickat många bilder på kort tid. Vänta en minut och försök igen.",
    "You have sent many pictures in a short time. Wait a minute and try again.")
UNAVAILABLE = Problem(
    "attachments", "unavailable",
    "Bilden kunde inte tas emot just nu. Försök igen om en stund, eller ring 114 14.",
    "The picture could not be received right now. Please try again in a while, or call "
    "114 14.")


@dataclass(frozen=True)
class UploadConfig:
    """What the upload route of one app uses: the token checker and the allowed origins.

    `tokens` is None when no ``SESSION_SECRET`` is set: no token can then be verified, so
    every upload is refused with 401 (the launcher always sets one).
    """

    tokens: SessionTokens | None
    origins: tuple[str, ...]


UPLOADS = web.AppKey("widget_uploads", UploadConfig)
STAGING = web.AppKey("widget_picture_staging", PictureStaging)

routes = web.RouteTableDef()


def setup_upload(app: web.Application, staging: PictureStaging | None = None) -> None:
    """Register ``/widget/upload`` on `app` (which holds SETTINGS).

    Staging uses the app's database engine and tip cipher (``bot.tips.api.install`` sets it)
    unless `staging` is given; call it after both are registered.
    """
    settings = app[SETTINGS]
    secret = settings.session_secret
    if not secret:
        logger.warning("SESSION_SECRET is empty: the web chat's picture upload refuses every "
                       "request (set the same secret as the Rasa server's)")
    app[UPLOADS] = UploadConfig(
        tokens=SessionTokens(secret.encode("utf-8")) if secret else None,
        origins=tuple(settings.cors_origins),
    )
    if RATE_LIMITS not in app:
        app[RATE_LIMITS] = RateLimits.from_redis_url(settings.redis_url)
    if staging is not None:
        app[STAGING] = staging
    else:
        app.cleanup_ctx.append(_staging_context)
    app.add_routes(routes)


async def _staging_context(app: web.Application) -> AsyncIterator[None]:
    """Staging on the engine the app opened, with the tip cipher (after both exist)."""
    app[STAGING] = PictureStaging(make_session_factory(app[ENGINE]), app[TIP_CIPHER])
    yield


# ------------------------------------------------------------------------------ answers


def _cors(request: web.Request) -> dict[str, str] | None:
    """CORS headers for the request's origin; None when a browser on a foreign origin asks.

    Same-origin requests (the widget on the service's own pages) need none; the token, not
    the origin, is what authorises an upload.
    """
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return {}
    origins = request.app[UPLOADS].origins
    if "*" in origins:
        return {"Access-Control-Allow-Origin": "*"}
    if origin in origins:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    if urlsplit(origin).netloc == request.host:
        return {}
    return None


def _refuse(status: int, problem: Problem, cors: dict[str, str] | None,
            **headers: str) -> web.Response:
    return web.json_response(
        {"error": problem.code, "reason": {"sv": problem.text("sv"), "en": problem.text("en")}},
        status=status, headers={**NO_STORE, **(cors or {}), **headers})


def _too_large(cors: dict[str, str] | None) -> web.Response:
    """413, and the connection closes: the rest of the body is not read."""
    response = _refuse(413, TOO_LARGE, cors)
    response.force_close()
    return response


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _filename(request: web.Request) -> str:
    raw = request.headers.get("X-Filename", "")[: MAX_FILENAME_CHARS * 3]
    return unquote(raw, errors="replace")[:MAX_FILENAME_CHARS]


async def _read_capped(request: web.Request) -> bytes | None:
    """The body, or None as soon as it passes MAX_BODY (the rest is never read)."""
    data = bytearray()
    async for chunk in request.content.iter_chunked(READ_CHUNK):
        data += chunk
        if len(data) > MAX_BODY:
            return None
    return bytes(data)


def _stage(staging: PictureStaging, conversation_id: str, filename: str, content_type: str,
           data: bytes) -> tuple[StagedPicture, list[StagedPicture]]:
    picture = staging.stage(conversation_id, filename, content_type, data)
    return picture, staging.staged(conversation_id)


# ------------------------------------------------------------------------------- routes


@routes.options(UPLOAD_PATH)
async def preflight(request: web.Request) -> web.Response:
    """CORS preflight for a widget embedded on another origin."""
    cors = _cors(request)
    if cors is None:
        return _refuse(403, FOREIGN_ORIGIN, None)
    return web.Response(status=204, headers={
        **cors,
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": "600",
    })


@routes.post(UPLOAD_PATH)
async def upload(request: web.Request) -> web.Response:
    """Stage one picture for the tip of the conversation the session token names."""
    cors = _cors(request)
    if cors is None:
        return _refuse(403, FOREIGN_ORIGIN, None)
    tokens = request.app[UPLOADS].tokens
    conversation_id = tokens.verify(_bearer(request)) if tokens is not None else None
    if not conversation_id:
        return _refuse(401, UNAUTHORISED, cors,
                       **{"WWW-Authenticate": 'Bearer realm="polisen-chat"'})
    limits = request.app[RATE_LIMITS]
    if not (await limits.allow(UPLOADS_PER_CONVERSATION, "upload", conversation_id)
            and await limits.allow(UPLOADS_PER_ADDRESS, "upload-from",
                                   client_address(request))):
        return _refuse(429, TOO_OFTEN, cors, **{"Retry-After": "60"})
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        # aiohttp would inflate the body without a limit: a small bomb, a huge picture.
        response = _refuse(415, ENCODED, cors)
        response.force_close()
        return response
    if (request.content_length or 0) > MAX_BODY:
        return _too_large(cors)
    try:
        data = await _read_capped(request)
    except (RequestPayloadError, HttpProcessingError, OSError, ValueError,
            asyncio.TimeoutError) as error:
        logger.info("widget upload: the body broke off (%s)", type(error).__name__)
        return _refuse(400, BAD_BODY, cors)
    if data is None:
        return _too_large(cors)
    staging = request.app[STAGING]
    try:
        picture, staged = await asyncio.to_thread(
            _stage, staging, conversation_id, _filename(request), request.content_type, data)
    except AttachmentRefused as refused:
        code = refused.problem.code
        logger.info("widget upload refused: %s", code)
        return _refuse(STATUS.get(code, 422), refused.problem, cors)
    except (SQLAlchemyError, RuntimeError) as error:
        logger.error("widget upload: staging failed (%s)", type(error).__name__)
        return _refuse(503, UNAVAILABLE, cors, **{"Retry-After": "30"})
    return web.json_response(
        {
            "picture": {"id": picture.id, "content_type": picture.content_type,
                        "size": picture.size},
            "staged": len(staged),
            "bytes": sum(p.size for p in staged),
            "max_files": MAX_ATTACHMENTS,
            "max_bytes": MAX_TOTAL_BYTES,
        },
        headers={**NO_STORE, **cors},
    )
