"""`python -m bot.safety_stats`: the size of the safety net per language, the time
`detect_emergency` takes per message, and its false alarms on the NLU training data.

Speed is measured, not guessed: the median over every example and near miss in the rule
files (each timed over several runs, after one warm-up call).
"""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter

import yaml

from bot.safety import EmergencyNet, load_net
from bot.settings import PROJECT_ROOT


def training_examples() -> list[tuple[str, str]]:
    """(intent, text) of every NLU training example, entity markup removed."""
    examples = []
    for path in sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            for line in (item.get("examples") or "").splitlines() if "intent" in item else []:
                text = re.sub(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})", r"\1", line.strip()[2:])
                if text.strip():
                    examples.append((item["intent"], text))
    return examples


def _median_microseconds(net: EmergencyNet, texts: list[str], runs: int = 5) -> float:
    net.detect("warm up")
    timings = []
    for text in texts:
        started = time.perf_counter()
        for _ in range(runs):
            net.detect(text)
        timings.append((time.perf_counter() - started) / runs * 1e6)
    return statistics.median(timings)


def main() -> None:
    started = time.perf_counter()
    net = load_net()
    built = time.perf_counter() - started
    rules = Counter(rule.language for rule in net.rules)
    examples: Counter[str] = Counter()
    near: Counter[str] = Counter()
    for rule in net.rules:
        examples[rule.language] += len(rule.examples)
        near[rule.language] += len(rule.near_misses)
    print("language  rules  examples  near_misses  review")
    for code in sorted(rules):
        print(f"{code:8} {rules[code]:6} {examples[code]:9} {near[code]:12}  "
              f"{net.languages[code].review}")
    print(f"total    {sum(rules.values()):6} {sum(examples.values()):9} {sum(near.values()):12}")
    texts = [t for rule in net.rules for t in (*rule.examples, *rule.near_misses)]
    print(f"net built in {built:.2f} s; detect_emergency median "
          f"{_median_microseconds(net, texts):.0f} µs over {len(texts)} messages")
    others = [(i, t) for i, t in training_examples() if i != "emergency"]
    alarms = [(i, t) for i, t in others if net.detect(t)]
    print(f"false alarms on NLU training examples that are not emergencies: "
          f"{len(alarms)}/{len(others)} ({len(alarms) / len(others):.2%})")
    for intent, text in alarms:
        print(f"  {intent}: {text}")


if __name__ == "__main__":
    main()
