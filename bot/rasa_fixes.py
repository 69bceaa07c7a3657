"""Targeted fixes to Rasa 3.6.21 internals, applied in the Rasa server process before it starts
(and in `rasa test`, run the same way: `python -m bot.rasa_server test …`).

Where Rasa has an extension point the speed-up is a registered component instead, named in
`config.yml`: the rule policy's search (`bot/rule_policy.py`) and the intent classifier's
row and probabilities (`bot/intent_classifier.py`). What is left here has no extension
point (the graph runner, the processor, events, domain and slot helpers, the endpoint
client), so `apply` first checks that the installed Rasa is exactly `RASA_VERSION` and
refuses to start on any other: these functions replace Rasa's own and were checked against
that version's code only.

Each fix keeps Rasa's behaviour and only removes a cost measured with py-spy under load
(docs/performance.md):

- Rasa checks every custom action's answer with `jsonschema.validate`, which first validates
  the *schema itself* against its meta-schema: about 16 ms per action call here, for a schema
  that never changes. The fix compiles the validator once and validates the answer against
  the same schema, raising the same `ValidationError` (the best match, as `validate`
  picks it) with Rasa's message.
  Each event is also checked against its own branch of the schema's `oneOf` alone (the
  other branches name other events), and only a result that fails that goes through the
  whole schema, for Rasa's error.
- `Event.resolve_by_type` walks every subclass of `Event` for every event it deserialises
  (each event of a tracker, on every message). The fix looks the name up in a table of the
  same subclasses, falling back to Rasa's walk for a name it does not know.
- The graph runner hands each run (the NLU pipeline, then the policies, on every message) to
  dask's synchronous scheduler, which rebuilds its task bookkeeping every time. Rasa only
  ever uses that single-threaded scheduler, so the fix runs the same nodes in the same
  dependency order directly, with the same inputs, results and errors.
- The rule policy predicts about three times per message, and each time Rasa works out the
  conversation's states by replaying every event onto a fresh copy of the tracker. The
  states before each action never change once later events are added, so the fix keeps,
  on the tracker, the replayed copy and the states so far, and replays only the events
  added since (from scratch again if an earlier event was reverted). Every caller gets its
  own copies of the states, which Rasa's featurizer edits in place.
- Every tracker copy copies each slot with `copy.copy`, which goes through the pickle
  protocol; the slots' own `__copy__` makes the same shallow copy directly.
- Rasa's processor deep-copies the arguments of its structured debug log calls (events,
  parse data) before the call, even when debug logging is off and the call does nothing.
  The fix gives that module a `copy` whose `deepcopy` copies only while debug logging is on.
- `Domain.is_empty`, asked for every message, builds a new empty domain to compare with;
  the fix compares with that empty domain's dictionary, built once.
- Rasa starts every arriving message at once. The work of a message hardly ever waits, so
  under load the event loop runs every message that has arrived back to back, and a
  message that waits for the action server (every conversation's first, for its session
  start) gets its answer only after all of them. The admission gate lets messages in one
  at a time (RASA_CONCURRENT_MESSAGES), in arrival order and one per turn of the event
  loop; a message waiting for the action server lends its turn to the next and, once
  answered, comes back before the messages that have not started. A message that has
  waited `GATE_PATIENCE` seconds goes ahead anyway, so a stalled action server cannot hold
  the others back.
- Rasa opens a new HTTP session, and so a new connection, for every call to the action
  server, and closes it again: several turns of a busy event loop per call. The fix keeps
  one session per endpoint, made as Rasa makes it, with idle connections closed after
  `KEEPALIVE_SECONDS` (before the server's own keep-alive ends them). This and the
  admission slot lent during the call apply to the action server's endpoint only; any other
  endpoint keeps Rasa's own code.
- Not a change to Rasa but to the interpreter: once the model is loaded the process holds
  about half a million long-lived objects (TensorFlow, scikit-learn, the graph), and every
  full garbage collection walked them all: a 300-600 ms pause for every conversation in
  flight. Freezing them after the load (`gc.freeze`) leaves collections only the objects
  made since.
"""

from __future__ import annotations

import asyncio
import copy
import gc
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache, wraps
from typing import Any

import aiohttp
import rasa
import rasa.core.processor
import rasa.core.run
import rasa.shared.utils.common
import structlog
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import UserMessage
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.core.processor import MessageProcessor
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

RASA_VERSION = "3.6.21"
GATE_PATIENCE = 2.0
KEEPALIVE_SECONDS = 2.0
_rasa_resolve_by_type = Event.resolve_by_type
_rasa_is_empty = Domain.is_empty
_rasa_states_for_tracker_history = Domain.states_for_tracker_history
_rasa_handle_message = MessageProcessor.handle_message
_rasa_request = EndpointConfig.request
_rasa_session = EndpointConfig.session


@cache
def action_result_validator() -> Validator:
    """Rasa's action-server response schema, compiled once (the schema is a constant)."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


@cache
def event_validators() -> dict[str, Validator]:
    """Per event name, Rasa's event schema with only that name's `oneOf` branch. Every
    other branch requires a different `event` value and so fails: for an event of a known
    name, "exactly one branch holds" is "its own branch holds". Names that are not a
    single branch's constant are left out (such events take the full schema)."""
    schema = RemoteAction.action_response_format_spec()["properties"]["events"]["items"]
    base = {key: value for key, value in schema.items() if key != "oneOf"}
    names = [branch.get("properties", {}).get("event", {}).get("const")
             for branch in schema["oneOf"]]
    validators: dict[str, Validator] = {}
    for name, branch in zip(names, schema["oneOf"], strict=True):
        if isinstance(name, str) and names.count(name) == 1:
            narrowed = {**base, "allOf": [branch]}
            validators[name] = validator_for(narrowed)(narrowed)
    return validators


def is_plainly_valid(result: Any) -> bool:
    """True only when `result` is valid against Rasa's action-response schema, checking
    each event against its own branch instead of all of them; False means "ask the full
    schema" (which then finds the error Rasa reports)."""
    if not isinstance(result, dict):
        return False
    responses = result.get("responses", [])
    events = result.get("events", [])
    if not (isinstance(responses, list) and all(isinstance(r, dict) for r in responses)
            and isinstance(events, list)):
        return False
    validators = event_validators()
    for event in events:
        name = event.get("event") if isinstance(event, dict) else None
        validator = validators.get(name) if isinstance(name, str) else None
        if validator is None or not validator.is_valid(event):
            return False
    return True


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """Rasa's check of an action server's answer: the error it raises is the one
    `jsonschema.validate` picks (the best match), with Rasa's advice appended."""
    if is_plainly_valid(result):
        return True
    error = best_match(action_result_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response "
        "from the Action endpoint is valid. For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


@cache
def _event_classes() -> dict[str, type[Event]]:
    classes: dict[str, type[Event]] = {}
    for cls in rasa.shared.utils.common.all_subclasses(Event):
        classes.setdefault(cls.type_name, cls)  # the first match wins, as in Rasa's walk
    return classes


def resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    """`Event.resolve_by_type` from a table instead of a walk of the class tree."""
    found = _event_classes().get(type_name)
    return found if found is not None else _rasa_resolve_by_type(type_name, default)


@cache
def _empty_domain() -> dict[str, Any]:
    return Domain.empty().as_dict()


def domain_is_empty(self: Domain) -> bool:
    """`Domain.is_empty` against an empty domain made once."""
    return self.as_dict() == _empty_domain()


@dataclass
class _StatesMemo:
    """How far `states_for_tracker_history` got with one tracker: the applied events it
    replayed, the replayed copy after them, and the state before each action among them."""

    domain: Domain
    replay: DialogueStateTracker
    applied: list[Event]
    states: list[State]

    def continues(self, domain: Domain, applied: list[Event]) -> bool:
        """True when `applied` still starts with the events replayed so far."""
        return (self.domain is domain and len(self.applied) <= len(applied)
                and all(seen is event for seen, event in zip(self.applied, applied, strict=False)))


def _copy_state(state: State) -> State:
    """A state the caller may edit (its sub-states are dicts of strings and tuples, some
    of them the replayed tracker's own)."""
    return {kind: dict(sub_state) for kind, sub_state in state.items()}


def states_for_tracker_history(self: Domain, tracker: DialogueStateTracker,
                               omit_unset_slots: bool = False,
                               ignore_rule_only_turns: bool = False,
                               rule_only_data: dict[str, Any] | None = None) -> list[State]:
    """Rasa's `Domain.states_for_tracker_history`, replaying only the events added since
    the last call for the same tracker (rule-only turns ignored: Rasa's own code)."""
    if ignore_rule_only_turns:
        return _rasa_states_for_tracker_history(self, tracker, omit_unset_slots,
                                                ignore_rule_only_turns, rule_only_data)
    applied = tracker.applied_events()
    memos: dict[bool, _StatesMemo] = tracker.__dict__.setdefault("_states_memo", {})
    memo = memos.get(omit_unset_slots)
    if memo is None or not memo.continues(self, applied):
        memo = memos[omit_unset_slots] = _StatesMemo(self, tracker.init_copy(), [], [])
    for event in applied[len(memo.applied):]:
        if isinstance(event, ActionExecuted):
            memo.states.append(self._clean_state(
                self.get_active_state(memo.replay, omit_unset_slots=omit_unset_slots)))
        memo.replay.update(event)
        memo.applied.append(event)
    latest = self._clean_state(self.get_active_state(memo.replay,
                                                     omit_unset_slots=omit_unset_slots))
    return [_copy_state(state) for state in (*memo.states, latest)]


def copy_slot(self: Slot) -> Slot:
    """`copy.copy` of a slot without the pickle protocol: a new object with the same
    attributes, as the protocol makes it for classes without state hooks."""
    copied = object.__new__(type(self))
    copied.__dict__.update(self.__dict__)
    return copied


def debug_logged() -> bool:
    """Whether Rasa's structured debug log is on: structlog's filtering logger, set up by
    Rasa at the server's log level, makes `debug` a no-op below that level."""
    debug = getattr(structlog.get_config().get("wrapper_class"), "debug", None)
    return debug is None or getattr(debug, "__name__", "") != "_nop"


class LogArgumentCopies:
    """The `copy` module as Rasa's processor sees it: it uses it only to
    deep-copy the arguments of debug log calls, which are dropped unless debug is on."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return copy.deepcopy(value, memo) if debug_logged() else value

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _minimal_schema(runner: DaskGraphRunner, targets: tuple[str, ...]) -> GraphSchema:
    """The part of the runner's graph the targets need, worked out once per runner."""
    known: dict[tuple[str, ...], GraphSchema] = runner.__dict__.setdefault("_minimal", {})
    if targets not in known:
        known[targets] = runner._graph_schema.minimal_graph_schema(list(targets))
    return known[targets]


def run_graph(self: DaskGraphRunner, inputs: dict[str, Any] | None = None,
              targets: list[str] | None = None) -> dict[str, Any]:
    """`DaskGraphRunner.run` without dask: each needed node once, its inputs first."""
    run_targets = targets if targets else self._graph_schema.target_names
    schema = _minimal_schema(self, tuple(run_targets))
    results: dict[str, Any] = {}
    for name, value in (inputs or {}).items():
        if isinstance(value, str) and value in schema.nodes:
            raise GraphRunError(
                f"Input value '{value}' clashes with a node name. Make sure that none of the "
                f"input names passed to the `run` method are the same as node names in the "
                f"graph schema.")
        results[name] = (name, value)

    def compute(name: str) -> Any:
        if name not in results:
            needs = [compute(need) for need in schema.nodes[name].needs.values()]
            results[name] = self._instantiated_nodes[name](*needs)
        return results[name]

    try:
        return dict(compute(target) for target in run_targets)
    except RuntimeError as error:
        raise GraphRunError("Error running runner.") from error


def freeze_after_load(load: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Wrap Rasa's `load_agent_on_start` so the loaded model leaves the collector's view."""
    if getattr(load, "freezes", False):
        return load

    @wraps(load)
    async def load_agent_on_start(*args: Any, **kwargs: Any) -> Any:
        agent = await load(*args, **kwargs)
        gc.collect()
        gc.freeze()
        return agent

    load_agent_on_start.freezes = True  # type: ignore[attr-defined]
    return load_agent_on_start


class AdmissionGate:
    """At most `size` messages in processing at once, admitted in arrival order; after
    `patience` seconds of waiting a message is let in regardless.

    Every message passes through the line, even when a slot is free, and is let in by the
    one before it: the event loop then runs one message per turn, so a reply from the action
    server is picked up within a message or two instead of after every message that arrived
    meanwhile. A message that waits for another service (`away`) lends its slot to the next
    in line and, once answered, comes back before the messages that have not started.
    """

    def __init__(self, size: int, patience: float = GATE_PATIENCE) -> None:
        self.size = size
        self.patience = patience
        self._busy = 0
        self._arriving: deque[asyncio.Future[bool]] = deque()
        self._returning: deque[asyncio.Future[bool]] = deque()

    async def _take(self, line: deque[asyncio.Future[bool]]) -> bool:
        """Wait in `line` for a slot: True with one, False when the patience ran out."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        line.append(future)
        if self._busy < self.size:
            self._busy += 1
            self._hand_on()
        timer = loop.call_later(self.patience, _give_up, future)
        try:
            if future.done():  # a slot was free: still let what is ready run first
                await asyncio.sleep(0)
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled() and future.result():
                self._hand_on()  # handed a slot just as the message was cancelled
            raise
        finally:
            timer.cancel()

    def _hand_on(self) -> None:
        """Give a free slot to the first still waiting (returning messages first), or
        free it; waiters that gave up (patience) or were cancelled are dropped."""
        for line in (self._returning, self._arriving):
            while line:
                future = line.popleft()
                if not future.done():
                    future.set_result(True)
                    return
        self._busy -= 1

    @asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        """Hold a slot (if one came within the patience) while the body runs."""
        admission = _Admission(self, await self._take(self._arriving))
        token = _admission.set(admission)
        try:
            yield
        finally:
            _admission.reset(token)
            if admission.holds:
                self._hand_on()

    @staticmethod
    @asynccontextmanager
    async def away() -> AsyncIterator[None]:
        """Around a wait for another service: the current message's slot serves others."""
        admission = _admission.get()
        if admission is None or not admission.holds:
            yield
            return
        admission.gate._hand_on()
        admission.holds = False
        try:
            yield
        except asyncio.CancelledError:
            raise
        except BaseException:
            admission.holds = await admission.gate._take(admission.gate._returning)
            raise
        admission.holds = await admission.gate._take(admission.gate._returning)


def _give_up(future: asyncio.Future[bool]) -> None:
    """The patience ran out: the message goes ahead without a slot."""
    if not future.done():
        future.set_result(False)


@dataclass
class _Admission:
    """One message's place at the gate: whether it holds a slot right now."""

    gate: AdmissionGate
    holds: bool


_admission: ContextVar[_Admission | None] = ContextVar("rasa_admission", default=None)


def gated_handle_message(size: int) -> Callable[..., Awaitable[Any]]:
    """`MessageProcessor.handle_message` behind an admission gate (`size` 0: no gate).
    It runs inside Rasa's per-conversation lock, so a waiting message never holds a slot
    that its own conversation's previous message needs."""

    async def handle_message(self: MessageProcessor, message: UserMessage) -> Any:
        gate: AdmissionGate | None = self.__dict__.get("_admission_gate")
        if gate is None:  # made on first use, inside the server's event loop
            gate = self.__dict__["_admission_gate"] = AdmissionGate(size)
        async with gate.admit():
            return await _rasa_handle_message(self, message)

    return _rasa_handle_message if size <= 0 else handle_message


class _KeptSession:
    """`async with` on a kept session: entering gives it, leaving keeps it open."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *exc_info: object) -> None:
        return None


def kept_session(self: EndpointConfig) -> Any:
    """Rasa's `EndpointConfig.session` (same headers, auth and timeout), made once per
    endpoint and event loop and kept open, so calls reuse their connection instead of
    opening and closing one each (several turns of the busy event loop per call). Idle
    connections are closed after `KEEPALIVE_SECONDS`, before a server would close them."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _rasa_session(self)
    kept = self.__dict__.get("_kept_session")
    if kept is None or kept[0] is not loop or kept[1].closed:
        auth = (aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
                if self.basic_auth else None)
        session = aiohttp.ClientSession(
            headers=self.headers, auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS))
        kept = self.__dict__["_kept_session"] = (loop, session)
    return _KeptSession(kept[1])


async def request_away(self: EndpointConfig, *args: Any, **kwargs: Any) -> Any:
    """Rasa's HTTP call to an endpoint (the action server), with the caller's admission
    slot lent out while it waits for the answer."""
    async with AdmissionGate.away():
        return await _rasa_request(self, *args, **kwargs)


class UnsupportedRasaVersion(RuntimeError):
    """The installed Rasa is not the version these fixes were written and checked for."""


def check_rasa_version(installed: str | None = None) -> None:
    """Refuse any Rasa but `RASA_VERSION`: the fixes replace its own functions."""
    installed = rasa.__version__ if installed is None else installed
    if installed != RASA_VERSION:
        raise UnsupportedRasaVersion(
            f"bot.rasa_fixes replaces functions of Rasa {RASA_VERSION} and was checked "
            f"against that version only, but Rasa {installed} is installed. Install "
            f"rasa=={RASA_VERSION} (requirements.txt), or check every fix in "
            f"bot/rasa_fixes.py against the new version's code and change RASA_VERSION.")


def action_endpoint_only(prefix: str, fixed: Callable[..., Any],
                         stock: Callable[..., Any]) -> Callable[..., Any]:
    """An `EndpointConfig` method that is `fixed` for endpoints whose URL starts with
    `prefix` (the action server's) and Rasa's own for every other endpoint."""
    if getattr(stock, "fixed_for", None) is not None:
        stock = stock.stock  # type: ignore[attr-defined]  # applied again: wrap Rasa's own

    @wraps(stock)
    def method(self: EndpointConfig, *args: Any, **kwargs: Any) -> Any:
        chosen = fixed if str(self.url or "").startswith(prefix) else stock
        return chosen(self, *args, **kwargs)

    method.fixed_for = prefix  # type: ignore[attr-defined]
    method.stock = stock  # type: ignore[attr-defined]
    return method


def apply(concurrent_messages: int = 0, action_server_url: str = "") -> None:
    """Install the fixes (idempotent) after checking the Rasa version;
    `concurrent_messages` sizes the admission gate; the endpoint fixes apply to endpoints
    under `action_server_url` only (empty: every endpoint)."""
    check_rasa_version()
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[assignment]
    Domain.is_empty = domain_is_empty  # type: ignore[method-assign]
    Domain.states_for_tracker_history = states_for_tracker_history  # type: ignore[method-assign]
    Slot.__copy__ = copy_slot  # type: ignore[attr-defined]
    log_copies = LogArgumentCopies()
    rasa.core.processor.copy = log_copies  # type: ignore[assignment]
    DaskGraphRunner.run = run_graph  # type: ignore[method-assign]
    rasa.core.run.load_agent_on_start = freeze_after_load(rasa.core.run.load_agent_on_start)
    MessageProcessor.handle_message = gated_handle_message(  # type: ignore[method-assign]
        concurrent_messages)
    EndpointConfig.request = action_endpoint_only(  # type: ignore[method-assign]
        action_server_url, request_away, _rasa_request)
    EndpointConfig.session = action_endpoint_only(  # type: ignore[method-assign]
        action_server_url, kept_session, _rasa_session)
