"""The handover queue, accounts, staffing hours and the event feed, without the web layer.

Storage tests run on the embedded SQLite file and on a throwaway PostgreSQL database.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.orm import Session

from bot.handover import accounts, service
from bot.handover.events import Event, EventCursor, events_after, latest_event_id
from bot.handover.hours import Schedule, ScheduleError, is_open, next_opening
from bot.handover.models import audit_log, handovers, utcnow
from bot.handover.settings import HandoverSettings
from bot.storage.db import make_engine, make_session_factory
from bot.storage.migrate import alembic_config, upgrade

UTC = timezone.utc


@pytest.fixture
def database_url(database_url: str) -> str:
    """The shared database fixture (SQLite and PostgreSQL), migrated."""
    upgrade(database_url)
    return database_url


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as db:
            yield db
    finally:
        engine.dispose()


def _open(session: Session, conversation: str, **kwargs: object) -> service.HandoverTicket:
    values: dict[str, object] = {
        "channel": "rest",
        "language": "sv",
        "area": "Uppsala",
        "reason": "asked_for_person",
    }
    values.update(kwargs)
    return service.open_handover(session, conversation, **values)  # type: ignore[arg-type]


def _audit(session: Session, object_id: int | str) -> list[tuple[str, str]]:
    entries = service.audit_entries(session, object_type="handover", object_id=object_id)
    return [(e.agent, e.action) for e in reversed(entries)]


# --- migration ---------------------------------------------------------------------------------


def test_migration_creates_the_handover_tables_and_downgrades_cleanly(database_url: str) -> None:
    engine = make_engine(database_url)
    tables = set(sa.inspect(engine).get_table_names())
    assert {
        "handovers",
        "handover_messages",
        "handover_events",
        "audit_log",
        "agents",
        "console_sessions",
        "callbacks",
        "banner",
    } <= tables
    engine.dispose()
    command.downgrade(alembic_config(database_url), "0003")
    engine = make_engine(database_url)
    assert "handovers" not in sa.inspect(engine).get_table_names()
    engine.dispose()
    upgrade(database_url)


def test_the_migration_matches_the_table_models(database_url: str) -> None:
    from bot.handover import models

    engine = make_engine(database_url)
    inspector = sa.inspect(engine)
    for table in (
        models.handovers,
        models.handover_messages,
        models.handover_events,
        models.audit_log,
        models.agents,
        models.console_sessions,
        models.callbacks,
        models.banner,
    ):
        assert {c["name"] for c in inspector.get_columns(table.name)} == set(table.c.keys())
        indexes = {ix["name"] for ix in inspector.get_indexes(table.name)}
        assert {ix.name for ix in table.indexes} <= indexes, table.name
    engine.dispose()


# --- the citizen's side ------------------------------------------------------------------------


def test_opening_twice_while_waiting_returns_the_same_ticket(session: Session) -> None:
    first = _open(session, "c-1")
    again = _open(session, "c-1", reason="fallback")
    assert again == first
    assert first.status == "waiting" and first.queue == "national" and first.position == 1
    count = session.execute(sa.select(sa.func.count()).select_from(handovers)).scalar_one()
    assert count == 1


def test_simultaneous_requests_from_one_conversation_share_one_ticket(
    database_url: str,
) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    start = threading.Barrier(6)

    def request(_: int) -> int:
        with factory() as own:
            start.wait()
            return _open(own, "double-tap").id

    try:
        with ThreadPoolExecutor(6) as pool:
            ids = set(pool.map(request, range(6)))
        with factory() as check:
            count = check.execute(sa.select(sa.func.count()).select_from(handovers)).scalar_one()
    finally:
        engine.dispose()
    assert len(ids) == 1 and count == 1


def test_when_two_agents_claim_at_once_exactly_one_gets_it(database_url: str) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with factory() as setup:
        ticket = _open(setup, "c-1")
    start = threading.Barrier(4)

    def take(agent: str) -> str:
        with factory() as own:
            start.wait()
            try:
                return service.claim(own, ticket.id, agent).agent or ""
            except service.NotAssigned:
                return "refused"

    try:
        with ThreadPoolExecutor(4) as pool:
            outcomes = list(pool.map(take, ["anna", "bo", "cissi", "dan"]))
    finally:
        engine.dispose()
    winners = [o for o in outcomes if o != "refused"]
    assert len(winners) == 1 and outcomes.count("refused") == 3


def test_the_database_refuses_a_second_open_handover_for_one_conversation(
    session: Session,
) -> None:
    _open(session, "c-1")
    with pytest.raises(sa.exc.IntegrityError):
        session.execute(
            handovers.insert().values(
                conversation_id="c-1",
                channel="rest",
                language="sv",
                reason="x",
                queue="national",
                status="waiting",
                created_at=utcnow(),
            )
        )
    session.rollback()


def test_position_counts_the_waiting_ahead_in_the_same_queue_only(session: Session) -> None:
    base = utcnow() - timedelta(minutes=10)
    a = _open(session, "a", now=base)
    _open(session, "other-queue", queue="stockholm", now=base + timedelta(minutes=1))
    b = _open(session, "b", now=base + timedelta(minutes=2))
    c = _open(session, "c", now=base + timedelta(minutes=3))
    assert (a.position, b.position, c.position) == (1, 2, 3)
    assert service.status_of(session, "other-queue").position == 1  # type: ignore[union-attr]
    service.claim(session, a.id, "anna")
    assert service.status_of(session, "c").position == 2  # type: ignore[union-attr]
    assert service.status_of(session, "a").position == 0  # type: ignore[union-attr]


def test_estimated_wait_is_five_minutes_before_any_handover_was_handled(
    session: Session,
) -> None:
    assert _open(session, "c-1").estimated_wait_minutes == service.DEFAULT_WAIT_MINUTES == 5


def test_estimated_wait_is_the_median_claim_wait_of_the_last_twenty_closed(
    session: Session,
) -> None:
    now = utcnow()
    # Five old handovers waited an hour each; the twenty newer ones 2, 3 or 9 minutes.
    waits = [60] * 5 + [2] * 6 + [3] * 8 + [9] * 6
    for number, minutes in enumerate(waits):
        ticket = _open(session, f"done-{number}", now=now - timedelta(minutes=minutes))
        service.claim(session, ticket.id, "anna")
        service.close(session, ticket.id, "anna")
    # Never claimed (cancelled) handovers say nothing about how long agents take.
    cancelled = _open(session, "left", now=now - timedelta(hours=5))
    service.cancel_handover(session, cancelled.conversation_id)
    assert _open(session, "new").estimated_wait_minutes == 3


def test_cancel_closes_the_handover_and_a_later_request_opens_a_new_one(
    session: Session,
) -> None:
    first = _open(session, "c-1")
    cancelled = service.cancel_handover(session, "c-1")
    assert cancelled is not None and cancelled.status == "closed"
    assert service.status_of(session, "c-1").status == "closed"  # type: ignore[union-attr]
    assert service.cancel_handover(session, "c-1") is None
    second = _open(session, "c-1")
    assert second.id != first.id and second.status == "waiting"


def test_status_of_an_unknown_conversation_is_none(session: Session) -> None:
    assert service.status_of(session, "never-handed-over") is None


def test_agent_claims_replies_notes_transfers_and_closes_with_audit_lines(
    session: Session,
) -> None:
    ticket = _open(session, "c-1")
    service.add_citizen_message(session, "c-1", "Jag vill prata med en människa")
    view = service.claim(session, ticket.id, "anna")
    assert view.status == "active" and view.agent == "anna" and view.claimed_at is not None
    recorded = service.reply(session, ticket.id, "anna", "Hej, jag heter Anna.")
    assert recorded.delivered is None and recorded.conversation_id == "c-1"
    service.mark_reply_delivered(session, recorded.id, True)
    service.note(session, ticket.id, "anna", "Verkar gälla ett bedrägeri.")
    moved = service.transfer(session, ticket.id, "anna", "stockholm")
    assert (moved.status, moved.queue, moved.agent) == ("waiting", "stockholm", None)
    service.claim(session, ticket.id, "bo")
    closed = service.close(session, ticket.id, "bo")
    assert closed.status == "closed" and closed.closed_by == "bo"
    transcript = service.messages(session, "c-1")
    assert [(m.kind, m.delivered) for m in transcript] == [("citizen", None), ("agent", True)]
    assert [m.text for m in service.messages(session, "c-1", notes=True)] == [
        "Verkar gälla ett bedrägeri."
    ]
    assert _audit(session, ticket.id) == [
        ("anna", "claim"),
        ("anna", "reply"),
        ("anna", "note"),
        ("anna", "transfer:stockholm"),
        ("bo", "claim"),
        ("bo", "close"),
    ]


def test_only_the_assigned_agent_replies_transfers_or_closes(session: Session) -> None:
    ticket = _open(session, "c-1")
    with pytest.raises(service.InvalidState):
        service.reply(session, ticket.id, "anna", "för tidigt")
    service.claim(session, ticket.id, "anna")
    service.claim(session, ticket.id, "anna")  # claiming one's own again is harmless
    with pytest.raises(service.NotAssigned):
        service.claim(session, ticket.id, "bo")
    with pytest.raises(service.NotAssigned):
        service.reply(session, ticket.id, "bo", "hej")
    with pytest.raises(service.NotAssigned):
        service.transfer(session, ticket.id, "bo", "syd")
    with pytest.raises(service.NotAssigned):
        service.close(session, ticket.id, "bo")
    service.close(session, ticket.id, "anna")
    with pytest.raises(service.InvalidState):
        service.claim(session, ticket.id, "bo")
    with pytest.raises(service.NotFound):
        service.claim(session, 999_999, "bo")


def test_empty_replies_and_notes_are_refused(session: Session) -> None:
    ticket = _open(session, "c-1")
    service.claim(session, ticket.id, "anna")
    with pytest.raises(service.HandoverError):
        service.reply(session, ticket.id, "anna", "   ")
    with pytest.raises(service.HandoverError):
        service.note(session, ticket.id, "anna", "")


def test_turns_before_the_handover_are_kept_for_the_agent(session: Session) -> None:
    service.add_bot_message(session, "c-1", "Hej! Jag är en AI-assistent.")
    service.add_citizen_message(session, "c-1", "mitt nummer är [personnummer]")
    ticket = _open(session, "c-1")
    service.add_citizen_message(session, "c-1", "hallå?\x00")
    lines = service.messages(session, "c-1")
    assert [(m.kind, m.handover_id) for m in lines] == [
        ("bot", None),
        ("citizen", None),
        ("citizen", ticket.id),
    ]
    assert lines[-1].text == "hallå?"  # control characters are dropped


def test_every_change_is_an_event_other_processes_can_read(session: Session) -> None:
    start = latest_event_id(session)
    ticket = _open(session, "c-1")
    service.add_citizen_message(session, "c-1", "hej")
    service.claim(session, ticket.id, "anna")
    service.close(session, ticket.id, "anna")
    events = events_after(session, start)
    assert [e.kind for e in events] == ["opened", "message", "claimed", "closed"]
    assert events[0].handover is not None and events[0].handover["status"] == "closed"
    assert events[0].conversation_id == "c-1" and events[0].status == "waiting"


def test_callback_requests_need_a_phone_number_and_are_not_duplicated(
    session: Session,
) -> None:
    with pytest.raises(ValueError):
        service.create_callback(session, "c-1", "ring mig")
    reference = service.create_callback(session, "c-1", "070-123 45 67", language="en")
    again = service.create_callback(session, "c-1", "0701234567", "Anna", "efter 17")
    assert again == reference and reference.startswith("C-") and len(reference) == 11
    [callback] = service.list_callbacks(session)
    assert (callback.phone, callback.name, callback.best_time) == ("0701234567", "Anna", "efter 17")
    assert callback.status == "new" and callback.handled_by is None
    handled = service.mark_callback_handled(session, callback.id, "bo")
    assert handled.status == "handled" and handled.handled_by == "bo"
    assert service.mark_callback_handled(session, callback.id, "cissi").handled_by == "bo"
    # Once handled, a new request from the same conversation is a new callback.
    assert service.create_callback(session, "c-1", "+46 70 123 45 67") != reference
    assert [
        (e.agent, e.action) for e in service.audit_entries(session, object_type="callback")
    ] == [("bo", "handled")]


def test_the_banner_is_set_shown_and_cleared(session: Session) -> None:
    assert service.get_banner(session) is None
    service.set_banner(session, "Stor störning i Göteborg: ring 114 14.", "admin")
    assert service.get_banner(session) == "Stor störning i Göteborg: ring 114 14."
    assert service.banner_details(session).updated_by == "admin"
    service.set_banner(session, "   ", "admin")
    assert service.get_banner(session) is None


# --- accounts ----------------------------------------------------------------------------------


def test_passwords_are_stored_as_argon2_hashes_and_checked(session: Session) -> None:
    agent = accounts.create_agent(session, "Anna", "korrekt häst batteri", "admin")
    assert agent.username == "anna" and agent.is_admin
    stored = session.execute(sa.text("SELECT password_hash FROM agents")).scalar_one()
    assert stored.startswith("$argon2id$") and "häst" not in stored
    assert accounts.login(session, "ANNA", "korrekt häst batteri").agent == accounts.get_agent(
        session, agent.id
    )
    assert accounts.login(session, "anna", "fel lösenord!!").agent is None
    assert accounts.login(session, "nobody", "korrekt häst batteri").agent is None


def test_account_rules_refuse_short_passwords_bad_names_and_duplicates(
    session: Session,
) -> None:
    with pytest.raises(accounts.AccountError):
        accounts.create_agent(session, "anna", "kort")
    with pytest.raises(accounts.AccountError):
        accounts.create_agent(session, "<script>", "korrekt häst batteri")
    with pytest.raises(accounts.AccountError):
        accounts.create_agent(session, "anna", "korrekt häst batteri", "root")
    accounts.create_agent(session, "anna", "korrekt häst batteri")
    with pytest.raises(accounts.AccountError):
        accounts.create_agent(session, "anna", "ett annat lösenord")


def test_too_many_failed_logins_lock_the_name_for_a_while(session: Session) -> None:
    accounts.create_agent(session, "anna", "korrekt häst batteri")
    now = utcnow()
    for _ in range(3):
        assert accounts.login(session, "anna", "fel", max_failures=3, now=now).agent is None
    locked = accounts.login(session, "anna", "korrekt häst batteri", max_failures=3, now=now)
    assert locked.agent is None and locked.locked
    later = now + accounts.LOCK_WINDOW + timedelta(seconds=1)
    assert accounts.login(session, "anna", "korrekt häst batteri", max_failures=3, now=later).agent


def test_sessions_expire_end_at_logout_and_when_the_account_is_disabled(
    session: Session,
) -> None:
    agent = accounts.create_agent(session, "anna", "korrekt häst batteri")
    cookie, started = accounts.start_session(session, agent, timedelta(hours=8))
    loaded = accounts.load_session(session, cookie)
    assert loaded is not None and loaded.agent.username == "anna"
    assert loaded.csrf_token == started.csrf_token
    assert accounts.load_session(session, cookie, now=utcnow() + timedelta(hours=9)) is None
    assert accounts.load_session(session, cookie + "x") is None
    stored = session.execute(sa.text("SELECT id_hash FROM console_sessions")).scalar_one()
    assert stored != cookie  # only a hash of the cookie is kept
    accounts.end_session(session, cookie)
    assert accounts.load_session(session, cookie) is None
    cookie, _ = accounts.start_session(session, agent, timedelta(hours=8))
    accounts.set_active(session, "anna", False)
    assert accounts.load_session(session, cookie) is None
    assert accounts.login(session, "anna", "korrekt häst batteri").agent is None


def test_logins_are_in_the_audit_log(session: Session) -> None:
    accounts.create_agent(session, "anna", "korrekt häst batteri")
    accounts.login(session, "anna", "fel")
    accounts.login(session, "anna", "korrekt häst batteri")
    rows = session.execute(
        sa.select(audit_log.c.agent, audit_log.c.action).order_by(audit_log.c.id)
    ).all()
    assert [tuple(r) for r in rows] == [("anna", "login_failed"), ("anna", "login")]


# --- staffing hours ----------------------------------------------------------------------------

WEEKDAYS = Schedule.parse("mon-fri 08:00-20:00; sat 10:00-16:00")


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_hours_follow_stockholm_time_in_summer_and_winter() -> None:
    # 06:30 UTC is 08:30 in summer (CEST, +2) but 07:30 in winter (CET, +1).
    assert is_open(_utc(2026, 7, 1, 6, 30), WEEKDAYS)
    assert not is_open(_utc(2026, 1, 7, 6, 30), WEEKDAYS)
    assert is_open(_utc(2026, 1, 7, 7, 0), WEEKDAYS)
    assert not is_open(_utc(2026, 1, 7, 19, 0), WEEKDAYS)  # 20:00 local: closed
    assert is_open(_utc(2026, 1, 7, 18, 59), WEEKDAYS)


def test_hours_on_the_days_daylight_saving_time_starts_and_ends() -> None:
    sunday = Schedule.parse("sun 08:00-20:00")
    # 29 March 2026 clocks go forward at 02:00 → 03:00; 25 October 2026 back at 03:00 → 02:00.
    assert not is_open(_utc(2026, 3, 29, 5, 59), sunday)  # 07:59 CEST
    assert is_open(_utc(2026, 3, 29, 6, 0), sunday)  # 08:00 CEST
    assert not is_open(_utc(2026, 10, 25, 6, 59), sunday)  # 07:59 CET
    assert is_open(_utc(2026, 10, 25, 7, 0), sunday)  # 08:00 CET
    assert not is_open(_utc(2026, 10, 25, 19, 0), sunday)  # 20:00 CET


def test_always_never_weekends_and_overnight_schedules() -> None:
    assert is_open(_utc(2026, 12, 25, 3, 0), Schedule.parse("always"))
    assert not is_open(_utc(2026, 12, 25, 12, 0), Schedule.parse("never"))
    assert not is_open(_utc(2026, 1, 11, 12, 0), WEEKDAYS)  # a Sunday
    assert is_open(_utc(2026, 1, 10, 12, 0), WEEKDAYS)  # a Saturday
    night = Schedule.parse("fri 22:00-02:00")
    assert is_open(_utc(2026, 1, 10, 0, 30), night)  # Saturday 01:30 local
    assert not is_open(_utc(2026, 1, 10, 1, 30), night)  # Saturday 02:30 local
    swedish = Schedule.parse("mån, ons 08:00-12:00, 13:00-17:00")
    assert is_open(_utc(2026, 1, 5, 8, 0), swedish)  # Monday 09:00
    assert not is_open(_utc(2026, 1, 5, 11, 30), swedish)  # Monday 12:30: lunch


def test_next_opening_is_told_in_stockholm_time() -> None:
    saturday_evening = _utc(2026, 1, 10, 20, 0)
    opening = next_opening(saturday_evening, WEEKDAYS)
    assert opening is not None and opening.isoformat() == "2026-01-12T08:00:00+01:00"
    assert next_opening(saturday_evening, Schedule.parse("never")) is None


@pytest.mark.parametrize(
    "text", ["mon-fri", "funday 08:00-10:00", "mon 8-10", "mon 25:00-26:00", "mon 08:00-24:30"]
)
def test_a_wrong_schedule_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(ScheduleError):
        Schedule.parse(text)


def test_hours_need_an_aware_time() -> None:
    with pytest.raises(ValueError):
        is_open(datetime(2026, 1, 5, 9, 0), WEEKDAYS)


# --- settings and the event cursor -------------------------------------------------------------


def test_settings_have_defaults_and_refuse_wrong_values() -> None:
    settings = HandoverSettings.from_env({})
    assert settings.chat_hours.always and settings.queues == ("national",)
    assert not settings.secure_cookies and not settings.trust_proxy
    assert settings.session_lifetime == timedelta(hours=8)
    custom = HandoverSettings.from_env(
        {
            "HANDOVER_QUEUES": "Stockholm, syd stockholm",
            "CONSOLE_SECURE_COOKIES": "always",
            "CHAT_HOURS": "mon-fri 08:00-20:00",
            "CONSOLE_TRUST_PROXY": "true",
        }
    )
    assert custom.queues == ("stockholm", "syd") and custom.default_queue == "stockholm"
    assert custom.secure_cookies and custom.trust_proxy and not custom.chat_hours.always
    for bad in (
        {"CHAT_HOURS": "sometimes"},
        {"HANDOVER_QUEUES": "a/b"},
        {"CONSOLE_SECURE_COOKIES": "yes"},
        {"CONSOLE_SESSION_HOURS": "-1"},
    ):
        with pytest.raises(ValueError):
            HandoverSettings.from_env(bad)


def _event(number: int) -> Event:
    return Event(number, utcnow(), "opened", None, None, None, None, None)


def test_event_cursor_passes_on_late_commits_once_and_skips_lost_ids_later() -> None:
    cursor = EventCursor(floor=10, gap_timeout=5.0)
    # 12 committed before 11: pass 12 on, keep waiting for 11.
    assert [e.id for e in cursor.accept([_event(12)], now=0.0)] == [12]
    assert cursor.floor == 10
    assert [e.id for e in cursor.accept([_event(11), _event(12)], now=1.0)] == [11]
    assert cursor.floor == 12
    # 14 arrives, 13 never does (rolled back): skipped after the timeout.
    assert [e.id for e in cursor.accept([_event(14)], now=2.0)] == [14]
    assert cursor.floor == 12
    assert cursor.accept([_event(14)], now=6.0) == []
    assert cursor.floor == 12
    assert cursor.accept([_event(14)], now=7.5) == []
    assert cursor.floor == 14 and not cursor.seen and not cursor.gaps


# --- command line ------------------------------------------------------------------------------


def test_the_agents_command_creates_and_lists_accounts(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse
    import io

    from bot.handover.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    monkeypatch.setenv("DATABASE_URL", sqlite_url)

    def run(*argv: str, stdin: str = "") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        args = parser.parse_args(list(argv))
        return int(args.func(args))

    assert (
        run(
            "agents",
            "create",
            "Chef",
            "--role",
            "admin",
            "--password-stdin",
            stdin="korrekt häst batteri\n",
        )
        == 0
    )
    assert run("agents", "create", "bo", "--password-stdin", stdin="kort\n") == 1
    assert run("agents", "disable", "nobody") == 1
    assert run("agents", "list") == 0
    out = capsys.readouterr().out
    assert (
        "Created admin account 'chef'" in out and "chef  admin  active    last login never" in out
    )


def test_purge_removes_old_closed_handovers_and_handled_callbacks_but_keeps_open_ones(
        database_url: str) -> None:
    from bot.handover.retention import purge_handover
    from bot.storage.db import make_engine as engine_for

    engine = engine_for(database_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        old = service.open_handover(session, "old-conv", "rest", "sv", None, "request_human")
        service.add_citizen_message(session, "old-conv", "gammalt")
        service.claim(session, old.id, "anna")
        service.close(session, old.id, "anna")
        service.open_handover(session, "open-conv", "rest", "sv", None, "request_human")
        service.add_citizen_message(session, "open-conv", "väntar")
    later = datetime.now(UTC) + timedelta(days=40)
    report = purge_handover(engine, later, transcript_days=30, callback_days=90)
    with sessions() as session:
        assert service.status_of(session, "old-conv") is None
        assert [m.text for m in service.messages(session, "open-conv")] == ["väntar"]
    engine.dispose()
    assert report.handovers == 1 and report.messages == 1
