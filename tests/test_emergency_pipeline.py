"""The safety tables through the whole trained NLU pipeline of the running server: the
classifier and the deterministic net together must still say "emergency" for every
emergency ("emergency_self_harm" for self-harm), and must not for the look-alikes; and the
rule files' examples in every language get there too."""

from __future__ import annotations

import pytest

from bot.safety import load_net
from tests.conftest import RunningSystem
from tests.test_safety import EMERGENCIES, NOT_EMERGENCIES


@pytest.mark.parametrize(("text", "category"), [(t, c) for _, t, c in EMERGENCIES],
                         ids=[i for i, _, _ in EMERGENCIES])
def test_every_emergency_phrasing_is_an_emergency_for_the_server(
        system: RunningSystem, text: str, category: str) -> None:
    expected = "emergency_self_harm" if category == "self_harm" else "emergency"
    assert system.parse(text)["intent"]["name"] == expected


# The classifier alone may still call an idiom ("jag brinner för…") an emergency; a needless
# "Ring 112" is far cheaper than a missed one, so the look-alikes are held to a rate.
MAX_FALSE_ALARM_RATE = 0.05


def test_look_alikes_rarely_get_112_from_the_server(system: RunningSystem) -> None:
    alarms = [i for i, text in NOT_EMERGENCIES
              if system.parse(text)["intent"]["name"].startswith("emergency")]
    assert len(alarms) / len(NOT_EMERGENCIES) <= MAX_FALSE_ALARM_RATE, alarms


def _by_language() -> dict[str, list[str]]:
    examples: dict[str, list[str]] = {}
    for rule in load_net().rules:
        examples.setdefault(rule.language, []).extend(rule.examples)
    return examples


@pytest.mark.parametrize(("code", "texts"), sorted(_by_language().items()))
def test_rule_file_examples_are_emergencies_for_the_server(
        system: RunningSystem, code: str, texts: list[str]) -> None:
    missed = [t for t in texts if not system.parse(t)["intent"]["name"].startswith("emergency")]
    assert missed == [], f"{code}: {missed}"
