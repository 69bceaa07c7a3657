"""Measure place understanding on the project's own NLU examples: how often an ordinary
message is taken for a place (it should almost never be), how many place examples still
resolve, how long ``PlaceIndex.resolve`` takes and how much memory the index holds.

Usage: ``python -m bot.places_measure [data/places]``
"""

from __future__ import annotations

import re
import statistics
import sys
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.places import PlaceIndex

NLU_DIR = Path("data/nlu")
# Intents whose examples name (or may name) a place: everything else should find none.
PLACE_INTENTS = frozenset({
    "inform_place", "ask_promise", "promise_topic", "promise_responsible",
    "promise_participate", "promise_followup", "promise_commitments",
})  # fmt: skip
_ANNOTATION = re.compile(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}")


@dataclass(frozen=True)
class Example:
    intent: str
    text: str


def examples(nlu_dir: Path = NLU_DIR) -> list[Example]:
    """Every intent example of the training data, with entity annotations removed."""
    found = []
    for path in sorted(nlu_dir.glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            if "intent" not in block:
                continue
            for line in str(block.get("examples", "")).splitlines():
                text = line.strip().removeprefix("- ").strip()
                if text:
                    found.append(Example(block["intent"], _ANNOTATION.sub(r"\1\2", text)))
    return found


def false_places(index: PlaceIndex, items: Sequence[Example]) -> list[Example]:
    """The examples of non-place intents in which the index finds a place anyway."""
    return [e for e in items if e.intent not in PLACE_INTENTS
            and index.resolve(e.text).status != "none"]


def _best_time(index: PlaceIndex, text: str, runs: int = 5) -> float:
    """Seconds for one resolve, the best of a few runs (the machine is shared: the best run
    is the one least disturbed by other processes)."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        index.resolve(text)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    data_dir = Path(args[0] if args else "data/places")
    tracemalloc.start()
    index = PlaceIndex.load(data_dir)
    size, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    items = examples()
    plain = [e for e in items if e.intent not in PLACE_INTENTS]
    wrong = false_places(index, items)
    named = [e for e in items if e.intent in ("inform_place", "ask_promise")]
    resolved = [e for e in named if index.resolve(e.text).status != "none"]
    timings = sorted(_best_time(index, e.text) for e in items)
    print(f"index memory: {size / 2**20:.1f} MiB (Python objects traced while loading)")
    print(f"non-place examples with no place: {len(plain) - len(wrong)}/{len(plain)} "
          f"({100 * (1 - len(wrong) / len(plain)):.2f} %)")
    for e in wrong:
        print(f"  place found in [{e.intent}] {e.text!r}")
    print(f"inform_place/ask_promise examples resolving: {len(resolved)}/{len(named)}")
    median, p99 = statistics.median(timings), timings[int(len(timings) * 0.99)]
    print(f"resolve per example (best of 5, {len(items)} examples): "
          f"median {median * 1e6:.0f} µs, p99 {p99 * 1e6:.0f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
