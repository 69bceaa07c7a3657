"""`python -m bot promises import|export|list`: manage the stored medborgarlöften.

Wire it in with ``register(commands)`` on the subparsers object of ``bot.cli``. Every command
migrates the database and loads the place reference rows first, so it works on a fresh one.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bot.promises.importer import FORMATS, PromiseImportError, export, import_file, list_promises
from bot.promises.reference import load_reference
from bot.settings import Settings
from bot.storage.db import make_engine, make_session_factory
from bot.storage.migrate import upgrade


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    """A session on a migrated database with the reference rows loaded."""
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            load_reference(session, settings.root / "data" / "places")
            yield session
    finally:
        engine.dispose()


def cmd_import(args: argparse.Namespace) -> int:
    """Import promises from a YAML, JSON or CSV file (all or nothing, upsert by slug)."""
    with _session(Settings.from_env()) as session:
        try:
            report = import_file(session, args.file)
        except PromiseImportError as exc:
            print(f"{args.file}: not imported, nothing was changed:", file=sys.stderr)
            for error in exc.errors:
                print(f"  {error}", file=sys.stderr)
            return 1
    print(f"{args.file}: {report}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write every stored promise as YAML, JSON or CSV (to stdout or --output)."""
    with _session(Settings.from_env()) as session:
        text = export(session, args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List stored promises: slug, area, period and status today (or on --today)."""
    with _session(Settings.from_env()) as session:
        rows = list_promises(session, args.today or date.today())
    if not rows:
        print("No promises stored.")
        return 0
    widths = [max(len(getattr(r, f)) for r in rows) for f in ("slug", "area", "period")]
    for r in rows:
        cells = (r.slug, r.area, r.period)
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + "  " + r.status)
    return 0


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def register(subparsers: Any) -> None:
    """Add `promises import FILE`, `promises export`, `promises list` to `subparsers`."""
    parser = subparsers.add_parser("promises", help="Import, export and list medborgarlöften.")
    commands = parser.add_subparsers(dest="promises_command", required=True)

    sub = commands.add_parser("import", help=(cmd_import.__doc__ or "").splitlines()[0])
    sub.add_argument("file", type=Path, help="a .yml/.yaml, .json or .csv file")
    sub.set_defaults(func=cmd_import)

    sub = commands.add_parser("export", help=(cmd_export.__doc__ or "").splitlines()[0])
    sub.add_argument("--format", choices=FORMATS, default="yaml")
    sub.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    sub.set_defaults(func=cmd_export)

    sub = commands.add_parser("list", help=(cmd_list.__doc__ or "").splitlines()[0])
    sub.add_argument("--today", type=_day, help="day the status is computed for (YYYY-MM-DD)")
    sub.set_defaults(func=cmd_list)
