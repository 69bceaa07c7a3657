"""The Rasa fixes change cost, not behaviour: each is checked against Rasa's own code."""

from __future__ import annotations

import ast
import asyncio
import copy
import importlib
import inspect
import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import rasa.core.policies.rule_policy
import rasa.core.processor
import rasa.core.run
import structlog
from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.core.processor import MessageProcessor
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActionReverted,
    ActiveLoop,
    AgentUttered,
    AllSlotsReset,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    EntitiesAdded,
    Event,
    FollowupAction,
    LoopInterrupted,
    ReminderCancelled,
    ReminderScheduled,
    Restarted,
    SessionStarted,
    SlotSet,
    StoryExported,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig

from bot import rasa_fixes

GOOD_RESULT = {"events": [{"event": "slot", "name": "area", "value": "1480"}],
               "responses": [{"text": "Hej", "buttons": [{"title": "Ja", "payload": "/affirm"}]}]}
BAD_RESULTS = [{"events": "not a list"}, {"events": [{"event": "nonsense"}]},
               {"events": [{"no_event_key": 1}]}]
PARSE_TEXTS = ["hej", "hur kontaktar jag polisen?", "vad är ett medborgarlöfte i Göteborg",
               "någon slår mig just nu", "I want to give a tip", "", "🙂🙂", "<b>hej</b>",
               "jag vill tipsa om ett inbrott förra månaden", "tack hej då", "angered",
               "x" * 2000]


def test_an_action_result_is_judged_exactly_like_rasa_does() -> None:
    schema = RemoteAction.action_response_format_spec()
    action = RemoteAction("action_x", None)
    assert rasa_fixes._validate_action_result(action, GOOD_RESULT) is True
    for bad in BAD_RESULTS:
        with pytest.raises(jsonschema.ValidationError) as stock:
            jsonschema.validate(bad, schema)
        with pytest.raises(jsonschema.ValidationError) as fixed:
            rasa_fixes._validate_action_result(action, bad)
        assert fixed.value.message.startswith(stock.value.message)
        assert "Failed to validate Action server response" in fixed.value.message


def _sample_events() -> list[dict[str, Any]]:
    entity = {"entity": "place", "value": "Gävle", "start": 0, "end": 5, "confidence": 0.9}
    parse = {"text": "hej", "intent": {"name": "greet", "confidence": 0.9},
             "intent_ranking": [{"name": "greet", "confidence": 0.9}], "entities": [entity]}
    events = [UserUttered("hej", parse["intent"], [entity], parse),
              ActionExecuted("utter_greet", policy="RulePolicy", confidence=1.0),
              BotUttered("Hej", {"buttons": [{"title": "Ja", "payload": "/affirm"}]}),
              SlotSet("area", "1480"), SlotSet("tip_pictures", ["a", "b"]),
              ActiveLoop("tip_form"), ActiveLoop(None), SessionStarted(), Restarted(),
              ActionReverted(), UserUtteranceReverted(), FollowupAction("utter_greet"),
              AllSlotsReset(), ConversationPaused(), ConversationResumed(),
              EntitiesAdded([entity]), LoopInterrupted(True),
              ReminderScheduled("greet", datetime(2030, 1, 1)), ReminderCancelled("x"),
              ActionExecutionRejected("tip_form"), AgentUttered("hej"), StoryExported()]
    return [event.as_dict() for event in events]


def _broken(event: dict[str, Any]) -> list[Any]:
    """The event with each field in turn given a value of another JSON type, or dropped."""
    variants: list[Any] = []
    for field in event:
        for value in (None, 1, 1.5, "x", True, [], {}, [{"bad": 1}]):
            variants.append({**event, field: value})
        variants.append({k: v for k, v in event.items() if k != field})
    return variants + [{**event, "parse_data": {"entities": [{"entity": 1}]}},
                       {**event, "entities": [{"value": 1}]}, "not an event", None, 7]


def test_a_result_judged_valid_per_event_is_valid_for_rasas_whole_schema() -> None:
    schema = RemoteAction.action_response_format_spec()
    full = rasa_fixes.action_result_validator()
    good = _sample_events()
    results = [{"events": good, "responses": [{"text": "Hej"}]}, {}, {"events": []},
               GOOD_RESULT, *BAD_RESULTS, {"responses": "x"}, {"responses": [1]}, [], None,
               {"events": [{"event": "no_such_event"}]}, {"events": None}]
    results += [{"events": [event]} for original in good for event in _broken(original)]
    quick = 0
    for result in results:
        plainly = rasa_fixes.is_plainly_valid(result)
        assert not plainly or full.is_valid(result), result
        quick += plainly
        if not plainly:  # the whole schema decides, raising Rasa's own error
            try:
                jsonschema.validate(result, schema)
            except jsonschema.ValidationError as stock:
                with pytest.raises(jsonschema.ValidationError) as fixed:
                    rasa_fixes._validate_action_result(RemoteAction("a", None), result)
                assert fixed.value.message.startswith(stock.message)
            else:
                assert rasa_fixes._validate_action_result(RemoteAction("a", None), result)
    assert rasa_fixes.is_plainly_valid({"events": good})  # the quick path serves real ones
    assert quick > len(good)


def test_every_event_name_resolves_to_the_class_rasas_walk_finds() -> None:
    for cls in all_subclasses(Event):
        expected = rasa_fixes._rasa_resolve_by_type(cls.type_name)
        assert rasa_fixes.resolve_by_type(cls.type_name) is expected
    assert rasa_fixes.resolve_by_type("topic") is None
    with pytest.raises(ValueError):
        rasa_fixes.resolve_by_type("no_such_event")


def test_an_empty_domain_is_recognised_as_rasa_does() -> None:
    from rasa.shared.core.domain import Domain

    loaded = Domain.load(str(Path(__file__).parent.parent / "domain.yml"))
    for domain in (Domain.empty(), Domain.from_dict({}), loaded):
        assert rasa_fixes.domain_is_empty(domain) == rasa_fixes._rasa_is_empty(domain)
    assert rasa_fixes.domain_is_empty(Domain.empty()) and not rasa_fixes.domain_is_empty(loaded)


def _conversation_events() -> list[Event]:
    """A conversation with slots, a form, a reverted utterance, a reverted action, a
    restart and a new session: every kind of event that changes past states."""
    def user(intent: str, text: str = "x") -> UserUttered:
        return UserUttered(text, {"name": intent, "confidence": 1.0},
                           [{"entity": "language", "value": "sv", "start": 0, "end": 1}])

    return [
        ActionExecuted("action_session_start"), SessionStarted(),
        ActionExecuted("action_listen"), user("greet"), SlotSet("language", "sv"),
        ActionExecuted("utter_greet"), BotUttered("Hej"), ActionExecuted("action_listen"),
        user("give_tip"), ActionExecuted("tip_form"), ActiveLoop("tip_form"),
        SlotSet("requested_slot", "tip_what"), ActionExecuted("action_listen"),
        user("out_of_scope", "något"), UserUtteranceReverted(),
        user("tip_seen", "en bil"), ActionExecuted("tip_form"), SlotSet("tip_what", "en bil"),
        ActionExecuted("action_wrong"), ActionReverted(), ActionExecuted("action_listen"),
        user("cancel"), ActiveLoop(None), SlotSet("requested_slot", None),
        ActionExecuted("utter_ok"), ActionExecuted("action_listen"), Restarted(),
        ActionExecuted("action_session_start"), SessionStarted(),
        ActionExecuted("action_listen"), user("request_human"), SlotSet("area", "1480"),
        ActionExecuted("action_handover"), ActionExecuted("action_listen"),
    ]


def test_past_states_are_worked_out_as_rasa_does_as_a_conversation_grows() -> None:
    domain = Domain.load(str(Path(__file__).parent.parent / "domain.yml"))
    tracker = DialogueStateTracker("states", domain.slots)
    rebuilt_at: list[str] = []
    memo = None
    for event in _conversation_events():
        tracker.update(event)
        for omit in (False, True):
            stock = rasa_fixes._rasa_states_for_tracker_history(domain, tracker, omit)
            fixed = rasa_fixes.states_for_tracker_history(domain, tracker, omit)
            assert fixed == stock, event
            for state in fixed:  # callers edit states in place; the memo must not notice
                for sub_state in state.values():
                    sub_state.clear()
            assert rasa_fixes.states_for_tracker_history(domain, tracker, omit) == stock
        if memo is not tracker.__dict__["_states_memo"][False]:
            rebuilt_at.append(event.type_name)
            memo = tracker.__dict__["_states_memo"][False]
    fresh = DialogueStateTracker("states", domain.slots)  # a second tracker starts afresh
    fresh.update(ActionExecuted("action_listen"))
    assert rasa_fixes.states_for_tracker_history(domain, fresh) == \
        rasa_fixes._rasa_states_for_tracker_history(domain, fresh)
    # Replayed afresh only where earlier events stopped counting (a new session, a rewind,
    # an undo, a restart, the form's second turn that replaces its first); otherwise only
    # what was added since the last call.
    assert rebuilt_at == ["action", "session_started", "rewind", "action", "undo", "restart",
                          "session_started"]


def test_rule_only_turns_are_left_to_rasa() -> None:
    domain = Domain.load(str(Path(__file__).parent.parent / "domain.yml"))
    tracker = DialogueStateTracker.from_events("rules", _conversation_events(), domain.slots)
    rule_only = {"slots": ["area"], "loops": ["tip_form"]}
    assert rasa_fixes.states_for_tracker_history(domain, tracker, False, True, rule_only) == \
        rasa_fixes._rasa_states_for_tracker_history(domain, tracker, False, True, rule_only)
    assert "_states_memo" not in tracker.__dict__


def test_a_slot_copies_as_copy_copy_would() -> None:
    domain = Domain.load(str(Path(__file__).parent.parent / "domain.yml"))
    for slot in domain.slots:
        slot.value = ["changed"]
        fixed = rasa_fixes.copy_slot(slot)
        reduced = copy._reconstruct(slot, None, *slot.__reduce_ex__(4))  # type: ignore[attr-defined]
        assert type(fixed) is type(reduced) and fixed.__dict__ == reduced.__dict__
        assert fixed is not slot and fixed.value is slot.value  # shallow, like copy.copy


@pytest.fixture
def structlog_at() -> Iterator[Callable[[int], None]]:
    saved = structlog.get_config()

    def configure(level: int) -> None:
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level),
                            cache_logger_on_first_use=False)

    yield configure
    structlog.configure(**saved)


def test_debug_log_arguments_are_copied_only_while_debug_logging_is_on(structlog_at) -> None:
    events = [{"event": "slot", "value": ["a"]}]
    structlog_at(logging.INFO)  # `rasa run` without --debug
    assert not rasa_fixes.debug_logged()
    assert rasa_fixes.LogArgumentCopies.deepcopy(events) is events
    structlog_at(logging.DEBUG)
    assert rasa_fixes.debug_logged()
    copied = rasa_fixes.LogArgumentCopies.deepcopy(events)
    assert copied == events and copied is not events and copied[0]["value"] is not \
        events[0]["value"]
    assert rasa_fixes.LogArgumentCopies().copy is copy.copy  # the rest is the real module


def test_rasa_uses_copy_in_the_processor_only_for_debug_log_arguments() -> None:
    module = "rasa.core.processor"
    tree = ast.parse(inspect.getsource(importlib.import_module(module)))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    uses = [node for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name) and node.value.id == "copy"]
    assert uses
    for use in uses:
        assert use.attr == "deepcopy", ast.unparse(use)
        node: ast.AST = use
        while not (isinstance(node, ast.Call) and ast.unparse(node.func) == "structlogger.debug"):
            assert node in parents, f"{module}: {ast.unparse(use)} outside a debug log call"
            node = parents[node]


def _parse_all(agent: object) -> list[dict]:
    import asyncio

    return [asyncio.run(agent.parse_message(text)) for text in PARSE_TEXTS]  # type: ignore[attr-defined]


def test_the_trained_model_parses_the_same_with_and_without_the_fixes(model_path: Path) -> None:
    from rasa.core.agent import Agent

    patched = [(DaskGraphRunner, "run"), (RemoteAction, "_validate_action_result"),
               (MessageProcessor, "handle_message"), (rasa.core.run, "load_agent_on_start"),
               (EndpointConfig, "request"), (EndpointConfig, "session")]
    originals = [owner.__dict__[name] for owner, name in patched]
    resolve = Event.__dict__["resolve_by_type"]
    is_empty = Domain.__dict__["is_empty"]
    states = Domain.__dict__["states_for_tracker_history"]
    agent = Agent.load(str(model_path))
    stock = _parse_all(agent)
    try:
        rasa_fixes.apply(concurrent_messages=2)
        assert DaskGraphRunner.run is rasa_fixes.run_graph
        fixed = _parse_all(agent)
    finally:
        for (owner, name), original in zip(patched, originals, strict=True):
            setattr(owner, name, original)
        Event.resolve_by_type = resolve
        Domain.is_empty = is_empty
        Domain.states_for_tracker_history = states
        del Slot.__copy__
        rasa.core.processor.copy = copy  # type: ignore[attr-defined]
    for before, after in zip(copy.deepcopy(stock), fixed, strict=True):
        assert after["intent"]["name"] == before["intent"]["name"], before["text"]
        assert after["intent"]["confidence"] == pytest.approx(before["intent"]["confidence"],
                                                              abs=1e-9)
        assert after["entities"] == before["entities"]
        assert [i["name"] for i in after["intent_ranking"]] == \
            [i["name"] for i in before["intent_ranking"]]


def test_the_loaded_model_is_frozen_out_of_garbage_collection() -> None:
    import gc

    async def load() -> str:
        return "agent"

    wrapped = rasa_fixes.freeze_after_load(load)
    assert rasa_fixes.freeze_after_load(wrapped) is wrapped
    try:
        assert asyncio.run(wrapped()) == "agent"
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


async def test_the_gate_admits_a_few_messages_at_a_time_in_arrival_order() -> None:
    gate = rasa_fixes.AdmissionGate(2, patience=5.0)
    inside, most, entered = 0, 0, []

    async def message(number: int) -> None:
        nonlocal inside, most
        async with gate.admit():
            entered.append(number)
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    tasks = []
    for number in range(8):
        tasks.append(asyncio.create_task(message(number)))
        await asyncio.sleep(0)  # they arrive one after the other
    await asyncio.gather(*tasks)
    assert most == 2 and entered == list(range(8))


async def test_a_stalled_message_cannot_hold_the_others_back() -> None:
    gate = rasa_fixes.AdmissionGate(1, patience=0.05)
    stalled = asyncio.Event()

    async def stuck() -> None:
        async with gate.admit():
            stalled.set()
            await asyncio.sleep(3600)

    holder = asyncio.create_task(stuck())
    await stalled.wait()
    async with gate.admit():  # an emergency reply still goes out, after the patience
        pass
    holder.cancel()
    async with gate.admit():  # the slot came back when the stuck message ended
        pass


def test_no_gate_is_rasas_own_behaviour() -> None:
    assert rasa_fixes.gated_handle_message(0) is rasa_fixes._rasa_handle_message


async def test_a_message_waiting_for_the_action_server_lends_its_slot_and_comes_back_first(
) -> None:
    gate = rasa_fixes.AdmissionGate(1, patience=5.0)
    order: list[str] = []
    answer = asyncio.Event()

    async def first_message() -> None:  # a session start: it calls the action server
        async with gate.admit():
            order.append("first starts")
            async with gate.away():
                await answer.wait()
            order.append("first ends")

    async def message(name: str) -> None:
        async with gate.admit():
            order.append(name)
            await asyncio.sleep(0.01)

    first = asyncio.create_task(first_message())
    await asyncio.sleep(0.001)
    second = asyncio.create_task(message("second"))  # served while the first one waits
    await asyncio.sleep(0.005)
    third = asyncio.create_task(message("third"))    # arrives later: after the first
    await asyncio.sleep(0)
    answer.set()
    await asyncio.gather(first, second, third)
    assert order == ["first starts", "second", "first ends", "third"]


async def test_a_free_slot_still_lets_a_waiting_reply_go_first() -> None:
    """Messages do not run back to back in one turn of the event loop: a reply from the
    action server that became ready meanwhile is picked up before the next message."""
    gate = rasa_fixes.AdmissionGate(1, patience=5.0)
    order: list[str] = []

    async def message(name: str) -> None:
        async with gate.admit():
            order.append(name)
            if name == "a":  # while "a" runs, a reply arrives for someone else
                asyncio.get_running_loop().call_soon(order.append, "reply")

    await asyncio.gather(message("a"), message("b"))
    assert order == ["a", "reply", "b"]


async def test_a_message_cancelled_while_waiting_does_not_keep_a_slot() -> None:
    gate = rasa_fixes.AdmissionGate(1, patience=5.0)
    release = asyncio.Event()

    async def holder() -> None:
        async with gate.admit():
            await release.wait()

    held = asyncio.create_task(holder())
    await asyncio.sleep(0.001)

    async def waiter() -> None:
        async with gate.admit():
            pass

    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    release.set()          # the slot is handed to the waiter ...
    await asyncio.sleep(0)
    waiting.cancel()       # ... which is cancelled before it runs
    await asyncio.gather(held, waiting, return_exceptions=True)
    await asyncio.wait_for(waiter(), 1.0)  # the slot is free again, no patience needed
    assert gate._busy == 0


async def test_rasas_calls_to_the_action_server_lend_the_slot(
        monkeypatch: pytest.MonkeyPatch) -> None:
    gate = rasa_fixes.AdmissionGate(1, patience=5.0)
    seen: list[int] = []

    async def stock_request(self: object, **kwargs: object) -> dict[str, object]:
        seen.append(gate._busy)
        return {"events": []}

    monkeypatch.setattr(rasa_fixes, "_rasa_request", stock_request)
    endpoint = EndpointConfig("http://127.0.0.1:1/webhook")
    assert await rasa_fixes.request_away(endpoint, json={}) == {"events": []}  # no message
    async with gate.admit():
        assert await rasa_fixes.request_away(endpoint, json={}) == {"events": []}
        assert gate._busy == 1
    assert seen == [0, 0] and gate._busy == 0


async def test_calls_to_an_endpoint_reuse_one_kept_connection(
        aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    peers: list[object] = []

    async def webhook(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))  # type: ignore[union-attr]
        assert request.headers.get("X-Test") == "1"
        return web.json_response({"events": [], "got": await request.json()})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    server = await aiohttp_server(app)
    monkeypatch.setattr(EndpointConfig, "session", rasa_fixes.kept_session)
    endpoint = EndpointConfig(str(server.make_url("/webhook")), headers={"X-Test": "1"})
    first = await rasa_fixes._rasa_request(endpoint, json={"n": 1})
    second = await rasa_fixes._rasa_request(endpoint, json={"n": 2})
    assert first["got"] == {"n": 1} and second["got"] == {"n": 2}
    assert peers[0] == peers[1], "the second call reuses the first call's connection"
    kept = endpoint.__dict__["_kept_session"][1]
    assert not kept.closed
    await kept.close()
    assert (await rasa_fixes._rasa_request(endpoint, json={"n": 3}))["got"] == {"n": 3}
    await endpoint.__dict__["_kept_session"][1].close()


async def test_only_the_action_servers_endpoint_keeps_its_connection(
        aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    async def webhook(request: web.Request) -> web.Response:
        return web.json_response({"events": []})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    server = await aiohttp_server(app)
    actions = str(server.make_url("/webhook"))
    other = actions.replace("127.0.0.1", "localhost")
    session = rasa_fixes.action_endpoint_only(actions.removesuffix("/webhook"),
                                              rasa_fixes.kept_session, rasa_fixes._rasa_session)
    assert rasa_fixes.action_endpoint_only("x", rasa_fixes.kept_session, session).stock is \
        rasa_fixes._rasa_session, "applied twice, it still falls back to Rasa's own"
    monkeypatch.setattr(EndpointConfig, "session", session)
    action_endpoint, other_endpoint = EndpointConfig(actions), EndpointConfig(other)
    for endpoint in (action_endpoint, other_endpoint):
        assert await rasa_fixes._rasa_request(endpoint, json={}) == {"events": []}
    assert "_kept_session" not in other_endpoint.__dict__, "Rasa's own session for others"
    await action_endpoint.__dict__["_kept_session"][1].close()


def test_another_rasa_version_is_refused_before_anything_is_patched(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rasa_fixes.check_rasa_version(rasa_fixes.RASA_VERSION)
    monkeypatch.setattr(rasa, "__version__", "3.6.20")
    run = DaskGraphRunner.run
    with pytest.raises(rasa_fixes.UnsupportedRasaVersion, match=r"3\.6\.21.*3\.6\.20"):
        rasa_fixes.apply()
    assert DaskGraphRunner.run is run


def test_the_rasa_server_will_not_start_on_another_rasa_version(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from bot import rasa_server

    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(SystemExit, match=r"Rasa 3\.7\.0 is installed"):
        rasa_server.main()
