"""Medborgarlöften: schema, reference rows, import/export, status and the conversation query.

Database tests run on the embedded default (an SQLite file) and on PostgreSQL (a throwaway
database), like tests/test_storage.py.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.promises.importer import PromiseImportError, export, import_file, list_promises
from bot.promises.models import (
    District,
    LocalPoliceArea,
    LocalPoliceAreaMunicipality,
    Municipality,
    PoliceRegion,
    Promise,
    PromiseCommitment,
    promise_status,
)
from bot.promises.reference import PLACES_DIR, load_reference
from bot.promises.repository import PromiseView, all_promises, promises_for
from bot.settings import PROJECT_ROOT
from bot.storage.db import make_engine, make_session_factory
from bot.storage.migrate import alembic_config, upgrade
from bot.storage.schema import metadata

PILOTS = PROJECT_ROOT / "data" / "promises" / "pilots.yml"
PILOT_SLUGS = {
    "gavle-2018",
    "karlstad-2023",
    "lulea-2018",
    "eskilstuna-2022",
    "kalmar-2022",
    "goteborg-angered-2017",
    "gotland-2017",
}
TODAY = date(2025, 3, 1)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    """A session on a migrated database with the place reference rows loaded."""
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            load_reference(session, PLACES_DIR)
            yield session
    finally:
        engine.dispose()


@pytest.fixture
def imported(session: Session) -> Session:
    """The session after importing the pilot promises."""
    import_file(session, PILOTS)
    return session


def _count(session: Session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _pilots() -> dict[str, Any]:
    return yaml.safe_load(PILOTS.read_text(encoding="utf-8"))


def _write_yaml(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def _snapshot(session: Session) -> str:
    session.expire_all()
    return export(session, "yaml")


# --------------------------------------------------------------------------- schema


def test_migration_creates_the_promise_tables(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)
    engine = make_engine(database_url)
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert {
        "police_regions",
        "local_police_areas",
        "municipalities",
        "districts",
        "local_police_area_municipalities",
        "promises",
        "promise_basis",
        "promise_problems",
        "promise_commitments",
        "promise_signatories",
        "promise_follow_ups",
        "events",
    } <= tables


def _not_internal(name: str | None, type_: str, parent: object) -> bool:
    """SQLite's own bookkeeping table (sqlite_sequence) is not part of our schema."""
    return not (type_ == "table" and (name or "").startswith("sqlite_"))


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": _not_internal})
        diff = compare_metadata(context, metadata)
    engine.dispose()
    assert diff == []


def test_the_promise_migration_can_be_rolled_back_and_reapplied(database_url: str) -> None:
    upgrade(database_url)
    command.downgrade(alembic_config(database_url), "0001")
    engine = make_engine(database_url)
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert "promises" not in tables and "municipalities" not in tables and "events" in tables
    upgrade(database_url)


def test_reference_rows_load_once_and_a_reload_changes_nothing(session: Session) -> None:
    assert _count(session, PoliceRegion) == 7
    assert _count(session, Municipality) == 290
    # 11 from data/places, 35 more named by the sources of data/promises/more.yml
    assert _count(session, LocalPoliceArea) == 46
    again = load_reference(session, PLACES_DIR)
    assert set(dataclasses.asdict(again).values()) == {0}
    assert _count(session, Municipality) == 290


def test_local_police_areas_and_municipalities_are_many_to_many(session: Session) -> None:
    karlstad = session.scalar(select(LocalPoliceArea).where(LocalPoliceArea.name == "Karlstad"))
    assert len(karlstad.coverage) == 5
    angered = session.scalar(
        select(LocalPoliceAreaMunicipality).where(
            LocalPoliceAreaMunicipality.municipality_code == "1480"
        )
    )
    assert angered.district.name == "Angered"
    hjallbo = session.scalar(select(District).where(District.name == "Hjällbo"))
    assert hjallbo.area == "Angered"


# --------------------------------------------------------------------------- import


def test_importing_the_pilots_creates_seven_promises(session: Session) -> None:
    report = import_file(session, PILOTS)
    assert set(report.created) == PILOT_SLUGS
    gavle = session.scalar(select(Promise).where(Promise.slug == "gavle-2018"))
    assert (gavle.valid_to, gavle.valid_to_precision) == (date(2020, 12, 31), "year")
    assert report.updated == report.unchanged == ()
    assert _count(session, Promise) == 7


def test_reimporting_the_same_file_changes_nothing(imported: Session) -> None:
    before = _snapshot(imported)
    commitments = _count(imported, PromiseCommitment)
    report = import_file(imported, PILOTS)
    assert set(report.unchanged) == PILOT_SLUGS
    assert report.created == report.updated == ()
    assert _snapshot(imported) == before
    assert _count(imported, PromiseCommitment) == commitments


def test_a_changed_entry_is_updated_and_the_others_stay_unchanged(
    imported: Session, tmp_path: Path
) -> None:
    document = _pilots()
    document["promises"][0]["title"]["en"] = "Citizen promise, Gävle"
    document["promises"][0]["commitments"].pop()
    report = import_file(imported, _write_yaml(tmp_path / "changed.yml", document))
    assert report.updated == ("gavle-2018",)
    assert len(report.unchanged) == 6
    gavle = promises_for(imported, "2180", today=TODAY)[0]
    assert gavle.title.en == "Citizen promise, Gävle"
    assert len(gavle.commitments) == 4


BAD_ENTRIES = {
    "wrong date": (
        lambda p: p.update(valid_from="2018-13-01"),
        "promises[2].valid_from: not a date",
    ),
    "missing source URL": (
        lambda p: p.pop("source_url"),
        "promises[2].source_url: required",
    ),
    "unknown municipality": (
        lambda p: p.update(municipality="9999"),
        "promises[2].municipality: unknown municipality code '9999'",
    ),
    "missing period as stated": (
        lambda p: p.pop("period_stated"),
        "promises[2].period_stated: required",
    ),
    "missing municipality code": (
        lambda p: p.pop("municipality"),
        "promises[2].municipality: required",
    ),
    "a day that does not exist": (
        lambda p: p.update(valid_to="2018-02-30"),
        "promises[2].valid_to: not a date (use YYYY, YYYY-MM or YYYY-MM-DD)",
    ),
    "an unknown further district": (
        lambda p: p.update(municipality="1480", district="Angered", also_districts=["Atlantis"]),
        "promises[2].also_districts[0]: 'Atlantis' is not a known district of 1480",
    ),
    "unknown owner": (
        lambda p: p["commitments"][1].update(owner="mayor"),
        "promises[2].commitments[1].owner: unknown owner 'mayor'",
    ),
}


@pytest.mark.parametrize("case", list(BAD_ENTRIES))
def test_a_bad_entry_is_named_by_index_and_field_and_nothing_is_written(
    session: Session, tmp_path: Path, case: str
) -> None:
    spoil, expected = BAD_ENTRIES[case]
    document = _pilots()
    spoil(document["promises"][2])
    with pytest.raises(PromiseImportError) as caught:
        import_file(session, _write_yaml(tmp_path / "bad.yml", document))
    assert len(caught.value.errors) == 1
    assert caught.value.errors[0].startswith(expected)
    assert _count(session, Promise) == 0


def test_a_bad_file_leaves_stored_promises_untouched(imported: Session, tmp_path: Path) -> None:
    before = _snapshot(imported)
    document = _pilots()
    document["promises"][0]["title"]["sv"] = "Ändrad titel"  # valid on its own
    document["promises"].append({**copy.deepcopy(document["promises"][1]), "slug": "new-one"})
    document["promises"][5]["valid_to"] = "someday"
    with pytest.raises(PromiseImportError, match=r"promises\[5\]\.valid_to: not a date"):
        import_file(imported, _write_yaml(tmp_path / "bad.yml", document))
    assert _snapshot(imported) == before
    assert _count(imported, Promise) == 7


def test_every_problem_of_a_file_is_reported_at_once(session: Session, tmp_path: Path) -> None:
    document = _pilots()
    document["promises"][0]["valid_from"] = "1 jan 2018"
    document["promises"][3].pop("source_url")
    document["promises"][4]["municipality"] = "0000"
    document["promises"][6]["commitments"][0]["owner"] = "mayor"
    document["promises"][6]["slug"] = "gavle-2018"
    with pytest.raises(PromiseImportError) as caught:
        import_file(session, _write_yaml(tmp_path / "bad.yml", document))
    fields = [error.split(":")[0] for error in caught.value.errors]
    assert fields == [
        "promises[0].valid_from",
        "promises[3].source_url",
        "promises[4].municipality",
        "promises[6].commitments[0].owner",
    ]


def test_a_duplicate_slug_in_one_file_is_rejected(session: Session, tmp_path: Path) -> None:
    document = _pilots()
    document["promises"][6]["slug"] = "gavle-2018"
    with pytest.raises(PromiseImportError, match=r"promises\[6\]\.slug: duplicate slug"):
        import_file(session, _write_yaml(tmp_path / "dup.yml", document))
    assert _count(session, Promise) == 0


def test_a_district_must_belong_to_the_municipality(session: Session, tmp_path: Path) -> None:
    document = _pilots()
    document["promises"][0]["district"] = "Angered"  # Gävle has no district Angered
    with pytest.raises(PromiseImportError, match=r"promises\[0\]\.district: 'Angered'"):
        import_file(session, _write_yaml(tmp_path / "bad.yml", document))


def test_a_bad_csv_row_is_named_by_line_and_column(imported: Session, tmp_path: Path) -> None:
    lines = export(imported, "csv").splitlines()
    header = lines[0].split(",")
    cells = lines[3].split(",")
    cells[header.index("valid_from")] = "2018-02-30"
    lines[3] = ",".join(cells)
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(PromiseImportError) as caught:
        import_file(imported, path)
    assert caught.value.errors[0].startswith("line 4, column valid_from: not a date")


def test_a_csv_list_of_the_wrong_length_is_named_by_column(
    imported: Session, tmp_path: Path
) -> None:
    text = export(imported, "csv").replace("together | together | together", "together")
    path = tmp_path / "short.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PromiseImportError, match="column commitment_owners: 3 items, but"):
        import_file(imported, path)


# --------------------------------------------------------------------------- export


@pytest.mark.parametrize("fmt", ["yaml", "json", "csv"])
def test_export_then_import_changes_nothing(imported: Session, tmp_path: Path, fmt: str) -> None:
    before = _snapshot(imported)
    path = tmp_path / f"promises.{'yml' if fmt == 'yaml' else fmt}"
    path.write_text(export(imported, fmt), encoding="utf-8")
    report = import_file(imported, path)
    assert set(report.unchanged) == PILOT_SLUGS
    assert _snapshot(imported) == before


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_an_export_recreates_the_same_promises_in_an_empty_database(
    imported: Session, tmp_path: Path, fmt: str
) -> None:
    path = tmp_path / f"promises.{fmt}"
    path.write_text(export(imported, fmt), encoding="utf-8")
    fresh_url = f"sqlite:///{tmp_path / 'fresh' / 'polisbot.db'}"
    upgrade(fresh_url)
    engine = make_engine(fresh_url)
    try:
        with make_session_factory(engine)() as fresh:
            load_reference(fresh, PLACES_DIR)
            assert set(import_file(fresh, path).created) == PILOT_SLUGS
            assert _snapshot(fresh) == _snapshot(imported)
    finally:
        engine.dispose()


def test_the_json_export_is_the_documented_schema(imported: Session) -> None:
    document = json.loads(export(imported, "json"))
    angered = next(p for p in document["promises"] if p["slug"] == "goteborg-angered-2017")
    assert angered["municipality"] == "1480" and angered["district"] == "Angered"
    assert angered["valid_from"] == "2017-06" and angered["valid_to"] == "2018-06"
    assert angered["period_stated"] == "juni 2017 – juni 2018"
    assert angered["commitments"][0]["owner"] == "police"
    assert angered["follow_up"]["reports"][0]["summary"]["sv"].startswith("Uppföljningen")


def test_list_shows_slug_area_period_and_status(imported: Session) -> None:
    rows = {row.slug: row for row in list_promises(imported, TODAY)}
    assert set(rows) == PILOT_SLUGS
    assert rows["goteborg-angered-2017"].area == "Göteborg – Angered"
    assert rows["gavle-2018"].period == "2018 – 2020"
    assert rows["gavle-2018"].status == "expired"
    assert rows["karlstad-2023"].status == "current"
    assert rows["gotland-2017"].period == "2017 –"
    assert rows["gotland-2017"].status == "uncertain"


# --------------------------------------------------------------------------- status


@dataclasses.dataclass(frozen=True)
class _Period:
    valid_from: date | None
    valid_to: date | None
    valid_to_precision: str | None = "day"
    period_uncertain: bool = False


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2023, 6, 30), "upcoming"),
        (date(2023, 7, 1), "current"),
        (date(2027, 12, 31), "current"),
        (date(2028, 1, 1), "expired"),
    ],
)
def test_status_is_derived_from_the_period_and_the_day(today: date, expected: str) -> None:
    assert promise_status(_Period(date(2023, 7, 1), date(2027, 12, 31)), today) == expected


def test_an_open_ended_promise_never_expires_and_is_never_called_current() -> None:
    period = _Period(date(2017, 1, 1), None)
    assert promise_status(period, date(2016, 12, 31)) == "upcoming"
    assert promise_status(period, date(2040, 1, 1)) == "uncertain"


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        (_Period(date(2023, 1, 1), date(2026, 12, 31), "year"), "uncertain"),
        (_Period(date(2023, 1, 1), date(2026, 12, 31), "month"), "uncertain"),
        (_Period(date(2023, 1, 1), date(2026, 12, 31), "day"), "current"),
        (_Period(date(2023, 1, 1), date(2027, 12, 31), "year"), "current"),
        (_Period(date(2023, 1, 1), date(2025, 12, 31), "year"), "expired"),
        (_Period(None, None), "uncertain"),
        (_Period(date(2020, 1, 1), date(2021, 12, 31), "year", period_uncertain=True),
         "uncertain"),
    ],
)
def test_an_end_given_only_as_this_year_or_month_is_uncertain(
    period: _Period, expected: str
) -> None:
    assert promise_status(period, date(2026, 12, 8)) == expected


# --------------------------------------------------------------------------- conversation side


def test_promises_for_angered_and_its_parts_find_the_angered_promise(imported: Session) -> None:
    for district in ("Angered", "angered", "Hjällbo"):
        views = promises_for(imported, "1480", district, today=TODAY)
        assert [v.slug for v in views] == ["goteborg-angered-2017"]
        assert views[0].status(TODAY) == "expired"
    assert promises_for(imported, "1480", "Majorna", today=TODAY) == []


def test_promises_for_gavle_gives_its_expired_promise_with_its_source(imported: Session) -> None:
    [gavle] = promises_for(imported, "2180", today=TODAY)
    assert gavle.slug == "gavle-2018"
    assert gavle.status(TODAY) == "expired"
    assert gavle.status(date(2019, 6, 1)) == "current"
    assert gavle.source_url.startswith("https://polisen.se/")
    assert gavle.local_police_area == "Gästrikland"
    assert gavle.title.get("en") == "Citizen promise for Gävle 2018–2020"
    assert gavle.signatories == ("Lokalpolisområde Gästrikland", "Gävle kommun")


def test_promises_for_lists_current_promises_before_expired_ones(
    imported: Session, tmp_path: Path
) -> None:
    document = _pilots()
    newer = copy.deepcopy(document["promises"][0])
    newer.update(slug="gavle-2025", valid_from="2025-01-01", valid_to="2026-12-31")
    later = copy.deepcopy(newer)
    later.update(slug="gavle-2027", valid_from="2027-01-01", valid_to=None)
    import_file(imported, _write_yaml(tmp_path / "more.yml", {"promises": [later, newer]}))
    slugs = [v.slug for v in promises_for(imported, "2180", today=TODAY)]
    assert slugs == ["gavle-2025", "gavle-2027", "gavle-2018"]


def test_views_are_plain_frozen_values(imported: Session) -> None:
    views = all_promises(imported)
    assert [v.slug for v in views] == sorted(PILOT_SLUGS)
    assert all(isinstance(v, PromiseView) for v in views)
    karlstad = next(v for v in views if v.slug == "karlstad-2023")
    assert [p.is_focus for p in karlstad.problems] == [False, False, True]
    assert karlstad.basis[1].kind == "survey"
    with pytest.raises(dataclasses.FrozenInstanceError):
        karlstad.slug = "other"  # type: ignore[misc]
    imported.close()
    assert karlstad.problems[2].text.get("sv").startswith("Narkotika")


def test_a_missing_translation_falls_back_to_swedish(imported: Session) -> None:
    [lulea] = promises_for(imported, "2580", today=TODAY)
    assert lulea.commitments[0].target is not None
    assert lulea.commitments[0].target.get("en") == "At least one traffic check a day."
    assert dataclasses.replace(lulea.title, en=None).get("en") == lulea.title.sv


# --------------------------------------------------------------------------- command line


def test_the_command_line_imports_lists_and_exports(
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import argparse

    from bot.promises.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    monkeypatch.setenv("DATABASE_URL", sqlite_url)

    def run(*argv: str) -> int:
        args = parser.parse_args(list(argv))
        return int(args.func(args))

    assert run("promises", "import", str(PILOTS)) == 0
    assert "7 created" in capsys.readouterr().out
    assert run("promises", "import", str(PILOTS)) == 0
    assert "7 unchanged" in capsys.readouterr().out
    assert run("promises", "list", "--today", "2025-03-01") == 0
    listing = capsys.readouterr().out
    assert "karlstad-2023" in listing and "Göteborg – Angered" in listing
    out = tmp_path / "out.json"
    assert run("promises", "export", "--format", "json", "--output", str(out)) == 0
    assert len(json.loads(out.read_text(encoding="utf-8"))["promises"]) == 7
    bad = _pilots()
    bad["promises"][1]["valid_from"] = "never"
    assert run("promises", "import", str(_write_yaml(tmp_path / "bad.yml", bad))) == 1
    assert "promises[1].valid_from: not a date" in capsys.readouterr().err
