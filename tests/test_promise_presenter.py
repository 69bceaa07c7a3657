"""Promise replies, built directly from views (no server): period, status, owners, source."""

from __future__ import annotations

from datetime import date

from bot.promises.presenter import (
    Topic,
    find_topic,
    follow_up,
    no_promise,
    period,
    promise_summary,
)
from bot.promises.repository import CommitmentView, LocalText, ProblemView, PromiseView

TRAFFIC = Topic("traffic", {"sv": "trafiken", "en": "traffic"}, ("trafik", "moped", "traffic"))


def view(valid_to: date | None = date(2027, 12, 31), **changes: object) -> PromiseView:
    values: dict[str, object] = dict(
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
    assert "1 juli 2023 – 31 december 2027 (gäller nu)" in text
    assert "Fokus: Narkotika" in text
    assert "• Polisen: Fler trafikkontroller" in text
    assert "• Polisen och kommunen: Trygghetsvandringar (minst fyra)" in text
    assert "… och 1 till." in text
    assert text.endswith("Källa: https://polisen.se/x/")


def test_an_expired_promise_says_so_and_points_to_the_current_one() -> None:
    text = promise_summary(view(valid_to=date(2020, 12, 31)), "en", date(2026, 11, 24)).text
    assert "(has expired)" in text and "The current one is at polisen.se" in text


def test_an_open_ended_promise_shows_its_start() -> None:
    assert period(view(valid_to=None), "sv") == "från 1 juli 2023"


def test_a_topic_picks_the_matching_commitments() -> None:
    topic = find_topic("vad gör de åt trafiken?", (TRAFFIC,))
    text = promise_summary(view(), "sv", date(2026, 11, 24), topic).text
    assert "Om trafiken lovar de:" in text and "Bättre belysning" not in text


def test_a_topic_the_promise_does_not_cover_is_said_plainly() -> None:
    drugs = Topic("drugs", {"sv": "narkotika", "en": "drugs"}, ("narkotik",))
    text = promise_summary(view(commitments=()), "sv", date(2026, 1, 1), drugs).text
    assert "Löftet säger inget särskilt om narkotika" in text


def test_no_published_follow_up_is_said_plainly() -> None:
    assert "ingen publicerad uppföljning" in follow_up(view(), "sv").text


def test_a_place_without_a_promise_names_its_police() -> None:
    reply = no_promise("Kiruna", "Nord", None, "sv")
    assert "inget medborgarlöfte registrerat för Kiruna" in reply.text
    assert "polisregion Nord" in reply.text and reply.buttons[0]["url"].startswith("https://")
