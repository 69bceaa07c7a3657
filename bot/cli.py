"""Command line: run the system, run one service, migrate, train."""

from __future__ import annotations

import argparse
import signal
import threading

from bot.cluster import register as register_cluster
from bot.handover.cli import register as register_agents
from bot.launcher import Stack, service_env
from bot.model import ensure_model
from bot.promises.cli import register as register_promises
from bot.promises.service import seed_database
from bot.settings import Settings
from bot.storage.migrate import upgrade
from bot.tips.cli import register as register_tips
from bot.tips.cli import register_purge
from bot.tips.pii import install_log_masking


def _prepare(settings: Settings) -> Stack:
    """Migrate and train (when needed) before anything starts."""
    env = service_env(settings)
    upgrade(settings.database_url)
    seed_database(settings.database_url, settings.root)
    model = ensure_model(settings.root, settings.model_dir, env)
    return Stack(settings, model, env)


def cmd_run(_: argparse.Namespace) -> int:
    """Migrate, train when needed, start all services (restarting any that crashes), and
    stop them all on Ctrl-C."""
    settings = Settings.from_env()
    stack = _prepare(settings)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    print("Starting the Rasa server, the action server and the bot web service…", flush=True)
    stack.start()
    s = settings
    print(
        f"""
Running:
  bot web service     http://{s.web_host}:{s.web_port}/  (health: /health)
  REST channel        http://{s.rasa_host}:{s.rasa_port}/webhooks/rest/webhook
  socket.io channel   http://{s.rasa_host}:{s.rasa_port}/socket.io
  action server       {s.actions_url}
A service that stops unexpectedly is restarted (backoff; /health shows it).
Press Ctrl-C to stop everything.""",
        flush=True,
    )
    while not stopping.wait(1.0):  # the stack's supervisor restarts a crashed service
        pass
    print("Stopping…", flush=True)
    stack.stop()
    return 0


def cmd_web(_: argparse.Namespace) -> int:
    """Serve the bot web service alone (the launcher starts it this way)."""
    from aiohttp import web

    from bot.web.app import create_app

    settings = Settings.from_env()
    web.run_app(create_app(settings), host=settings.web_host, port=settings.web_port, print=None)
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    """Bring the database to the newest schema and load the reference data."""
    settings = Settings.from_env()
    upgrade(settings.database_url)
    seed_database(settings.database_url, settings.root)
    print("Database is up to date.")
    return 0


def cmd_train(_: argparse.Namespace) -> int:
    """Train unless a model for the current data and config exists; print its path."""
    settings = Settings.from_env()
    print(ensure_model(settings.root, settings.model_dir, service_env(settings)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, func in (
        ("run", cmd_run),
        ("web", cmd_web),
        ("migrate", cmd_migrate),
        ("train", cmd_train),
    ):
        sub = commands.add_parser(name, help=(func.__doc__ or "").splitlines()[0])
        sub.set_defaults(func=func)
    register_promises(commands)
    register_tips(commands)
    register_purge(commands)
    register_agents(commands)
    register_cluster(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    install_log_masking()
    args = build_parser().parse_args(argv)
    return int(args.func(args))
