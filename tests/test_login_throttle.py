"""Console logins are throttled per client and per user name from that client: a stranger
cannot lock an agent out, a guesser cannot try name after name, an office behind one
address still logs in."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.handover import accounts
from bot.handover.service import utcnow
from tests.test_handover_service import database_url, session  # noqa: F401 - fixtures

PASSWORD = "korrekt häst batteri"
STRANGER, OFFICE = "203.0.113.9", "198.51.100.20"


def test_a_stranger_failing_an_agents_login_does_not_lock_the_agent_out(
        session: Session) -> None:  # noqa: F811
    accounts.create_agent(session, "anna", PASSWORD)
    now = utcnow()
    for _ in range(5):
        accounts.login(session, "anna", "fel", max_failures=5, now=now, client=STRANGER)
    assert accounts.login(session, "anna", PASSWORD, max_failures=5, now=now,
                          client=STRANGER).locked, "the stranger is refused"
    assert accounts.login(session, "anna", PASSWORD, max_failures=5, now=now,
                          client=OFFICE).agent, "anna logs in from her office"


def test_a_client_guessing_many_user_names_is_refused(session: Session) -> None:  # noqa: F811
    accounts.create_agent(session, "anna", PASSWORD)
    now = utcnow()
    results = [accounts.login(session, f"namn{i}", "fel", max_failures=5, now=now,
                              client=STRANGER) for i in range(30)]
    assert results[-1].locked and sum(r.locked for r in results) >= 10
    assert accounts.login(session, "anna", PASSWORD, max_failures=5, now=now,
                          client=STRANGER).locked


def test_an_office_behind_one_address_keeps_logging_in_at_normal_use(
        session: Session) -> None:  # noqa: F811
    now = utcnow()
    for i in range(12):
        accounts.create_agent(session, f"agent{i}", PASSWORD)
    for i in range(12):  # every agent mistypes once, then logs in
        assert not accounts.login(session, f"agent{i}", "fel", max_failures=5, now=now,
                                  client=OFFICE).locked
        assert accounts.login(session, f"agent{i}", PASSWORD, max_failures=5, now=now,
                              client=OFFICE).agent
