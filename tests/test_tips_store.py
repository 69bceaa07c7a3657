"""The tip store: drafts are checked, tips are committed once, encrypted, and never faked.

Also home of the database fixtures the other tip tests import (SQLite and a throwaway
PostgreSQL database, as in test_storage.py).
"""

from __future__ import annotations

import dataclasses
import struct
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from bot.storage.db import make_engine, make_session_factory
from bot.storage.migrate import upgrade
from bot.tips.crypto import KeyConfigError, TipCipher, generate_key, load_or_create_key_file
from bot.tips.draft import (
    MAX_TEXT,
    MAX_TOTAL_BYTES,
    AttachmentRefused,
    InvalidDraft,
    TipDraft,
    check_attachment,
)
from bot.tips.reference import ALPHABET, is_reference, new_reference, normalise
from bot.tips.settings import TipSettings
from bot.tips.store import (
    TipNotStored,
    TipUnreadable,
    get_tip,
    reencrypt_all,
    submit,
)

# --- shared fixtures and samples (imported by the other test_tips_* and test_retention) ---


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG = _png()
JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + b"\x00" * 32
    + (b"\xff\xd9")
)
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
SECRET_TEXT = "Langning av knark vid Ekbacksskolan"
PHONE = "070-123 45 67"


def make_draft(**overrides: Any) -> TipDraft:
    values: dict[str, Any] = {
        "what": f"{SECRET_TEXT}, han heter Anna 850709-9805",
        "when": "varje fredag kväll",
        "where": "Ekbacksvägen 12, Hägersten",
        "how_known": "seen_myself",
        "contact": f"Ring mig på {PHONE}",
        "channel": "rest",
        "language": "sv",
    }
    values.update(overrides)
    return TipDraft(**values)


@pytest.fixture
def database_url(database_url: str) -> str:
    """The shared database fixture (SQLite and PostgreSQL), migrated."""
    upgrade(database_url)
    return database_url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker:
    return make_session_factory(engine)


@pytest.fixture
def cipher() -> TipCipher:
    return TipCipher([generate_key()])


def count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


# --- drafts ----------------------------------------------------------------------------------


def test_an_over_long_answer_is_capped_and_the_citizen_is_told() -> None:
    draft = make_draft(what="a" * (MAX_TEXT + 500))
    assert len(draft.what) == MAX_TEXT
    assert draft.capped == {"what"}
    (notice,) = draft.notices
    assert notice.field == "what" and "2000" in notice.text("sv") and "2,000" in notice.text("en")


def test_html_is_kept_as_text_and_control_characters_are_removed() -> None:
    draft = make_draft(what="<script>alert(1)</script>\x00\x07 <b>bil</b>\u202e\r\nrad två\t!")
    assert draft.what == "<script>alert(1)</script> <b>bil</b>\nrad två !"


def test_when_and_what_are_required_and_each_problem_is_explained_in_both_languages() -> None:
    with pytest.raises(InvalidDraft) as raised:
        make_draft(when="  \n ", what="\x00")
    problems = {p.field: p for p in raised.value.problems}
    assert set(problems) == {"when", "what"}
    assert "igår kväll" in problems["when"].text("sv")
    assert "last night" in problems["when"].text("en")


def test_how_known_must_be_one_of_the_three_answers() -> None:
    for how in ("seen_myself", "heard_myself", "told_by_someone"):
        assert make_draft(how_known=how).how_known == how
    with pytest.raises(InvalidDraft) as raised:
        make_draft(how_known="guessed")
    assert raised.value.problems[0].field == "how_known"


def test_no_contact_details_means_anonymous() -> None:
    assert make_draft(contact=None).anonymous
    assert make_draft(contact="   ").anonymous
    assert not make_draft().anonymous


def test_a_draft_in_a_log_line_shows_no_tip_text() -> None:
    shown = repr(make_draft(attachments=[("anna.png", "image/png", PNG)]))
    assert SECRET_TEXT not in shown and PHONE not in shown and "anna" not in shown


def test_pictures_are_recognised_by_their_bytes_not_their_name() -> None:
    draft = make_draft(
        attachments=[
            ("foto.jpg", "image/png", JPEG),  # the declared type is wrong; the bytes decide
            ("../../etc/passwd.png", "image/png", PNG),
            ("", "application/octet-stream", GIF),
        ]
    )
    types = [(a.filename, a.content_type) for a in draft.attachments]
    assert types == [
        ("foto.jpg", "image/jpeg"),
        ("passwd.png", "image/png"),
        ("bild-3.gif", "image/gif"),
    ]


@pytest.mark.parametrize(
    ("data", "content_type", "code"),
    [
        (b"", "image/png", "empty"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml", "unsupported"),
        (b"%PDF-1.7 ...", "image/jpeg", "unsupported"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 40, "video/mp4", "video"),
        (PNG[:40], "image/png", "unreadable"),
        (JPEG[:-2], "image/jpeg", "unreadable"),
    ],
)
def test_an_unreadable_or_unsupported_attachment_is_refused_with_a_reason(
    data: bytes, content_type: str, code: str
) -> None:
    with pytest.raises(AttachmentRefused) as raised:
        check_attachment("x", content_type, data)
    problem = raised.value.problem
    assert problem.code == code
    assert problem.text("sv") and problem.text("en") and problem.text("sv") != problem.text("en")
    if code == "video":
        assert "114 14" in problem.text("sv")


def test_at_most_four_pictures_are_accepted() -> None:
    accepted = [check_attachment("a.png", "image/png", PNG)]
    for _ in range(3):
        accepted.append(check_attachment("a.png", "image/png", PNG, accepted))
    with pytest.raises(AttachmentRefused) as raised:
        check_attachment("e.png", "image/png", PNG, accepted)
    assert raised.value.problem.code == "too_many"
    with pytest.raises(InvalidDraft):
        make_draft(attachments=[("a.png", "image/png", PNG)] * 5)


def test_pictures_may_be_at_most_ten_megabytes_together() -> None:
    half = JPEG[:-2] + b"\x00" * (MAX_TOTAL_BYTES // 2) + b"\xff\xd9"
    first = check_attachment("a.jpg", "image/jpeg", half)
    with pytest.raises(AttachmentRefused) as raised:
        check_attachment("b.jpg", "image/jpeg", half, [first])
    assert raised.value.problem.code == "too_large"
    assert "10 MB" in raised.value.problem.text("sv")


def test_replacing_an_answer_keeps_the_note_that_another_was_capped() -> None:
    draft = make_draft(what="x" * (MAX_TEXT + 1))
    corrected = dataclasses.replace(draft, where="Vid kiosken")
    assert corrected.capped == {"what"} and corrected.where == "Vid kiosken"


# --- references ------------------------------------------------------------------------------


def test_references_are_random_well_formed_and_avoid_confusable_characters() -> None:
    drawn = {new_reference() for _ in range(2000)}
    assert len(drawn) == 2000
    for reference in drawn:
        assert is_reference(reference)
        assert reference[0:2] == "T-" and reference[6] == "-" and len(reference) == 11
    used = {ch for r in drawn for ch in r[2:].replace("-", "")}
    assert not used & set("0O1I") and used <= set(ALPHABET)


def test_a_reference_typed_carelessly_is_still_recognised() -> None:
    assert normalise("t-ab23-cd45") == "T-AB23-CD45"
    assert normalise(" TAB23 CD45 ") == "T-AB23-CD45"
    assert normalise("T-AB23-CD40") is None  # 0 is never used
    assert normalise("hej") is None


# --- settings and keys -----------------------------------------------------------------------


def test_a_webhook_without_a_secret_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="TIP_WEBHOOK_SECRET"):
        TipSettings.from_env({"TIP_WEBHOOK_URL": "https://tips.example/in"})
    with pytest.raises(ValueError, match="TIP_WEBHOOK_URL"):
        TipSettings.from_env({"TIP_WEBHOOK_URL": "ftp://x", "TIP_WEBHOOK_SECRET": "s" * 32})


def test_settings_have_documented_defaults_and_hide_secrets(tmp_path: Path) -> None:
    key = generate_key()
    settings = TipSettings.from_env(
        {
            "TIP_ENCRYPTION_KEYS": f"{key}, {generate_key()}",
            "TIP_WEBHOOK_URL": "https://tips.example/in",
            "TIP_WEBHOOK_SECRET": "s" * 32,
        },
        root=tmp_path,
    )
    assert len(settings.encryption_keys) == 2 and settings.encryption_keys[0] == key
    assert settings.retention_transcript_days == 30 and settings.retention_tip_days == 90
    assert settings.key_file == tmp_path / "var" / "tip-encryption.keys"
    assert key not in repr(settings) and "s" * 32 not in repr(settings)
    with pytest.raises(ValueError, match="RETENTION_TIP_DAYS"):
        TipSettings.from_env({"RETENTION_TIP_DAYS": "-1"})


def test_without_configured_keys_one_key_file_is_created_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "tip-encryption.keys"
    first = TipCipher.from_settings((), path)
    token = first.encrypt(b"hej")
    assert (path.stat().st_mode & 0o777) == 0o600
    assert TipCipher.from_settings((), path).decrypt(token) == b"hej"
    assert len(load_or_create_key_file(path)) == 1


def test_a_malformed_key_is_refused_without_showing_it() -> None:
    with pytest.raises(KeyConfigError) as raised:
        TipCipher([generate_key(), "not-a-key-at-all"])
    assert "not-a-key-at-all" not in str(raised.value) and "number 2" in str(raised.value)


# --- submitting ------------------------------------------------------------------------------


def test_a_submitted_tip_is_committed_before_its_reference_is_returned(
    database_url: str, sessions: sessionmaker, cipher: TipCipher
) -> None:
    draft = make_draft(attachments=[("foto.png", "image/png", PNG)])
    result = submit(sessions, draft, "sender-1:draft-1", cipher=cipher)
    assert result.created and is_reference(result.reference)
    # A separate engine (another process, in effect) sees the tip: it is committed.
    other = make_engine(database_url)
    try:
        tip = get_tip(other, result.reference, cipher)
    finally:
        other.dispose()
    assert tip is not None
    assert tip.what == draft.what and tip.when == draft.when and tip.where == draft.where
    assert tip.contact == draft.contact and not tip.anonymous
    assert tip.how_known == "seen_myself" and tip.channel == "rest" and tip.language == "sv"
    assert tip.delivery.status == "pending" and tip.delivery.attempts == 0
    assert [(a.filename, a.content_type, a.size) for a in tip.attachments] == [
        ("foto.png", "image/png", len(PNG))
    ]
    assert tip.to_json()["personal_data_in_text"] == ["personnummer"]


def test_an_anonymous_tip_is_stored_without_contact_details(
    engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    result = submit(sessions, make_draft(contact=None), "k", cipher=cipher)
    tip = get_tip(engine, result.reference, cipher)
    assert tip is not None and tip.anonymous and tip.contact is None
    assert tip.to_json()["anonymous"] is True


def test_a_duplicate_submission_stores_one_tip(
    engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    first = submit(sessions, make_draft(), "sender-1:draft-1", cipher=cipher)
    again = submit(sessions, make_draft(what="dubbeltryck"), "sender-1:draft-1", cipher=cipher)
    assert again.reference == first.reference and not again.created
    assert count(engine, "tips") == 1
    other = submit(sessions, make_draft(), "sender-1:draft-2", cipher=cipher)
    assert other.reference != first.reference and count(engine, "tips") == 2


def test_duplicate_submissions_racing_each_other_store_one_tip(
    engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    start = threading.Barrier(6)
    draft = make_draft(attachments=[("a.gif", "image/gif", GIF)])

    def tap(_: int) -> str:
        start.wait()
        return submit(sessions, draft, "sender-9:draft-1", cipher=cipher).reference

    with ThreadPoolExecutor(6) as pool:
        references = set(pool.map(tap, range(6)))
    assert len(references) == 1
    assert count(engine, "tips") == 1 and count(engine, "tip_attachments") == 1


def test_a_taken_reference_is_drawn_again(
    engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    first = submit(sessions, make_draft(), "a", cipher=cipher, new_reference=lambda: "T-AAAA-BBBB")
    draws = iter(["T-AAAA-BBBB", "T-CCCC-DDDD"])
    second = submit(sessions, make_draft(), "b", cipher=cipher, new_reference=lambda: next(draws))
    assert (first.reference, second.reference) == ("T-AAAA-BBBB", "T-CCCC-DDDD")
    assert count(engine, "tips") == 2


def test_a_storage_failure_raises_tip_not_stored_and_nothing_is_stored(
    engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    # The tip row goes in, then its picture cannot: the whole transaction must roll back.
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE tip_attachments"))
    draft = make_draft(attachments=[("a.png", "image/png", PNG)])
    with pytest.raises(TipNotStored):
        submit(sessions, draft, "sender-1:draft-1", cipher=cipher)
    assert count(engine, "tips") == 0


def test_an_unreachable_database_raises_tip_not_stored(tmp_path: Path, cipher: TipCipher) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'never-migrated.db'}")
    try:
        with pytest.raises(TipNotStored):
            submit(make_session_factory(engine), make_draft(), "k", cipher=cipher)
    finally:
        engine.dispose()


def test_the_database_file_does_not_contain_the_plain_text(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    cipher = TipCipher([generate_key()])
    marker = b"\xff\xd8\xffMARKER-IN-THE-PICTURE"
    picture = marker + b"\x00" * 64 + b"\xff\xd9"
    draft = make_draft(attachments=[("anna-andersson.jpg", "image/jpeg", picture)])
    submit(make_session_factory(engine), draft, "k", cipher=cipher)
    engine.dispose()
    folder = Path(sqlite_url.removeprefix("sqlite:///")).parent
    raw = b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith("polisbot.db"))
    for plain in (
        SECRET_TEXT,
        "850709-9805",
        PHONE,
        "Ekbacksvägen",
        "varje fredag",
        "anna-andersson",
        "MARKER-IN-THE-PICTURE",
    ):
        assert plain.encode("utf-8") not in raw, plain


def test_stored_rows_hold_no_plain_text(
    engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    submit(sessions, make_draft(), "k", cipher=cipher)
    with engine.connect() as connection:
        row = connection.execute(sa.text("SELECT * FROM tips")).one()
    dumped = " ".join(str(v) for v in row)
    for plain in (SECRET_TEXT, "850709-9805", PHONE, "Ekbacksvägen", "varje fredag"):
        assert plain not in dumped


def test_rotating_the_key_re_encrypts_every_tip_with_the_newest_key(
    engine: Engine, sessions: sessionmaker
) -> None:
    old, new = generate_key(), generate_key()
    draft = make_draft(attachments=[("a.png", "image/png", PNG)])
    reference = submit(sessions, draft, "k", cipher=TipCipher([old])).reference
    both = TipCipher([new, old])
    report = reencrypt_all(engine, both)
    assert (report.tips, report.attachments) == (1, 1)
    only_new = TipCipher([new])
    tip = get_tip(engine, reference, only_new)
    assert tip is not None and tip.what == draft.what
    assert reencrypt_all(engine, both).tips == 0  # running it again changes nothing


def test_a_tip_whose_key_is_gone_is_reported_unreadable(
    engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    reference = submit(sessions, make_draft(), "k", cipher=cipher).reference
    with pytest.raises(TipUnreadable) as raised:
        get_tip(engine, reference, TipCipher([generate_key()]))
    assert SECRET_TEXT not in str(raised.value)


def test_times_are_stored_and_read_back_in_utc(
    engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    stockholm = timezone(timedelta(hours=2))
    moment = datetime(2026, 6, 1, 12, 0, tzinfo=stockholm)
    result = submit(sessions, make_draft(), "k", cipher=cipher, now=moment)
    tip = get_tip(engine, result.reference, cipher)
    assert tip is not None and tip.created_at == moment
    assert tip.to_json()["created_at"] == "2026-06-01T10:00:00Z"


def test_the_tip_tables_are_created_by_the_migration(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        names = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"tips", "tip_attachments", "api_tokens"} <= names


def test_an_own_words_answer_to_how_you_know_is_stored_encrypted_and_read_back(
    engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    draft = make_draft(how_known="own_words", how_known_text="a colleague at work, I think")
    result = submit(sessions, draft, "own-words", cipher=cipher)
    tip = get_tip(engine, result.reference, cipher)
    assert tip is not None and tip.how_known == "own_words"
    assert tip.how_known_text == "a colleague at work, I think"
    assert tip.to_json()["how_known_text"] == "a colleague at work, I think"
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT how_known_enc FROM tips")).scalars().all()
    assert stored and not any("colleague" in (value or "") for value in stored)


def test_own_words_need_the_words() -> None:
    with pytest.raises(InvalidDraft):
        make_draft(how_known="own_words", how_known_text="  ")
    assert make_draft(how_known_text="ignored").how_known_text is None
