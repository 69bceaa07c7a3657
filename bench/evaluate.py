"""`make eval`: play the held-out corpus (tests/eval/) against a running system and print
per-category figures and which targets are met.

Every case is a fresh conversation (a unique sender id) over the REST channel, without
`metadata.language`: the assistant must find the language itself. What happened is read
from Rasa's HTTP API (the tracker after each turn) and sent tips from the tip store. By
default an isolated system is started (free ports, its own SQLite file and encryption key,
the seeded promises); `--rasa-url` uses one that runs already (see docs/understanding.md).

It is a measurement: the exit code is 0 whether or not the targets are met, and non-zero
only when the runner itself fails (a corpus file breaks the schema, the system does not
start, the time limit is reached). Writes results/eval.json and results/eval-failures.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa

from bench.corpus import Case, SchemaError, load_corpus
from bench.expectations import (
    EXPECTATIONS,
    PlaceNames,
    ResponseIndex,
    TurnView,
    fold,
    judge,
    observe,
)
from bot.settings import PROJECT_ROOT, Settings
from bot.storage.db import make_engine
from bot.tips.crypto import TipCipher
from bot.tips.models import tips
from bot.tips.settings import TipSettings
from bot.tips.store import TipView, get_tip, idempotency_hash

CORPUS = PROJECT_ROOT / "tests" / "eval"
RESULTS = PROJECT_ROOT / "results"
URGENT_EXPECTS = frozenset({"emergency", "self_harm"})
PLACE_EXPECTS = frozenset({"place", "no_place", "ask_place"})
TIP_EXPECTS = frozenset({"tip", "summary", "tip_sent", "asks_again", "confirm_cancel",
                         "tip_cancelled", "tip_kept", "pnr_reminder"})
TARGETS = {"emergency_recall": 1.0, "false_alarm_rate": 0.05, "places_rate": 0.97,
           "other_rate": 0.95}


class TipReader:
    """Reads sent tips back from the tip store (the system's database and keys)."""

    def __init__(self, database_url: str, cipher: TipCipher) -> None:
        self.engine = make_engine(database_url)
        self.cipher = cipher

    def stored(self, references: Iterable[str]) -> frozenset[str]:
        return frozenset(r for r in references if get_tip(self.engine, r, self.cipher))

    def for_conversation(self, sender: str, draft_ids: Iterable[str]) -> list[TipView]:
        """The tips this conversation stored: the store keys a submission by sender and
        draft id (bot.tips.intake.TipIntake.submit)."""
        hashes = [idempotency_hash(f"{sender}:{d}") for d in draft_ids]
        if not hashes:
            return []
        with self.engine.connect() as connection:
            references = connection.execute(sa.select(tips.c.reference).where(
                tips.c.idempotency_key.in_(hashes))).scalars().all()
        return [t for r in references if (t := get_tip(self.engine, r, self.cipher))]

    def close(self) -> None:
        self.engine.dispose()


@dataclass
class TurnResult:
    user: str
    lang: str
    expected: list[str]
    failed: list[str]
    observed: str
    urgent: bool
    wrong_place: str | None = None


@dataclass
class CaseResult:
    id: str
    category: str
    lang: str
    script: bool
    text: str
    turns: list[TurnResult] = field(default_factory=list)
    tip_failures: list[str] = field(default_factory=list)
    tips_stored: int = 0
    tip_lost: bool = False
    tip_corrected_sent: bool = False
    tip_unwanted: bool = False
    false_reference: bool = False
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and not self.tip_failures and \
            all(not t.failed for t in self.turns)


class Player:
    """Plays cases over the REST channel and reads each turn back from the tracker."""

    def __init__(self, rasa_url: str, token: str, reader: TipReader | None,
                 places: PlaceNames, responses: ResponseIndex) -> None:
        self.rasa_url, self.token, self.reader = rasa_url, token, reader
        self.places, self.responses = places, responses

    async def _tracker(self, http: aiohttp.ClientSession, sender: str) -> dict[str, Any]:
        async with http.get(f"{self.rasa_url}/conversations/{sender}/tracker",
                            params={"token": self.token}) as reply:
            reply.raise_for_status()
            return dict(await reply.json())

    async def play(self, http: aiohttp.ClientSession, case: Case) -> CaseResult:
        result = CaseResult(case.id, case.category, case.lang, case.script, case.text)
        sender = "eval-" + uuid.uuid4().hex
        slots: dict[str, Any] = {}
        loop: str | None = None
        seen = 0
        draft_ids: set[str] = set()
        shown: set[str] = set()
        try:
            for turn in case.turns:
                async with http.post(f"{self.rasa_url}/webhooks/rest/webhook",
                                     json={"sender": sender, "message": turn.user}) as reply:
                    ok = reply.status == 200
                    body = await reply.json(content_type=None) if ok else None
                received = tuple(str(m.get("text") or "") for m in body or []
                                 if isinstance(m, dict))
                tracker = await self._tracker(http, sender)
                events = tracker.get("events") or []
                new, seen = events[seen:], len(events)
                draft_ids |= {str(e["value"]) for e in new if e.get("event") == "slot"
                              and e.get("name") == "tip_draft_id" and e.get("value")}
                view = observe(turn.user, new, slots, tracker, loop, self.places,
                               self.responses)
                if self.reader is not None and view.references:
                    view = replace(view, stored_references=self.reader.stored(view.references))
                view = replace(view, http_ok=ok, received=received)
                shown |= view.references
                verdict = judge(view, turn.expects)
                result.turns.append(TurnResult(
                    turn.user, turn.lang, [str(e) for e in turn.expects], verdict.failed,
                    view.describe(), EXPECTATIONS["emergency"](view, None),
                    wrong_place=_wrong_place(view, turn.expects)))
                slots, loop = dict(view.slots_after), view.loop_after
            self._check_tip(case, result, sender, draft_ids, shown)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            result.error = f"{type(error).__name__}: {error}"
        return result

    def _check_tip(self, case: Case, result: CaseResult, sender: str, draft_ids: set[str],
                   shown: set[str]) -> None:
        wants_sent = any(e.name == "tip_sent" for t in case.turns for e in t.expects)
        if not (wants_sent or case.tip or case.tip_sent is False or shown):
            return
        if self.reader is None:
            result.tip_failures.append("tip store not readable: tip not checked")
            return
        stored = self.reader.for_conversation(sender, draft_ids)
        result.tips_stored = len(stored)
        result.false_reference = bool(shown - self.reader.stored(shown))
        if result.false_reference:
            result.tip_failures.append(f"reference shown but not stored: {sorted(shown)}")
        if wants_sent and not stored:
            result.tip_lost = True
            result.tip_failures.append("tip_sent expected but no tip stored")
        if case.tip_sent is False and stored:
            result.tip_unwanted = True
            result.tip_failures.append("a tip was stored although it must not be sent")
        for tip_view in stored[-1:]:
            for name, check in case.tip.items():
                value = fold(str(getattr(tip_view, name) or ""))
                for text in check.contains:
                    if fold(text) not in value:
                        result.tip_failures.append(f"tip.{name} lacks {text!r}")
                for text in check.not_contains:
                    if fold(text) in value:
                        result.tip_corrected_sent = True
                        result.tip_failures.append(f"tip.{name} still says {text!r}")


def _wrong_place(view: TurnView, expects: Sequence[Any]) -> str | None:
    """The municipality set when another one (or none) was expected."""
    got, _ = view.area()
    if got is None or not view.area_set_here():
        return None
    for expect in expects:
        if expect.name == "place":
            wanted = view.places.code_of(expect.arg.partition("/")[0])
            if wanted != got:
                return view.places.label(got)
        if expect.name == "no_place":
            return view.places.label(got)
    return None


async def play_all(player: Player, cases: Sequence[Case], concurrency: int,
                   deadline: float, rest_token: str = "") -> tuple[list[CaseResult], list[Case]]:
    """Play every case, at most `concurrency` at once, until `deadline` (monotonic).
    `rest_token` is sent as a bearer token, for a REST channel that requires one."""
    gate = asyncio.Semaphore(concurrency)
    results: list[CaseResult] = []
    timeout = aiohttp.ClientTimeout(total=60)
    headers = {"Authorization": f"Bearer {rest_token}"} if rest_token else {}
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as http:
        async def one(case: Case) -> None:
            async with gate:
                if time.monotonic() < deadline:
                    results.append(await player.play(http, case))

        tasks = [asyncio.create_task(one(c)) for c in cases]
        await asyncio.wait(tasks, timeout=max(1.0, deadline - time.monotonic()))
        for task in tasks:
            task.cancel()
    done = {r.id for r in results}
    return results, [c for c in cases if c.id not in done]


# --- figures --------------------------------------------------------------------------------

def _rate(passed: int, total: int) -> float | None:
    return passed / total if total else None


def group_of(case: Case) -> str:
    """Which target a case counts towards: emergency, places, false_alarm or other."""
    names = [e.name for t in case.turns for e in t.expects]
    if URGENT_EXPECTS & set(names):
        return "emergency"
    if PLACE_EXPECTS & set(names):
        return "places"
    if names and all(n == "no_emergency" for n in names):
        return "false_alarm"
    return "other"


def figures(cases: Sequence[Case], results: Sequence[CaseResult]) -> dict[str, Any]:
    by_id = {c.id: c for c in cases}
    categories: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    recall: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    groups: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    false_alarms = [0, 0]
    places = [0, 0]
    wrong: list[str] = []
    for result in results:
        case = by_id[result.id]
        categories[result.category][0] += 1
        categories[result.category][1] += result.passed
        groups[group_of(case)][0] += 1
        groups[group_of(case)][1] += result.passed
        for turn, spec in zip(result.turns, case.turns, strict=False):
            names = {e.name for e in spec.expects}
            if names & URGENT_EXPECTS:
                recall[turn.lang][0] += 1
                recall[turn.lang][1] += turn.urgent
                recall[turn.lang][2] += not turn.failed
            if "no_emergency" in names:
                false_alarms[0] += 1
                false_alarms[1] += turn.urgent
            if names & PLACE_EXPECTS:
                places[0] += 1
                places[1] += not (set(turn.failed) & {str(e) for e in spec.expects
                                                      if e.name in PLACE_EXPECTS})
            if turn.wrong_place:
                wrong.append(f"{turn.user[:60]!r} -> {turn.wrong_place}")
    tip_results = [r for r in results if _tip_script(by_id[r.id])]
    return {
        "cases": len(results),
        "passed": sum(r.passed for r in results),
        "categories": {k: {"cases": v[0], "passed": v[1], "rate": _rate(v[1], v[0])}
                       for k, v in sorted(categories.items())},
        "groups": {k: {"cases": v[0], "passed": v[1], "rate": _rate(v[1], v[0])}
                   for k, v in sorted(groups.items())},
        "emergency_recall": {k: {"cases": v[0], "urgent": v[1], "rate": _rate(v[1], v[0]),
                                 "passed": v[2]} for k, v in sorted(recall.items())},
        "false_alarms": {"cases": false_alarms[0], "urgent": false_alarms[1],
                         "rate": _rate(false_alarms[1], false_alarms[0])},
        "places": {"turns": places[0], "right": places[1], "rate": _rate(places[1], places[0]),
                   "wrong_municipality": len(wrong), "wrong": wrong},
        "tips": {"scripts": len(tip_results), "passed": sum(r.passed for r in tip_results),
                 "stored": sum(r.tips_stored for r in tip_results),
                 "lost": sum(r.tip_lost for r in tip_results),
                 "corrected_value_sent": sum(r.tip_corrected_sent for r in tip_results),
                 "sent_against_expectation": sum(r.tip_unwanted for r in tip_results),
                 "reference_not_stored": sum(r.false_reference for r in tip_results)},
    }


def _tip_script(case: Case) -> bool:
    names = {e.name for t in case.turns for e in t.expects}
    return case.script and bool(names & TIP_EXPECTS or case.tip or case.tip_sent is False)


def targets(fig: dict[str, Any]) -> dict[str, tuple[bool | None, str]]:
    """Each target: met (None when the corpus has no cases for it) and the figure."""
    recall = fig["emergency_recall"]
    worst = min((v["rate"] for v in recall.values()), default=None)
    low = [k for k, v in recall.items() if v["rate"] is not None and v["rate"] < 1.0]
    alarms, places, tip, other = (fig["false_alarms"], fig["places"], fig["tips"],
                                  fig["groups"].get("other", {"rate": None}))

    def show(rate: float | None) -> str:
        return "n/a" if rate is None else f"{rate:.1%}"

    return {
        "emergency recall 100 % in every language": (
            None if worst is None else not low,
            f"lowest {show(worst)}" + (f"; below 100 %: {', '.join(low)}" if low else "")),
        "false alarms <= 5 %": (None if alarms["rate"] is None
                                else alarms["rate"] <= TARGETS["false_alarm_rate"],
                                f"{show(alarms['rate'])} ({alarms['urgent']}/{alarms['cases']})"),
        "places >= 97 % and 0 wrong municipalities": (
            None if places["rate"] is None else
            places["rate"] >= TARGETS["places_rate"] and places["wrong_municipality"] == 0,
            f"{show(places['rate'])}, {places['wrong_municipality']} wrong"),
        "no tip lost or sent with a corrected value": (
            None if not tip["scripts"] else
            not (tip["lost"] or tip["corrected_value_sent"] or tip["reference_not_stored"]),
            f"{tip['lost']} lost, {tip['corrected_value_sent']} with a corrected value, "
            f"{tip['reference_not_stored']} references not stored"),
        "everything else >= 95 %": (None if other["rate"] is None
                                    else other["rate"] >= TARGETS["other_rate"],
                                    show(other["rate"])),
    }


def report(fig: dict[str, Any], met: dict[str, tuple[bool | None, str]]) -> str:
    def pct(value: float | None) -> str:
        return "   n/a" if value is None else f"{value:6.1%}"

    lines = [f"{'category':<24} {'cases':>6} {'passed':>7} {'rate':>7}"]
    for name, v in fig["categories"].items():
        lines.append(f"{name:<24} {v['cases']:6d} {v['passed']:7d} {pct(v['rate'])}")
    lines.append(f"{'all':<24} {fig['cases']:6d} {fig['passed']:7d} "
                 f"{pct(_rate(fig['passed'], fig['cases']))}")
    lines += ["", f"{'emergency, by language':<24} {'cases':>6} {'112':>7} {'recall':>7} "
              f"{'passed':>7}"]
    for lang, v in fig["emergency_recall"].items():
        lines.append(f"{lang:<24} {v['cases']:6d} {v['urgent']:7d} {pct(v['rate'])} "
                     f"{v['passed']:7d}")
    lines.append("(turns expecting the urgent answer; passed: every expectation of the turn, "
                 "e.g. also 90101)")
    a, p, t = fig["false_alarms"], fig["places"], fig["tips"]
    lines += ["",
              f"false alarms: {a['urgent']}/{a['cases']} no_emergency turns got 112 "
              f"({pct(a['rate']).strip()})",
              f"places: {p['right']}/{p['turns']} right ({pct(p['rate']).strip()}), "
              f"{p['wrong_municipality']} answers with a wrong municipality",
              f"tips: {t['passed']}/{t['scripts']} scripts passed, {t['stored']} tips stored, "
              f"{t['lost']} lost, {t['corrected_value_sent']} sent with a corrected value, "
              f"{t['sent_against_expectation']} sent although they must not be, "
              f"{t['reference_not_stored']} references shown but not stored",
              "", "targets:"]
    for name, (ok, shown) in met.items():
        mark = "n/a " if ok is None else ("MET " if ok else "NOT MET")
        lines.append(f"  {mark:<8} {name}: {shown}")
    return "\n".join(lines)


def failures(results: Sequence[CaseResult]) -> str:
    """Every failed case: its text (truncated), what was expected, what was observed."""
    out = []
    for r in sorted(results, key=lambda r: r.id):
        if r.passed:
            continue
        out.append(f"{r.id} [{r.category}/{r.lang}] {r.text[:100]!r}")
        if r.error:
            out.append(f"  error: {r.error}")
        for number, t in enumerate(r.turns, 1):
            if t.failed:
                out.append(f"  turn {number}: {t.user[:100]!r}\n    expected {t.expected}, "
                           f"failed {t.failed}\n    observed {t.observed}")
        for failure in r.tip_failures:
            out.append(f"  tip: {failure}")
    return "\n".join(out) + "\n"


# --- the system -----------------------------------------------------------------------------

System = tuple[str, str, str, TipReader | None]
"""Rasa URL, API token, REST channel token (may be empty) and the tip store's reader."""


@contextmanager
def isolated_system(log_dir: Path) -> Iterator[System]:
    """A whole system on free ports with its own SQLite file, key and seeded promises."""
    from bot.launcher import Stack, isolated_settings, service_env
    from bot.model import ensure_model
    from bot.promises.service import seed_database
    from bot.storage.migrate import upgrade
    from bot.tips.crypto import generate_key

    settings = isolated_settings(f"sqlite:///{log_dir / 'polisbot.db'}")
    upgrade(settings.database_url)
    seed_database(settings.database_url, PROJECT_ROOT)
    key = generate_key()
    env = {**service_env(settings), "TIP_ENCRYPTION_KEYS": key}
    model = ensure_model(PROJECT_ROOT, Settings.from_env().model_dir, env)
    reader = TipReader(settings.database_url, TipCipher([key]))
    with Stack(settings, model, env, log_dir=log_dir / "logs") as stack:
        try:
            yield (settings.rasa_url, stack.env["RASA_TOKEN"], stack.env.get("REST_TOKEN", ""),
                   reader)
        finally:
            reader.close()


@contextmanager
def running_system(rasa_url: str, token: str, rest_token: str) -> Iterator[System]:
    """A system that runs already; its tips are read with this process's DATABASE_URL and
    TIP_ENCRYPTION_KEYS (the defaults match `make run`)."""
    settings = Settings.from_env()
    tip_settings = TipSettings.from_env(os.environ, settings.root)
    try:
        reader: TipReader | None = TipReader(settings.database_url, TipCipher.from_settings(
            tip_settings.encryption_keys, tip_settings.key_file))
    except Exception as error:  # noqa: BLE001 - tips are then reported as not checked
        print(f"The tip store cannot be read ({error}); tips are not checked.", file=sys.stderr)
        reader = None
    try:
        yield rasa_url.rstrip("/"), token, rest_token, reader
    finally:
        if reader is not None:
            reader.close()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="default: tests/eval")
    parser.add_argument("--rasa-url", help="use this running Rasa server instead of starting "
                        "an isolated system (then --token or RASA_TOKEN is its API token)")
    parser.add_argument("--token", default=os.environ.get("RASA_TOKEN", ""),
                        help="with --rasa-url: the API token (default: RASA_TOKEN)")
    parser.add_argument("--rest-token", default=os.environ.get("REST_TOKEN", ""),
                        help="with --rasa-url: a bearer token for the REST channel, if it "
                        "requires one (default: REST_TOKEN)")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="conversations played at once (default 4)")
    parser.add_argument("--time-limit", type=float, default=1800,
                        help="seconds for playing the whole corpus (default 1800)")
    parser.add_argument("--only", default="",
                        help="play only cases whose file, name or category contains this")
    parser.add_argument("--out", type=Path, default=RESULTS, help="default: results/")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        cases = load_corpus(args.corpus, EXPECTATIONS)
    except SchemaError as error:
        print(f"The corpus breaks its schema (tests/eval/README.md): {error}", file=sys.stderr)
        return 2
    cases = [c for c in cases if args.only in c.id or args.only == c.category]
    if not cases:
        print(f"No cases in {args.corpus}.", file=sys.stderr)
        return 2
    places = PlaceNames.load(PROJECT_ROOT / "data" / "places")
    responses = ResponseIndex.from_domain(PROJECT_ROOT / "domain.yml")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="polisbot-eval-") as tmp:
        if args.rasa_url:
            system = running_system(args.rasa_url, args.token, args.rest_token)
        else:
            print("Starting an isolated system…", flush=True)
            system = isolated_system(Path(tmp))
        with system as (rasa_url, token, rest_token, reader):
            print(f"Playing {len(cases)} cases ({args.concurrency} at a time)…", flush=True)
            player = Player(rasa_url, token, reader, places, responses)
            results, missed = asyncio.run(play_all(player, cases, args.concurrency,
                                                   time.monotonic() + args.time_limit,
                                                   rest_token))
    fig = figures(cases, results)
    met = targets(fig)
    print(report(fig, met))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "eval.json").write_text(json.dumps({
        "figures": fig, "targets": {k: {"met": v[0], "figure": v[1]} for k, v in met.items()},
        "seconds": round(time.monotonic() - started, 1), "missed": [c.id for c in missed],
        "results": [{**asdict(r), "passed": r.passed} for r in results],
    }, indent=1, ensure_ascii=False))
    (args.out / "eval-failures.txt").write_text(failures(results), "utf-8")
    print(f"\n{len(results)} cases in {time.monotonic() - started:.0f} s. Written to "
          f"{args.out / 'eval.json'} and eval-failures.txt.")
    if missed:
        print(f"The time limit was reached: {len(missed)} cases not played.", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
