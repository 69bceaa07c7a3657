"""The answers in other languages come from the rule files and reach domain.yml unchanged;
the language of a message is identified offline."""

from __future__ import annotations

import pytest
import yaml

from actions.responses import render
from bot.language_id import LanguageIdentifier
from bot.safety import load_net
from bot.safety_replies import GENERATED, render_domain
from bot.settings import PROJECT_ROOT

NET = load_net()
DOMAIN_TEXT = (PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8")
DOMAIN = yaml.safe_load(DOMAIN_TEXT)


def test_domain_yml_holds_exactly_what_the_rule_files_generate() -> None:
    """No copy can drift: run `python -m bot.safety_replies` after editing a reply."""
    assert render_domain(DOMAIN_TEXT, NET) == DOMAIN_TEXT


@pytest.mark.parametrize("response", sorted(GENERATED))
def test_every_language_has_its_line_before_the_swedish_and_english_answer(
        response: str) -> None:
    variants = DOMAIN["responses"][response]
    for code, language in NET.languages.items():
        if code in ("sv", "en"):
            continue
        line = language.replies[GENERATED[response]]
        for home in ("sv", "en"):
            chosen = [v for v in variants if {"name": "user_language", "value": code,
                                              "type": "slot"} in (v.get("condition") or [])
                      and {"type": "slot", "name": "language", "value": home} in v["condition"]]
            assert len(chosen) == 1, (code, home)
            assert chosen[0]["text"].startswith(line + "\n\n")
            assert render(DOMAIN, response, home)["text"] in chosen[0]["text"]


def test_actions_never_pick_a_variant_meant_for_another_language() -> None:
    assert render(DOMAIN, "utter_emergency", "sv")["text"].startswith("Ring 112")
    assert render(DOMAIN, "utter_emergency", "en")["text"].startswith("Call 112")


def test_self_harm_answer_gives_112_and_the_suicide_line() -> None:
    for home in ("sv", "en"):
        text = render(DOMAIN, "utter_self_harm", home)["text"]
        assert "112" in text and "90101" in text and "mind.se" in text


def test_close_relationship_answer_gives_kvinnofridslinjen() -> None:
    for home in ("sv", "en"):
        assert "020-50 50 50" in render(DOMAIN, "utter_sensitive_help", home)["text"]


@pytest.fixture(scope="module")
def identifier() -> LanguageIdentifier:
    return LanguageIdentifier.create(NET)


@pytest.mark.parametrize(("text", "code"), [
    ("السلام عليكم، عندي سؤال", "ar"),
    ("سلام، حال شما چطور است؟", "fa"),
    ("Salaan, waxaan rabaa inaan ogaado sida booliska loo wacayo", "so"),
    ("ሰላም ከመይ ኣለኹም", "ti"),
    ("سڵاو، چۆنی؟", "ckb"),
    ("Привіт, як справи?", "uk"),
    ("Здравствуйте, у меня вопрос", "ru"),
    ("Dzień dobry, mam pytanie o policję", "pl"),
    ("Hyvää päivää, minulla on kysymys poliisille", "fi"),
    ("Merhaba, polise bir sorum var, yardım eder misiniz", "tr"),
    ("Dobar dan, imam pitanje za policiju", "hbs"),
    ("Hola, tengo una pregunta para la policía", "es"),
])
def test_another_language_is_identified(identifier: LanguageIdentifier, text: str,
                                        code: str) -> None:
    found = identifier.identify(text, NET.detect(text))
    assert found.other and found.code == code


@pytest.mark.parametrize("text", [
    "hej", "Hej, jag vill tipsa om något", "I want to talk to a person", "Gävle", "ok",
    "Medborgarlöfte Luleå", "652 24", "tack", "😀", "", "Eskilstun", "jag behöver ayuda",
    "Björn Andersson", "hur anmaler jag en stold",
])
def test_swedish_english_and_names_are_never_another_language(
        identifier: LanguageIdentifier, text: str) -> None:
    assert not identifier.identify(text, NET.detect(text)).other


def test_a_rule_match_names_the_language(identifier: LanguageIdentifier) -> None:
    text = "زوجي يضربني الآن"
    match = NET.detect(text)
    assert match is not None and match.language == "ar"
    assert identifier.identify(text, match).code == "ar"
