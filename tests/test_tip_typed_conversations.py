"""The tip form as citizens type it (issue 12), over the real REST channel: typed sending,
confirmed cancelling, corrections at the summary, questions mid-form, contact details at
the choice, a person mid-tip, an emergency as an answer, and personnummer (also in the web
chat and on Messenger)."""

from __future__ import annotations

import re

import pytest

from bot.handover import service
from bot.storage.db import make_engine, make_session_factory
from bot.tips.store import TipView, get_tip
from tests.conftest import Chat, RunningSystem
from tests.test_handover_conversations import _link_call
from tests.test_socketio import Client
from tests.test_tip_conversations import REFERENCE, _fill, _tips

# meta_stack: the Messenger system (a fixture of that module).
from tests.test_tip_pictures import MetaStack, cipher_for, meta_stack, texts, turn  # noqa: F401


def _stored(system: RunningSystem, text: str) -> TipView:
    """The tip whose reference `text` shows, read back through the tip store."""
    found = REFERENCE.search(text)
    assert found, text
    engine = make_engine(system.settings.database_url)
    try:
        tip = get_tip(engine, found.group(), cipher_for(system.settings, system.stack.env))
    finally:
        engine.dispose()
    assert tip is not None
    return tip


def _at_summary(chat: Chat, what: str = "Det langas narkotika vid skolan på kvällarna") -> str:
    chat.say("hej")
    _fill(chat, what=what)
    summary = chat.say("/tip_anonymous")
    assert "Så här ser ditt tips ut" in summary
    return summary


def test_skicka_tipset_typed_at_the_summary_sends_the_tip(
        chat: Chat, system: RunningSystem) -> None:
    _at_summary(chat)
    before = _tips(system)
    assert REFERENCE.search(chat.say("skicka tipset"))
    assert _tips(system) == before + 1


def test_skicka_typed_at_the_summary_sends_the_tip(chat: Chat, system: RunningSystem) -> None:
    _at_summary(chat)
    before = _tips(system)
    assert REFERENCE.search(chat.say("skicka"))
    assert _tips(system) == before + 1


def test_send_it_in_english_sends_the_tip(chat: Chat) -> None:
    assert "What do you want to tell" in chat.say("I want to give a tip")
    chat.say("Someone is selling stolen bikes from a garage")
    chat.say("every Saturday morning")
    chat.say("/tip_skip")
    chat.say("someone told me")
    assert "This is your tip" in chat.say("/tip_anonymous")
    assert REFERENCE.search(chat.say("ok go ahead"))


def test_cancel_then_no_keeps_the_draft_and_the_form_goes_on(
        chat: Chat, system: RunningSystem) -> None:
    chat.say("hej")
    chat.say("jag vill tipsa polisen")
    assert "När hände det?" in chat.say("Någon kör för fort på min gata varje natt")
    assert "Vill du kasta tipset?" in chat.say("avbryt")
    kept = chat.say("nej")
    assert "finns kvar" in kept and "När hände det?" in kept
    chat.say("varje natt")
    chat.say("/tip_skip")
    chat.say("/tip_seen")
    summary = chat.say("/tip_anonymous")
    assert "Någon kör för fort på min gata" in summary


def test_cancel_at_the_summary_deletes_only_after_yes(chat: Chat, system: RunningSystem) -> None:
    _at_summary(chat)
    before = _tips(system)
    assert "Vill du kasta tipset?" in chat.say("avbryt tipset")
    assert "skickades inte" in chat.say("ja")
    assert _tips(system) == before
    assert "Vad vill du tipsa om?" in chat.say("jag vill lämna ett tips")


def test_a_typed_correction_of_when_replaces_the_old_value(
        chat: Chat, system: RunningSystem) -> None:
    chat.say("hej")
    chat.say("jag vill tipsa polisen")
    chat.say("Det langas narkotika vid skolan")
    chat.say("igår")
    chat.say("bakom Storskolan i Karlstad")
    chat.say("/tip_seen")
    chat.say("/tip_anonymous")
    summary = chat.say("nej det var i tisdags, inte igår")
    assert "När: i tisdags" in summary and "När: igår" not in summary
    tip = _stored(system, chat.say("skicka"))
    assert tip.when == "i tisdags"


def test_a_typed_correction_of_where_replaces_the_old_value(
        chat: Chat, system: RunningSystem) -> None:
    assert "What do you want to tell" in chat.say("I want to give a tip")
    chat.say("Someone is dealing drugs from a white van")
    chat.say("every Friday night")
    chat.say("at the bus stop on Storgatan")
    chat.say("/tip_seen")
    chat.say("/tip_anonymous")
    summary = chat.say("the place was the car park, not the bus stop")
    assert "Where: the car park" in summary
    tip = _stored(system, chat.say("send it"))
    assert tip.where == "the car park" and "bus stop" not in (tip.where or "")


def test_i_want_to_stay_anonymous_typed_at_the_summary(chat: Chat, system: RunningSystem) -> None:
    chat.say("hej")
    _fill(chat)
    chat.say("/tip_give_contact")
    assert "Kontakt: 070-123 45 67" in chat.say("070-123 45 67")
    summary = chat.say("jag vill vara anonym")
    assert "Kontakt: anonym" in summary
    tip = _stored(system, chat.say("skicka"))
    assert tip.anonymous and tip.contact is None


def test_a_question_mid_form_is_answered_and_not_stored(
        chat: Chat, system: RunningSystem) -> None:
    chat.say("hej")
    chat.say("jag vill tipsa polisen")
    chat.say("Någon säljer stöldgods från ett förråd")
    answered = chat.say("vad händer med mitt tips?")
    assert "inte en polisanmälan" in answered and "När hände det?" in answered
    chat.say("varje lördag")
    chat.say("/tip_skip")
    chat.say("/tip_told")
    summary = chat.say("/tip_anonymous")
    assert "vad händer" not in summary.lower()
    tip = _stored(system, chat.say("skicka"))
    assert tip.when == "varje lördag"


def test_contact_details_typed_at_the_choice_are_kept(chat: Chat, system: RunningSystem) -> None:
    chat.say("hej")
    _fill(chat)
    summary = chat.say("ring mig på 070-123 45 67")
    assert "Så här ser ditt tips ut" in summary and "Kontakt: 070-123 45 67" in summary
    tip = _stored(system, chat.say("skicka"))
    assert tip.contact == "070-123 45 67" and not tip.anonymous


def test_a_bad_phone_number_is_asked_again_with_the_reason(chat: Chat) -> None:
    chat.say("hej")
    _fill(chat)
    again = chat.say("ring mig på 070-12")
    assert "ofullständigt" in again and "Så här ser ditt tips ut" not in again
    assert "Kontakt: 070-123 45 67" in chat.say("070-123 45 67")


def test_a_person_mid_tip_keeps_the_draft_and_the_tip_can_be_sent_after(
        chat: Chat, system: RunningSystem) -> None:
    chat.say("hej")
    chat.say("jag vill tipsa polisen")
    chat.say("Någon klottrar på skolan varje helg")
    queued = chat.say("jag vill prata med en människa")
    assert "i kön" in queued and "skicka tipset" in queued
    sessions = make_session_factory(make_engine(system.settings.database_url))
    with sessions() as session:
        ticket = service.status_of(session, chat.sender)
        assert ticket is not None and ticket.status == "waiting"
        lines = "\n".join(m.text for m in service.messages(session, chat.sender))
        assert "Tipsutkast" in lines and "Någon klottrar på skolan varje helg" in lines
        service.claim(session, ticket.id, "agent-anna")
        service.close(session, ticket.id, "agent-anna")
    _link_call(system, "closed", chat.sender)
    resumed = chat.say("skicka tipset")
    assert "När hände det?" in resumed
    chat.say("varje helg")
    chat.say("/tip_skip")
    chat.say("/tip_seen")
    assert "Någon klottrar på skolan" in chat.say("/tip_anonymous")
    assert REFERENCE.search(chat.say("skicka"))


def test_an_ongoing_break_in_as_the_when_answer_gets_112_and_is_not_stored(
        chat: Chat, system: RunningSystem) -> None:
    chat.say("hej")
    chat.say("jag vill tipsa polisen")
    chat.say("Grannarna har haft inbrott flera gånger")
    messages = chat.send("just nu bryter någon sig in hos grannen")
    assert messages[0]["text"].startswith("Ring 112")
    assert "När hände det?" in " ".join(m.get("text", "") for m in messages)
    chat.say("förra veckan")
    chat.say("/tip_skip")
    chat.say("/tip_heard")
    summary = chat.say("/tip_anonymous")
    assert "bryter sig in" not in summary and "När: förra veckan" in summary


def test_a_personnummer_gets_the_reminder_and_is_masked_in_the_stored_tip(
        chat: Chat, system: RunningSystem) -> None:
    chat.say("hej")
    chat.say("jag vill tipsa polisen")
    texts = [m.get("text", "") for m in
             chat.send("Mannen heter Olle Berg, 850709-9805, och säljer narkotika")]
    assert "När hände det?" in texts[0] and "Skriv inte personnummer här" in texts[1]
    chat.say("varje fredag")
    chat.say("/tip_skip")
    chat.say("/tip_seen")
    summary = chat.say("/tip_anonymous")
    assert "850709-9805" not in summary
    tip = _stored(system, chat.say("skicka"))
    assert "850709-9805" not in tip.what and "[personnummer]" in tip.what
    assert re.search(r"Olle Berg", tip.what)


def test_a_personnummer_in_the_web_chat_gets_the_reminder(system: RunningSystem) -> None:
    client = Client(system.rasa_url)
    token = client.start()
    try:
        said = texts(turn(client, "hej, mitt personnummer är 19850709-9805", token))
    finally:
        client.close()
    assert "Skriv inte personnummer här" in said


def test_a_personnummer_on_messenger_gets_the_reminder(request: pytest.FixtureRequest) -> None:
    stack: MetaStack = request.getfixturevalue("meta_stack")
    said = stack.say("pnr-psid", "pnr-mid-1", "Skriv inte personnummer",
                     text="hej, mitt personnummer är 850709-9805")
    assert "Skriv inte personnummer här" in said


# Second round (held-out evaluation): no tip lost, none sent with a withdrawn value.

def _to_how_known(chat: Chat) -> None:
    assert "What do you want to tell" in chat.say("I want to give a tip")
    chat.say("Someone is selling stolen bikes from a garage")
    chat.say("every Saturday morning")
    assert "How do you know" in chat.say("behind the school on Storgatan")


def test_how_you_know_in_the_citizens_own_words_is_not_asked_forever(
        chat: Chat, system: RunningSystem) -> None:
    _to_how_known(chat)
    assert "own words" in chat.say("it is hard to explain")
    contact = chat.say("through the football club")
    assert "Contact details are optional" in contact
    summary = chat.say("anonymous")
    assert "How you know: through the football club" in summary
    tip = _stored(system, chat.say("send it"))
    assert tip.how_known == "own_words" and tip.how_known_text == "through the football club"


def test_noticing_it_while_walking_the_dog_is_seeing_it(
        chat: Chat, system: RunningSystem) -> None:
    _to_how_known(chat)
    assert "Contact details are optional" in chat.say("I noticed it when walking the dog")
    assert "How you know: I saw it myself" in chat.say("anonymous")


def test_skicka_at_the_discard_question_keeps_the_tip_and_it_can_be_sent(
        chat: Chat, system: RunningSystem) -> None:
    _at_summary(chat)
    before = _tips(system)
    assert "Vill du kasta tipset?" in chat.say("avbryt")
    kept = chat.say("skicka")
    assert "finns kvar" in kept and "Så här ser ditt tips ut" in kept
    assert REFERENCE.search(chat.say("skicka"))
    assert _tips(system) == before + 1


def test_send_it_typed_at_the_summary_sends_and_never_asks_to_discard(
        chat: Chat, system: RunningSystem) -> None:
    _to_how_known(chat)
    chat.say("/tip_seen")
    assert "This is your tip" in chat.say("/tip_anonymous")
    sent = chat.say("send it")
    assert "throw" not in sent.lower() and REFERENCE.search(sent)


def test_id_prefer_not_to_leave_my_name_is_anonymous(
        chat: Chat, system: RunningSystem) -> None:
    _to_how_known(chat)
    chat.say("/tip_seen")
    summary = chat.say("I'd prefer not to leave my name")
    assert "This is your tip" in summary and "Contact: anonymous" in summary
    assert _stored(system, chat.say("send it")).anonymous


def test_a_question_about_the_person_tipped_about_is_answered_without_a_handover(
        chat: Chat, system: RunningSystem) -> None:
    _to_how_known(chat)
    chat.say("/tip_seen")
    answered = chat.say("will the person find out it was me?")
    assert "in the queue" not in answered and "Contact details are optional" in answered
    assert "This is your tip" in chat.say("/tip_anonymous")


def test_a_question_at_the_what_step_is_answered_and_not_stored(
        chat: Chat, system: RunningSystem) -> None:
    chat.say("hej")
    assert "Vad vill du tipsa om?" in chat.say("jag vill tipsa polisen")
    answered = chat.say("måste jag säga vem jag är?")
    assert "Vad vill du tipsa om?" in answered and "När hände det?" not in answered
    assert "När hände det?" in chat.say("Någon säljer stöldgods från ett förråd")


def test_a_correction_of_what_happened_leaves_the_withdrawn_detail_out(
        chat: Chat, system: RunningSystem) -> None:
    chat.say("hej")
    _fill(chat, what="Grannen säljer stöldgods från garaget")
    summary = chat.say("/tip_anonymous")
    assert "Vad: Grannen säljer" in summary
    corrected = chat.say("det var grannens son, inte grannen")
    assert "Vad: grannens son säljer stöldgods från garaget" in corrected
    tip = _stored(system, chat.say("skicka"))
    assert tip.what == "grannens son säljer stöldgods från garaget"


@pytest.mark.parametrize(("text", "question"), [
    ("I want to report something anonymously", "What do you want to tell"),
    ("jag såg något konstigt förra veckan vid stationen, jag vill berätta det för er",
     "Vad vill du tipsa om?")])
def test_wanting_to_tell_something_anonymously_starts_a_tip(
        chat: Chat, text: str, question: str) -> None:
    assert question in chat.say(text)
