"""The evaluation runner (`make eval`): the corpus schema is read strictly, and the
detection table says what happened from hand-made tracker events (no servers)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bench.corpus import Expect, SchemaError, load_corpus, load_file, parse_expect
from bench.expectations import EXPECTATIONS, PlaceNames, ResponseIndex, TurnView, judge, observe
from bot.settings import PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "tests" / "data" / "eval_sample"
PLACES = PlaceNames.load(PROJECT_ROOT / "data" / "places")
RESPONSES = ResponseIndex.from_domain(PROJECT_ROOT / "domain.yml")
REFERENCE = "T-AB23-CD45"


def turn(*events: dict[str, Any], before: dict[str, Any] | None = None,
         after: dict[str, Any] | None = None, loop_before: str | None = None,
         loop_after: str | None = None, stored: frozenset[str] = frozenset()) -> TurnView:
    tracker = {"slots": after or {}, "active_loop": {"name": loop_after} if loop_after else {}}
    user = {"event": "user", "text": "…", "parse_data": {"intent": {"name": "x",
                                                                    "confidence": 0.9}}}
    view = observe("…", [user, *events], before or {}, tracker, loop_before, PLACES, RESPONSES)
    return TurnView(**{**view.__dict__, "stored_references": stored})


def action(name: str) -> dict[str, Any]:
    return {"event": "action", "name": name}


def bot(text: str, utter_action: str | None = None) -> dict[str, Any]:
    return {"event": "bot", "text": text,
            "metadata": {"utter_action": utter_action} if utter_action else {}}


EMERGENCY_SV = ("Ring 112 nu. Det är gratis. Ring 112 om någon är i fara, om ett brott pågår "
                "eller precis har hänt, eller om någon behöver hjälp snabbt. Jag är en digital "
                "assistent och kan inte skicka hjälp.")


def check(name: str, view: TurnView, arg: str | None = None) -> bool:
    return EXPECTATIONS[name](view, arg)


def test_every_expectation_of_the_readme_has_a_detection_and_no_more() -> None:
    readme = (PROJECT_ROOT / "tests" / "eval" / "README.md").read_text("utf-8")
    names = {m.split(":")[0] for m in re.findall(r"^\| `([a-z_]+(?::[^`]*)?)` \|", readme, re.M)}
    assert names == set(EXPECTATIONS)


def test_expect_is_read_in_each_written_form() -> None:
    known = EXPECTATIONS
    assert parse_expect("emergency", "x", known) == (Expect("emergency"),)
    assert parse_expect("place: Göteborg", "x", known) == (Expect("place", "Göteborg"),)
    assert parse_expect({"place": "Stockholm/Rinkeby"}, "x", known) == (
        Expect("place", "Stockholm/Rinkeby"),)
    assert parse_expect(["tip_kept", "emergency"], "x", known) == (
        Expect("tip_kept"), Expect("emergency"))
    for wrong in ("emergancy", "place", "tip: x", 3):
        with pytest.raises(SchemaError):
            parse_expect(wrong, "x", known)


def test_a_file_that_breaks_the_schema_is_refused_with_where(tmp_path: Path) -> None:
    (tmp_path / "messages").mkdir()
    bad = tmp_path / "messages" / "bad.yml"
    bad.write_text("category: c\ncases:\n  - text: hej\n    lang: xx\n    expect: promise\n")
    with pytest.raises(SchemaError, match=r"messages/bad.yml case 1: lang"):
        load_file(bad, tmp_path, EXPECTATIONS)
    bad.write_text("category: c\ncases:\n  - text: hej\n    lang: sv\n")
    with pytest.raises(SchemaError, match="needs an expectation"):
        load_file(bad, tmp_path, EXPECTATIONS)
    bad.write_text("category: c\ncases:\n  - txt: hej\n    lang: sv\n    expect: promise\n")
    with pytest.raises(SchemaError, match="unknown field"):
        load_file(bad, tmp_path, EXPECTATIONS)


def test_the_sample_corpus_reads_as_cases_and_scripts() -> None:
    cases = load_corpus(SAMPLE, EXPECTATIONS)
    script = next(c for c in cases if c.id.endswith("a tip corrected with the buttons"))
    assert script.script and len(script.turns) == 9
    assert script.tip["when"].not_contains == ("igår",)
    assert next(c for c in cases if c.tip_sent is False).category == "sample_tip"
    assert all(len(c.turns) == 1 for c in cases if not c.script)


def test_the_urgent_answer_is_found_by_name_or_by_its_text() -> None:
    by_rule = turn(action("utter_emergency"), bot(EMERGENCY_SV, "utter_emergency"))
    rendered = turn(action("action_handover_emergency"), bot(EMERGENCY_SV))
    reminder = turn(action("utter_emergency_reminder"),
                    bot("Om någon är i fara eller om något pågår just nu: ring 112.",
                        "utter_emergency_reminder"))
    with_a_line = turn(action("action_emergency"),
                       bot(EMERGENCY_SV + "\nاتصل بالرقم 112 الآن."))
    for view in (by_rule, rendered, with_a_line):
        assert check("emergency", view) and not check("no_emergency", view)
    assert check("no_emergency", reminder) and not check("emergency", reminder)


def test_the_welcome_is_not_part_of_the_answer() -> None:
    view = turn(action("action_session_start"),
                bot("Hej! … Skriv inte personnummer …", None), action("utter_out_of_scope"),
                bot("x", "utter_out_of_scope"))
    assert not check("pnr_reminder", view)
    assert check("out_of_scope", view)
    reminder = turn(bot("Skicka inte personnumret här.", None))
    assert check("pnr_reminder", reminder)


def test_self_harm_needs_112_and_90101() -> None:
    with_line = turn(bot("Ring 112 nu. Du kan också ringa Självmordslinjen 90101.",
                         "utter_self_harm"))
    without = turn(bot(EMERGENCY_SV, "utter_emergency"))
    assert check("self_harm", with_line) and not check("self_harm", without)


def test_a_place_is_the_right_municipality_and_district_named_back() -> None:
    gavle = turn(action("action_promise"), bot("Medborgarlöfte för Gävle 2018–2020"),
                 after={"area": "2180"})
    angered = turn(action("action_promise"), bot("Medborgarlöfte för Angered (Göteborg)"),
                   after={"area": "1480/Angered"})
    assert check("place", gavle, "Gävle") and check("promise", gavle)
    assert not check("place", gavle, "Göteborg") and not check("no_place", gavle)
    assert check("place", angered, "Göteborg/Angered") and check("place", angered, "Göteborg")
    assert not check("place", angered, "Göteborg/Hisingen")
    asked = turn(action("action_promise"),
                 bot("Var bor du? Skriv kommun, stadsdel eller postnummer."))
    assert check("ask_place", asked) and check("no_place", asked)
    assert not check("promise", asked)


def test_a_followup_stays_with_the_area_shown_before() -> None:
    same = turn(action("action_promise"), bot("Löftet för Gävle …"),
                before={"area": "2180"}, after={"area": "2180"})
    moved = turn(action("action_promise"), bot("Löftet för Sandviken …"),
                 before={"area": "2180"}, after={"area": "2181"})
    assert check("followup", same) and not check("followup", moved)


def test_the_tip_form_its_summary_and_a_sent_tip() -> None:
    started = turn(action("action_start_tip"), bot("Tack för att …", "utter_give_tip"),
                   after={"tip_draft_id": "d", "requested_slot": "tip_what"},
                   loop_after="tip_form")
    summary = turn(action("tip_form"), bot("Så här ser ditt tips ut:\nVad: …"),
                   loop_before="tip_form", loop_after="tip_form",
                   after={"requested_slot": "tip_confirm", "tip_draft_id": "d"})
    sent = turn(action("action_submit_tip"), bot(f"Tack! … Referens: {REFERENCE}. …"),
                stored=frozenset({REFERENCE}))
    unsaved = turn(action("action_submit_tip"), bot(f"Tack! … Referens: {REFERENCE}. …"))
    assert check("tip", started) and check("tip_kept", started)
    assert check("summary", summary) and not check("summary", started)
    assert check("tip_sent", sent) and not check("tip_sent", unsaved)


def test_a_question_mid_form_is_answered_and_the_step_asked_again() -> None:
    slots = {"requested_slot": "tip_when", "tip_draft_id": "d"}
    again = turn(action("validate_tip_form"), bot("För ärenden som inte är akuta …"),
                 bot("Nu fortsätter vi med ditt tips.", None),
                 bot("När hände det?", "utter_ask_tip_when"),
                 before=slots, after=slots, loop_before="tip_form", loop_after="tip_form")
    stored = turn(bot("Var hände det?", "utter_ask_tip_where"), before=slots,
                  after={**slots, "requested_slot": "tip_where", "tip_when": "vad kostar det"},
                  loop_before="tip_form", loop_after="tip_form")
    only_question = turn(bot("När hände det?", "utter_ask_tip_when"), before=slots,
                         after=slots, loop_before="tip_form", loop_after="tip_form")
    assert check("asks_again", again)
    assert not check("asks_again", stored) and not check("asks_again", only_question)


def test_cancelling_asking_first_and_keeping_the_draft() -> None:
    cancelled = turn(action("action_cancel_tip"),
                     bot("Okej, tipset skickades inte och det du skrev är borttaget."),
                     before={"tip_draft_id": "d"}, loop_before="tip_form")
    asked = turn(bot("Vill du verkligen slänga tipset?", "utter_ask_tip_cancel_confirm"),
                 before={"tip_draft_id": "d"}, after={"tip_draft_id": "d"},
                 loop_before="tip_form", loop_after="tip_form")
    discard = turn(bot("Vill du kasta tipset? Då tas det du har skrivit bort."),
                   before={"tip_draft_id": "d"},
                   after={"tip_draft_id": "d", "requested_slot": "tip_discard"},
                   loop_before="tip_form", loop_after="tip_form")
    assert check("confirm_cancel", discard)
    assert not check("confirm_cancel", turn(bot("Vill du avbryta?", "utter_cancelled_ok")))
    assert check("tip_cancelled", cancelled) and not check("tip_kept", cancelled)
    assert check("confirm_cancel", asked) and check("tip_kept", asked)
    assert not check("confirm_cancel", cancelled)


def test_a_person_contact_facts_and_out_of_scope() -> None:
    queued = turn(action("action_handover_start"), bot("Jag kopplar dig …"),
                  after={"handover": "waiting"}, loop_after="handover_form")
    facts = turn(bot("För ärenden som inte är akuta ringer du polisen på 114 14. …",
                     "utter_contact_police"))
    assert check("person", queued) and not check("out_of_scope", queued)
    assert check("contact_info", facts) and not check("out_of_scope", facts)
    rephrase = turn(bot("Jag förstod inte riktigt. Kan du skriva det på ett annat sätt?"))
    assert check("out_of_scope", rephrase)


def test_a_turn_without_expectations_needs_an_answer() -> None:
    assert judge(turn(bot("Hej!", "utter_greet")), []).passed
    assert judge(turn(), []).failed == ["an answer"]
    assert judge(turn(before={"handover": "waiting"}), []).passed
    assert judge(turn(bot(EMERGENCY_SV, "utter_emergency")),
                 [Expect("no_emergency")]).failed == ["no_emergency"]


@pytest.mark.servers
def test_make_eval_plays_the_sample_against_an_isolated_system(tmp_path: Path) -> None:
    from bench.evaluate import main

    assert main(["--corpus", str(SAMPLE), "--out", str(tmp_path)]) == 0
    import json

    results = json.loads((tmp_path / "eval.json").read_text("utf-8"))
    assert results["figures"]["cases"] == len(load_corpus(SAMPLE, EXPECTATIONS))
    urgent = results["figures"]["emergency_recall"]["sv"]
    assert urgent == {"cases": 1, "urgent": 1, "rate": 1.0, "passed": 1}  # the safety net
    assert results["figures"]["tips"]["reference_not_stored"] == 0
    assert (tmp_path / "eval-failures.txt").exists()
