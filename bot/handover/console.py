"""The agent console (aiohttp): login, queue, conversation view, tips inbox, callbacks,
admin pages, live updates over a WebSocket, and the staff JSON API for handovers.

Mount it with :func:`setup_console` after ``create_app`` (docs/console.md). Security rules
that hold for every route here:

- every page and console API needs a logged-in agent (pages redirect to the login, the API
  and the WebSocket answer 401); admin pages also need the admin role (403);
- every state change is a POST that must carry the session's CSRF token (form field
  ``csrf_token`` or header ``X-CSRF-Token``), and, if the browser says where it comes from
  (``Origin``), come from this site; otherwise 403;
- the session cookie is HttpOnly, SameSite=Strict, limited to ``/console`` and Secure over
  https; sessions live in the database, so any web process can serve any agent;
- pages carry no inline script, and the headers say ``Content-Security-Policy: default-src
  'self'``; every value on a page is escaped (:mod:`bot.handover.pages`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from aiohttp import WSMsgType, web
from multidict import MultiDictProxy

from bot.handover import pages
from bot.handover.accounts import (
    AccountError,
    ConsoleSession,
    create_agent,
    csrf_matches,
    end_session,
    list_agents,
    load_session,
    login,
    start_session,
)
from bot.handover.events import EventHub
from bot.handover.keys import (
    DELIVER,
    HANDOVER_SETTINGS,
    HUB,
    NOT_CONNECTED,
    ON_CLAIMED,
    ON_CLOSED,
    ON_TRANSFERRED,
    OUTSIDE_7D,
    OUTSIDE_24H,
    SESSIONS,
    Delivery,
)
from bot.handover.models import ACTIVE, CITIZEN, CLOSED, STATUSES, WAITING, utcnow
from bot.handover.service import (
    AgentReply,
    HandoverError,
    InvalidState,
    NotAssigned,
    NotFound,
    audit_entries,
    banner_details,
    claim,
    close,
    get_handover,
    get_reply,
    list_callbacks,
    list_handovers,
    list_tip_summaries,
    mark_callback_handled,
    mark_reply_delivered,
    messages,
    note,
    record_audit,
    reply,
    set_banner,
    tip_references,
    transfer,
)
from bot.handover.settings import HandoverSettings
from bot.storage.db import make_session_factory
from bot.tips.tokens import verify_token
from bot.web.clients import client_address
from bot.web.forms import read_form
from bot.web.keys import ENGINE

log = logging.getLogger(__name__)

COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
COOKIE_PATH = "/console"
STATIC = Path(__file__).resolve().parent / "static"
DELIVER_TIMEOUT = 10.0
NOTIFY_TIMEOUT = 10.0
SESSION_RECHECK = 30.0
CLOSED_SHOWN = 50
CSP = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)
NO_STORE = {"Cache-Control": "no-store"}
UNDELIVERED = (
    "Svaret kunde inte levereras till medborgaren. Det är sparat som ”Inte levererat”; "
    "försök igen med knappen vid svaret."
)
# Meta's messaging windows, said plainly (the channel refused, or Meta did).
UNDELIVERED_WINDOW = {
    OUTSIDE_24H: (
        "Svaret kunde inte levereras: det har gått mer än 24 timmar sedan medborgarens senaste "
        "meddelande, och då tar kanalen inte emot svar härifrån (WhatsApp tillåter bara "
        "mallmeddelanden). Svaret är sparat som ”Inte levererat”. Medborgaren måste skriva "
        "igen först; kontakta hen annars på annat sätt, till exempel genom återuppringning."
    ),
    OUTSIDE_7D: (
        "Svaret kunde inte levereras: det har gått mer än 7 dagar sedan medborgarens senaste "
        "meddelande, och efter det tar Messenger och Instagram inte emot svar från en "
        "handläggare heller. Svaret är sparat som ”Inte levererat”. Medborgaren måste skriva "
        "igen först; kontakta hen annars på annat sätt."
    ),
    NOT_CONNECTED: (
        "Svaret kunde inte levereras: medborgarens chattfönster är inte anslutet just nu "
        "(stängt, eller utan nätverk). Svaret är sparat som ”Inte levererat”; försök igen "
        "med knappen vid svaret om en stund. Har medborgaren lämnat kan du avsluta ärendet."
    ),
}
# The REST channel cannot receive anything it did not ask for (bot/channels/rest.py).
REST_NOTE = (
    "Medborgaren skriver via REST-kanalen, som inte kan ta emot meddelanden direkt. Det du "
    "skickar visas för medborgaren först när hen skriver nästa gång."
)
REST_SENT = (
    "Svaret är sparat i samtalet. Medborgaren ser det när hen skriver nästa gång "
    "(REST-kanalen kan inte ta emot meddelanden direkt)."
)
# Meta's windows, counted from the citizen's last message (docs/social-media.md).
STANDARD_WINDOW_HOURS = 24
HUMAN_AGENT_WINDOW_HOURS = 7 * 24
PLATFORM_NAMES = {"messenger": "Messenger", "instagram": "Instagram", "whatsapp": "WhatsApp"}

routes = web.RouteTableDef()
T = TypeVar("T")


# --- plumbing -------------------------------------------------------------------------------


async def _db(app: web.Application, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `func(session, *args)` in a worker thread with its own session (the database
    driver blocks; the event loop must not)."""

    def work() -> T:
        with app[SESSIONS]() as session:
            return func(session, *args, **kwargs)

    return await asyncio.get_running_loop().run_in_executor(None, work)


def _settings(request: web.Request) -> HandoverSettings:
    return request.app[HANDOVER_SETTINGS]


def _is_https(request: web.Request) -> bool:
    if request.secure:
        return True
    if _settings(request).trust_proxy:
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        return proto == "https"
    return False


def _host(request: web.Request) -> str:
    if _settings(request).trust_proxy and request.headers.get("X-Forwarded-Host"):
        return request.headers["X-Forwarded-Host"].split(",")[0].strip().lower()
    return (request.host or "").lower()


def _same_origin(request: web.Request) -> bool:
    """False only when the browser says the request comes from another site."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return origin != "null" and parts.netloc.lower() == _host(request)


def _cookie_options(request: web.Request) -> dict[str, Any]:
    return {
        "httponly": True,
        "samesite": "Strict",
        "secure": _settings(request).secure_cookies or _is_https(request),
        "path": COOKIE_PATH,
    }


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _json_error(status: int, code: str, message: str, **headers: str) -> web.Response:
    return web.json_response(
        {"error": code, "message": message}, status=status, headers={**NO_STORE, **headers}
    )


def _safe_next(value: str | None) -> str:
    """Only console paths after login: never another site (no open redirect)."""
    if not value or not value.startswith("/console") or value.startswith("//") or "\\" in value:
        return "/console"
    return value


async def _current(request: web.Request) -> ConsoleSession | None:
    return await _db(request.app, load_session, request.cookies.get(COOKIE))


async def _require(request: web.Request, *, api: bool = False) -> ConsoleSession:
    """The logged-in agent, or a redirect to the login (pages) or a 401 (API)."""
    current = await _current(request)
    if current is None:
        if api:
            raise web.HTTPUnauthorized(
                text=json.dumps({"error": "unauthenticated", "message": "Log in first."}),
                content_type="application/json",
                headers=NO_STORE,
            )
        target = request.path_qs if request.method == "GET" else "/console"
        raise web.HTTPSeeOther(location=f"/console/login?next={quote(target, safe='')}")
    return current


def _forbidden(message: str, current: ConsoleSession | None = None) -> web.HTTPForbidden:
    return web.HTTPForbidden(
        text=pages.error_page("Åtkomst nekad", message, current),
        content_type="text/html",
    )


def _field(form: MultiDictProxy[Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _checked_form(request: web.Request, current: ConsoleSession) -> MultiDictProxy[Any]:
    """The POSTed form, after the origin and CSRF checks (403 if either fails)."""
    if not _same_origin(request):
        raise _forbidden("Begäran kom från en annan webbplats.", current)
    form = await read_form(request)
    presented = request.headers.get("X-CSRF-Token") or _field(form, "csrf_token")
    if not csrf_matches(current.csrf_token, presented):
        raise _forbidden(
            "Formuläret var för gammalt eller ogiltigt (CSRF). Ladda om sidan.", current
        )
    return form


async def _state_change(request: web.Request) -> tuple[ConsoleSession, MultiDictProxy[Any]]:
    current = await _require(request)
    return current, await _checked_form(request, current)


def _handover_id(request: web.Request) -> int:
    return int(request.match_info["id"])


async def _notify(app: web.Application, key: Any, conversation_id: str) -> None:
    """Call the bot's hook (claimed/closed) if it is set; a failure is logged only."""
    hook = app.get(key)
    if hook is None:
        return
    try:
        await asyncio.wait_for(hook(conversation_id), NOTIFY_TIMEOUT)
    except Exception:  # noqa: BLE001 - the agent's action stands either way
        log.exception("handover hook %s failed", key)


async def _deliver(app: web.Application, conversation_id: str, text: str) -> Delivery:
    deliver = app.get(DELIVER)
    if deliver is None:
        log.error("no deliver function is set on the app: agent replies cannot reach citizens")
        return Delivery(False)
    try:
        outcome = await asyncio.wait_for(deliver(conversation_id, text), DELIVER_TIMEOUT)
    except Exception:  # noqa: BLE001 - any failure means "not delivered"
        log.exception("delivering an agent reply failed")
        return Delivery(False)
    return outcome if isinstance(outcome, Delivery) else Delivery(bool(outcome))


def window_note(channel: str, last_citizen_message: datetime | None, now: datetime) -> str | None:
    """What the agent must know before replying: on REST that replies wait for the citizen's
    next message; on Messenger, Instagram or WhatsApp, where Meta limits replies by the time
    since the citizen's last message, whether that limit applies. None when nothing."""
    if channel == "rest":
        return REST_NOTE
    platform = PLATFORM_NAMES.get(channel)
    if platform is None or last_citizen_message is None:
        return None
    hours = (now - last_citizen_message).total_seconds() / 3600
    if hours <= STANDARD_WINDOW_HOURS:
        return None
    ago = f"{int(hours)} timmar" if hours < 48 else f"{int(hours // 24)} dagar"
    if channel == "whatsapp":
        return (
            f"Medborgarens senaste meddelande kom för {ago} sedan. WhatsApp tar bara emot svar "
            "inom 24 timmar efter medborgarens senaste meddelande (därefter bara "
            "mallmeddelanden), så ett svar härifrån kan inte levereras förrän medborgaren "
            "skriver igen."
        )
    if hours <= HUMAN_AGENT_WINDOW_HOURS:
        return (
            f"Medborgarens senaste meddelande kom för {ago} sedan. Ditt svar skickas som "
            f"handläggarsvar (Metas tagg HUMAN_AGENT), vilket {platform} tillåter i 7 dagar "
            "efter medborgarens senaste meddelande."
        )
    return (
        f"Medborgarens senaste meddelande kom för {ago} sedan. {platform} tar emot svar från "
        "en handläggare bara i 7 dagar efter medborgarens senaste meddelande, så ett svar "
        "härifrån kan inte levereras förrän medborgaren skriver igen."
    )


def _last_citizen_message(handover: Any, transcript: list[Any]) -> datetime | None:
    """The citizen's latest line, or when the handover began (their request opened it)."""
    times = [m.created_at for m in transcript if m.kind == CITIZEN]
    times.append(handover.created_at)
    return max(t for t in times if t is not None)


# --- login and logout -----------------------------------------------------------------------


@routes.get("/console/login")
async def login_form(request: web.Request) -> web.StreamResponse:
    """The login form, with a fresh login CSRF token (double-submit cookie)."""
    if await _current(request) is not None:
        raise web.HTTPSeeOther(location=_safe_next(request.query.get("next")))
    token = secrets.token_urlsafe(32)
    response = _html(pages.login_page(token, next_url=_safe_next(request.query.get("next"))))
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, **_cookie_options(request))
    return response


@routes.post("/console/login")
async def login_submit(request: web.Request) -> web.StreamResponse:
    """Check the password; on success a new server-side session and its cookie."""
    if not _same_origin(request):
        raise _forbidden("Begäran kom från en annan webbplats.")
    form = await read_form(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not csrf_matches(expected, _field(form, "csrf_token")):
        raise _forbidden("Inloggningsformuläret var för gammalt. Ladda om sidan och försök igen.")
    username = _field(form, "username")
    next_url = _safe_next(_field(form, "next"))
    settings = _settings(request)
    result = await _db(
        request.app,
        login,
        username,
        _field(form, "password"),
        max_failures=settings.login_max_failures,
        client=client_address(request),
    )
    if result.agent is None:
        message = (
            "För många misslyckade försök. Vänta 15 minuter och försök igen."
            if result.locked
            else "Fel användarnamn eller lösenord."
        )
        return _html(
            pages.login_page(expected, next_url=next_url, username=username, error=message),
            status=429 if result.locked else 401,
        )
    cookie_value, _session = await _db(
        request.app, start_session, result.agent, settings.session_lifetime
    )
    response = _see_other(next_url)
    options = _cookie_options(request)
    response.set_cookie(
        COOKIE, cookie_value, max_age=int(settings.session_lifetime.total_seconds()), **options
    )
    response.del_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
    return response


@routes.post("/console/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    """End the session in the database (every process) and drop the cookie."""
    current, _form = await _state_change(request)
    await _db(request.app, end_session, request.cookies.get(COOKIE))
    await _db(request.app, record_audit, current.agent.username, "logout", "session", None)
    response = _see_other("/console/login")
    response.del_cookie(COOKIE, path=COOKIE_PATH)
    return response


# --- queue ----------------------------------------------------------------------------------


def _queue_lists(session: Any) -> dict[str, list[Any]]:
    return {
        WAITING: list_handovers(session, WAITING),
        ACTIVE: list_handovers(session, ACTIVE),
        CLOSED: list_handovers(session, CLOSED, limit=CLOSED_SHOWN),
    }


@routes.get("/console")
async def queue_page(request: web.Request) -> web.StreamResponse:
    """Waiting (with waiting time), active (with agent) and recently closed handovers."""
    current = await _require(request)
    lists = await _db(request.app, _queue_lists)
    return _html(pages.queue_page(current, lists[WAITING], lists[ACTIVE], lists[CLOSED], utcnow()))


@routes.get("/console/api/queue")
async def queue_api(request: web.Request) -> web.StreamResponse:
    """The queue as JSON (the console's script redraws the page from it)."""
    await _require(request, api=True)
    lists = await _db(request.app, _queue_lists)
    body = {status: [item.to_json() for item in items] for status, items in lists.items()}
    return web.json_response({**body, "now": utcnow().isoformat()}, headers=NO_STORE)


# --- conversation ---------------------------------------------------------------------------


def _conversation(session: Any, handover_id: int) -> dict[str, Any]:
    handover = get_handover(session, handover_id)
    return {
        "handover": handover,
        "transcript": messages(session, handover.conversation_id),
        "notes": messages(session, handover.conversation_id, notes=True),
        "tips": tip_references(session, handover.conversation_id),
    }


async def _conversation_page(
    request: web.Request,
    current: ConsoleSession,
    handover_id: int,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
    audit: bool = True,
) -> web.Response:
    try:
        data = await _db(request.app, _conversation, handover_id)
    except NotFound:
        return _html(pages.error_page("Finns inte", "Ärendet finns inte.", current), 404)
    if audit:
        await _db(
            request.app, record_audit, current.agent.username, "view", "handover", handover_id
        )
    now = utcnow()
    handover = data["handover"]
    note = (
        window_note(handover.channel, _last_citizen_message(handover, data["transcript"]), now)
        if handover.status != CLOSED
        else None
    )
    page = pages.conversation_page(
        current,
        handover,
        data["transcript"],
        data["notes"],
        data["tips"],
        _settings(request).queues,
        now,
        error=error,
        notice=notice,
        window_note=note,
    )
    return _html(page, status)


@routes.get(r"/console/conversations/{id:\d+}")
async def conversation_page(request: web.Request) -> web.StreamResponse:
    """One handover: facts, transcript, notes and the agent's buttons (audited as a view)."""
    current = await _require(request)
    notice = {
        "claimed": "Du har tagit ärendet.",
        "sent": "Svaret är levererat.",
        "saved": REST_SENT,
        "noted": "Anteckningen är sparad.",
        "moved": "Ärendet är flyttat.",
        "closed": "Ärendet är avslutat; assistenten har tagit över.",
    }.get(request.query.get("done", ""))
    return await _conversation_page(request, current, _handover_id(request), notice=notice)


@routes.get(r"/console/api/conversations/{id:\d+}")
async def conversation_api(request: web.Request) -> web.StreamResponse:
    """The handover with its transcript and notes as JSON (for live redraws)."""
    await _require(request, api=True)
    try:
        data = await _db(request.app, _conversation, _handover_id(request))
    except NotFound:
        return _json_error(404, "not_found", "No such handover.")
    return web.json_response(
        {
            "handover": data["handover"].to_json(),
            "transcript": [m.to_json() for m in data["transcript"]],
            "notes": [m.to_json() for m in data["notes"]],
        },
        headers=NO_STORE,
    )


def _done(handover_id: int, what: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location=f"/console/conversations/{handover_id}?done={what}")


async def _refused(
    request: web.Request, current: ConsoleSession, handover_id: int, error: HandoverError
) -> web.Response:
    status = 404 if isinstance(error, NotFound) else 409
    if isinstance(error, NotFound):
        return _html(pages.error_page("Finns inte", "Ärendet finns inte.", current), 404)
    text = str(error)
    if isinstance(error, NotAssigned):
        text = f"Det går inte: en annan handläggare har ärendet ({error})."
    elif isinstance(error, InvalidState):
        text = f"Det går inte i ärendets nuvarande läge ({error})."
    return await _conversation_page(
        request, current, handover_id, status=status, error=text, audit=False
    )


@routes.post(r"/console/conversations/{id:\d+}/claim")
async def claim_action(request: web.Request) -> web.StreamResponse:
    """Take a waiting handover (the bot may tell the citizen an agent has joined)."""
    current, _form = await _state_change(request)
    handover_id = _handover_id(request)
    try:
        before = await _db(request.app, get_handover, handover_id)
        view = await _db(request.app, claim, handover_id, current.agent.username)
    except HandoverError as error:
        return await _refused(request, current, handover_id, error)
    if before.status != ACTIVE:  # claiming one's own again tells the citizen nothing new
        await _notify(request.app, ON_CLAIMED, view.conversation_id)
    raise _done(handover_id, "claimed")


async def _send(
    request: web.Request, current: ConsoleSession, handover_id: int, recorded: AgentReply
) -> web.StreamResponse:
    """Deliver a recorded reply and record whether it arrived; a failure is shown to the
    agent on the conversation page and the reply stays retryable."""
    delivery = await _deliver(request.app, recorded.conversation_id, recorded.text)
    await _db(request.app, mark_reply_delivered, recorded.id, delivery.delivered)
    if not delivery:
        error = UNDELIVERED_WINDOW.get(delivery.problem or "", UNDELIVERED)
        return await _conversation_page(
            request, current, handover_id, status=502, error=error, audit=False
        )
    handover = await _db(request.app, get_handover, handover_id)
    raise _done(handover_id, "saved" if handover.channel == "rest" else "sent")


@routes.post(r"/console/conversations/{id:\d+}/reply")
async def reply_action(request: web.Request) -> web.StreamResponse:
    """Record the reply, then deliver it; a failed delivery is shown and stays retryable."""
    current, form = await _state_change(request)
    handover_id = _handover_id(request)
    try:
        recorded = await _db(
            request.app, reply, handover_id, current.agent.username, _field(form, "text")
        )
    except HandoverError as error:
        return await _refused(request, current, handover_id, error)
    return await _send(request, current, handover_id, recorded)


@routes.post(r"/console/conversations/{id:\d+}/replies/{reply_id:\d+}/retry")
async def retry_action(request: web.Request) -> web.StreamResponse:
    """Try again to deliver a reply that did not reach the citizen."""
    current, _form = await _state_change(request)
    handover_id = _handover_id(request)
    try:
        recorded = await _db(request.app, get_reply, int(request.match_info["reply_id"]))
        handover = await _db(request.app, get_handover, handover_id)
        if recorded.ticket_id != handover_id:
            raise NotFound("no such reply in this handover")
        if handover.status != ACTIVE or handover.agent != current.agent.username:
            raise InvalidState("only the agent handling an active handover can resend")
    except HandoverError as error:
        return await _refused(request, current, handover_id, error)
    await _db(request.app, record_audit, current.agent.username, "resend", "handover", handover_id)
    return await _send(request, current, handover_id, recorded)


@routes.post(r"/console/conversations/{id:\d+}/note")
async def note_action(request: web.Request) -> web.StreamResponse:
    """An internal note (never sent to the citizen)."""
    current, form = await _state_change(request)
    handover_id = _handover_id(request)
    try:
        await _db(request.app, note, handover_id, current.agent.username, _field(form, "text"))
    except HandoverError as error:
        return await _refused(request, current, handover_id, error)
    raise _done(handover_id, "noted")


@routes.post(r"/console/conversations/{id:\d+}/transfer")
async def transfer_action(request: web.Request) -> web.StreamResponse:
    """Move the handover to another queue (one of HANDOVER_QUEUES)."""
    current, form = await _state_change(request)
    handover_id = _handover_id(request)
    queue = _field(form, "queue")
    if queue not in _settings(request).queues:
        return await _refused(request, current, handover_id, HandoverError(f"okänd kö {queue!r}"))
    try:
        view = await _db(request.app, transfer, handover_id, current.agent.username, queue)
    except HandoverError as error:
        return await _refused(request, current, handover_id, error)
    await _notify(request.app, ON_TRANSFERRED, view.conversation_id)  # waiting again
    raise _done(handover_id, "moved")


@routes.post(r"/console/conversations/{id:\d+}/close")
async def close_action(request: web.Request) -> web.StreamResponse:
    """End the handover; the bot takes the conversation back (and may say so)."""
    current, _form = await _state_change(request)
    handover_id = _handover_id(request)
    try:
        before = await _db(request.app, get_handover, handover_id)
        view = await _db(request.app, close, handover_id, current.agent.username)
    except HandoverError as error:
        return await _refused(request, current, handover_id, error)
    if before.status != CLOSED:
        await _notify(request.app, ON_CLOSED, view.conversation_id)
    raise _done(handover_id, "closed")


# --- tips and callbacks ---------------------------------------------------------------------


@routes.get("/console/tips")
async def tips_page(request: web.Request) -> web.StreamResponse:
    """The tips inbox: reference, time and status only (audited as a list view)."""
    current = await _require(request)
    summaries = await _db(request.app, list_tip_summaries)
    await _db(request.app, record_audit, current.agent.username, "list", "tips", None)
    return _html(pages.tips_page(current, summaries))


@routes.get("/console/callbacks")
async def callbacks_page(request: web.Request) -> web.StreamResponse:
    """Callback requests with phone numbers (audited as a list view)."""
    current = await _require(request)
    items = await _db(request.app, list_callbacks)
    await _db(request.app, record_audit, current.agent.username, "list", "callbacks", None)
    return _html(pages.callbacks_page(current, items))


@routes.post(r"/console/callbacks/{id:\d+}/handled")
async def callback_handled(request: web.Request) -> web.StreamResponse:
    """Mark a callback request handled by the current agent."""
    current, _form = await _state_change(request)
    try:
        await _db(
            request.app,
            mark_callback_handled,
            int(request.match_info["id"]),
            current.agent.username,
        )
    except NotFound:
        return _html(pages.error_page("Finns inte", "Förfrågan finns inte.", current), 404)
    raise web.HTTPSeeOther(location="/console/callbacks")


# --- admin ----------------------------------------------------------------------------------


async def _require_admin(request: web.Request) -> ConsoleSession:
    current = await _require(request)
    if not current.agent.is_admin:
        raise _forbidden("Sidan kräver rollen admin.", current)
    return current


def _admin_data(session: Any) -> dict[str, Any]:
    return {
        "banner": banner_details(session),
        "accounts": list_agents(session),
        "audit": audit_entries(session, limit=100),
    }


async def _admin_page(
    request: web.Request,
    current: ConsoleSession,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
) -> web.Response:
    data = await _db(request.app, _admin_data)
    return _html(
        pages.admin_page(
            current, data["banner"], data["accounts"], data["audit"], error=error, notice=notice
        ),
        status,
    )


@routes.get("/console/admin")
async def admin_page(request: web.Request) -> web.StreamResponse:
    """Banner, accounts and the newest audit lines (admins only)."""
    current = await _require_admin(request)
    return await _admin_page(request, current)


@routes.post("/console/admin/banner")
async def admin_banner(request: web.Request) -> web.StreamResponse:
    """Set or clear the emergency banner."""
    current = await _require_admin(request)
    form = await _checked_form(request, current)
    await _db(request.app, set_banner, _field(form, "text"), current.agent.username)
    return await _admin_page(request, current, notice="Krisbannern är sparad.")


@routes.post("/console/admin/agents")
async def admin_create_agent(request: web.Request) -> web.StreamResponse:
    """Create an account."""
    current = await _require_admin(request)
    form = await _checked_form(request, current)
    username = _field(form, "username")
    try:
        agent = await _db(
            request.app,
            create_agent,
            username,
            _field(form, "password"),
            _field(form, "role") or "agent",
        )
    except AccountError as error:
        return await _admin_page(request, current, status=400, error=str(error))
    await _db(request.app, record_audit, current.agent.username, "create", "agent", agent.username)
    return await _admin_page(request, current, notice=f"Kontot {agent.username} är skapat.")


# --- live updates ---------------------------------------------------------------------------


@routes.get("/console/ws")
async def console_socket(request: web.Request) -> web.StreamResponse:
    """Every handover event as JSON, for as long as the session lives."""
    current = await _require(request, api=True)
    if not _same_origin(request):
        return _json_error(403, "forbidden", "Cross-site WebSocket refused.")
    hub = request.app[HUB]
    socket = web.WebSocketResponse(heartbeat=30.0)
    await socket.prepare(request)
    hub.sockets.add(socket)
    queue = hub.subscribe()
    reader = asyncio.create_task(_drain(socket))
    getter: asyncio.Future[dict[str, Any]] | None = None
    try:
        await socket.send_json({"type": "hello", "agent": current.agent.username})
        while not socket.closed:
            getter = asyncio.ensure_future(queue.get())
            done, _pending = await asyncio.wait(
                {reader, getter}, timeout=SESSION_RECHECK, return_when=asyncio.FIRST_COMPLETED
            )
            if getter in done:
                await socket.send_json(getter.result())
            else:
                getter.cancel()
            if reader in done:
                break
            if not done and await _current(request) is None:
                await socket.close(code=4401, message=b"session ended")
                break
    except ConnectionResetError:
        pass
    finally:
        hub.unsubscribe(queue)
        hub.sockets.discard(socket)
        for task in (getter, reader):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        with contextlib.suppress(Exception):
            await socket.close()
    return socket


async def _drain(socket: web.WebSocketResponse) -> None:
    """Read (and ignore) what the console sends, until it closes."""
    async for message in socket:
        if message.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
            break


# --- staff JSON API -------------------------------------------------------------------------


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


@routes.get("/api/handovers")
async def handovers_api(request: web.Request) -> web.StreamResponse:
    """Handovers in one status (`status=waiting|active|closed`, default waiting)."""
    token = _bearer(request)
    loop = asyncio.get_running_loop()
    name = None
    if token is not None:
        name = await loop.run_in_executor(None, partial(verify_token, request.app[ENGINE], token))
    if name is None:
        return _json_error(
            401,
            "unauthorised",
            "A valid bearer token is required.",
            **{"WWW-Authenticate": 'Bearer realm="polisbot-handovers"'},
        )
    status = request.query.get("status", WAITING)
    if status not in STATUSES:
        return _json_error(400, "bad_status", f"status must be one of {', '.join(STATUSES)}.")
    items = await _db(request.app, list_handovers, status)
    fields = (
        "id",
        "conversation_id",
        "channel",
        "language",
        "area",
        "reason",
        "queue",
        "status",
        "agent",
        "created_at",
        "claimed_at",
        "closed_at",
    )
    body = [{k: v for k, v in item.to_json().items() if k in fields} for item in items]
    return web.json_response({"handovers": body, "count": len(body)}, headers=NO_STORE)


# --- mounting -------------------------------------------------------------------------------


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    path = request.path
    if not (path.startswith("/console") or path.startswith("/api/handovers")):
        return
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not path.startswith("/console/static/"):
        response.headers.setdefault("Cache-Control", "no-store")


async def _console_context(app: web.Application) -> AsyncIterator[None]:
    """Sessions and the event poller live as long as the app (after its engine opens)."""
    sessions = make_session_factory(app[ENGINE])
    app[SESSIONS] = sessions
    hub = EventHub(sessions, app[HANDOVER_SETTINGS].poll_interval)
    app[HUB] = hub
    task = asyncio.create_task(hub.run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _close_sockets(app: web.Application) -> None:
    if HUB in app:
        await app[HUB].close_sockets()


def setup_console(app: web.Application, settings: HandoverSettings | None = None) -> None:
    """Add the console, its static files, the staff handover API and the event poller.

    Call it after ``create_app`` (it needs the engine that app opens). Settings default to
    the process environment (:class:`HandoverSettings`).
    """
    app[HANDOVER_SETTINGS] = settings or HandoverSettings.from_env(os.environ)
    app.cleanup_ctx.append(_console_context)
    app.on_response_prepare.append(_security_headers)  # type: ignore[arg-type]
    app.on_shutdown.append(_close_sockets)  # type: ignore[arg-type]
    app.router.add_static("/console/static", STATIC, name="console_static")
    app.add_routes(routes)
