"""The handover queue: what the bot (citizen side) and the console (agent side) do to it.

Every function takes a sync SQLAlchemy session and **commits its own transaction**, so the
change and the event that tells every open console about it land together, and other web
processes see both at once. Errors are :class:`HandoverError` subclasses with a message an
agent can read.

Citizen side (called by the Rasa actions): :func:`open_handover`, :func:`cancel_handover`,
:func:`status_of`, :func:`add_citizen_message`, :func:`add_bot_message`,
:func:`create_callback`, :func:`get_banner`.

Agent side (called by the console): :func:`claim`, :func:`reply`,
:func:`mark_reply_delivered`, :func:`note`, :func:`transfer`, :func:`close`, plus the
read functions the console pages use. Delivering a reply to the citizen is not done here:
the console calls the injected ``deliver`` function (see :mod:`bot.handover.keys`) and
records the outcome with :func:`mark_reply_delivered`.
"""

from __future__ import annotations

import re
import secrets
import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from bot.handover.models import (
    ACTIVE,
    AGENT,
    BOT,
    CITIZEN,
    CLOSED,
    HANDLED,
    NEW,
    NOTE,
    OPEN_STATUSES,
    WAITING,
    as_utc,
    audit_log,
    banner,
    callbacks,
    handover_events,
    handover_messages,
    handovers,
    utcnow,
)

DEFAULT_QUEUE = "national"
DEFAULT_WAIT_MINUTES = 5
ESTIMATE_SAMPLE = 20
MAX_TEXT = 4000
MAX_BANNER = 500
CALLBACK_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CANCELLED_BY = "citizen"

# Event kinds the consoles receive.
OPENED, CLAIMED, TRANSFERRED, CLOSED_EVENT, CANCELLED = (
    "opened",
    "claimed",
    "transferred",
    "closed",
    "cancelled",
)
MESSAGE, REPLY, NOTED, CALLBACK, CALLBACK_HANDLED, BANNER = (
    "message",
    "reply",
    "note",
    "callback",
    "callback_handled",
    "banner",
)


class HandoverError(Exception):
    """An agent or the bot asked for something the handover's state does not allow."""


class NotFound(HandoverError):
    """No such handover (or callback)."""


class InvalidState(HandoverError):
    """The handover is not in a state that allows this (e.g. replying to a closed one)."""


class NotAssigned(HandoverError):
    """Another agent has claimed this handover."""


@dataclass(frozen=True)
class HandoverTicket:
    """A handover as the bot tells the citizen about it.

    `position` is 1-based among the waiting handovers of the same queue (0 once claimed or
    closed); `estimated_wait_minutes` is an estimate from recent waits, not a promise.
    """

    id: int
    conversation_id: str
    status: str
    queue: str
    position: int
    estimated_wait_minutes: int
    created_at: datetime


@dataclass(frozen=True)
class HandoverView:
    """A handover as the console lists it."""

    id: int
    conversation_id: str
    channel: str
    language: str
    area: str | None
    reason: str
    queue: str
    status: str
    agent: str | None
    created_at: datetime
    claimed_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None

    def to_json(self) -> dict[str, Any]:
        """The staff API's and the console's JSON shape (times in RFC 3339 UTC)."""
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "channel": self.channel,
            "language": self.language,
            "area": self.area,
            "reason": self.reason,
            "queue": self.queue,
            "status": self.status,
            "agent": self.agent,
            "created_at": iso(self.created_at),
            "claimed_at": iso(self.claimed_at),
            "closed_at": iso(self.closed_at),
            "closed_by": self.closed_by,
        }


@dataclass(frozen=True)
class Message:
    """One transcript line or internal note."""

    id: int
    conversation_id: str
    handover_id: int | None
    kind: str
    agent: str | None
    text: str
    created_at: datetime
    delivered: bool | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "handover_id": self.handover_id,
            "kind": self.kind,
            "agent": self.agent,
            "text": self.text,
            "created_at": iso(self.created_at),
            "delivered": self.delivered,
        }


@dataclass(frozen=True)
class AgentReply:
    """An agent's reply as recorded; `delivered` is None until the console has tried."""

    id: int
    ticket_id: int
    conversation_id: str
    agent: str
    text: str
    created_at: datetime
    delivered: bool | None


@dataclass(frozen=True)
class Callback:
    """A callback request left out of hours."""

    id: int
    reference: str
    conversation_id: str
    phone: str
    name: str | None
    best_time: str | None
    language: str
    created_at: datetime
    status: str
    handled_by: str | None
    handled_at: datetime | None


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log."""

    id: int
    at: datetime
    agent: str
    action: str
    object_type: str
    object_id: str | None


@dataclass(frozen=True)
class Banner:
    """The emergency banner and who set it."""

    text: str | None
    updated_by: str | None
    updated_at: datetime | None


def iso(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z."""
    utc = as_utc(value)
    return None if utc is None else utc.isoformat().replace("+00:00", "Z")


def _clean(text: str, limit: int = MAX_TEXT) -> str:
    """Text as stored: control characters out (newlines and tabs kept), cut to `limit`."""
    cleaned = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text or "")
    return cleaned[:limit]


def _required(text: str, what: str) -> str:
    cleaned = _clean(text).strip()
    if not cleaned:
        raise HandoverError(f"{what} is empty")
    return cleaned


# --- audit log and events -------------------------------------------------------------------


def record_audit(
    session: Session,
    agent: str,
    action: str,
    object_type: str,
    object_id: str | int | None,
    *,
    commit: bool = True,
    now: datetime | None = None,
) -> None:
    """Write one audit line: who did or looked at what, when."""
    session.execute(
        audit_log.insert().values(
            at=as_utc(now) or utcnow(),
            agent=agent[:80],
            action=action[:40],
            object_type=object_type[:20],
            object_id=None if object_id is None else str(object_id)[:255],
        )
    )
    if commit:
        session.commit()


def audit_entries(
    session: Session,
    *,
    agent: str | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    """The newest audit lines first, optionally for one agent or object."""
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if agent is not None:
        query = query.where(audit_log.c.agent == agent)
    if object_type is not None:
        query = query.where(audit_log.c.object_type == object_type)
    if object_id is not None:
        query = query.where(audit_log.c.object_id == str(object_id))
    return [
        AuditEntry(r.id, as_utc(r.at) or utcnow(), r.agent, r.action, r.object_type, r.object_id)
        for r in session.execute(query)
    ]


def _event(
    session: Session,
    kind: str,
    *,
    handover_id: int | None = None,
    conversation_id: str | None = None,
    queue: str | None = None,
    status: str | None = None,
    agent: str | None = None,
    now: datetime | None = None,
) -> None:
    session.execute(
        handover_events.insert().values(
            at=now or utcnow(),
            kind=kind,
            handover_id=handover_id,
            conversation_id=conversation_id,
            queue=queue,
            status=status,
            agent=agent,
        )
    )


def _ticket_event(session: Session, kind: str, row: Any, agent: str | None = None) -> None:
    _event(
        session,
        kind,
        handover_id=row.id,
        conversation_id=row.conversation_id,
        queue=row.queue,
        status=row.status,
        agent=agent,
    )


# --- citizen side ---------------------------------------------------------------------------


def estimated_wait_minutes(session: Session) -> int:
    """An estimate of the wait: the median claim wait of the last 20 claimed-and-closed
    handovers, rounded to whole minutes (at least 1); 5 when there are none yet."""
    rows = session.execute(
        sa.select(handovers.c.created_at, handovers.c.claimed_at)
        .where(handovers.c.status == CLOSED, handovers.c.claimed_at.is_not(None))
        .order_by(handovers.c.closed_at.desc(), handovers.c.id.desc())
        .limit(ESTIMATE_SAMPLE)
    ).all()
    waits = [
        ((as_utc(r.claimed_at) or utcnow()) - (as_utc(r.created_at) or utcnow())).total_seconds()
        for r in rows
    ]
    if not waits:
        return DEFAULT_WAIT_MINUTES
    return max(1, round(statistics.median(waits) / 60))


def _position(session: Session, row: Any) -> int:
    if row.status != WAITING:
        return 0
    ahead = session.execute(
        sa.select(sa.func.count())
        .select_from(handovers)
        .where(
            handovers.c.status == WAITING,
            handovers.c.queue == row.queue,
            sa.or_(
                handovers.c.created_at < row.created_at,
                sa.and_(handovers.c.created_at == row.created_at, handovers.c.id < row.id),
            ),
        )
    ).scalar_one()
    return int(ahead) + 1


def _ticket(session: Session, row: Any) -> HandoverTicket:
    return HandoverTicket(
        id=row.id,
        conversation_id=row.conversation_id,
        status=row.status,
        queue=row.queue,
        position=_position(session, row),
        estimated_wait_minutes=estimated_wait_minutes(session) if row.status == WAITING else 0,
        created_at=as_utc(row.created_at) or utcnow(),
    )


def _open_row(session: Session, conversation_id: str) -> Any:
    return session.execute(
        sa.select(handovers).where(
            handovers.c.conversation_id == conversation_id,
            handovers.c.status.in_(OPEN_STATUSES),
        )
    ).first()


def _row(session: Session, ticket_id: int) -> Any:
    row = session.execute(sa.select(handovers).where(handovers.c.id == ticket_id)).first()
    if row is None:
        raise NotFound(f"handover {ticket_id} does not exist")
    return row


def open_handover(
    session: Session,
    conversation_id: str,
    channel: str,
    language: str,
    area: str | None,
    reason: str,
    *,
    queue: str = DEFAULT_QUEUE,
    now: datetime | None = None,
) -> HandoverTicket:
    """Put the conversation in the queue, or return its ticket if it already waits or is
    being handled (a repeated request must not queue the citizen twice)."""
    if not conversation_id or len(conversation_id) > 255:
        raise HandoverError("conversation_id must have 1 to 255 characters")
    row = _open_row(session, conversation_id)
    if row is None:
        values = {
            "conversation_id": conversation_id,
            "channel": (channel or "unknown")[:40],
            "language": (language or "sv")[:8],
            "area": _clean(area or "", 120) or None,
            "reason": _clean(reason or "", 200) or "unspecified",
            "queue": queue,
            "status": WAITING,
            "created_at": as_utc(now) or utcnow(),
        }
        try:
            ticket_id = session.execute(handovers.insert().values(**values)).inserted_primary_key[0]
            _event(
                session,
                OPENED,
                handover_id=ticket_id,
                conversation_id=conversation_id,
                queue=queue,
                status=WAITING,
            )
            session.commit()
        except IntegrityError:
            # Another process opened it between our read and our insert: use that one.
            session.rollback()
        row = _open_row(session, conversation_id)
        if row is None:  # pragma: no cover - closed again in the same instant
            raise HandoverError("the handover could not be opened")
    ticket = _ticket(session, row)
    session.commit()
    return ticket


def status_of(session: Session, conversation_id: str) -> HandoverTicket | None:
    """The conversation's open ticket, else its most recent one, else None.

    The bot checks it on each message: "closed" means an agent handed back to the bot.
    """
    row = (
        _open_row(session, conversation_id)
        or session.execute(
            sa.select(handovers)
            .where(handovers.c.conversation_id == conversation_id)
            .order_by(handovers.c.id.desc())
            .limit(1)
        ).first()
    )
    ticket = None if row is None else _ticket(session, row)
    session.commit()
    return ticket


def conversation_channel(session: Session, conversation_id: str) -> str | None:
    """The channel the conversation's most recent handover came in on ("socketio", "rest",
    "messenger", …), or None when it never had one: how an agent's reply must go out."""
    return session.execute(
        sa.select(handovers.c.channel)
        .where(handovers.c.conversation_id == conversation_id)
        .order_by(handovers.c.id.desc())
        .limit(1)
    ).scalar()


def cancel_handover(session: Session, conversation_id: str) -> HandoverTicket | None:
    """The citizen said "avbryt": close the open handover (closed_by "citizen").

    Returns the closed ticket, or None when nothing was open (cancelling twice is harmless).
    """
    row = _open_row(session, conversation_id)
    if row is None:
        session.commit()
        return None
    moment = utcnow()
    session.execute(
        handovers.update()
        .where(handovers.c.id == row.id)
        .values(status=CLOSED, closed_at=moment, closed_by=CANCELLED_BY)
    )
    row = _row(session, row.id)
    _ticket_event(session, CANCELLED, row)
    session.commit()
    return _ticket(session, row)


def _add_message(
    session: Session,
    conversation_id: str,
    kind: str,
    text: str,
    *,
    handover_id: int | None = None,
    agent: str | None = None,
    delivered: bool | None = None,
) -> Message:
    moment = utcnow()
    cleaned = _clean(text)
    message_id = session.execute(
        handover_messages.insert().values(
            conversation_id=conversation_id,
            handover_id=handover_id,
            kind=kind,
            agent=agent,
            text=cleaned,
            created_at=moment,
            delivered=delivered,
        )
    ).inserted_primary_key[0]
    return Message(
        message_id, conversation_id, handover_id, kind, agent, cleaned, moment, delivered
    )


def _add_turn(session: Session, conversation_id: str, kind: str, text_masked: str) -> Message:
    row = _open_row(session, conversation_id)
    message = _add_message(
        session, conversation_id, kind, text_masked, handover_id=None if row is None else row.id
    )
    if row is not None:
        _event(
            session,
            MESSAGE,
            handover_id=row.id,
            conversation_id=conversation_id,
            queue=row.queue,
            status=row.status,
        )
    session.commit()
    return message


def add_citizen_message(session: Session, conversation_id: str, text_masked: str) -> Message:
    """Store a citizen turn for the console (already masked by the caller).

    Linked to the open handover if there is one; earlier turns may be added too, so the
    agent sees what the citizen asked the bot.
    """
    return _add_turn(session, conversation_id, CITIZEN, text_masked)


def add_bot_message(session: Session, conversation_id: str, text_masked: str) -> Message:
    """Store a bot turn for the console (already masked by the caller)."""
    return _add_turn(session, conversation_id, BOT, text_masked)


# --- agent side -----------------------------------------------------------------------------


def get_handover(session: Session, ticket_id: int) -> HandoverView:
    """One handover for the console; raises NotFound."""
    return view_from_row(_row(session, ticket_id))


def view_from_row(row: Any) -> HandoverView:
    return HandoverView(
        id=row.id,
        conversation_id=row.conversation_id,
        channel=row.channel,
        language=row.language,
        area=row.area,
        reason=row.reason,
        queue=row.queue,
        status=row.status,
        agent=row.agent,
        created_at=as_utc(row.created_at) or utcnow(),
        claimed_at=as_utc(row.claimed_at),
        closed_at=as_utc(row.closed_at),
        closed_by=row.closed_by,
    )


def list_handovers(
    session: Session, status: str, *, queue: str | None = None, limit: int = 200
) -> list[HandoverView]:
    """Handovers in `status`: waiting and active oldest first (the order to take them in),
    closed newest first."""
    query = sa.select(handovers).where(handovers.c.status == status).limit(limit)
    if queue is not None:
        query = query.where(handovers.c.queue == queue)
    if status == CLOSED:
        query = query.order_by(handovers.c.closed_at.desc(), handovers.c.id.desc())
    else:
        query = query.order_by(handovers.c.created_at, handovers.c.id)
    return [view_from_row(row) for row in session.execute(query)]


def messages(session: Session, conversation_id: str, *, notes: bool = False) -> list[Message]:
    """The conversation's transcript lines (citizen, bot, agent), or its internal notes."""
    kinds = (NOTE,) if notes else (CITIZEN, BOT, AGENT)
    rows = session.execute(
        sa.select(handover_messages)
        .where(
            handover_messages.c.conversation_id == conversation_id,
            handover_messages.c.kind.in_(kinds),
        )
        .order_by(handover_messages.c.id)
    )
    return [
        Message(
            r.id,
            r.conversation_id,
            r.handover_id,
            r.kind,
            r.agent,
            r.text,
            as_utc(r.created_at) or utcnow(),
            r.delivered,
        )
        for r in rows
    ]


def claim(session: Session, ticket_id: int, agent: str) -> HandoverView:
    """Take a waiting handover. Claiming one's own again is harmless; another agent's is not.

    The update is conditional on the status, so two agents clicking at once cannot both win.
    """
    row = _row(session, ticket_id)
    if row.status == ACTIVE and row.agent == agent:
        session.commit()
        return view_from_row(row)
    if row.status == ACTIVE:
        raise NotAssigned(f"handover {ticket_id} is already taken by {row.agent}")
    if row.status != WAITING:
        raise InvalidState(f"handover {ticket_id} is closed")
    moment = utcnow()
    result = session.execute(
        handovers.update()
        .where(handovers.c.id == ticket_id, handovers.c.status == WAITING)
        .values(
            status=ACTIVE,
            agent=agent,
            claimed_at=sa.func.coalesce(handovers.c.claimed_at, moment),
        )
    )
    if result.rowcount != 1:
        session.rollback()
        raise NotAssigned(f"handover {ticket_id} was just taken by someone else")
    row = _row(session, ticket_id)
    _ticket_event(session, CLAIMED, row, agent)
    record_audit(session, agent, "claim", "handover", ticket_id, commit=False)
    session.commit()
    return view_from_row(row)


def _assigned(session: Session, ticket_id: int, agent: str) -> Any:
    row = _row(session, ticket_id)
    if row.status != ACTIVE:
        raise InvalidState(f"handover {ticket_id} is {row.status}; claim it first")
    if row.agent != agent:
        raise NotAssigned(f"handover {ticket_id} is handled by {row.agent}")
    return row


def reply(session: Session, ticket_id: int, agent: str, text: str) -> AgentReply:
    """Record the assigned agent's reply (undelivered); the console then delivers it."""
    body = _required(text, "the reply")
    row = _assigned(session, ticket_id, agent)
    message = _add_message(
        session, row.conversation_id, AGENT, body, handover_id=row.id, agent=agent
    )
    _ticket_event(session, REPLY, row, agent)
    record_audit(session, agent, "reply", "handover", ticket_id, commit=False)
    session.commit()
    return AgentReply(
        message.id, row.id, row.conversation_id, agent, body, message.created_at, None
    )


def get_reply(session: Session, reply_id: int) -> AgentReply:
    """A recorded agent reply (to retry its delivery); raises NotFound."""
    row = session.execute(
        sa.select(handover_messages).where(
            handover_messages.c.id == reply_id, handover_messages.c.kind == AGENT
        )
    ).first()
    if row is None or row.handover_id is None:
        raise NotFound(f"reply {reply_id} does not exist")
    return AgentReply(
        row.id,
        row.handover_id,
        row.conversation_id,
        row.agent or "",
        row.text,
        as_utc(row.created_at) or utcnow(),
        row.delivered,
    )


def mark_reply_delivered(session: Session, reply_id: int, delivered: bool) -> None:
    """Record whether the citizen got the reply, so the console can show it and offer retry."""
    row = session.execute(
        sa.select(handover_messages.c.handover_id, handover_messages.c.conversation_id).where(
            handover_messages.c.id == reply_id
        )
    ).first()
    if row is None:
        raise NotFound(f"reply {reply_id} does not exist")
    session.execute(
        handover_messages.update()
        .where(handover_messages.c.id == reply_id)
        .values(delivered=delivered)
    )
    _event(session, REPLY, handover_id=row.handover_id, conversation_id=row.conversation_id)
    session.commit()


def note(session: Session, ticket_id: int, agent: str, text: str) -> Message:
    """An internal note on the handover: never shown to the citizen."""
    body = _required(text, "the note")
    row = _row(session, ticket_id)
    message = _add_message(
        session, row.conversation_id, NOTE, body, handover_id=row.id, agent=agent
    )
    _ticket_event(session, NOTED, row, agent)
    record_audit(session, agent, "note", "handover", ticket_id, commit=False)
    session.commit()
    return message


def transfer(session: Session, ticket_id: int, agent: str, queue: str) -> HandoverView:
    """Move the handover to another queue, waiting again for an agent there.

    It keeps its place by creation time, so the citizen is not sent to the back. A waiting
    handover may be moved by any agent, an active one only by its agent.
    """
    row = _row(session, ticket_id)
    if row.status == CLOSED:
        raise InvalidState(f"handover {ticket_id} is closed")
    if row.status == ACTIVE and row.agent != agent:
        raise NotAssigned(f"handover {ticket_id} is handled by {row.agent}")
    session.execute(
        handovers.update()
        .where(handovers.c.id == ticket_id)
        .values(queue=queue, status=WAITING, agent=None)
    )
    row = _row(session, ticket_id)
    _ticket_event(session, TRANSFERRED, row, agent)
    record_audit(session, agent, f"transfer:{queue}", "handover", ticket_id, commit=False)
    session.commit()
    return view_from_row(row)


def close(session: Session, ticket_id: int, agent: str) -> HandoverView:
    """End the handover; the bot takes the conversation back.

    An active handover is closed by its agent; a waiting one by any agent (e.g. the citizen
    has left). Closing a closed one again is harmless.
    """
    row = _row(session, ticket_id)
    if row.status == CLOSED:
        session.commit()
        return view_from_row(row)
    if row.status == ACTIVE and row.agent != agent:
        raise NotAssigned(f"handover {ticket_id} is handled by {row.agent}")
    session.execute(
        handovers.update()
        .where(handovers.c.id == ticket_id)
        .values(status=CLOSED, closed_at=utcnow(), closed_by=agent)
    )
    row = _row(session, ticket_id)
    _ticket_event(session, CLOSED_EVENT, row, agent)
    record_audit(session, agent, "close", "handover", ticket_id, commit=False)
    session.commit()
    return view_from_row(row)


# --- callbacks ------------------------------------------------------------------------------


def normalise_phone(phone: str) -> str:
    """A phone number as stored: digits with an optional leading +; ValueError if it is not
    plausibly one (7 to 15 digits)."""
    compact = re.sub(r"[\s\-./()\u00a0]", "", phone or "")
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    digits = compact.removeprefix("+")
    if not digits.isdigit() or not 7 <= len(digits) <= 15:
        raise ValueError("not a phone number")
    return compact


def _callback_reference() -> str:
    chars = "".join(secrets.choice(CALLBACK_ALPHABET) for _ in range(8))
    return f"C-{chars[:4]}-{chars[4:]}"


def create_callback(
    session: Session,
    conversation_id: str,
    phone: str,
    name: str | None = None,
    best_time: str | None = None,
    language: str = "sv",
) -> str:
    """Store an out-of-hours callback request and return its reference (C-XXXX-XXXX).

    The phone number is required (ValueError if it is not one); name and best time are
    optional. A second request from the same conversation while the first is still new
    updates that one and returns its reference, so a retried form makes no duplicate.
    """
    values = {
        "phone": normalise_phone(phone),
        "name": _clean(name or "", 120).strip() or None,
        "best_time": _clean(best_time or "", 120).strip() or None,
        "language": (language or "sv")[:8],
    }
    existing = session.execute(
        sa.select(callbacks.c.id, callbacks.c.reference).where(
            callbacks.c.conversation_id == conversation_id, callbacks.c.status == NEW
        )
    ).first()
    if existing is not None:
        session.execute(callbacks.update().where(callbacks.c.id == existing.id).values(**values))
        session.commit()
        return str(existing.reference)
    for _ in range(5):
        reference = _callback_reference()
        try:
            session.execute(
                callbacks.insert().values(
                    reference=reference,
                    conversation_id=conversation_id,
                    created_at=utcnow(),
                    status=NEW,
                    **values,
                )
            )
            _event(session, CALLBACK, conversation_id=conversation_id)
            session.commit()
            return reference
        except IntegrityError:
            session.rollback()
    raise HandoverError("no free callback reference")  # pragma: no cover


def _callback(row: Any) -> Callback:
    return Callback(
        row.id,
        row.reference,
        row.conversation_id,
        row.phone,
        row.name,
        row.best_time,
        row.language,
        as_utc(row.created_at) or utcnow(),
        row.status,
        row.handled_by,
        as_utc(row.handled_at),
    )


def list_callbacks(
    session: Session, *, status: str | None = None, limit: int = 200
) -> list[Callback]:
    """Callback requests, new ones first, then the newest."""
    query = (
        sa.select(callbacks)
        .order_by((callbacks.c.status == HANDLED).asc(), callbacks.c.created_at.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(callbacks.c.status == status)
    return [_callback(row) for row in session.execute(query)]


def mark_callback_handled(session: Session, callback_id: int, agent: str) -> Callback:
    """Mark a callback request handled by `agent` (done once; the first agent is kept)."""
    row = session.execute(sa.select(callbacks).where(callbacks.c.id == callback_id)).first()
    if row is None:
        raise NotFound(f"callback {callback_id} does not exist")
    if row.status == NEW:
        session.execute(
            callbacks.update()
            .where(callbacks.c.id == callback_id, callbacks.c.status == NEW)
            .values(status=HANDLED, handled_by=agent, handled_at=utcnow())
        )
        _event(session, CALLBACK_HANDLED, conversation_id=row.conversation_id, agent=agent)
        record_audit(session, agent, "handled", "callback", row.reference, commit=False)
    session.commit()
    row = session.execute(sa.select(callbacks).where(callbacks.c.id == callback_id)).first()
    return _callback(row)


# --- tips (read-only; the tips package owns the table) ------------------------------------


@dataclass(frozen=True)
class TipSummary:
    """A tip as the inbox lists it: where to find it, never what it says."""

    reference: str
    created_at: datetime | None
    status: str


def _tips_table() -> sa.Table | None:
    try:
        from bot.tips.models import tips
    except ImportError:  # the tips package is not installed here
        return None
    return tips


def list_tip_summaries(session: Session, *, limit: int = 200) -> list[TipSummary] | None:
    """The newest tips' reference, time and status; None when there is no tips table."""
    table = _tips_table()
    if table is None:
        return None
    status = table.c.get("status")
    if status is None:
        status = table.c.get("delivery_status")
    columns = [table.c.reference, table.c.created_at]
    if status is not None:
        columns.append(status.label("status"))
    try:
        rows = session.execute(
            sa.select(*columns).order_by(table.c.created_at.desc()).limit(limit)
        ).all()
    except DBAPIError:  # table not migrated yet
        session.rollback()
        return None
    session.commit()
    return [
        TipSummary(r.reference, as_utc(r.created_at), getattr(r, "status", None) or "")
        for r in rows
    ]


def tip_references(session: Session, conversation_id: str) -> list[str] | None:
    """References of the tips left in this conversation; None when tips do not record it."""
    table = _tips_table()
    if table is None or "conversation_id" not in table.c:
        return None
    try:
        rows = session.execute(
            sa.select(table.c.reference)
            .where(table.c.conversation_id == conversation_id)
            .order_by(table.c.created_at)
        ).all()
    except DBAPIError:
        session.rollback()
        return None
    session.commit()
    return [r.reference for r in rows]


# --- emergency banner -----------------------------------------------------------------------


def get_banner(session: Session) -> str | None:
    """The emergency banner text (e.g. a major incident), or None when none is set."""
    text = session.execute(sa.select(banner.c.text).where(banner.c.id == 1)).scalar()
    session.commit()
    return text or None


def banner_details(session: Session) -> Banner:
    """The banner with who set it and when (for the admin page)."""
    row = session.execute(sa.select(banner).where(banner.c.id == 1)).first()
    session.commit()
    if row is None:
        return Banner(None, None, None)
    return Banner(row.text or None, row.updated_by, as_utc(row.updated_at))


def set_banner(session: Session, text: str | None, agent: str) -> None:
    """Show `text` in the widget and the bot's first turn; empty or None removes it."""
    cleaned = _clean(text or "", MAX_BANNER).strip() or None
    values = {"text": cleaned, "updated_by": agent, "updated_at": utcnow()}
    for _ in range(2):
        updated = session.execute(banner.update().where(banner.c.id == 1).values(**values))
        if updated.rowcount == 0:
            try:
                session.execute(banner.insert().values(id=1, **values))
            except IntegrityError:  # another process inserted the row first: update it
                session.rollback()
                continue
        break
    _event(session, BANNER, agent=agent)
    record_audit(session, agent, "set" if cleaned else "clear", "banner", 1, commit=False)
    session.commit()
