"""Every rule file (data/safety/<lang>.yml) proves itself: each rule's examples are
emergencies that the rule itself catches, each near-miss is a look-alike that nothing
catches, each context marker matches its examples, and each language has a reply that
says whether a native speaker has reviewed it."""

from __future__ import annotations

import pytest

from bot.safety import (
    CATEGORIES,
    MARKER_KINDS,
    REVIEW_STATES,
    EmergencyNet,
    RuleFileError,
    load_net,
)
from bot.safety_stats import training_examples

NET = load_net()
# The languages the product promises to catch emergencies in (issue 12).
REQUIRED_LANGUAGES = ("sv", "en", "ar", "fa", "so", "ti", "pl", "fi", "uk", "ru", "tr", "ckb",
                      "hbs", "es")

EXAMPLES = [pytest.param(rule.name, text, id=f"{rule.name}:{text[:40]}")
            for rule in NET.rules for text in rule.examples]
NEAR_MISSES = [pytest.param(rule.name, text, id=f"{rule.name}:{text[:40]}")
               for rule in NET.rules for text in rule.near_misses]
MARKER_EXAMPLES = [pytest.param(kind, text, id=f"{code}-{kind}:{text[:40]}")
                   for code, language in NET.languages.items()
                   for kind, texts in language.marker_examples.items() for text in texts]
RULES = {rule.name: rule for rule in NET.rules}


@pytest.mark.parametrize(("name", "text"), EXAMPLES)
def test_every_example_is_caught_by_its_own_rule(name: str, text: str) -> None:
    rule = RULES[name]
    assert rule.regex.search(NET.prepare(text)), f"{name} does not match {text!r}"
    assert NET.detect(text) is not None, f"{text!r} matches {name} but its context says no"


@pytest.mark.parametrize(("name", "text"), NEAR_MISSES)
def test_no_near_miss_is_an_emergency(name: str, text: str) -> None:
    assert NET.detect(text) is None, f"{text!r} (a near miss of {name}) got {NET.detect(text)}"


@pytest.mark.parametrize(("kind", "text"), MARKER_EXAMPLES)
def test_every_marker_matches_its_examples(kind: str, text: str) -> None:
    if kind == "idiom":
        assert "~" in NET.prepare(text).split(" "), f"idiom not masked in {text!r}"
    else:
        assert NET.markers[kind].search(NET.prepare(text)), f"{kind} marker misses {text!r}"


def test_every_rule_has_an_example() -> None:
    assert [rule.name for rule in NET.rules if not rule.examples] == []


@pytest.mark.parametrize("code", REQUIRED_LANGUAGES)
def test_each_language_covers_every_category_with_near_misses(code: str) -> None:
    rules = [rule for rule in NET.rules if rule.language == code]
    assert {rule.category for rule in rules} == set(CATEGORIES), code
    assert sum(len(rule.near_misses) for rule in rules) >= 5, f"{code}: too few near misses"


@pytest.mark.parametrize("code", REQUIRED_LANGUAGES)
def test_each_reply_says_whether_a_native_speaker_reviewed_it(code: str) -> None:
    language = NET.languages[code]
    assert language.review in REVIEW_STATES, f"{code}: review must be one of {REVIEW_STATES}"
    if code not in ("sv", "en"):
        assert set(language.replies) == {"emergency", "other_language"}, code
        assert all("112" in line for line in language.replies.values()), code


def test_marker_kinds_are_known() -> None:
    for language in NET.languages.values():
        assert set(language.marker_examples) <= set(MARKER_KINDS)


def test_a_broken_rule_file_is_named_in_the_error(tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "xx.yml").write_text(
        "language: xx\nrules:\n  - {name: xx_bad, category: fire, kind: urgent, pattern: '('}\n")
    with pytest.raises(RuleFileError, match="xx.yml: rule xx_bad"):
        EmergencyNet.load(tmp_path)



def test_no_training_example_of_another_intent_is_an_emergency() -> None:
    """The net only adds recall: what the classifier learns as a tip, a question or a
    report must not be turned into "Ring 112" by it."""
    examples = [(i, t) for i, t in training_examples() if i != "emergency"]
    assert len(examples) > 1000
    assert [(i, t) for i, t in examples if NET.detect(t)] == []


@pytest.mark.parametrize(("name", "text"), EXAMPLES + NEAR_MISSES)
def test_the_word_index_decides_as_trying_every_rule_would(name: str, text: str) -> None:
    assert NET.assess(text) == NET.evaluate(NET.prepare(text), NET.rules)


def test_every_rule_of_every_language_is_reachable_through_the_word_index() -> None:
    assert [NET.rules[number].name for number in NET.always_tried] == []
