"""A standard Rasa client against our server: botfront's rasa-webchat 1.0.1 (pinned in
tests/webchat/package-lock.json, `npm ci` there), the most used socket.io client for Rasa,
in Debian's Chromium. It polls first (CORS), renders only Rasa's documented message shapes,
and resumes with the session id it stored."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from aiohttp import web

from bot.launcher import free_port
from bot.settings import PROJECT_ROOT
from tests.conftest import RunningSystem, running_system
from tests.test_widget_browser import REPLY_MS, ServedApp, _missing, browser  # noqa: F401

WEBCHAT = PROJECT_ROOT / "tests" / "webchat" / "node_modules" / "rasa-webchat" / "lib" / "index.js"

PAGE = """<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>rasa-webchat</title></head>
<body><div id="webchat"></div>
<script src="/__webchat/index.js"></script>
<script>
  WebChat.default({
    selector: "#webchat",
    socketUrl: %(server)s,
    socketPath: "/socket.io/",
    customData: {language: "sv"},
    params: {storage: "session"},
    embedded: true,
    title: "Polisen",
    customMessageDelay: () => 0
  }, null);
</script></body></html>"""


def host_page(server: str) -> web.Application:
    """The host page with rasa-webchat from its npm package, as a site would embed it."""
    page = PAGE % {"server": json.dumps(server)}

    async def host(_: web.Request) -> web.StreamResponse:
        return web.Response(text=page, content_type="text/html")

    async def script(_: web.Request) -> web.StreamResponse:
        return web.FileResponse(WEBCHAT)

    app = web.Application()
    app.router.add_get("/", host)
    app.router.add_get("/__webchat/index.js", script)
    return app


@pytest.fixture(scope="module")
def host_port() -> int:
    """The port of the page rasa-webchat runs on, known before the system starts."""
    return free_port()


@pytest.fixture(scope="module")
def system(model_path: Any, tmp_path_factory: pytest.TempPathFactory,
           host_port: int) -> Iterator[RunningSystem]:
    """A system whose CORS allow-list names the host page's origin, as production names
    polisen.se's."""
    with running_system(model_path, tmp_path_factory,
                        CORS_ORIGINS=f"http://127.0.0.1:{host_port}") as running:
        yield running


@pytest.fixture
def webchat(browser: Any, system: RunningSystem, host_port: int) -> Iterator[Any]:  # noqa: F811
    """rasa-webchat on a page of another origin than the Rasa server (as on polisen.se), so
    the socket is cross-origin."""
    if not WEBCHAT.exists():
        _missing("rasa-webchat is not installed: run `npm ci` in tests/webchat/")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(REPLY_MS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # rasa-webchat's stylesheet asks Google Fonts; the test stays offline.
    page.route(re.compile(r"^https?://fonts\."), lambda route: route.abort())
    with ServedApp(host_page(system.rasa_url), port=host_port) as served:
        page.goto(served.url + "/")
        yield page
    context.close()
    assert not errors, errors


def _conversation(page: Any) -> str:
    stored = json.loads(page.evaluate("sessionStorage.getItem('chat_session')"))
    return str(stored["session_id"]).split(".")[0]


def _say(page: Any, text: str) -> None:
    answers = page.locator(".rw-response").count()
    page.locator(".rw-new-message").fill(text)
    page.locator(".rw-new-message").press("Enter")
    page.wait_for_function(
        f"() => document.querySelectorAll('.rw-response').length > {answers}")
    page.wait_for_timeout(1500)  # the rest of the turn


def _user_texts(system: RunningSystem, conversation: str) -> list[str]:
    reply = requests.get(f"{system.rasa_url}/conversations/{conversation}/tracker",
                         params={"token": system.token}, timeout=10)
    return [e.get("text") for e in reply.json()["events"] if e["event"] == "user"]


def _agent_replies(system: RunningSystem, conversation: str, text: str) -> None:
    """What the console does when an agent answers (bot/handover/rasa_link.py)."""
    params = {"token": system.token, "output_channel": "socketio"}
    base = f"{system.rasa_url}/conversations/{conversation}"
    requests.post(base + "/tracker/events", params=params, timeout=30, json=[
        {"event": "slot", "name": "agent_message", "value": text}]).raise_for_status()
    requests.post(base + "/execute", params=params, timeout=30,
                  json={"name": "action_relay_agent_message"}).raise_for_status()


def test_rasa_webchat_shows_replies_buttons_and_agent_replies_and_resumes_after_a_reload(
        webchat: Any, system: RunningSystem) -> None:
    page = webchat
    page.locator(".rw-new-message").wait_for()  # shown only once connected
    _say(page, "hej")
    responses = page.locator(".rw-response").all_inner_texts()
    assert any("Jag är en AI" in t for t in responses), responses
    page.locator(".rw-reply", has_text="Lämna tips").wait_for()
    page.locator(".rw-reply", has_text="Lämna tips").click()
    page.locator(".rw-response", has_text="tips").last.wait_for()
    conversation = _conversation(page)
    _agent_replies(system, conversation, "Hej, jag heter Anna.")
    page.locator(".rw-response", has_text="Hej, jag heter Anna.").wait_for()
    shown = page.locator(".rw-message").count()

    page.reload()
    page.locator(".rw-new-message").wait_for()
    assert page.locator(".rw-message").count() >= shown, "the conversation is still shown"
    _say(page, "avbryt")
    assert _conversation(page) == conversation, "the stored session id is kept"
    texts = _user_texts(system, conversation)
    assert texts[0] == "hej" and texts[-1] == "avbryt", texts
    assert sum(bool(re.search("Jag är en AI", t))
               for t in page.locator(".rw-response").all_inner_texts()) == 1, "no new welcome"
