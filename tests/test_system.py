"""The running system as an operator sees it."""

from __future__ import annotations

import requests

from tests.conftest import RunningSystem


def test_health_is_green_when_everything_runs(system: RunningSystem) -> None:
    reply = requests.get(f"http://127.0.0.1:{system.settings.web_port}/health", timeout=10)
    assert reply.status_code == 200
    assert set(reply.json()["components"]) == {"database", "rasa", "actions", "web", "supervisor"}


def test_conversations_are_stored_in_the_service_database(system: RunningSystem) -> None:
    import sqlalchemy as sa

    from bot.storage.db import make_engine

    chat = system.chat()
    chat.say("hej")
    engine = make_engine(system.settings.database_url)
    with engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM events WHERE sender_id = :s"),
                                   {"s": chat.sender}).scalar()
    engine.dispose()
    assert count and count > 3


def test_a_conversation_survives_a_restart_of_the_rasa_server(system: RunningSystem) -> None:
    chat = system.chat()
    assert "AI" in chat.say("hej")
    chat.say("vad har polisen lovat i Karlstad?")
    system.stack.restart("rasa")
    text = chat.say("vem ansvarar för löftet?")
    assert "Jag är en AI" not in text, "the session goes on: no second welcome"
    assert "Karlstad" in text, "the remembered area survived the restart"
