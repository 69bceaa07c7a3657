"""Pictures staged for a conversation's tip (bot/tips/uploads.py) on SQLite and PostgreSQL:
checked as they arrive, encrypted at rest, kept once, taken by the tip in its own transaction,
discarded on cancel, purged when abandoned. Also the form's plain-Python decisions."""

# The database fixtures are imported from test_tips_store; test arguments "redefine" them.
# ruff: noqa: F811

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from bot.settings import Settings
from bot.tips import intake
from bot.tips.crypto import TipCipher, generate_key
from bot.tips.draft import MAX_TOTAL_BYTES, AttachmentRefused
from bot.tips.models import staged_pictures
from bot.tips.retention import purge
from bot.tips.store import TipNotStored, get_tip, reencrypt_all, submit
from bot.tips.uploads import PictureStaging, StagedPicture
from tests.test_tips_store import (  # noqa: F401 - fixtures
    GIF,
    JPEG,
    PNG,
    cipher,
    count,
    database_url,
    engine,
    make_draft,
    sessions,
)

CONVERSATION = "socketio-conversation-1"


def variant(picture: bytes, n: int) -> bytes:
    """The same kind of picture with different bytes (a different SHA-256)."""
    if picture.startswith(b"\x89PNG"):
        return picture[:-12] + n.to_bytes(4, "big") + picture[-12:]
    return picture[:-2] + n.to_bytes(4, "big") + picture[-2:]


def big_jpeg(size: int, n: int = 0) -> bytes:
    return JPEG[:-2] + bytes([n]) * (size - len(JPEG)) + JPEG[-2:]


@pytest.fixture
def staging(sessions: sessionmaker, cipher: TipCipher) -> PictureStaging:
    return PictureStaging(sessions, cipher)


def test_a_picture_is_staged_for_the_conversation(staging: PictureStaging) -> None:
    picture = staging.stage(CONVERSATION, "IMG_0042.png", "application/octet-stream", PNG)
    assert picture == StagedPicture(
        picture.id, "image/png", len(PNG), hashlib.sha256(PNG).hexdigest()
    ), "the bytes decide the type, not what the client declared"
    assert staging.staged(CONVERSATION) == [picture]
    assert staging.staged("someone-else") == []
    assert staging.data(CONVERSATION, picture.id) == PNG
    assert staging.data("someone-else", picture.id) is None


def test_the_database_holds_no_picture_bytes_and_no_file_name(
    staging: PictureStaging, engine: Engine
) -> None:
    staging.stage(CONVERSATION, "hemlig-bild-Anna-Svensson.png", "image/png", PNG)
    with engine.connect() as connection:
        row = connection.execute(sa.select(staged_pictures)).one()
    stored = b"".join(
        bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row
    )
    assert PNG not in stored and PNG[16:40] not in stored
    assert b"hemlig" not in stored and b"Anna" not in stored
    assert set(row._mapping) == {
        "id", "conversation_id", "position", "content_type", "size", "sha256", "created_at",
        "data_enc",
    }


def test_the_same_picture_twice_is_kept_once(staging: PictureStaging) -> None:
    first = staging.stage(CONVERSATION, "a.png", "image/png", PNG)
    again = staging.stage(CONVERSATION, "b.png", "image/png", PNG)
    assert again == first
    assert len(staging.staged(CONVERSATION)) == 1
    other = staging.stage("another-conversation", "a.png", "image/png", PNG)
    assert other.id != first.id, "another conversation keeps its own copy"


def test_at_most_four_pictures_and_ten_megabytes_together(staging: PictureStaging) -> None:
    for n, picture in enumerate((PNG, JPEG, GIF, variant(PNG, 1))):
        staging.stage(CONVERSATION, f"{n}", "image/png", picture)
    with pytest.raises(AttachmentRefused) as refused:
        staging.stage(CONVERSATION, "5.jpg", "image/jpeg", variant(JPEG, 5))
    assert refused.value.problem.code == "too_many"
    assert "högst 4 bilder" in refused.value.problem.text("sv")
    assert "at most 4 pictures" in refused.value.problem.text("en")
    assert staging.stage(CONVERSATION, "0", "image/png", PNG).sha256 == hashlib.sha256(
        PNG
    ).hexdigest(), "a picture already staged is still found when the tip is full"

    big = "big-pictures"
    staging.stage(big, "1.jpg", "image/jpeg", big_jpeg(6 * 1024 * 1024, 1))
    with pytest.raises(AttachmentRefused) as too_large:
        staging.stage(big, "2.jpg", "image/jpeg", big_jpeg(MAX_TOTAL_BYTES // 2, 2))
    assert too_large.value.problem.code == "too_large"
    assert "10 MB" in too_large.value.problem.text("sv")
    assert len(staging.staged(big)) == 1


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"<html><script>alert(1)</script></html>", "unsupported"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100, "video"),
        (PNG[:40], "unreadable"),
    ],
)
def test_what_is_not_a_whole_picture_is_refused_with_a_reason(
    staging: PictureStaging, data: bytes, code: str
) -> None:
    with pytest.raises(AttachmentRefused) as refused:
        staging.stage(CONVERSATION, "x.png", "image/png", data)
    assert refused.value.problem.code == code
    assert refused.value.problem.text("sv") and refused.value.problem.text("en")
    assert staging.staged(CONVERSATION) == []


def test_pictures_arriving_at_once_never_exceed_the_limit(staging: PictureStaging) -> None:
    pictures = [variant(PNG, n) for n in range(8)]

    def stage(data: bytes) -> bool:
        try:
            staging.stage(CONVERSATION, "p.png", "image/png", data)
        except AttachmentRefused:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        accepted = list(pool.map(stage, pictures))
    assert sum(accepted) == 4
    assert len(staging.staged(CONVERSATION)) == 4


def test_discard_forgets_only_that_conversations_pictures(staging: PictureStaging) -> None:
    staging.stage(CONVERSATION, "a.png", "image/png", PNG)
    staging.stage(CONVERSATION, "b.gif", "image/gif", GIF)
    staging.stage("another", "a.png", "image/png", PNG)
    assert staging.discard(CONVERSATION) == 2
    assert staging.discard(CONVERSATION) == 0
    assert staging.staged(CONVERSATION) == []
    assert len(staging.staged("another")) == 1


def test_the_tip_takes_the_staged_pictures_in_its_own_transaction(
    staging: PictureStaging, sessions: sessionmaker, engine: Engine, cipher: TipCipher
) -> None:
    staging.stage(CONVERSATION, "a.png", "image/png", PNG)
    staging.stage(CONVERSATION, "b.jpg", "image/jpeg", JPEG)
    staging.stage("another", "c.gif", "image/gif", GIF)
    result = submit(sessions, make_draft(), f"{CONVERSATION}:draft1", cipher=cipher,
                    staged_conversation=CONVERSATION)
    tip = get_tip(engine, result.reference, cipher, with_data=True)
    assert tip is not None
    assert [(a.position, a.content_type, a.data) for a in tip.attachments] == [
        (1, "image/png", PNG), (2, "image/jpeg", JPEG)]
    assert [a.filename for a in tip.attachments] == ["bild-1.png", "bild-2.jpg"]
    assert staging.staged(CONVERSATION) == [], "moved, not copied"
    assert len(staging.staged("another")) == 1

    repeat = submit(sessions, make_draft(), f"{CONVERSATION}:draft1", cipher=cipher,
                    staged_conversation=CONVERSATION)
    assert (repeat.reference, repeat.created) == (result.reference, False)
    assert count(engine, "tips") == 1 and count(engine, "tip_attachments") == 2


def test_a_failed_tip_keeps_its_pictures_for_the_next_attempt(
    staging: PictureStaging, sessions: sessionmaker, engine: Engine, cipher: TipCipher
) -> None:
    staging.stage(CONVERSATION, "a.png", "image/png", PNG)
    taken = iter(["T-AAAA-AAAA"] * 10)
    submit(sessions, make_draft(), "someone-else:d", cipher=cipher,
           new_reference=lambda: "T-AAAA-AAAA")
    with pytest.raises(TipNotStored):  # every reference drawn is taken: nothing commits
        submit(sessions, make_draft(), f"{CONVERSATION}:d", cipher=cipher,
               new_reference=lambda: next(taken), staged_conversation=CONVERSATION)
    assert count(engine, "tips") == 1 and count(engine, "tip_attachments") == 0
    assert len(staging.staged(CONVERSATION)) == 1, "nothing lost"
    result = submit(sessions, make_draft(), f"{CONVERSATION}:d", cipher=cipher,
                    staged_conversation=CONVERSATION)
    tip = get_tip(engine, result.reference, cipher)
    assert tip is not None and len(tip.attachments) == 1


def test_rotating_the_key_re_encrypts_the_staged_pictures_too(
    sessions: sessionmaker, engine: Engine
) -> None:
    old, new = generate_key(), generate_key()
    picture = PictureStaging(sessions, TipCipher([old])).stage(CONVERSATION, "a", "x", PNG)
    both = TipCipher([new, old])
    assert reencrypt_all(engine, both).staged_pictures == 1
    assert PictureStaging(sessions, TipCipher([new])).data(CONVERSATION, picture.id) == PNG
    assert reencrypt_all(engine, both).staged_pictures == 0


def test_staged_pictures_are_purged_after_the_configured_hours(
    staging: PictureStaging, engine: Engine
) -> None:
    now = datetime.now(timezone.utc)
    staging.stage("old", "a.png", "image/png", PNG)
    staging.stage("new", "a.png", "image/png", PNG)
    with engine.begin() as connection:
        connection.execute(
            staged_pictures.update()
            .where(staged_pictures.c.conversation_id == "old")
            .values(created_at=now - timedelta(hours=25))
        )
    assert purge(engine, now, 0, 0, staged_picture_hours=0).staged_pictures == 0
    report = purge(engine, now, 0, 0, staged_picture_hours=24)
    assert report.staged_pictures == 1 and "1 pictures of unsent tips" in str(report)
    assert staging.staged("old") == [] and len(staging.staged("new")) == 1
    assert purge(engine, now, 0, 0, staged_picture_hours=24).staged_pictures == 0


def test_the_purge_command_reads_the_staged_picture_setting(
    staging: PictureStaging, engine: Engine, database_url: str,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    import argparse

    from bot.tips.cli import register_purge

    staging.stage("old", "a.png", "image/png", PNG)
    with engine.begin() as connection:
        connection.execute(staged_pictures.update().values(
            created_at=datetime.now(timezone.utc) - timedelta(hours=3)))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("RETENTION_STAGED_PICTURE_HOURS", "2")
    parser = argparse.ArgumentParser()
    register_purge(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["purge"])
    assert args.func(args) == 0
    assert "1 pictures of unsent tips" in capsys.readouterr().out
    assert staging.staged("old") == []


def test_staging_from_the_settings_uses_the_tip_keys(database_url: str) -> None:
    key = generate_key()
    staging = PictureStaging.from_settings(
        Settings.from_env({"DATABASE_URL": database_url}), {"TIP_ENCRYPTION_KEYS": key}
    )
    picture = staging.stage(CONVERSATION, "a.gif", "image/gif", GIF)
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        token = connection.execute(sa.select(staged_pictures.c.data_enc)).scalar_one()
    engine.dispose()
    assert TipCipher([key]).decrypt(bytes(token)) == GIF
    assert staging.data(CONVERSATION, picture.id) == GIF


# --- the form's decisions (plain Python) -----------------------------------------------------


def test_pictures_are_asked_for_only_where_a_channel_can_send_them() -> None:
    assert all(intake.can_send_pictures(c)
               for c in ("socketio", "messenger", "instagram", "whatsapp"))
    assert not intake.can_send_pictures("rest") and not intake.can_send_pictures(None)
    assert intake.UPLOAD_PAYLOAD == {"upload": {"accept": "image/jpeg,image/png,image/gif",
                                                "max_files": 4, "max_bytes": 10485760}}


@pytest.mark.parametrize(("text", "choice"), [
    ("Inga bilder", "none"), ("nej", "none"), ("no pictures", "none"), ("Klar", "done"),
    ("done", "done"), ("det var allt", "done"), ("här kommer en bild", None)])
def test_typed_answers_to_the_picture_question(text: str, choice: str | None) -> None:
    assert intake.pictures_choice_from_text(text) == choice


@pytest.mark.parametrize(("intent", "confidence", "text", "slot", "expected"), [
    ("what_is_promise", 0.9, "vad är ett medborgarlöfte?", "tip_what", True),
    ("contact_police", 0.7, "vilket nummer ska jag ringa?", "tip_when", True),
    # A free-text answer that merely sounds like a question intent stays an answer.
    ("report_crime", 0.9, "någon har stulit cyklar ur källaren på Storgatan", "tip_what", False),
    ("contact_police", 0.9, "de ringer till varandra hela tiden om det", "tip_what", False),
    ("report_crime", 0.55, "han stal min cykel?", "tip_what", False),
    ("report_crime", 0.9, " ".join(["ord"] * 20) + "?", "tip_what", False),
    # Where the form asks for a choice, a confident question is enough.
    ("contact_police", 0.8, "hur når jag polisen", "tip_contact_choice", True),
    ("out_of_scope", 0.4, "vad blir det för väder", "tip_how_known", False),
    # A typed answer to the choice is an answer, whatever the classifier thinks.
    ("contact_police", 0.9, "someone told me", "tip_how_known", False),
    ("help", 0.9, "inga bilder", "tip_pictures", False),
    ("greet", 0.95, "hej", "tip_what", True),
    ("thank", 0.95, "tack så mycket", "tip_pictures", True),
    ("greet", 0.95, "hej, grannen säljer stöldgods", "tip_what", False),
    ("greet", 0.94, "every Saturday morning", "tip_when", False),
    ("greet", 0.9, "God morgon!", "tip_when", True),
    ("contact_police", 0.99, "/contact_police", "tip_what", True),
    ("emergency", 1.0, "hjälp?", "tip_what", False),
    ("what_is_promise", 0.9, "vad är ett medborgarlöfte?", None, False),
])
def test_a_question_mid_form_is_told_from_an_answer(
    intent: str, confidence: float, text: str, slot: str | None, expected: bool
) -> None:
    assert intake.is_interjection(intent, confidence, text, slot) is expected


def test_the_summary_counts_the_pictures_only_where_pictures_can_be_sent() -> None:
    values = {"tip_what": "x", "tip_when": "y", "tip_where": "-",
              "tip_how_known": "seen_myself", "tip_contact_choice": "anonymous"}
    text, buttons = intake.summary(values, "sv", 2)
    assert "Bilder: 2" in text and {"title": "Ändra bilder", "payload": "/tip_change_pictures"} \
        in buttons
    assert "Pictures: none" in intake.summary(values, "en", 0)[0]
    text, buttons = intake.summary(values, "sv")
    assert "Bilder" not in text and all(b["payload"] != "/tip_change_pictures" for b in buttons)
    assert intake.pictures_phrase(1, "sv") == "1 bild"
    assert intake.pictures_phrase(2, "en") == "2 pictures"
