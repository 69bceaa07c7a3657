"""`python -m bot agents create|list|disable|enable`: console accounts.

Wire it in with ``register(commands)`` on the subparsers object of ``bot.cli``. The password
is asked for twice at a prompt (never on the command line, where it would end up in the
shell history and the process list), or read from standard input with ``--password-stdin``
for scripts. Every command migrates the database first, so it works on a fresh one.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from bot.handover.accounts import AccountError, create_agent, list_agents, set_active
from bot.handover.models import ROLES
from bot.settings import Settings
from bot.storage.db import make_engine, make_session_factory
from bot.storage.migrate import upgrade


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise AccountError("the passwords differ")
    return first


def cmd_create(args: argparse.Namespace) -> int:
    """Create a console account (agent or admin); the password is prompted for."""
    try:
        password = _read_password(args.password_stdin)
        with _session(Settings.from_env()) as session:
            agent = create_agent(session, args.username, password, args.role)
    except AccountError as error:
        print(f"Not created: {error}.", file=sys.stderr)
        return 1
    print(f"Created {agent.role} account {agent.username!r}.")
    return 0


def cmd_list(_: argparse.Namespace) -> int:
    """List accounts: name, role, active or disabled, last login."""
    with _session(Settings.from_env()) as session:
        agents = list_agents(session)
    if not agents:
        print("No accounts. Create one with: python -m bot agents create NAME --role admin")
        return 0
    width = max(len(a.username) for a in agents)
    for a in agents:
        last = a.last_login_at.isoformat(timespec="minutes") if a.last_login_at else "never"
        state = "active" if a.active else "disabled"
        print(f"{a.username.ljust(width)}  {a.role:<5}  {state:<8}  last login {last}")
    return 0


def _set_active(args: argparse.Namespace, active: bool) -> int:
    with _session(Settings.from_env()) as session:
        found = set_active(session, args.username, active)
    if not found:
        print(f"No account named {args.username!r}.", file=sys.stderr)
        return 1
    print(f"{args.username}: {'enabled' if active else 'disabled (sessions ended)'}.")
    return 0


def cmd_disable(args: argparse.Namespace) -> int:
    """Disable an account and end its sessions at once (in every web process)."""
    return _set_active(args, False)


def cmd_enable(args: argparse.Namespace) -> int:
    """Enable a disabled account again."""
    return _set_active(args, True)


def register(subparsers: Any) -> None:
    """Add `agents create USERNAME --role agent|admin [--password-stdin]`, `agents list`,
    `agents disable USERNAME` and `agents enable USERNAME` to `subparsers`."""
    parser = subparsers.add_parser("agents", help="Manage agent console accounts.")
    commands = parser.add_subparsers(dest="agents_command", required=True)

    sub = commands.add_parser("create", help=(cmd_create.__doc__ or "").splitlines()[0])
    sub.add_argument("username")
    sub.add_argument("--role", choices=ROLES, default="agent")
    sub.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    sub.set_defaults(func=cmd_create)

    sub = commands.add_parser("list", help=(cmd_list.__doc__ or "").splitlines()[0])
    sub.set_defaults(func=cmd_list)

    for name, func in (("disable", cmd_disable), ("enable", cmd_enable)):
        sub = commands.add_parser(name, help=(func.__doc__ or "").splitlines()[0])
        sub.add_argument("username")
        sub.set_defaults(func=func)
