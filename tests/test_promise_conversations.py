"""Conversations about the local promise over the real REST channel: pilot areas, a place
without a promise, an expired promise, ambiguity, districts, and follow-ups on the remembered
area written the way citizens write them."""

from __future__ import annotations

from tests.conftest import Chat


def test_the_promise_for_karlstad_shows_period_status_focus_owners_and_source(
        chat: Chat) -> None:
    chat.say("hej")
    messages = chat.send("vad har polisen lovat i Karlstad?")
    text = messages[-1]["text"]
    assert "Karlstad" in text
    assert "1 juli 2023 – 2027" in text and "gäller nu" in text
    assert "31 december" not in text
    assert "Fokus:" in text
    assert "Källa: https://polisen.se/" in text
    titles = [b["title"] for b in messages[-1]["buttons"]]
    assert "Alla åtaganden" in titles and "Uppföljning" in titles


def test_an_expired_promise_is_shown_as_expired_with_the_link_for_the_current_one(
        chat: Chat) -> None:
    chat.say("hej")
    text = chat.say("finns det ett medborgarlöfte i Gävle?")
    assert "har gått ut" in text
    assert "Det som gäller nu hittar du på polisen.se" in text


def test_a_place_without_a_promise_says_so_and_names_the_police_region(chat: Chat) -> None:
    chat.say("hej")
    text = chat.say("vad är medborgarlöftet i Arjeplog?")
    assert "inget medborgarlöfte registrerat för Arjeplog" in text
    assert "polisregion Nord" in text
    assert "polisen.se" in text


def test_a_neighbourhood_without_a_promise_of_its_own_gets_its_municipalitys(
        chat: Chat) -> None:
    chat.say("hej")
    text = chat.say("vad har polisen lovat i Lagersberg?")
    assert "Medborgarlöfte för Eskilstuna" in text
    assert "Något gick fel" not in text


def test_misspelt_and_inflected_places_are_understood(chat: Chat) -> None:
    chat.say("hej")
    assert "Luleå" in chat.say("medborgarlöfte lulea")
    assert "Eskilstuna" in chat.say("vad har polisen lovat i Eskilstunas kommun")


def test_a_district_finds_the_district_promise(chat: Chat) -> None:
    chat.say("hej")
    assert "Angered" in chat.say("vad har polisen lovat i Hjällbo?")


def test_is_there_a_promise_where_i_live_asks_where_then_answers(chat: Chat) -> None:
    chat.say("hej")
    assert "Var bor du?" in chat.say("finns det ett medborgarlöfte där jag bor?")
    assert "Kalmar" in chat.say("Kalmar")


def test_a_postcode_is_a_place(chat: Chat) -> None:
    chat.say("hej")
    assert "Var bor du?" in chat.say("finns det ett medborgarlöfte där jag bor?")
    assert "Karlstad" in chat.say("652 24")


def test_follow_ups_use_the_remembered_area(chat: Chat) -> None:
    chat.say("hej")
    chat.say("vad har polisen lovat i Göteborg Angered?")
    assert "300" in chat.say("/promise_followup")
    assert "Angered" in chat.say("vem ansvarar för löftet?")
    assert "polisen.se" in chat.say("hur kan jag lämna synpunkter?")


def test_a_topic_question_answers_with_matching_commitments(chat: Chat) -> None:
    chat.say("hej")
    text = chat.say("vad gör polisen och kommunen åt trafiken i Eskilstuna?")
    assert "Om trafiken lovar de:" in text
    assert "moped" in text.lower()


def test_english_answers_in_english(chat: Chat) -> None:
    messages = chat.send("what is the citizen promise in Gothenburg?")
    text = messages[-1]["text"]
    assert "no citizen promise registered for Göteborg as a whole" in text
    assert "Angered" in [b["title"] for b in messages[-1]["buttons"]]
    assert "Source:" in chat.say("/inform_place{\"place\": \"1480/Angered\"}")


def test_an_ambiguous_place_gets_buttons_and_the_choice_answers(chat: Chat) -> None:
    chat.say("hej")
    messages = chat.send("medborgarlöfte i Solberga")
    buttons = messages[-1].get("buttons", [])
    assert len(buttons) >= 2, messages
    assert chat.say(buttons[0]["payload"])


def test_malmo_lists_its_districts_and_a_district_answers_for_itself(chat: Chat) -> None:
    chat.say("hej")
    messages = chat.send("vad har polisen lovat i malmo?")
    titles = [b["title"] for b in messages[-1]["buttons"]]
    assert titles == ["Rosengård söder om Amiralsgatan", "Möllevången och Rådmansvången"]
    text = chat.say(messages[-1]["buttons"][0]["payload"])
    assert "Rosengård söder om Amiralsgatan" in text and "maj 2024 - maj 2025" in text
    assert "avkortade i källutdraget" in text and "Hela texten finns i källan" in text
    assert "Biskopsgården" in chat.say("och i biskopsgarden då?")


def test_an_ended_promise_says_so_and_still_tells_what_was_promised(chat: Chat) -> None:
    text = chat.say("what have the police promised in Sandviken?")
    assert "Period: 2022–2023. Ended in 2023." in text
    assert "This is what they promised" in text and "Source: https://" in text


def test_follow_ups_about_the_promise_just_shown_in_swedish(chat: Chat) -> None:
    chat.say("hej")
    chat.say("vad har polisen lovat i Karlstad?")
    assert "Åtaganden:" in chat.say("vad kommer polisen att göra där?")
    assert "gäller nu" in chat.say("galler det fortfarnde?")
    assert "Lokalpolisområde Karlstad" in chat.say("vem ansvarar för det?")
    assert "114 14" in chat.say("hur kan jag vara med?")


def test_follow_ups_about_an_ended_promise_in_english(chat: Chat) -> None:
    chat.say("what has the police promised in Haparanda?")
    assert "Ended in 2022." in chat.say("is that still valid")
    commitments = chat.say("what will the police actually do there?")
    assert "Commitments" in commitments and "Fotpatrullering" in commitments


def test_a_year_only_end_in_this_year_is_valid_through_it_according_to_the_source(
        chat: Chat) -> None:
    chat.say("hej")
    chat.say("medborgarlöfte alvesta")
    text = chat.say("gäller det fortfarande")
    assert "Gäller till och med 2026 enligt källan." in text and "(gäller nu)" not in text


def test_a_district_without_a_promise_offers_the_districts_that_have_one(chat: Chat) -> None:
    chat.say("hej")
    messages = chat.send("vad har polisen lovat i Husie?")
    assert "inget medborgarlöfte registrerat för Malmö – Husie" in messages[0]["text"]
    assert "Rosengård söder om Amiralsgatan" in [b["title"] for b in messages[-1]["buttons"]]
