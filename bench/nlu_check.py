"""Intent accuracy of a trained model on held-out NLU files, in-process (no servers).

`python -m bench.nlu_check [MODEL] [--files ...] [--errors]` prints, per intent, how many
held-out messages the whole NLU pipeline (classifier, fallback, place and safety
components) reads right, what the failures became, and the classifier's confidence on the
right and wrong ones: the figures behind the FallbackClassifier thresholds in config.yml.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT

HOLDOUTS = ("tests/data/nlu_holdout.yml", "tests/data/nlu_holdout_promises.yml",
            "tests/data/nlu_holdout_breadth.yml")
FALLBACK = "nlu_fallback"


@dataclass(frozen=True)
class Reading:
    """One held-out message as the pipeline read it."""

    text: str
    expected: str
    final: str
    """The intent the dialogue sees (nlu_fallback when the classifier was unsure)."""
    guess: str
    """The classifier's best intent, before the fallback."""
    confidence: float
    margin: float
    """Best minus second-best confidence."""


def examples(path: Path) -> list[tuple[str, str]]:
    data = yaml.safe_load(path.read_text("utf-8"))
    return [(line.strip().removeprefix("- ").strip(), block["intent"])
            for block in data["nlu"] for line in block["examples"].splitlines()
            if line.strip()]


async def read_all(model: Path, cases: list[tuple[str, str]]) -> list[Reading]:
    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    agent = Agent.load(str(model))
    readings = []
    for text, expected in cases:
        parsed = await agent.parse_message(text)
        ranking = [r for r in parsed.get("intent_ranking") or [] if r["name"] != FALLBACK]
        best = ranking[0] if ranking else {"name": parsed["intent"]["name"], "confidence": 0.0}
        second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
        readings.append(Reading(text, expected, parsed["intent"]["name"], best["name"],
                                best["confidence"], best["confidence"] - second))
    return readings


def quartiles(values: list[float]) -> str:
    if len(values) < 2:
        return " ".join(f"{v:.2f}" for v in values) or "-"
    q = statistics.quantiles(values, n=4)
    return f"min {min(values):.2f} q1 {q[0]:.2f} med {q[1]:.2f} q3 {q[2]:.2f}"


def report(name: str, readings: list[Reading], show_errors: bool) -> None:
    right = sum(r.final == r.expected for r in readings)
    print(f"\n== {name}: {right}/{len(readings)} = {right / len(readings):.1%}")
    by_intent: dict[str, list[Reading]] = defaultdict(list)
    for r in readings:
        by_intent[r.expected].append(r)
    for intent, group in sorted(by_intent.items()):
        ok = sum(r.final == intent for r in group)
        wrong = Counter(r.final for r in group if r.final != intent)
        print(f"  {intent:<22} {ok:3d}/{len(group):<3d} {ok / len(group):6.1%}  "
              + ", ".join(f"{k} {v}" for k, v in wrong.most_common()))
    print("  classifier confidence, guess right: "
          + quartiles([r.confidence for r in readings if r.guess == r.expected]))
    print("  classifier confidence, guess wrong: "
          + quartiles([r.confidence for r in readings if r.guess != r.expected]))
    if show_errors:
        for r in readings:
            if r.final != r.expected:
                print(f"    {r.expected:<20} -> {r.final:<20} ({r.guess} {r.confidence:.2f}"
                      f" margin {r.margin:.2f})  {r.text}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.nlu_check", description=__doc__)
    parser.add_argument("model", nargs="?", help="model archive (default: newest in models/)")
    parser.add_argument("--files", nargs="*", default=list(HOLDOUTS))
    parser.add_argument("--errors", action="store_true", help="list every misread message")
    args = parser.parse_args(argv)
    model = Path(args.model) if args.model else max(
        (PROJECT_ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    files = [PROJECT_ROOT / f for f in args.files]
    cases = [c for f in files for c in examples(f)]
    readings = asyncio.run(read_all(model, cases))
    print(f"model {model.name}")
    start = 0
    for f in files:
        count = len(examples(f))
        report(f.name, readings[start:start + count], args.errors)
        start += count


if __name__ == "__main__":
    main()
