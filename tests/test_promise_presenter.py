"""Promise replies, built directly from views (no server): period, status, owners, source."""

from __future__ import annotations

from datetime import date

from bot.promises.presenter import (
    Topic,
    all_commitments,
    district_choice,
    find_topic,
    follow_up,
    no_promise,
    period,
    promise_summary,
    validity,
)
from bot.promises.repository import CommitmentView, LocalText, ProblemView, PromiseView

TRAFFIC = Topic("traffic", {"sv": "trafiken", "en": "traffic"}, ("trafik", "moped", "traffic"))


TODAY = date(2026, 12, 8)


def view(valid_to: date | None = date(2027, 12, 31), **changes: object) -> PromiseView:
    """Karlstad as its source gives it: from 1 July 2023 to (the end of) 2027."""
    values: dict[str, object] = dict(
        period_stated="1 juli 2023 – 2027", valid_to_precision="year",
        slug="x-2023", municipality_code="1780", municipality="Karlstad", district=None,
        local_police_area="Karlstad", title=LocalText("Medborgarlöfte för Karlstad",
                                                      "Citizen promise for Karlstad"),
        valid_from=date(2023, 7, 1), valid_to=valid_to, source_url="https://polisen.se/x/",
        is_example=False, signatories=("Lokalpolisområde Karlstad", "Karlstads kommun"),
        basis=(), problems=(ProblemView(1, True, LocalText("Narkotika", "Drugs")),),
        commitments=(
            CommitmentView("police", None, LocalText("Fler trafikkontroller", "More traffic "
                                                     "checks"), None),
            CommitmentView("municipality", None, LocalText("Bättre belysning", "Better "
                                                           "lighting"), None),
            CommitmentView("together", None, LocalText("Trygghetsvandringar", "Safety walks"),
                           LocalText("minst fyra", "at least four")),
            CommitmentView("unspecified", None, LocalText("Krogtillsyn", "Bar checks"), None),
        ),
        follow_up_lead=None, follow_ups=())
    values.update(changes)
    return PromiseView(**values)  # type: ignore[arg-type]


def test_a_current_promise_shows_period_status_focus_owners_and_source() -> None:
    text = promise_summary(view(), "sv", date(2026, 11, 24)).text
    assert "Period: 1 juli 2023 – 2027 (gäller nu)." in text
    assert "Fokus: Narkotika" in text
    assert "• Polisen: Fler trafikkontroller" in text
    assert "• Polisen och kommunen: Trygghetsvandringar (minst fyra)" in text
    assert "… och 1 till." in text
    assert text.endswith("Källa: https://polisen.se/x/")


def test_a_year_only_end_is_never_shown_with_an_invented_day() -> None:
    for language in ("sv", "en"):
        for reply in (promise_summary(view(), language, TODAY),
                      all_commitments(view(), language, TODAY),
                      validity(view(), language, TODAY)):
            assert "31 december" not in reply.text.lower(), reply.text
    assert period(view(), "en") == "1 July 2023 – 2027"


def test_an_expired_promise_is_answered_as_expired_with_what_was_promised_and_its_source(
) -> None:
    ended = view(period_stated="2022-2023", valid_from=date(2022, 1, 1),
                 valid_from_precision="year", valid_to=date(2023, 12, 31),
                 valid_to_precision="year", current_url="https://polisen.se/kommun/")
    text = promise_summary(ended, "en", TODAY).text
    assert "Period: 2022–2023. Ended in 2023." in text
    assert "This is what they promised:" in text and "More traffic checks" in text
    assert "The current one is at polisen.se: https://polisen.se/kommun/" in text
    assert text.endswith("Source: https://polisen.se/x/")
    sv = promise_summary(ended, "sv", TODAY).text
    assert "Period: 2022-2023. Löftet har gått ut: det gällde till och med 2023." in sv
    assert "gäller nu" not in sv.replace("Det som gäller nu", "")


def test_an_end_given_as_this_year_is_valid_through_it_according_to_the_source() -> None:
    this_year = view(period_stated="2023–2026", valid_from=date(2023, 1, 1),
                     valid_from_precision="year", valid_to=date(2026, 12, 31))
    assert "Period: 2023–2026. Valid through 2026 according to the source." in validity(
        this_year, "en", TODAY).text
    assert "Gäller till och med 2026 enligt källan." in validity(this_year, "sv", TODAY).text


def test_a_promise_without_a_period_says_it_cannot_tell_and_when_the_source_is_from() -> None:
    undated = view(period_stated="undertecknat december 2022", valid_from=None, valid_to=None,
                   source_date="2023-01")
    text = promise_summary(undated, "sv", TODAY).text
    assert "Källan anger ingen giltighetstid, så om löftet gäller nu kan jag inte säga." in text
    assert "Källan är från januari 2023." in text and "gäller nu)" not in text


def test_a_truncated_promise_shows_the_known_commitments_and_says_the_rest_is_at_the_source(
) -> None:
    text = promise_summary(view(excerpt_truncated=True), "sv", TODAY).text
    assert "• Polisen: Fler trafikkontroller" in text
    assert "Åtagandena är avkortade i källutdraget" in text and "Hela texten finns i källan" in text


def test_a_promise_without_commitments_shows_focus_and_period_and_points_to_the_source() -> None:
    text = promise_summary(view(commitments=()), "en", TODAY).text
    assert "Focus: Drugs" in text and "Period: 1 July 2023 – 2027" in text
    assert "I do not have the commitments" in text and "Source: https://polisen.se/x/" in text


def test_a_source_outside_polisen_se_is_not_called_polisen_se() -> None:
    reply = promise_summary(view(source_url="https://www.kommun.se/lofte/"), "sv", TODAY)
    assert {"title": "Källa", "url": "https://www.kommun.se/lofte/"} in reply.buttons


def test_disagreeing_sources_are_both_linked_with_what_differs() -> None:
    text = promise_summary(view(caveat=LocalText("Källorna skiljer sig åt: sex eller tre.", None),
                                more_sources=("https://kommun.se/y/",)), "sv", TODAY).text
    assert "Källorna skiljer sig åt: sex eller tre." in text
    assert "Källor: https://polisen.se/x/ och https://kommun.se/y/" in text


def test_a_municipality_with_only_district_promises_lists_the_districts() -> None:
    rosengard = view(municipality="Malmö", municipality_code="1280", district="Rosengård",
                     area_stated="Rosengård söder om Amiralsgatan")
    mollan = view(municipality="Malmö", municipality_code="1280", district="Möllevången",
                  also_districts=("Rådmansvången",), area_stated="Möllevången och Rådmansvången")
    reply = district_choice("Malmö", None, [rosengard, mollan], "sv", TODAY)
    assert "inget medborgarlöfte registrerat" in reply.text and "Rosengård söder om" in reply.text
    assert [b["payload"] for b in reply.buttons] == [
        '/inform_place{"place": "1280/Rosengård"}', '/inform_place{"place": "1280/Möllevången"}']


def test_an_open_ended_promise_shows_its_start() -> None:
    assert period(view(valid_to=None, period_stated=None), "sv") == "från 1 juli 2023"


def test_a_topic_picks_the_matching_commitments() -> None:
    topic = find_topic("vad gör de åt trafiken?", (TRAFFIC,))
    text = promise_summary(view(), "sv", date(2026, 11, 24), topic).text
    assert "Om trafiken lovar de:" in text and "Bättre belysning" not in text


def test_a_topic_the_promise_does_not_cover_is_said_plainly() -> None:
    drugs = Topic("drugs", {"sv": "narkotika", "en": "drugs"}, ("narkotik",))
    only_traffic = view().commitments[:1]
    text = promise_summary(view(commitments=only_traffic), "sv", date(2026, 1, 1), drugs).text
    assert "Löftet säger inget särskilt om narkotika" in text


def test_no_published_follow_up_is_said_plainly() -> None:
    assert "ingen publicerad uppföljning" in follow_up(view(), "sv").text


def test_a_place_without_a_promise_names_its_police() -> None:
    reply = no_promise("Kiruna", "Nord", None, "sv")
    assert "inget medborgarlöfte registrerat för Kiruna" in reply.text
    assert "polisregion Nord" in reply.text and reply.buttons[0]["url"].startswith("https://")
