"""The agent console over HTTP and WebSocket: authentication, CSRF, escaping, delivery of
replies, live updates across web processes, and the staff API.

Each test builds the real web application (``create_app``); "two web
processes" are two app instances, each with its own engine and poller, on one database.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.orm import Session

from bot.handover import accounts, service
from bot.handover.keys import (
    DELIVER,
    HUB,
    NOT_CONNECTED,
    ON_CLAIMED,
    ON_CLOSED,
    ON_TRANSFERRED,
    OUTSIDE_7D,
    Delivery,
)
from bot.handover.rasa_link import delivery_problem, output_channel
from bot.handover.settings import HandoverSettings
from bot.launcher import free_port
from bot.settings import Settings
from bot.storage.db import make_engine, make_session_factory
from bot.storage.migrate import upgrade
from bot.web.app import create_app
from tests.test_handover_service import database_url  # noqa: F401 - migrated database

PASSWORD = "korrekt häst batteri"
T = TypeVar("T")
XSS_SCRIPT = "<script>alert('x')</script>"
XSS_IMG = '<img src=x onerror="alert(1)">'


@pytest.fixture
def sqlite_db(sqlite_url: str) -> str:  # noqa: F811
    upgrade(sqlite_url)
    return sqlite_url


def _db(url: str, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """What another process (the bot, the CLI) does to the same database."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return func(session, *args, **kwargs)
    finally:
        engine.dispose()


def _agent(url: str, username: str = "anna", role: str = "agent") -> None:
    _db(url, accounts.create_agent, username, PASSWORD, role)


def _open(url: str, conversation: str = "citizen-1", **kwargs: Any) -> service.HandoverTicket:
    values = {"channel": "socketio", "language": "sv", "area": "Uppsala", "reason": "person"}
    values.update(kwargs)
    return _db(url, service.open_handover, conversation, **values)


async def _console(
    aiohttp_client: Any,
    url: str,
    *,
    deliver: Any = None,
    on_claimed: Any = None,
    on_closed: Any = None,
    on_transferred: Any = None,
    settings: HandoverSettings | None = None,
) -> TestClient:
    web_settings = Settings.from_env(
        {"DATABASE_URL": url, "RASA_PORT": str(free_port()), "ACTIONS_PORT": str(free_port())}
    )
    app = create_app(
        web_settings,
        handover=settings or HandoverSettings(queues=("national", "stockholm"),
                                              poll_interval=0.1),
    )
    if deliver is not None:
        app[DELIVER] = deliver
    if on_claimed is not None:
        app[ON_CLAIMED] = on_claimed
    if on_closed is not None:
        app[ON_CLOSED] = on_closed
    if on_transferred is not None:
        app[ON_TRANSFERRED] = on_transferred
    client: TestClient = await aiohttp_client(app)
    await asyncio.wait_for(client.app[HUB].ready.wait(), 10)
    return client


def _csrf_in(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page) or re.search(
        r'<meta name="csrf-token" content="([^"]+)"', page
    )
    assert match, page
    return match[1]


async def _claimed(aiohttp_client: Any, url: str, ticket: service.HandoverTicket,
                   deliver: Any = None) -> tuple[TestClient, str, str]:
    """A logged-in console that has claimed `ticket`: the client, its CSRF token and the
    conversation page's path."""
    client = await _console(aiohttp_client, url, deliver=deliver)
    csrf = await _login(client)
    base = f"/console/conversations/{ticket.id}"
    await client.post(f"{base}/claim", data={"csrf_token": csrf})
    return client, csrf, base


async def _login(client: TestClient, username: str = "anna", password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    token = _csrf_in(await (await client.get("/console/login")).text())
    reply = await client.post(
        "/console/login",
        data={"csrf_token": token, "username": username, "password": password, "next": "/console"},
        allow_redirects=False,
    )
    assert reply.status == 303, await reply.text()
    page = await (await client.get("/console")).text()
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page)[1]  # type: ignore[index]


async def _next_event(socket: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    while True:
        message = await socket.receive_json(timeout=10)
        if message.get("type") == "event" and message["event"]["kind"] == kind:
            return message["event"]


# --- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/console",
        "/console/tips",
        "/console/callbacks",
        "/console/admin",
        "/console/conversations/1",
    ],
)
async def test_pages_without_a_session_redirect_to_the_login(
    sqlite_db: str, aiohttp_client: Any, path: str
) -> None:
    client = await _console(aiohttp_client, sqlite_db)
    reply = await client.get(path, allow_redirects=False)
    assert reply.status == 303
    assert reply.headers["Location"].startswith("/console/login?next=")


async def test_console_api_and_websocket_without_a_session_answer_401(
    sqlite_db: str, aiohttp_client: Any
) -> None:
    client = await _console(aiohttp_client, sqlite_db)
    for path in ("/console/api/queue", "/console/api/conversations/1"):
        reply = await client.get(path)
        assert reply.status == 401 and (await reply.json())["error"] == "unauthenticated"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/console/ws")
    assert refused.value.status == 401


async def test_actions_without_a_session_do_nothing(sqlite_db: str, aiohttp_client: Any) -> None:
    ticket = _open(sqlite_db)
    client = await _console(aiohttp_client, sqlite_db)
    reply = await client.post(f"/console/conversations/{ticket.id}/claim", allow_redirects=False)
    assert reply.status == 303 and reply.headers["Location"].startswith("/console/login")
    assert _db(sqlite_db, service.get_handover, ticket.id).status == "waiting"


async def test_a_wrong_password_is_refused_without_a_session(
    sqlite_db: str, aiohttp_client: Any
) -> None:
    _agent(sqlite_db)
    client = await _console(aiohttp_client, sqlite_db)
    token = _csrf_in(await (await client.get("/console/login")).text())
    reply = await client.post(
        "/console/login",
        data={"csrf_token": token, "username": "anna", "password": "fel lösenord"},
        allow_redirects=False,
    )
    assert reply.status == 401
    assert "Fel användarnamn eller lösenord" in await reply.text()
    assert not any(c.startswith("console_session=") for c in reply.headers.getall("Set-Cookie", []))
    assert (await client.get("/console", allow_redirects=False)).status == 303


async def test_login_sets_a_strict_http_only_cookie_and_only_goes_to_console_pages(
    sqlite_db: str, aiohttp_client: Any
) -> None:
    _agent(sqlite_db)
    client = await _console(aiohttp_client, sqlite_db)
    token = _csrf_in(await (await client.get("/console/login")).text())
    reply = await client.post(
        "/console/login",
        data={
            "csrf_token": token,
            "username": "Anna",
            "password": PASSWORD,
            "next": "https://evil.example/",
        },
        allow_redirects=False,
    )
    assert reply.status == 303 and reply.headers["Location"] == "/console"
    [cookie] = [c for c in reply.headers.getall("Set-Cookie") if c.startswith("console_session=")]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain http in this test
    assert (await client.get("/console")).status == 200


@pytest.mark.parametrize("trusted, secure", [(True, True), (False, False)])
async def test_the_cookie_is_secure_behind_a_trusted_https_proxy_only(
    sqlite_db: str, aiohttp_client: Any, trusted: bool, secure: bool
) -> None:
    _agent(sqlite_db)
    client = await _console(
        aiohttp_client, sqlite_db, settings=HandoverSettings(trust_proxy=trusted)
    )
    https = {"X-Forwarded-Proto": "https"}
    token = _csrf_in(await (await client.get("/console/login", headers=https)).text())
    reply = await client.post(
        "/console/login",
        data={"csrf_token": token, "username": "anna", "password": PASSWORD},
        headers=https,
        allow_redirects=False,
    )
    if trusted:  # the login token cookie was Secure too, so this client did not send it back
        assert reply.status == 403
        reply = await client.post(
            "/console/login",
            data={"csrf_token": token, "username": "anna", "password": PASSWORD},
            headers={**https, "Cookie": f"console_login={token}"},
            allow_redirects=False,
        )
    [cookie] = [c for c in reply.headers.getall("Set-Cookie") if c.startswith("console_session=")]
    assert ("Secure" in cookie) is secure


async def test_logout_ends_the_session_for_every_process(
    sqlite_db: str, aiohttp_client: Any
) -> None:
    _agent(sqlite_db)
    first = await _console(aiohttp_client, sqlite_db)
    second = await _console(aiohttp_client, sqlite_db)
    csrf = await _login(first)
    value = next(c.value for c in first.session.cookie_jar if c.key == "console_session")
    stolen = {"Cookie": f"console_session={value}"}
    assert (await second.get("/console", headers=stolen, allow_redirects=False)).status == 200
    reply = await first.post("/console/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert reply.status == 303
    assert (await second.get("/console", headers=stolen, allow_redirects=False)).status == 303


# --- CSRF and origin ---------------------------------------------------------------------------


async def test_state_changes_without_the_right_csrf_token_are_refused(
    sqlite_db: str, aiohttp_client: Any
) -> None:
    _agent(sqlite_db)
    ticket = _open(sqlite_db)
    client = await _console(aiohttp_client, sqlite_db)
    csrf = await _login(client)
    claim = f"/console/conversations/{ticket.id}/claim"
    assert (await client.post(claim, allow_redirects=False)).status == 403
    wrong = {"csrf_token": ("y" if csrf.startswith("x") else "x") + csrf[1:]}
    assert (await client.post(claim, data=wrong, allow_redirects=False)).status == 403
    assert (await client.post("/console/logout", allow_redirects=False)).status == 403
    assert _db(sqlite_db, service.get_handover, ticket.id).status == "waiting"
    reply = await client.post(claim, headers={"X-CSRF-Token": csrf}, allow_redirects=False)
    assert reply.status == 303
    assert _db(sqlite_db, service.get_handover, ticket.id).agent == "anna"


async def test_a_request_from_another_site_is_refused_even_with_the_token(
    sqlite_db: str, aiohttp_client: Any
) -> None:
    _agent(sqlite_db)
    ticket = _open(sqlite_db)
    client = await _console(aiohttp_client, sqlite_db)
    csrf = await _login(client)
    reply = await client.post(
        f"/console/conversations/{ticket.id}/claim",
        data={"csrf_token": csrf},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert reply.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await client.ws_connect("/console/ws", headers={"Origin": "https://evil.example"})


async def test_the_login_form_needs_its_own_csrf_token(sqlite_db: str, aiohttp_client: Any) -> None:
    _agent(sqlite_db)
    client = await _console(aiohttp_client, sqlite_db)
    reply = await client.post(
        "/console/login", data={"username": "anna", "password": PASSWORD}, allow_redirects=False
    )
    assert reply.status == 403


# --- the conversation view ---------------------------------------------------------------------


async def test_citizen_text_is_shown_inert_and_pages_carry_no_inline_script(
    sqlite_db: str, aiohttp_client: Any
) -> None:
    _agent(sqlite_db)
    ticket = _open(sqlite_db, area=XSS_IMG, reason=XSS_SCRIPT)
    _db(sqlite_db, service.add_citizen_message, "citizen-1", XSS_SCRIPT)
    _db(sqlite_db, service.add_citizen_message, "citizen-1", XSS_IMG)
    client = await _console(aiohttp_client, sqlite_db)
    await _login(client)
    for path in (f"/console/conversations/{ticket.id}", "/console"):
        reply = await client.get(path)
        page = await reply.text()
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
        assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", page))
        assert "style=" not in page and " onerror=" not in page.replace("onerror=&quot;", "")
        assert reply.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert reply.headers["X-Frame-Options"] == "DENY"
        # "no-referrer" would make Chromium send "Origin: null" on the console's own forms.
        assert reply.headers["Referrer-Policy"] == "same-origin"


async def test_viewing_a_conversation_shows_its_facts_and_is_audited(
    sqlite_db: str, aiohttp_client: Any
) -> None:
    _agent(sqlite_db)
    ticket = _open(sqlite_db, reason="two_fallbacks", area="Malmö")
    _db(sqlite_db, service.add_bot_message, "citizen-1", "Jag förstod inte.")
    _db(sqlite_db, service.add_citizen_message, "citizen-1", "Mitt nummer är [personnummer]")
    client = await _console(aiohttp_client, sqlite_db)
    await _login(client)
    page = await (await client.get(f"/console/conversations/{ticket.id}")).text()
    for text in (
        "two_fallbacks",
        "Malmö",
        "socketio",
        "citizen-1",
        "Jag förstod inte.",
        "Mitt nummer är [personnummer]",
        "Ta ärendet",
    ):
        assert text in page
    entries = _db(sqlite_db, service.audit_entries, object_type="handover", object_id=ticket.id)
    assert [(e.agent, e.action) for e in entries] == [("anna", "view")]
    data = await (await client.get(f"/console/api/conversations/{ticket.id}")).json()
    assert [m["kind"] for m in data["transcript"]] == ["bot", "citizen"]
    assert (await client.get("/console/conversations/999999")).status == 404


async def test_claim_then_reply_delivers_through_the_injected_function(
    database_url: str,  # noqa: F811
    aiohttp_client: Any,
) -> None:
    _agent(database_url)
    ticket = _open(database_url)
    delivered: list[tuple[str, str]] = []
    claimed: list[str] = []

    async def deliver(conversation_id: str, text: str) -> bool:
        delivered.append((conversation_id, text))
        return True

    async def on_claimed(conversation_id: str) -> None:
        claimed.append(conversation_id)

    client = await _console(aiohttp_client, database_url, deliver=deliver, on_claimed=on_claimed)
    csrf = await _login(client)
    base = f"/console/conversations/{ticket.id}"
    reply = await client.post(f"{base}/claim", data={"csrf_token": csrf}, allow_redirects=False)
    assert reply.status == 303 and claimed == ["citizen-1"]
    reply = await client.post(
        f"{base}/reply",
        data={"csrf_token": csrf, "text": "Hej, Anna här."},
        allow_redirects=False,
    )
    assert reply.status == 303 and reply.headers["Location"].endswith("?done=sent")
    assert delivered == [("citizen-1", "Hej, Anna här.")]
    [line] = _db(database_url, service.messages, "citizen-1")
    assert (line.kind, line.agent, line.delivered) == ("agent", "anna", True)
    actions = [e.action for e in _db(database_url, service.audit_entries, object_type="handover")]
    assert {"claim", "reply"} <= set(actions)


async def test_a_failed_delivery_is_shown_and_can_be_retried(
    sqlite_db: str, aiohttp_client: Any
) -> None:
    _agent(sqlite_db)
    ticket = _open(sqlite_db)
    outcomes: list[Any] = [RuntimeError("Rasa is down"), True]

    async def deliver(conversation_id: str, text: str) -> bool:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return bool(outcome)

    client, csrf, base = await _claimed(aiohttp_client, sqlite_db, ticket, deliver=deliver)
    reply = await client.post(f"{base}/reply", data={"csrf_token": csrf, "text": "Hallå?"})
    assert reply.status == 502
    page = await reply.text()
    assert "kunde inte levereras" in page and "Skicka igen" in page
    [line] = _db(sqlite_db, service.messages, "citizen-1")
    assert line.delivered is False
    reply = await client.post(
        f"{base}/replies/{line.id}/retry", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert reply.status == 303
    assert _db(sqlite_db, service.messages, "citizen-1")[0].delivered is True


async def test_note_transfer_and_close_from_the_console(
    sqlite_db: str, aiohttp_client: Any
) -> None:
    _agent(sqlite_db)
    ticket = _open(sqlite_db)
    closed: list[str] = []

    async def on_closed(conversation_id: str) -> None:
        closed.append(conversation_id)

    client = await _console(aiohttp_client, sqlite_db, on_closed=on_closed)
    csrf = await _login(client)
    base = f"/console/conversations/{ticket.id}"
    await client.post(f"{base}/claim", data={"csrf_token": csrf})
    await client.post(f"{base}/note", data={"csrf_token": csrf, "text": "Internt <b>"})
    bad = await client.post(f"{base}/transfer", data={"csrf_token": csrf, "queue": "mars"})
    assert bad.status == 409
    await client.post(f"{base}/transfer", data={"csrf_token": csrf, "queue": "stockholm"})
    view = _db(sqlite_db, service.get_handover, ticket.id)
    assert (view.queue, view.status) == ("stockholm", "waiting")
    await client.post(f"{base}/claim", data={"csrf_token": csrf})
    reply = await client.post(f"{base}/close", data={"csrf_token": csrf}, allow_redirects=False)
    assert reply.status == 303 and closed == ["citizen-1"]
    assert _db(sqlite_db, service.get_handover, ticket.id).status == "closed"
    page = await (await client.get(base)).text()
    assert "Internt &lt;b&gt;" in page


async def test_another_agents_handover_cannot_be_taken_over(
    sqlite_db: str, aiohttp_client: Any
) -> None:
    _agent(sqlite_db, "anna")
    _agent(sqlite_db, "bo")
    ticket = _open(sqlite_db)
    _db(sqlite_db, service.claim, ticket.id, "anna")
    client = await _console(aiohttp_client, sqlite_db)
    csrf = await _login(client, "bo")
    base = f"/console/conversations/{ticket.id}"
    for action, data in (("claim", {}), ("reply", {"text": "hej"}), ("close", {})):
        reply = await client.post(f"{base}/{action}", data={"csrf_token": csrf, **data})
        assert reply.status == 409, action
    assert _db(sqlite_db, service.get_handover, ticket.id).agent == "anna"


# --- live updates ------------------------------------------------------------------------------


async def test_two_web_processes_both_show_a_new_waiting_handover_live(
    database_url: str,  # noqa: F811
    aiohttp_client: Any,
) -> None:
    _agent(database_url)
    first = await _console(aiohttp_client, database_url)
    second = await _console(aiohttp_client, database_url)
    await _login(first)
    await _login(second)
    sockets = [await first.ws_connect("/console/ws"), await second.ws_connect("/console/ws")]
    for socket in sockets:
        assert (await socket.receive_json(timeout=10))["type"] == "hello"
    # The bot, a third process, puts a citizen in the queue.
    ticket = _open(database_url, "citizen-9", language="en", area="Malmö")
    for socket in sockets:
        event = await _next_event(socket, "opened")
        assert event["handover_id"] == ticket.id and event["status"] == "waiting"
        assert event["handover"]["conversation_id"] == "citizen-9"
        assert event["handover"]["area"] == "Malmö"
    # ... and a citizen message reaches both consoles too.
    _db(database_url, service.add_citizen_message, "citizen-9", "Are you there?")
    for socket in sockets:
        assert (await _next_event(socket, "message"))["handover_id"] == ticket.id
    queue = await (await second.get("/console/api/queue")).json()
    assert [item["conversation_id"] for item in queue["waiting"]] == ["citizen-9"]
    for socket in sockets:
        await socket.close()


# --- tips, callbacks, admin --------------------------------------------------------------------


def _insert_tip(session: Session) -> None:
    from bot.tips.models import tips

    session.execute(
        tips.insert().values(
            reference="T-ABCD-EFGH",
            idempotency_key="k" * 64,
            created_at=service.utcnow(),
            channel="rest",
            language="sv",
            how_known="seen_myself",
            anonymous=True,
            what_enc="SECRET-CIPHERTEXT",
            when_enc="x",
            delivery_status="pending",
            delivery_attempts=0,
        )
    )
    session.commit()


async def test_the_tips_inbox_lists_references_only_and_is_audited(
    sqlite_db: str, aiohttp_client: Any
) -> None:
    _agent(sqlite_db)
    _db(sqlite_db, _insert_tip)
    client = await _console(aiohttp_client, sqlite_db)
    await _login(client)
    page = await (await client.get("/console/tips")).text()
    assert "T-ABCD-EFGH" in page and "pending" in page and "SECRET" not in page
    entries = _db(sqlite_db, service.audit_entries, object_type="tips")
    assert [(e.agent, e.action) for e in entries] == [("anna", "list")]


async def test_callback_requests_are_listed_and_marked_handled_by_whom(
    sqlite_db: str, aiohttp_client: Any
) -> None:
    _agent(sqlite_db)
    reference = _db(sqlite_db, service.create_callback, "c-7", "08-123 456 78", "<b>Bo</b>")
    client = await _console(aiohttp_client, sqlite_db)
    csrf = await _login(client)
    page = await (await client.get("/console/callbacks")).text()
    assert reference in page and "0812345678" in page and "&lt;b&gt;Bo&lt;/b&gt;" in page
    [callback] = _db(sqlite_db, service.list_callbacks)
    reply = await client.post(
        f"/console/callbacks/{callback.id}/handled",
        data={"csrf_token": csrf},
        allow_redirects=False,
    )
    assert reply.status == 303
    [callback] = _db(sqlite_db, service.list_callbacks)
    assert (callback.status, callback.handled_by) == ("handled", "anna")
    assert "Hanterad av anna" in await (await client.get("/console/callbacks")).text()


async def test_admin_pages_need_the_admin_role(sqlite_db: str, aiohttp_client: Any) -> None:
    _agent(sqlite_db, "anna", "agent")
    client = await _console(aiohttp_client, sqlite_db)
    csrf = await _login(client)
    assert (await client.get("/console/admin")).status == 403
    reply = await client.post("/console/admin/banner", data={"csrf_token": csrf, "text": "x"})
    assert reply.status == 403
    assert _db(sqlite_db, service.get_banner) is None


async def test_an_admin_sets_the_banner_and_creates_accounts(
    sqlite_db: str, aiohttp_client: Any
) -> None:
    _agent(sqlite_db, "chef", "admin")
    client = await _console(aiohttp_client, sqlite_db)
    csrf = await _login(client, "chef")
    text = "Stor brand i Västerås: följ VMA."
    reply = await client.post("/console/admin/banner", data={"csrf_token": csrf, "text": text})
    assert reply.status == 200 and text in await reply.text()
    assert _db(sqlite_db, service.get_banner) == text
    reply = await client.post(
        "/console/admin/agents",
        data={"csrf_token": csrf, "username": "nyanställd", "password": "kort", "role": "agent"},
    )
    assert reply.status == 400
    reply = await client.post(
        "/console/admin/agents",
        data={"csrf_token": csrf, "username": "bo", "password": PASSWORD, "role": "agent"},
    )
    assert reply.status == 200 and "Kontot bo är skapat" in await reply.text()
    assert _db(sqlite_db, accounts.get_agent_by_name, "bo") is not None
    actions = {(e.action, e.object_type) for e in _db(sqlite_db, service.audit_entries)}
    assert {("set", "banner"), ("create", "agent")} <= actions


# --- staff API and static files ----------------------------------------------------------------


async def test_the_staff_api_lists_handovers_for_a_valid_bearer_token_only(
    database_url: str,  # noqa: F811
    aiohttp_client: Any,
) -> None:
    from bot.tips.tokens import create_token

    engine = make_engine(database_url)
    token = create_token(engine, "monitoring")
    engine.dispose()
    ticket = _open(database_url, "citizen-3", language="en", area="Luleå", reason="sensitive")
    client = await _console(aiohttp_client, database_url)
    assert (await client.get("/api/handovers")).status == 401
    bad = await client.get("/api/handovers", headers={"Authorization": "Bearer pbt_wrong"})
    assert bad.status == 401 and "Bearer" in bad.headers["WWW-Authenticate"]
    auth = {"Authorization": f"Bearer {token}"}
    reply = await client.get("/api/handovers?status=waiting", headers=auth)
    assert reply.status == 200 and reply.headers["Cache-Control"] == "no-store"
    [item] = (await reply.json())["handovers"]
    assert item["conversation_id"] == "citizen-3" and item["id"] == ticket.id
    assert (item["channel"], item["language"], item["area"], item["reason"], item["status"]) == (
        "socketio",
        "en",
        "Luleå",
        "sensitive",
        "waiting",
    )
    assert item["created_at"].endswith("Z")
    closed = await client.get("/api/handovers?status=closed", headers=auth)
    assert (await closed.json())["handovers"] == []
    assert (await client.get("/api/handovers?status=lost", headers=auth)).status == 400


async def test_static_files_are_served_without_login(sqlite_db: str, aiohttp_client: Any) -> None:
    client = await _console(aiohttp_client, sqlite_db)
    script = await client.get("/console/static/console.js")
    assert script.status == 200 and "textContent" in await script.text()
    assert (await client.get("/console/static/console.css")).status == 200
    assert (await client.get("/console/static/../console.py")).status in (403, 404)


async def test_a_console_socket_closes_when_its_session_ends_elsewhere(
    sqlite_db: str, aiohttp_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.handover.console.SESSION_RECHECK", 0.2)
    _agent(sqlite_db)
    client = await _console(aiohttp_client, sqlite_db)
    await _login(client)
    socket = await client.ws_connect("/console/ws")
    assert (await socket.receive_json(timeout=10))["type"] == "hello"
    _db(sqlite_db, accounts.set_active, "anna", False)
    message = await socket.receive(timeout=10)
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 4401


# --- Meta's messaging windows (issue #7) ------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "ago", "expected"),
    [
        ("messenger", timedelta(hours=2), None),
        ("messenger", timedelta(hours=30), "HUMAN_AGENT"),
        ("instagram", timedelta(days=8), "bara i 7 dagar"),
        ("whatsapp", timedelta(hours=30), "WhatsApp tar bara emot svar inom 24 timmar"),
        ("socketio", timedelta(days=30), None),
    ],
)
async def test_the_agent_is_told_about_the_window_before_replying(
    sqlite_db: str, aiohttp_client: Any, channel: str, ago: timedelta, expected: str | None
) -> None:
    _agent(sqlite_db)
    ticket = _open(sqlite_db, f"{channel}:123", channel=channel,
                   now=datetime.now(timezone.utc) - ago)
    client, csrf, base = await _claimed(aiohttp_client, sqlite_db, ticket)
    page = await (await client.get(base)).text()
    if expected is None:
        assert 'class="warning"' not in page
    else:
        assert 'class="warning"' in page and expected in page


async def test_a_reply_refused_for_the_7_day_window_says_so_plainly(
    sqlite_db: str, aiohttp_client: Any
) -> None:
    _agent(sqlite_db)
    ticket = _open(sqlite_db, "messenger:123", channel="messenger")

    async def deliver(conversation_id: str, text: str) -> Delivery:
        return Delivery(False, OUTSIDE_7D)

    client, csrf, base = await _claimed(aiohttp_client, sqlite_db, ticket, deliver=deliver)
    reply = await client.post(f"{base}/reply", data={"csrf_token": csrf, "text": "Hallå?"})
    assert reply.status == 502
    page = await reply.text()
    assert "mer än 7 dagar sedan medborgarens senaste meddelande" in page
    assert _db(sqlite_db, service.messages, "messenger:123")[0].delivered is False


async def test_on_rest_the_agent_is_told_the_reply_waits_for_the_citizens_next_message(
    sqlite_db: str, aiohttp_client: Any
) -> None:
    _agent(sqlite_db)
    ticket = _open(sqlite_db, "rest-citizen", channel="rest")

    async def deliver(conversation_id: str, text: str) -> bool:
        return True

    client, csrf, base = await _claimed(aiohttp_client, sqlite_db, ticket, deliver=deliver)
    page = await (await client.get(base)).text()
    assert 'class="warning"' in page and "REST-kanalen" in page and "nästa gång" in page
    reply = await client.post(f"{base}/reply", data={"csrf_token": csrf, "text": "Hej!"},
                              allow_redirects=False)
    assert reply.status == 303 and reply.headers["Location"].endswith("?done=saved")
    page = await (await client.get(reply.headers["Location"])).text()
    assert "Medborgaren ser det när hen skriver nästa gång" in page
    assert "Svaret är levererat." not in page


async def test_a_reply_to_a_closed_chat_window_says_so_plainly(
    sqlite_db: str, aiohttp_client: Any
) -> None:
    _agent(sqlite_db)
    ticket = _open(sqlite_db)

    async def deliver(conversation_id: str, text: str) -> Delivery:
        return Delivery(False, NOT_CONNECTED)

    client, csrf, base = await _claimed(aiohttp_client, sqlite_db, ticket, deliver=deliver)
    reply = await client.post(f"{base}/reply", data={"csrf_token": csrf, "text": "Hallå?"})
    assert reply.status == 502
    page = await reply.text()
    assert "chattfönster är inte anslutet just nu" in page and "Skicka igen" in page
    assert _db(sqlite_db, service.messages, "citizen-1")[0].delivered is False


def test_replies_go_out_on_the_channel_the_handover_came_in_on() -> None:
    assert output_channel("Zx9_token", "socketio") == "socketio"
    assert output_channel("test-1", "rest") == "rest"
    assert output_channel("messenger:123", "messenger") == "messenger"
    assert output_channel("messenger:123", None) == "messenger", "no record: the id says"
    assert output_channel("messenger:123", "rest") == "rest", "a REST id is not Messenger's"
    assert output_channel("Zx9_token", None) == "latest"
    assert output_channel("Zx9_token", "unknown") == "latest"
    assert delivery_problem(
        "An unexpected error occurred. Error: cannot deliver: no web chat window is "
        "connected to the conversation") == NOT_CONNECTED


def test_the_channel_of_a_conversation_is_its_newest_handovers(sqlite_db: str) -> None:
    assert _db(sqlite_db, service.conversation_channel, "c-1") is None
    first = _open(sqlite_db, "c-1", channel="rest")
    _db(sqlite_db, service.cancel_handover, "c-1")
    assert _db(sqlite_db, service.conversation_channel, "c-1") == "rest"
    second = _open(sqlite_db, "c-1", channel="socketio")
    assert second.id != first.id
    assert _db(sqlite_db, service.conversation_channel, "c-1") == "socketio"


async def test_the_citizen_hears_of_a_claim_once_and_of_a_transfer(
    sqlite_db: str, aiohttp_client: Any
) -> None:
    """Claiming one's own handover again must not tell the citizen "has joined" twice; a
    transfer back to a queue must tell them they wait again; a new claim after it is news."""
    _agent(sqlite_db)
    ticket = _open(sqlite_db)
    told: list[tuple[str, str]] = []

    def hook(kind: str) -> Any:
        async def notify(conversation_id: str) -> None:
            told.append((kind, conversation_id))
        return notify

    client = await _console(aiohttp_client, sqlite_db, on_claimed=hook("claimed"),
                            on_transferred=hook("transferred"))
    csrf = await _login(client)
    base = f"/console/conversations/{ticket.id}"
    await client.post(f"{base}/claim", data={"csrf_token": csrf})
    await client.post(f"{base}/claim", data={"csrf_token": csrf})
    assert told == [("claimed", "citizen-1")]
    await client.post(f"{base}/transfer", data={"csrf_token": csrf, "queue": "stockholm"})
    await client.post(f"{base}/claim", data={"csrf_token": csrf})
    assert told == [("claimed", "citizen-1"), ("transferred", "citizen-1"),
                    ("claimed", "citizen-1")]
