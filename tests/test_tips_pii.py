"""Personnummer, phone numbers and e-mail addresses are recognised and masked in free text."""

from __future__ import annotations

import logging

import pytest

from bot.tips.pii import (
    EMAIL,
    PERSONNUMMER,
    PHONE,
    MaskingFilter,
    find,
    install_log_masking,
    kinds,
    mask,
)


@pytest.mark.parametrize(
    "number",
    [
        "850709-9805",  # YYMMDD-NNNN
        "850709+9805",  # + for someone 100 or older
        "8507099805",  # no separator
        "19850709-9805",  # with century
        "198507099805",  # with century, no separator
        "850769-9802",  # samordningsnummer (day + 60)
        "850709 9805",  # a space as separator
        "0507091239",  # born 2005: starts with 0 like a phone number, but the check digit fits
    ],
)
def test_a_personnummer_is_masked_in_every_common_spelling(number: str) -> None:
    text = f"Han heter Anna, {number}, och bor här."
    assert mask(text) == "Han heter Anna, [personnummer], och bor här."
    assert kinds(text) == {PERSONNUMMER}


@pytest.mark.parametrize(
    "number",
    [
        "070-123 45 67",
        "0701234567",
        "070 123 45 67",
        "070-1234567",
        "+46 70 123 45 67",
        "+46701234567",
        "+46 (0)70-123 45 67",
        "0046 70 123 45 67",
        "0046701234567",
        "08-12 34 56",
        "08-123 456 78",
        "(08) 123 456 78",
        "031-12 34 56",
        "0771-123 123",
        "073.123.45.67",
    ],
)
def test_a_swedish_phone_number_is_masked_in_every_common_spelling(number: str) -> None:
    text = f"Ring {number} efter fem."
    assert mask(text) == "Ring [telefonnummer] efter fem."
    assert kinds(text) == {PHONE}


@pytest.mark.parametrize(
    "address",
    ["anna.svensson@example.se", "a+tips@polisen.se", "åsa.öberg@exempel.nu", "anna(at)example.se"],
)
def test_an_email_address_is_masked(address: str) -> None:
    assert mask(f"Mejla {address}.") == "Mejla [e-post]."
    assert kinds(address) == {EMAIL}


@pytest.mark.parametrize(
    "text",
    [
        "Ring 112 vid nödläge, annars 114 14.",
        "Det hände 2024-05-01 kl 12:05.",
        "Det hände den 20240501.",
        "Tipset har referens T-AB23-CD45.",
        "Bilen kostade 1 070 000 kr.",
        "Han föddes 850709.",
        "Mellan 2020 och 2023 hände det varje fredag.",
        "Koordinater 59.3293, 18.0686.",
        "Skriv till polisen på @polisen_sthlm.",
        "<b>bil</b> &amp; <i>moped</i>",
    ],
)
def test_ordinary_numbers_and_text_are_left_alone(text: str) -> None:
    assert mask(text) == text
    assert find(text) == []


def test_several_items_in_one_text_are_each_masked_once() -> None:
    text = "Anna 850709-9805, tel +46 70 123 45 67 eller anna@example.se; Bo 19900101-1234."
    assert mask(text) == (
        "Anna [personnummer], tel [telefonnummer] eller [e-post]; Bo [personnummer]."
    )
    found = find(text)
    assert [m.kind for m in found] == [PERSONNUMMER, PHONE, EMAIL, PERSONNUMMER]
    assert text[found[2].start : found[2].end] == "anna@example.se"


def test_masking_is_stable_when_applied_twice() -> None:
    once = mask("ring 0701234567 eller mejla a@b.se")
    assert mask(once) == once


def test_a_log_line_with_personal_data_reaches_the_log_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("test.tips.pii")
    masking = MaskingFilter()
    logger.addFilter(masking)
    try:
        with caplog.at_level(logging.INFO, logger="test.tips.pii"):
            logger.info("message from %s: %s", "user-1", "ring mig på 070-123 45 67, 850709-9805")
            logger.info("nothing personal %d", 3)
    finally:
        logger.removeFilter(masking)
    assert caplog.messages == [
        "message from user-1: ring mig på [telefonnummer], [personnummer]",
        "nothing personal 3",
    ]
    assert "070-123" not in caplog.text


def test_log_masking_covers_every_record_of_the_process(
        caplog: pytest.LogCaptureFixture) -> None:
    previous = logging.getLogRecordFactory()
    install_log_masking()
    try:
        install_log_masking()  # twice is once
        with caplog.at_level(logging.INFO, logger="some.library"):
            logging.getLogger("some.library").info("user said %s", "mitt pnr 850709-9805")
    finally:
        logging.setLogRecordFactory(previous)
    assert "850709-9805" not in caplog.text and "[personnummer]" in caplog.text
