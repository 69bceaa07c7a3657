"""The published promises as shipped (data/promises/*.yml): every one sourced, dated only as
precisely as its source, found for its district and offered for its municipality.

Runs on an SQLite file: the schema itself is tested on both databases in test_promises.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy.orm import Session

from bot.promises import presenter
from bot.promises.dates import DAY, spoken
from bot.promises.importer import export, import_file
from bot.promises.reference import PLACES_DIR, load_reference
from bot.promises.repository import PromiseView, all_promises, promises_for
from bot.promises.service import PROMISE_FILES
from bot.settings import PROJECT_ROOT
from bot.storage.db import make_engine, make_session_factory
from bot.storage.migrate import upgrade

TODAY = date(2026, 12, 8)
ENTRIES = [entry for path in PROMISE_FILES
           for entry in yaml.safe_load((PROJECT_ROOT / path).read_text("utf-8"))["promises"]]


@pytest.fixture(scope="module")
def views(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[PromiseView]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('promises') / 'db.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        load_reference(session, PLACES_DIR)
        for path in PROMISE_FILES:
            import_file(session, PROJECT_ROOT / path)
        yield all_promises(session)
    engine.dispose()


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["slug"] for e in ENTRIES])
def test_every_promise_has_a_source_a_period_as_stated_and_its_municipality_code(
    entry: dict[str, object],
) -> None:
    assert re.fullmatch(r"https?://\S+", str(entry.get("source_url") or ""))
    assert str(entry.get("period_stated") or "").strip()
    assert re.fullmatch(r"\d{4}", str(entry.get("municipality") or ""))


def test_ninety_five_municipalities_have_a_promise(views: list[PromiseView]) -> None:
    assert len(views) == 7 + 92
    # 7 pilot areas and 89 further municipalities: Göteborg is in both.
    assert len({v.municipality_code for v in views}) == 95


def test_the_districts_with_a_promise(views: list[PromiseView]) -> None:
    districts = {(v.municipality, d) for v in views for d in v.districts}
    assert districts == {
        ("Göteborg", "Angered"), ("Göteborg", "Biskopsgården"), ("Göteborg", "Norra Hisingen"),
        ("Göteborg", "Askim-Frölunda-Högsbo"), ("Göteborg", "Västra Göteborg"),
        ("Malmö", "Rosengård"), ("Malmö", "Möllevången"), ("Malmö", "Rådmansvången"),
        ("Stockholm", "Kungsholmen"),
    }


def _invented_days(view: PromiseView) -> list[str]:
    """Day-precise renderings of dates the source gives only as a year or a month."""
    days = []
    for value, precision in ((view.valid_from, view.valid_from_precision),
                             (view.valid_to, view.valid_to_precision)):
        if value is not None and precision != DAY:
            days += [spoken(value, DAY, language) for language in ("sv", "en")]
            days.append(value.isoformat())
    return days


def test_no_reply_shows_a_day_or_month_the_source_does_not_give(
        views: list[PromiseView]) -> None:
    year_only = [v for v in views if v.valid_to_precision == "year"]
    assert len(year_only) > 50
    for view in views:
        for language in ("sv", "en"):
            for reply in (presenter.promise_summary(view, language, TODAY),
                          presenter.all_commitments(view, language, TODAY),
                          presenter.validity(view, language, TODAY)):
                for day in _invented_days(view):
                    assert day not in reply.text, (view.slug, day, reply.text)
                if view.valid_to_precision == "year":
                    assert not re.search(r"(januari|december|January|December) "
                                         f"{view.valid_to.year}", reply.text), reply.text


def test_no_promise_is_called_current_unless_its_period_says_so(
        views: list[PromiseView]) -> None:
    current = sorted(v.slug for v in views if v.status(TODAY) == "current")
    assert current == ["asele-2025-2027", "karlstad-2023", "kiruna-2024-2027", "umea-2025-2027"]
    for view in views:
        text = presenter.promise_summary(view, "sv", TODAY).text
        assert ("(gäller nu)" in text) == (view.slug in current), text


def test_karlstad_ends_in_2027_not_on_a_day(views: list[PromiseView]) -> None:
    [karlstad] = [v for v in views if v.slug == "karlstad-2023"]
    assert "Period: 1 juli 2023 – 2027 (gäller nu)." in presenter.promise_summary(
        karlstad, "sv", TODAY).text
    assert "Period: 1 July 2023 – 2027 (valid now)." in presenter.validity(
        karlstad, "en", TODAY).text


def test_an_ended_promise_is_told_as_ended_with_what_was_promised_and_where_the_current_is(
        views: list[PromiseView]) -> None:
    [sandviken] = [v for v in views if v.slug == "sandviken-2022-2023"]
    text = presenter.promise_summary(sandviken, "en", TODAY).text
    assert "Ended in 2023." in text and "This is what they promised" in text
    assert "The current one is on the municipality's page" in text or \
        "same page as the source" in text
    assert "Source: https://sandviken.se/" in text


def test_vingaker_and_alvesta_are_valid_through_2026_according_to_the_source(
        views: list[PromiseView]) -> None:
    for slug in ("vingaker-2023-2026", "alvesta-2023-2026"):
        [view] = [v for v in views if v.slug == slug]
        assert view.status(TODAY) == "uncertain"
        assert "Valid through 2026 according to the source." in presenter.validity(
            view, "en", TODAY).text


def test_truncated_promises_are_marked(views: list[PromiseView]) -> None:
    truncated = {v.slug.split("-")[0] for v in views if v.excerpt_truncated}
    assert truncated == {"kiruna", "kalix", "vimmerby", "robertsfors", "eslov", "hoor",
                         "halmstad", "malmo", "solvesborg", "falun", "hagfors", "mora",
                         "falkoping"}
    [kalix] = [v for v in views if v.slug == "kalix-2022-2023"]
    text = presenter.promise_summary(kalix, "sv", TODAY).text
    assert "Minst fyra trafiksäkerhetsinsatser per år." in text
    assert "avkortade i källutdraget" in text and "avkortade i källutdraget)" not in text


def test_mala_shows_neither_number_as_certain_and_links_both_sources(
        views: list[PromiseView]) -> None:
    [mala] = [v for v in views if v.slug == "mala-2024"]
    commitments = " ".join(c.text.sv for c in mala.commitments)
    assert "sex" not in commitments and "tre tillfällen" not in commitments
    text = presenter.all_commitments(mala, "sv", TODAY).text
    assert "Källorna skiljer sig åt" in text and "sex tillfällen" in text and "tre" in text
    assert "Källor: https://polisen.se/aktuellt/nyheter/nord/2024/februari/" in text
    assert "och https://polisen.se/om-polisen/" in text


def _session(tmp_path: Path) -> Session:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    session = make_session_factory(make_engine(url))()
    load_reference(session, PLACES_DIR)
    for path in PROMISE_FILES:
        import_file(session, PROJECT_ROOT / path)
    return session


def test_a_district_promise_is_found_by_its_district_and_its_neighbourhoods(
        tmp_path: Path) -> None:
    session = _session(tmp_path)
    found = {
        (code, district): [v.slug for v in promises_for(session, code, district, TODAY)]
        for code, district in (("1280", "Rosengård"), ("1280", "rosengard"),
                               ("1280", "Törnrosen"), ("1480", "Biskopsgården"),
                               ("1480", "Tynnered"), ("1280", "Rådmansvången"),
                               ("0180", "Kungsholmen"), ("0180", "Skärholmen"))
    }
    session.close()
    assert found[("1280", "Rosengård")] == ["malmo-rosengard-2024-2025"]
    assert found[("1280", "rosengard")] == found[("1280", "Törnrosen")] == found[
        ("1280", "Rosengård")]
    assert found[("1480", "Biskopsgården")] == ["goteborg-biskopsgarden-2023-2024"]
    assert found[("1480", "Tynnered")] == ["goteborg-askim-frolunda-hogsbo-odaterat"]
    assert found[("1280", "Rådmansvången")] == ["malmo-mollevangen-2021-2022"]
    assert found[("0180", "Kungsholmen")] == ["stockholm-kungsholmen-2020"]
    assert found[("0180", "Skärholmen")] == []


@pytest.mark.parametrize("fmt", ["yaml", "csv"])
def test_every_promise_survives_an_export_and_a_reimport(tmp_path: Path, fmt: str) -> None:
    session = _session(tmp_path)
    before = export(session, "yaml")
    path = tmp_path / f"all.{'yml' if fmt == 'yaml' else fmt}"
    path.write_text(export(session, fmt), encoding="utf-8")
    report = import_file(session, path)
    session.expire_all()
    after = export(session, "yaml")
    session.close()
    assert len(report.unchanged) == 99 and after == before
