"""The contact-centre console in a real browser (Debian's chromium through Playwright)
against the real servers: a citizen on the socket.io channel asks for a person, the
console shows it live, the agent claims and replies, the citizen receives it and answers,
the answer shows in the open console page without a reload, the agent closes and the bot
answers again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.handover.accounts import create_agent
from bot.storage.db import make_engine, make_session_factory
from tests.conftest import RunningSystem
from tests.test_socketio import Client
from tests.test_widget_browser import browser  # noqa: F401 - the shared chromium fixture

PASSWORD = "korrekt-hast-batteri-häftklammer"


def tell(citizen: Client, token: str, text: str) -> None:
    """A message during handover: the bot stays silent, so no reply is awaited."""
    citizen.sio.emit("user_uttered", {"message": text, "session_id": token})


@pytest.fixture(scope="module")
def agent(system: RunningSystem) -> str:
    engine = make_engine(system.settings.database_url)
    with make_session_factory(engine)() as session:
        create_agent(session, "anna.browser", PASSWORD, "agent")
        session.commit()
    engine.dispose()
    return "anna.browser"


@pytest.fixture
def console(system: RunningSystem, browser: Any, agent: str) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    base = f"http://127.0.0.1:{system.settings.web_port}"
    page.goto(f"{base}/console/login")
    page.fill("#username", agent)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/console")
    yield page
    context.close()


def test_a_whole_handover_through_the_console(system: RunningSystem, console: Any) -> None:
    citizen = Client(system.rasa_url)
    token = citizen.start()
    citizen.say("hej", token)
    assert any("i kön" in t for t in citizen.say("jag vill prata med en människa", token))
    tell(citizen, token, "<img src=x onerror=alert(1)> min cykel är borta")
    link = console.wait_for_selector("a[href^='/console/conversations/']", timeout=15_000)
    link.click()
    console.wait_for_selector("text=min cykel är borta", timeout=15_000)
    assert console.locator("img[src='x']").count() == 0, "citizen text is shown inert"
    console.click("text=Ta ärendet")
    console.wait_for_url("**done=claimed")
    console.fill("#reply-text", "Hej! Jag heter Anna. Vad gäller det?")
    console.click("text=Skicka svar")
    # The citizen has the reply before the console's redirect lands: wait for the page.
    console.wait_for_url("**done=sent")
    texts: list[str] = []
    while not any("Jag heter Anna" in t for t in texts):
        texts.append(citizen.replies.get(timeout=20).get("text", ""))
    tell(citizen, token, "Det gäller min stulna cykel")
    console.wait_for_selector("text=Det gäller min stulna cykel", timeout=15_000)
    console.click("text=Avsluta (assistenten tar över)")
    back: list[str] = []
    while not any("tillbaka" in t for t in back):
        back.append(citizen.replies.get(timeout=20).get("text", ""))
    assert any("114 14" in t for t in citizen.say("hur kontaktar jag polisen?", token))
    citizen.close()


def test_console_pages_need_a_login(system: RunningSystem, browser: Any) -> None:  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    base = f"http://127.0.0.1:{system.settings.web_port}"
    page.goto(f"{base}/console")
    assert "/console/login" in page.url
    context.close()
