"""A chat tip whose answer was cut to 2,000 characters says so in the stored tip
(`capped_fields`), as the citizen was told."""

from __future__ import annotations

import sqlalchemy as sa

from bot.storage.db import make_engine
from bot.tips.intake import capped_slots
from tests.conftest import RunningSystem
from tests.test_tip_conversations import REFERENCE


def _capped_fields(system: RunningSystem, reference: str) -> str | None:
    engine = make_engine(system.settings.database_url)
    with engine.connect() as connection:
        found = connection.execute(sa.text("SELECT capped_fields FROM tips WHERE reference = :r"),
                                   {"r": reference}).scalar_one()
    engine.dispose()
    return found


def test_a_capped_answer_is_marked_on_the_stored_tip(system: RunningSystem) -> None:
    chat = system.chat()
    chat.say("hej")
    assert "Vad vill du tipsa om?" in chat.say("jag vill tipsa polisen")
    long_what = "Det langas narkotika vid skolan på kvällarna. " * 60  # about 2,800 characters
    assert "Jag sparade de första 2000 tecknen" in chat.say(long_what)
    chat.say("varje fredag kväll")
    chat.say("bakom Storskolan i Karlstad")
    chat.say("/tip_seen")
    chat.say("/tip_anonymous")
    reference = REFERENCE.search(chat.say("/affirm"))
    assert reference, "the tip was stored"
    assert _capped_fields(system, reference.group()) == "what"


def test_an_answer_corrected_to_fit_is_no_longer_capped() -> None:
    assert capped_slots(None, "tip_what", True) == ["tip_what"]
    assert capped_slots(["tip_what", "tip_when"], "tip_what", False) == ["tip_when"]
    assert capped_slots(["nonsense"], "tip_where", False) == []
