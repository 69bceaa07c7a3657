"""When the action server hangs or fails, every citizen gets an honest answer on their own
channel, what they wrote is kept, and an emergency never waits for it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.safety import detect_emergency
from tests.action_proxy import ActionProxy
from tests.conftest import Chat, RunningSystem, running_system
from tests.test_socketio import Client
from tests.test_tip_conversations import _fill

REFERENCE = re.compile(r"T-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}")
EMERGENCY = "hjälp någon bryter sig in hos mig just nu"


@pytest.fixture(scope="module")
def proxied(model_path: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[RunningSystem, ActionProxy]]:
    """A system whose Rasa server reaches the action server through a fault injector, with
    a short action deadline so a hang costs the test seconds."""
    with ActionProxy() as proxy, running_system(
            model_path, tmp_path_factory, ACTION_ENDPOINT_URL=f"{proxy.url}/webhook",
            ACTION_TIMEOUT_SECONDS="2") as system:
        proxy.target = system.settings.actions_url
        yield system, proxy


@pytest.fixture
def proxy(proxied: tuple[RunningSystem, ActionProxy]) -> Iterator[ActionProxy]:
    yield proxied[1]
    proxied[1].release()
    proxied[1].broken = False


@pytest.fixture
def system(proxied: tuple[RunningSystem, ActionProxy]) -> RunningSystem:
    return proxied[0]


def test_an_emergency_as_the_first_message_gets_112_while_the_action_server_hangs(
        system: RunningSystem, proxy: ActionProxy) -> None:
    assert detect_emergency(EMERGENCY), "the deterministic net must know the test's message"
    proxy.hang()
    started = time.perf_counter()
    text = system.chat().say(EMERGENCY)
    elapsed = time.perf_counter() - started
    assert "Ring 112 nu" in text
    assert proxy.hanging, "answered while the action server still hangs"
    print(f"\nREST: 112 as the first message with a hung action server in {elapsed:.2f} s")


def test_on_the_web_chat_too(system: RunningSystem, proxy: ActionProxy) -> None:
    proxy.hang()
    client = Client(system.rasa_url)
    session = client.start()
    started = time.perf_counter()
    client.sio.emit("user_uttered", {"message": EMERGENCY, "session_id": session})
    while "Ring 112 nu" not in client.replies.get(timeout=30).get("text", ""):
        pass
    elapsed = time.perf_counter() - started
    client.close()
    assert proxy.hanging
    print(f"\nsocket.io: 112 as the first message with a hung action server in {elapsed:.2f} s")


def test_a_hung_action_server_gets_an_honest_answer_and_the_draft_is_kept(
        system: RunningSystem, proxy: ActionProxy) -> None:
    chat = system.chat()
    chat.say("hej")
    _fill(chat)
    assert "Så här ser ditt tips ut" in chat.say("/tip_anonymous")
    proxy.hang()
    text = chat.say("/affirm")
    assert "Något gick fel" in text and "114 14" in text
    assert not REFERENCE.search(text)
    proxy.release()
    assert REFERENCE.search(chat.say("/affirm")), "the draft was kept: sending again works"


def test_a_failing_action_server_answers_in_the_citizens_language(
        system: RunningSystem, proxy: ActionProxy) -> None:
    chat = system.chat()
    assert "What do you want to tell" in chat.say("I want to give a tip")
    proxy.broken = True
    text = chat.say("Someone is selling stolen bikes from a garage")
    assert "Something went wrong" in text and "114 14" in text


def test_a_new_conversation_starts_normally_while_the_action_server_fails(
        system: RunningSystem, proxy: ActionProxy) -> None:
    proxy.broken = True
    chat: Chat = system.chat()
    text = chat.say("hej")
    assert "AI" in text, "the AI notice comes from the Rasa server itself"
    assert "förstår" not in text
    assert "114 14" in chat.say("hur kontaktar jag polisen?")


def test_the_web_chat_gets_the_honest_answer(system: RunningSystem, proxy: ActionProxy) -> None:
    client = Client(system.rasa_url)
    session = client.start()
    client.say("jag vill tipsa polisen", session)
    proxy.broken = True
    texts = client.say("Det langas narkotika vid skolan på kvällarna", session)
    client.close()
    assert any("Något gick fel" in t and "114 14" in t for t in texts), texts


def test_an_emergency_in_the_middle_of_a_tip_is_not_held_back_by_a_hung_action_server(
        system: RunningSystem, proxy: ActionProxy) -> None:
    chat = system.chat()
    chat.say("hej")
    assert "Vad vill du tipsa om?" in chat.say("jag vill tipsa polisen")
    proxy.hang()
    started = time.perf_counter()
    text = chat.say(EMERGENCY)
    elapsed = time.perf_counter() - started
    assert "Ring 112 nu" in text and proxy.hanging
    print(f"\nREST: 112 mid-tip with a hung action server in {elapsed:.2f} s")
