"""The faster rule policy finds the rules Rasa's finds, and formats for debug logs only."""

from __future__ import annotations

import copy
import json
import logging
import tarfile
from pathlib import Path

import structlog
from rasa.core.policies.policy import Policy
from rasa.core.policies.rule_policy import RulePolicy

from bot.rule_policy import MemoRulePolicy


def _rule_lookups(model_path: Path) -> dict[str, dict[str, str]]:
    with tarfile.open(model_path) as model:
        member = next(m for m in model.getmembers()
                      if m.name.endswith("RulePolicy0/rule_policy.json"))
        lookup = json.load(model.extractfile(member))["lookup"]  # type: ignore[arg-type]
    return {name: rules for name, rules in lookup.items() if isinstance(rules, dict)}


def test_the_rules_that_match_a_conversation_are_found_as_rasa_finds_them(
        model_path: Path) -> None:
    lookups = _rule_lookups(model_path)
    rules = sorted(lookups["rules"])
    stock_policy = RulePolicy.__new__(RulePolicy)
    policy = MemoRulePolicy.__new__(MemoRulePolicy)
    policy.remembers = True  # as loaded
    # Conversations made of the learned rules' own states, alone, after one another and
    # with a state dropped or a slot changed: matches, partial matches and misses.
    histories: list[list[dict]] = []
    for number, key in enumerate(rules):
        states = json.loads(key)
        other = json.loads(rules[(number * 7 + 3) % len(rules)])
        histories += [states, other + states, states + other, states[1:], states[:-1],
                      other[-1:] + states[1:], states[:1] + other[-1:] + states[1:]]
        changed = copy.deepcopy(states)
        changed[-1].setdefault("slots", {})["language"] = ("en",)
        histories.append(other + changed)
    found = 0
    for lookup in lookups.values():
        for states in histories * 2:  # the second time from what was remembered
            stock = stock_policy._get_possible_keys(lookup, states)
            assert policy.find_possible_keys(lookup, states) == stock
            assert policy._get_possible_keys(lookup, states) == stock
            found += bool(stock)
            for key in list(lookup)[:20]:
                for index, state in enumerate(reversed(states)):
                    assert policy._is_rule_applicable(key, index, state) == \
                        stock_policy._is_rule_applicable(key, index, state)
    assert found > len(rules)  # the comparison covers real matches, not only misses
    remembered = policy.__dict__["_possible_keys"]
    assert sum(len(answers) for _, _, answers in remembered.values()) < \
        len(histories) * len(lookups)  # histories with the same ending share an answer
    odd = [{"slots": {"language": ["en"]}}]  # unhashable: worked out, not remembered
    assert policy._get_possible_keys(lookups["rules"], odd) == \
        stock_policy._get_possible_keys(lookups["rules"], odd)


def test_a_policy_in_training_remembers_nothing(model_path: Path) -> None:
    lookup = dict(_rule_lookups(model_path)["rules"])
    policy = MemoRulePolicy.__new__(MemoRulePolicy)
    states = json.loads(next(iter(lookup)))
    assert policy._get_possible_keys(lookup, states)
    assert "_possible_keys" not in policy.__dict__  # the rule table still changes then


def test_states_are_formatted_only_while_debug_logging_is_on() -> None:
    states = [{"user": {"intent": "greet"}, "prev_action": {"action_name": "action_listen"}}]
    saved = structlog.get_config()
    try:
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
        assert MemoRulePolicy.format_tracker_states(states) == ""
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
        assert MemoRulePolicy.format_tracker_states(states) == \
            Policy.format_tracker_states(states)
    finally:
        structlog.configure(**saved)
