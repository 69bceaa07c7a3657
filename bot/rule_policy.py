"""Rasa's `RulePolicy`, a little faster: a registered component (`config.yml` names it),
so Rasa's own `RulePolicy` stays untouched in the process (docs/performance.md).

- The policy finds the rules that match a conversation by filtering every rule against
  every past state, newest first, and reverses each rule's states again for every check. A
  rule only ever looks at as many states as it has (at most four here), so once the history
  looked at is longer than every rule still in play the filter keeps them all: the search
  stops there, and each rule's reversed states are kept.
- It finds the matching rules again for every prediction (about three per message),
  although only the last few states (as many as the longest rule has) decide which match,
  and conversations keep ending in the same few ways: a loaded policy remembers the answer
  for those last states. (Not while training: the rule table is still being built then.)
- `format_tracker_states` (read only by a debug log call) formats only while debug logging
  is on; Rasa then deep-copies an empty string instead of the whole conversation's states.

One visible difference: `rasa test` counts predictions of policies whose name ends in
`RulePolicy` as "in the training data"; this one is named `MemoRulePolicy`, which it
does not recognise (the figure is reported, never checked).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from rasa.core.policies.policy import Policy
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.generator import TrackerWithCachedStates

from bot.rasa_fixes import debug_logged

POSSIBLE_KEYS_KEPT = 4096
_rasa_format_tracker_states = Policy.format_tracker_states


@cache
def reversed_rule(rule_key: str) -> tuple[State, ...]:
    """A learned rule's states, newest first (Rasa reverses them again for every check)."""
    return tuple(reversed(RulePolicy._rule_key_to_state(rule_key)))


def frozen_state(state: State) -> tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]:
    """A state as a hashable value (sub-states hold strings and tuples)."""
    return tuple(sorted((kind, tuple(sorted(sub_state.items())))
                        for kind, sub_state in state.items()))


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class MemoRulePolicy(RulePolicy):
    """`RulePolicy` with the rule search cut short and its answers remembered."""

    remembers: bool = False  # set on a loaded (trained, no longer changing) policy

    @classmethod
    def load(cls, *args: Any, **kwargs: Any) -> MemoRulePolicy:
        policy = super().load(*args, **kwargs)
        policy.remembers = True
        return policy  # type: ignore[return-value]

    def train(self, training_trackers: list[TrackerWithCachedStates], domain: Domain,
              **kwargs: Any) -> Resource:
        # Rasa's recipe validator checks the domain only for a policy that *is* RulePolicy.
        self.raise_if_incompatible_with_domain(self.config, domain)
        return super().train(training_trackers, domain, **kwargs)

    @staticmethod
    def format_tracker_states(states: list[dict[str, Any]]) -> str:
        """Rasa's formatting (read only by a debug log) while debug logging is on."""
        return _rasa_format_tracker_states(states) if debug_logged() else ""

    def _is_rule_applicable(self, rule_key: str, turn_index: int,
                            conversation_state: State) -> bool:
        """Rasa's check, with the rule's reversed states kept."""
        reversed_rule_states = reversed_rule(rule_key)
        if turn_index >= len(reversed_rule_states):
            return True
        current_previous_action = conversation_state.get(PREVIOUS_ACTION)
        rule_previous_action = reversed_rule_states[turn_index].get(PREVIOUS_ACTION)
        if not rule_previous_action and not current_previous_action:
            return True
        if not rule_previous_action or not current_previous_action:
            return False
        return self._does_rule_match_state(reversed_rule_states[turn_index],
                                           conversation_state)

    def find_possible_keys(self, lookup: dict[str, str], states: list[State]) -> set[str]:
        """Rasa's `_get_possible_keys`, stopping once the states looked at reach further
        back than the longest rule left (every check after that is true)."""
        possible_keys = set(lookup)
        for turn_index, state in enumerate(reversed(states)):
            if turn_index >= max((len(reversed_rule(key)) for key in possible_keys),
                                 default=0):
                break
            possible_keys = {key for key in possible_keys
                             if self._is_rule_applicable(key, turn_index, state)}
        return possible_keys

    def _get_possible_keys(self, lookup: dict[str, str], states: list[State]) -> set[str]:
        """`find_possible_keys`, remembered (by a loaded policy) per lookup for the last
        states up to the longest rule's length, which alone decide the answer."""
        if not self.remembers:
            return self.find_possible_keys(lookup, states)
        kept: dict[int, tuple[dict[str, str], int, dict[Any, frozenset[str]]]] = \
            self.__dict__.setdefault("_possible_keys", {})
        entry = kept.get(id(lookup))
        if entry is None or entry[0] is not lookup:
            longest = max((len(reversed_rule(key)) for key in lookup), default=0)
            entry = kept[id(lookup)] = (lookup, longest, {})
        _, longest, answers = entry
        try:
            key = tuple(frozen_state(state) for state in states[max(0, len(states) - longest):])
            hash(key)
        except TypeError:  # a value that cannot be hashed: work it out every time
            return self.find_possible_keys(lookup, states)
        found = answers.get(key)
        if found is None:
            if len(answers) >= POSSIBLE_KEYS_KEPT:
                answers.clear()
            found = answers[key] = frozenset(self.find_possible_keys(lookup, states))
        return set(found)
