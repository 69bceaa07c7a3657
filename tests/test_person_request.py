"""The deterministic net for explicit requests for a person: every example in
data/person_request.yml is recognised and no near miss is; over the real servers, rude and
indirect requests reach the handover."""

from __future__ import annotations

import pytest
import yaml

from bot.person_request import PATTERNS_FILE, PersonRequestNet, fold
from tests.conftest import Chat, RunningSystem

DATA = yaml.safe_load(PATTERNS_FILE.read_text(encoding="utf-8"))
EXAMPLES = [text for language in DATA.values() for text in language["examples"]]
NEAR_MISSES = [text for language in DATA.values() for text in language["near_misses"]]
NET = PersonRequestNet.load()


@pytest.mark.parametrize("text", EXAMPLES)
def test_an_explicit_request_for_a_person_is_recognised(text: str) -> None:
    assert NET.matches(text)


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_a_near_miss_is_not_a_request_for_a_person(text: str) -> None:
    assert not NET.matches(text)


@pytest.mark.parametrize(
    "text",
    [
        "KAN JAG PRATA MED EN MÄNNISKA!!!",
        "kan jag prata med en manniska",
        "Hallå?? Finns det nån LEVANDE människa där",
        "Can I talk to a real police officer",
        "you're useless, give me a person",
        "is there a living person there?",
    ],
)
def test_case_punctuation_and_missing_diacritics_do_not_matter(text: str) -> None:
    assert NET.matches(text)


def test_folding_removes_diacritics_and_punctuation() -> None:
    assert fold("  Människa, tack!  ") == "manniska tack"


@pytest.mark.parametrize(
    "text",
    [
        "Can I talk to a real police officer?",
        "is there a living person there?",
        "you're useless, give me a person",
        "finns det nån levande människa där?",
        "du är värdelös ge mig en riktig person",
    ],
)
def test_rude_and_indirect_requests_reach_the_handover(chat: Chat, text: str) -> None:
    reply = chat.say(text)
    assert ("i kön" in reply or "in the queue" in reply) and "112" in reply, reply


def test_asking_whether_the_bot_is_a_person_is_not_a_handover(chat: Chat) -> None:
    reply = chat.say("är du en människa?")
    assert "i kön" not in reply


@pytest.mark.parametrize(
    "text",
    [
        "chcę rozmawiać z człowiekiem, nie z robotem",
        "я хочу поговорить с живым человеком",
        "quiero hablar con una persona real, no con un robot",
        "bidi a7ki ma3 insan",
        "Could I please speak with a member of staff? Thank you.",
        "are you a real person? if not I want one",
    ],
)
def test_a_request_for_a_person_in_another_language_or_wrapped_in_thanks_reaches_the_handover(
        chat: Chat, text: str) -> None:
    reply = chat.say(text)
    assert "i kön" in reply or "in the queue" in reply, reply


@pytest.mark.parametrize(
    "text",
    [
        "I'm hard of hearing so I can't call, can I write here?",
        "can you get protection if you testify?",
        "jag hör dåligt, kan jag skriva här istället?",
    ],
)
def test_a_question_that_is_not_about_taking_part_is_not_promise_participate(
        system: RunningSystem, text: str) -> None:
    assert system.parse(text)["intent"]["name"] != "promise_participate"
