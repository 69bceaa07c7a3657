"""Agent accounts and console sessions.

Passwords are hashed with Argon2id (argon2-cffi's defaults, rehashed on login when those
defaults get stronger). Sessions are server-side rows: the cookie holds a random value and
the database only its SHA-256, with an expiry and a per-session CSRF token, so logging out
or disabling an account ends the session in every web process at once.

Failed logins are counted in the audit log; after too many for one user name in a short
while that name is refused for a while, whatever the password (see
``CONSOLE_LOGIN_MAX_FAILURES``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.handover.models import (
    ROLE_ADMIN,
    ROLES,
    agents,
    as_utc,
    audit_log,
    console_sessions,
    utcnow,
)
from bot.handover.service import record_audit

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
LOCK_WINDOW = timedelta(minutes=15)
LOGIN_FAILED = "login_failed"
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,79}$")
# A hash of a random password: unknown user names are verified against it, so a login
# takes as long whether or not the name exists.
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$HUTRR2TAJTe9tgglmjKatQ"
    "$81QTWBG1IUaPqQXUtUAlGmQ+C1snRWuqX7NE3rXemYs"
)


class AccountError(ValueError):
    """An account cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class Agent:
    """A console user (never the password hash)."""

    id: int
    username: str
    role: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN


@dataclass(frozen=True)
class LoginResult:
    """The agent on success; otherwise None, with `locked` when the name is locked out."""

    agent: Agent | None
    locked: bool = False


@dataclass(frozen=True)
class ConsoleSession:
    """A logged-in agent's session as a request sees it."""

    agent: Agent
    csrf_token: str
    expires_at: datetime


def _hasher() -> PasswordHasher:
    return PasswordHasher()


def _agent(row: sa.engine.Row) -> Agent:
    return Agent(
        row.id,
        row.username,
        row.role,
        bool(row.active),
        as_utc(row.created_at) or utcnow(),
        as_utc(row.last_login_at),
    )


def normalise_username(username: str) -> str:
    """User names are compared in lower case, without surrounding spaces."""
    return (username or "").strip().lower()


def check_password_policy(password: str) -> None:
    """At least 12 characters (a passphrase is fine); raise AccountError otherwise."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password may have at most {MAX_PASSWORD} characters")


def create_agent(session: Session, username: str, password: str, role: str = "agent") -> Agent:
    """Create an account; AccountError if the name is taken or invalid, or the password weak."""
    name = normalise_username(username)
    if not _USERNAME.match(name):
        raise AccountError(
            "user name: 2 to 80 of a-z, 0-9, . _ @ - (starting with a letter or digit)"
        )
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    check_password_policy(password)
    try:
        session.execute(
            agents.insert().values(
                username=name,
                password_hash=_hasher().hash(password),
                role=role,
                active=True,
                created_at=utcnow(),
            )
        )
        session.commit()
    except IntegrityError:
        session.rollback()
        raise AccountError(f"an account named {name!r} exists already") from None
    agent = get_agent_by_name(session, name)
    assert agent is not None
    return agent


def get_agent(session: Session, agent_id: int) -> Agent | None:
    row = session.execute(sa.select(agents).where(agents.c.id == agent_id)).first()
    return None if row is None else _agent(row)


def get_agent_by_name(session: Session, username: str) -> Agent | None:
    row = session.execute(
        sa.select(agents).where(agents.c.username == normalise_username(username))
    ).first()
    return None if row is None else _agent(row)


def list_agents(session: Session) -> list[Agent]:
    """Every account, by name."""
    return [_agent(r) for r in session.execute(sa.select(agents).order_by(agents.c.username))]


def set_active(session: Session, username: str, active: bool) -> bool:
    """Enable or disable an account; disabling also ends its sessions. False if unknown."""
    agent = get_agent_by_name(session, username)
    if agent is None:
        return False
    session.execute(agents.update().where(agents.c.id == agent.id).values(active=active))
    if not active:
        session.execute(console_sessions.delete().where(console_sessions.c.agent_id == agent.id))
    session.commit()
    return True


def set_password(session: Session, username: str, password: str) -> bool:
    """Give an account a new password and end its sessions. False if unknown."""
    check_password_policy(password)
    agent = get_agent_by_name(session, username)
    if agent is None:
        return False
    session.execute(
        agents.update()
        .where(agents.c.id == agent.id)
        .values(password_hash=_hasher().hash(password))
    )
    session.execute(console_sessions.delete().where(console_sessions.c.agent_id == agent.id))
    session.commit()
    return True


# A client may fail this many times more (over all user names) before it is refused: an
# office behind one address has room for its agents' typos, a guesser trying names has not.
CLIENT_FAILURE_FACTOR = 4


def client_key(address: str | None) -> str:
    """How the audit log names the client a login came from: a digest, not its address."""
    return "client:" + hashlib.sha256((address or "-").encode("utf-8")).hexdigest()[:16]


def _recent_failures(session: Session, now: datetime, *, name: str | None = None,
                     client: str | None = None) -> int:
    """Failed logins in the lock window, for a user name, a client, or the name from one
    client."""
    query = (sa.select(sa.func.count()).select_from(audit_log)
             .where(audit_log.c.action == LOGIN_FAILED, audit_log.c.at > now - LOCK_WINDOW))
    if name is not None:
        query = query.where(audit_log.c.agent == name)
    if client is not None:
        query = query.where(audit_log.c.object_id == client)
    return int(session.execute(query).scalar_one())


def _locked(session: Session, name: str, client: str | None, max_failures: int,
            now: datetime) -> bool:
    """Too many failures: of this user name from this client (so a stranger elsewhere
    cannot lock an agent out), or of this client over all names (guessing names)."""
    if not max_failures:
        return False
    if client is not None and _recent_failures(
            session, now, client=client) >= max_failures * CLIENT_FAILURE_FACTOR:
        return True
    return _recent_failures(session, now, name=name, client=client) >= max_failures


def login(
    session: Session,
    username: str,
    password: str,
    *,
    max_failures: int = 5,
    now: datetime | None = None,
    client: str | None = None,
) -> LoginResult:
    """Check a user name and password; log the attempt in the audit log either way.

    `client` is the address the login came from: failures are then counted per user name
    and client, and per client (:func:`_locked`); without it, per user name."""
    moment = as_utc(now) or utcnow()
    name = normalise_username(username)[:80] or "-"
    client_id = client_key(client) if client is not None else None
    if _locked(session, name, client_id, max_failures, moment):
        record_audit(session, name, LOGIN_FAILED, "session", client_id or "locked",
                     now=moment)
        return LoginResult(None, locked=True)
    row = session.execute(sa.select(agents).where(agents.c.username == name)).first()
    hasher = _hasher()
    try:
        hasher.verify(
            row.password_hash if row is not None else _DUMMY_HASH, password[:MAX_PASSWORD]
        )
        ok = row is not None and bool(row.active)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None:
        record_audit(session, name, LOGIN_FAILED, "session", client_id, now=moment)
        return LoginResult(None)
    values: dict[str, object] = {"last_login_at": moment}
    if hasher.check_needs_rehash(row.password_hash):
        values["password_hash"] = hasher.hash(password)
    session.execute(agents.update().where(agents.c.id == row.id).values(**values))
    record_audit(session, name, "login", "session", None, commit=False, now=moment)
    session.commit()
    agent = get_agent(session, row.id)
    return LoginResult(agent)


def _digest(cookie_value: str) -> str:
    return hashlib.sha256(cookie_value.encode("utf-8")).hexdigest()


def start_session(
    session: Session, agent: Agent, lifetime: timedelta, *, now: datetime | None = None
) -> tuple[str, ConsoleSession]:
    """A new session for `agent`: the cookie value (shown once) and the session.

    Expired sessions of everyone are swept here, so the table does not grow.
    """
    moment = as_utc(now) or utcnow()
    cookie_value = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = moment + lifetime
    session.execute(console_sessions.delete().where(console_sessions.c.expires_at < moment))
    session.execute(
        console_sessions.insert().values(
            id_hash=_digest(cookie_value),
            agent_id=agent.id,
            csrf_token=csrf,
            created_at=moment,
            expires_at=expires,
        )
    )
    session.commit()
    return cookie_value, ConsoleSession(agent, csrf, expires)


def load_session(
    session: Session, cookie_value: str | None, *, now: datetime | None = None
) -> ConsoleSession | None:
    """The live session of `cookie_value`, or None if it is unknown, expired or its account
    has been disabled."""
    if not cookie_value or len(cookie_value) > 200:
        return None
    moment = as_utc(now) or utcnow()
    row = session.execute(
        sa.select(console_sessions.c.csrf_token, console_sessions.c.expires_at, agents)
        .join(agents, agents.c.id == console_sessions.c.agent_id)
        .where(console_sessions.c.id_hash == _digest(cookie_value))
    ).first()
    session.commit()
    if row is None or not row.active:
        return None
    expires = as_utc(row.expires_at) or moment
    if expires <= moment:
        return None
    return ConsoleSession(_agent(row), row.csrf_token, expires)


def end_session(session: Session, cookie_value: str | None) -> None:
    """Log out: the session row is deleted, so the cookie is worthless everywhere."""
    if cookie_value:
        session.execute(
            console_sessions.delete().where(console_sessions.c.id_hash == _digest(cookie_value))
        )
    session.commit()


def csrf_matches(expected: str, presented: str | None) -> bool:
    """Constant-time comparison of CSRF tokens."""
    return bool(presented) and hmac.compare_digest(expected.encode(), (presented or "").encode())
