"""The held-out evaluation corpus (tests/eval/): its schema, read strictly.

Every case becomes a `Case` of one or more `Turn`s: a single message is a one-turn case, a
script a many-turn one, and each is played in a fresh conversation. The schema is
tests/eval/README.md; a file that does not follow it raises `SchemaError` naming the file,
the case and the field, so a typo in the corpus is never silently a pass or a fail.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

LANGUAGES = frozenset({"sv", "en", "ar", "fa", "so", "ti", "pl", "fi", "uk", "ru", "tr", "ckb",
                       "bs", "es"})
TIP_FIELDS = frozenset({"what", "when", "where", "contact"})
# Expectations that take an argument ("place: Göteborg"); every other one takes none.
WITH_ARGUMENT = frozenset({"place"})
_CASE_KEYS = frozenset({"text", "lang", "expect", "note", "category"})
_SCRIPT_KEYS = frozenset({"name", "category", "lang", "turns", "tip", "tip_sent", "note"})
_TURN_KEYS = frozenset({"user", "expect", "note", "lang"})


class SchemaError(ValueError):
    """A corpus file does not follow tests/eval/README.md."""


@dataclass(frozen=True)
class Expect:
    """One expectation of a turn: a name from the README's table, maybe with an argument."""

    name: str
    arg: str | None = None

    def __str__(self) -> str:
        return f"{self.name}: {self.arg}" if self.arg else self.name


@dataclass(frozen=True)
class Turn:
    user: str
    lang: str
    expects: tuple[Expect, ...] = ()


@dataclass(frozen=True)
class FieldCheck:
    """What a stored tip's field must (`contains`) and must not (`not_contains`) say."""

    contains: tuple[str, ...] = ()
    not_contains: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    """One conversation to play: a single message or a script."""

    id: str
    category: str
    lang: str
    turns: tuple[Turn, ...]
    script: bool = False
    note: str = ""
    tip: Mapping[str, FieldCheck] = field(default_factory=dict)
    tip_sent: bool | None = None
    """False: no tip may be stored for this conversation; None: not checked."""

    @property
    def text(self) -> str:
        """The case as a report shows it beside its id: the first message."""
        return self.turns[0].user


def parse_expect(value: Any, where: str, known: Iterable[str]) -> tuple[Expect, ...]:
    """`emergency`, `"place: Göteborg"`, `{place: Göteborg}` or a list of those."""
    names = frozenset(known)
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    expects = []
    for item in items:
        if isinstance(item, Mapping) and len(item) == 1:
            name, arg = next(iter(item.items()))
        elif isinstance(item, str):
            name, _, arg = item.partition(":")
        else:
            raise SchemaError(f"{where}: expect: not a name or `name: value`: {item!r}")
        name, arg = str(name).strip(), (str(arg).strip() if arg is not None else "")
        if name not in names:
            raise SchemaError(f"{where}: expect: unknown expectation {name!r}")
        if (name in WITH_ARGUMENT) != bool(arg):
            raise SchemaError(f"{where}: expect: {name!r} "
                              + ("needs a value" if name in WITH_ARGUMENT else "takes no value"))
        expects.append(Expect(name, arg or None))
    return tuple(expects)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str | int | float) or not str(value).strip():
        raise SchemaError(f"{where}: needs a non-empty text")
    return str(value)


def _lang(value: Any, where: str) -> str:
    if value not in LANGUAGES:
        raise SchemaError(f"{where}: lang: {value!r} is not one of {sorted(LANGUAGES)}")
    return str(value)


def _keys(item: Any, allowed: frozenset[str], where: str) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise SchemaError(f"{where}: not a mapping")
    unknown = set(item) - allowed
    if unknown:
        raise SchemaError(f"{where}: unknown field(s) {sorted(unknown)}")
    return item


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SchemaError(f"{where}: needs a list of texts")
    return tuple(value)


def _tip(value: Any, where: str) -> dict[str, FieldCheck]:
    checks = {}
    for name, spec in _keys(value or {}, TIP_FIELDS, f"{where}: tip").items():
        spec = _keys(spec, frozenset({"contains", "not_contains"}), f"{where}: tip.{name}")
        checks[name] = FieldCheck(_strings(spec.get("contains"), f"{where}: tip.{name}"),
                                  _strings(spec.get("not_contains"), f"{where}: tip.{name}"))
    return checks


def _entries(data: Mapping[str, Any], name: str, field: str, kind: str,
             allowed: frozenset[str]) -> Iterator[tuple[int, str, Mapping[str, Any], str, str]]:
    """Each entry of the file's list `field`: its number, where it is (for errors), its
    fields, its category and its language (the file's defaults where it has none)."""
    _keys(data, frozenset({"category", "lang", field}), name)
    entries = data.get(field)
    if not isinstance(entries, list) or not entries:
        raise SchemaError(f"{name}: {field}: needs a non-empty list")
    for number, raw in enumerate(entries, 1):
        where = f"{name} {kind} {number}"
        item = _keys(raw, allowed, where)
        category = item.get("category") or data.get("category")
        if not category:
            raise SchemaError(f"{where}: no category (in the {kind} or the file)")
        yield number, where, item, str(category), _lang(item.get("lang", data.get("lang")), where)


def _messages(data: Mapping[str, Any], name: str, known: frozenset[str]) -> list[Case]:
    out = []
    for number, where, item, category, lang in _entries(data, name, "cases", "case",
                                                        _CASE_KEYS):
        expects = parse_expect(item.get("expect"), where, known)
        if not expects:
            raise SchemaError(f"{where}: expect: a single message needs an expectation")
        out.append(Case(f"{name}#{number}", category, lang,
                        (Turn(_text(item.get("text"), where), lang, expects),),
                        note=str(item.get("note") or "")))
    return out


def _scripts(data: Mapping[str, Any], name: str, known: frozenset[str]) -> list[Case]:
    out = []
    for number, where, item, category, lang in _entries(data, name, "scripts", "script",
                                                        _SCRIPT_KEYS):
        raw_turns = item.get("turns")
        if not isinstance(raw_turns, list) or not raw_turns:
            raise SchemaError(f"{where}: turns: needs a non-empty list")
        turns = []
        for index, raw in enumerate(raw_turns, 1):
            at = f"{where} turn {index}"
            raw = _keys(raw, _TURN_KEYS, at)
            turns.append(Turn(_text(raw.get("user"), at), _lang(raw.get("lang", lang), at),
                              parse_expect(raw.get("expect"), at, known)))
        tip_sent = item.get("tip_sent")
        if tip_sent not in (None, False):
            raise SchemaError(f"{where}: tip_sent: only `false` is allowed")
        label = str(item.get("name") or number)
        out.append(Case(f"{name}:{label}", category, lang, tuple(turns), script=True,
                        note=str(item.get("note") or ""), tip=_tip(item.get("tip"), where),
                        tip_sent=tip_sent))
    return out


def load_file(path: Path, root: Path, known: Iterable[str]) -> list[Case]:
    """The cases of one corpus file (messages/ or scripts/ decides which kind)."""
    name = path.relative_to(root).as_posix()
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError as error:
        raise SchemaError(f"{name}: not valid YAML: {error}") from None
    if not isinstance(data, Mapping):
        raise SchemaError(f"{name}: not a mapping")
    kind = path.relative_to(root).parts[0]
    if kind == "messages":
        return _messages(data, name, frozenset(known))
    if kind == "scripts":
        return _scripts(data, name, frozenset(known))
    raise SchemaError(f"{name}: corpus files live in messages/ or scripts/")


def corpus_files(root: Path) -> list[Path]:
    """Every corpus file under `root` (tests/eval), in a stable order."""
    return sorted(p for sub in ("messages", "scripts") for p in (root / sub).glob("*.y*ml"))


def load_corpus(root: Path, known: Iterable[str]) -> list[Case]:
    """All cases under `root`; raises SchemaError on the first file that breaks the schema."""
    names = frozenset(known)
    return [case for path in corpus_files(root) for case in load_file(path, root, names)]
