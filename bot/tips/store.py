"""The tip store: commit a tip exactly once, and read tips back for staff and delivery.

Two promises to the citizen rest on :func:`submit`:

- **never confirm falsely**: it returns a reference only after the transaction that holds
  the whole tip (text, contact details, pictures, delivery state) has committed; anything
  else raises :class:`TipNotStored`, and the conversation then says the tip was *not*
  received and to call 114 14;
- **one tip per submission**: the caller passes an idempotency key that is the same for
  every retry of one submission (e.g. sender id plus a draft id made when the form
  started). The key is unique in the database, so a double tap, a retried webhook or a
  reconnect gets the first tip's reference back and stores nothing new, even when the two
  attempts race each other.

Pictures a citizen sent during the conversation wait in ``staged_pictures``
(:mod:`bot.tips.uploads`); :func:`submit` moves them to the tip in the tip's transaction.

Reads decrypt; decrypted values are handed to the caller and never logged here.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, overload

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from bot.tips import pii
from bot.tips.crypto import InvalidToken, TipCipher
from bot.tips.draft import TipDraft
from bot.tips.models import PENDING, staged_pictures, tip_attachments, tips
from bot.tips.reference import new_reference as _new_reference
from bot.tips.uploads import take_into_tip

log = logging.getLogger(__name__)

# Draws of a fresh reference before giving up: a collision needs 2**40 bad luck, so more
# than one retry means something else is wrong.
REFERENCE_ATTEMPTS = 5
MAX_IDEMPOTENCY_KEY = 500


class TipNotStored(Exception):
    """The tip was not committed. Tell the citizen it was NOT received (call 114 14)."""


class TipUnreadable(Exception):
    """A stored tip cannot be decrypted with the configured keys (a key is missing)."""


def utcnow() -> datetime:
    """Now, in UTC (aware): every time the tip store writes or compares."""
    return datetime.now(timezone.utc)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """`value` as aware UTC; SQLite hands back naive datetimes, which the store wrote as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def iso(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z, the form the API and the webhook use."""
    utc = as_utc(value)
    return None if utc is None else utc.isoformat().replace("+00:00", "Z")


def idempotency_hash(key: str) -> str:
    """What is stored for an idempotency key (it may contain a sender id; no need to keep it)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SubmitResult:
    """A committed tip. `created` is False when this was a repeat of an earlier submission."""

    reference: str
    created: bool
    created_at: datetime


def _existing(session_factory: sessionmaker, key_hash: str) -> SubmitResult | None:
    with session_factory() as session:
        row = session.execute(
            sa.select(tips.c.reference, tips.c.created_at).where(tips.c.idempotency_key == key_hash)
        ).first()
    if row is None:
        return None
    return SubmitResult(row.reference, False, as_utc(row.created_at) or utcnow())


def _encrypted_row(draft: TipDraft, cipher: TipCipher) -> dict[str, Any]:
    return {
        "channel": draft.channel,
        "language": draft.language,
        "how_known": draft.how_known,
        "anonymous": draft.anonymous,
        "what_enc": cipher.encrypt_text(draft.what),
        "when_enc": cipher.encrypt_text(draft.when),
        "where_enc": cipher.encrypt_text(draft.where),
        "contact_enc": cipher.encrypt_text(draft.contact),
        "how_known_enc": cipher.encrypt_text(draft.how_known_text),
        "municipality_code": draft.municipality_code,
        "capped_fields": ",".join(sorted(draft.capped)) or None,
        "delivery_status": PENDING,
        "delivery_attempts": 0,
    }


def _encrypted_attachments(draft: TipDraft, cipher: TipCipher) -> list[dict[str, Any]]:
    return [
        {
            "position": position,
            "content_type": attachment.content_type,
            "size": attachment.size,
            "filename_enc": cipher.encrypt_text(attachment.filename),
            "data_enc": cipher.encrypt(attachment.data),
        }
        for position, attachment in enumerate(draft.attachments, start=1)
    ]


def submit(
    session_factory: sessionmaker,
    draft: TipDraft,
    idempotency_key: str,
    *,
    cipher: TipCipher,
    now: datetime | None = None,
    new_reference: Callable[[], str] = _new_reference,
    staged_conversation: str | None = None,
) -> SubmitResult:
    """Store `draft` in one transaction and return its reference once committed.

    A repeat with the same `idempotency_key` returns the first tip's reference and stores
    nothing. Raises TipNotStored on any failure to commit (the caller must then not show a
    reference). With `staged_conversation` the pictures that conversation staged
    (:mod:`bot.tips.uploads`) become the tip's attachments after the draft's own, and leave
    the staging table in the same transaction. Blocking: call it from an executor in async
    code.
    """
    if not idempotency_key or len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
        raise ValueError(f"idempotency_key must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
    key_hash = idempotency_hash(idempotency_key)
    created_at = as_utc(now) or utcnow()
    try:
        existing = _existing(session_factory, key_hash)
        if existing is not None:
            return existing
        row = _encrypted_row(draft, cipher)
        attachments = _encrypted_attachments(draft, cipher)
    except SQLAlchemyError as error:
        log.error("tip not stored: %s", type(error).__name__)
        raise TipNotStored("the tip store cannot be read") from error
    except Exception as error:
        log.error("tip not stored: encryption failed: %s", type(error).__name__)
        raise TipNotStored("the tip could not be encrypted") from error

    for _ in range(REFERENCE_ATTEMPTS):
        reference = new_reference()
        try:
            with session_factory.begin() as session:
                result = session.execute(
                    tips.insert().values(
                        **row,
                        reference=reference,
                        idempotency_key=key_hash,
                        created_at=created_at,
                        delivery_next_at=created_at,
                    )
                )
                tip_id = result.inserted_primary_key[0]
                for attachment in attachments:
                    session.execute(tip_attachments.insert().values(tip_id=tip_id, **attachment))
                if staged_conversation:
                    take_into_tip(session, staged_conversation, tip_id, len(attachments) + 1,
                                  cipher)
            log.info("tip %s stored", reference)
            return SubmitResult(reference, True, created_at)
        except IntegrityError:
            # Either the same submission committed meanwhile (then the key finds it), or the
            # reference was taken (then draw another).
            try:
                existing = _existing(session_factory, key_hash)
            except SQLAlchemyError as error:
                raise TipNotStored("the tip store cannot be read") from error
            if existing is not None:
                return existing
        except (SQLAlchemyError, OSError) as error:
            log.error("tip not stored: %s", type(error).__name__)
            raise TipNotStored("the tip could not be committed") from error
    log.error("tip not stored: no free reference after %d draws", REFERENCE_ATTEMPTS)
    raise TipNotStored("no free reference")


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentView:
    """A stored picture; `data` is loaded only when asked for."""

    position: int
    filename: str = field(repr=False)
    content_type: str
    size: int
    data: bytes | None = field(default=None, repr=False)

    @property
    def sha256(self) -> str | None:
        return None if self.data is None else hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class DeliveryView:
    """Where the tip is on its way to the police's systems."""

    status: str
    attempts: int
    last_attempt_at: datetime | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "attempts": self.attempts,
            "last_attempt_at": iso(self.last_attempt_at),
            "last_error": self.last_error,
            "next_attempt_at": iso(self.next_attempt_at),
            "delivered_at": iso(self.delivered_at),
        }


@dataclass(frozen=True)
class TipView:
    """A decrypted tip, as staff and the webhook see it. Text is left out of ``repr``."""

    id: int
    reference: str
    created_at: datetime
    what: str = field(repr=False)
    when: str = field(repr=False)
    where: str | None = field(repr=False)
    how_known: str
    contact: str | None = field(repr=False)
    anonymous: bool
    channel: str
    language: str
    municipality_code: str | None
    capped_fields: tuple[str, ...]
    attachments: tuple[AttachmentView, ...]
    delivery: DeliveryView
    # The citizen's own answer when how_known is "own_words".
    how_known_text: str | None = field(default=None, repr=False)

    def to_json(self, attachment_url: Callable[[int], str] | None = None) -> dict[str, Any]:
        """The JSON shape of docs/staff-api.md (pictures as metadata; bytes are separate)."""
        found = set().union(*(pii.kinds(t) for t in (self.what, self.when, self.where or "",
                                                   self.how_known_text or "")))
        pictures = []
        for a in self.attachments:
            item: dict[str, Any] = {
                "position": a.position,
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
            }
            if attachment_url is not None:
                item["url"] = attachment_url(a.position)
            pictures.append(item)
        return {
            "reference": self.reference,
            "created_at": iso(self.created_at),
            "what": self.what,
            "when": self.when,
            "where": self.where,
            "how_known": self.how_known,
            "how_known_text": self.how_known_text,
            "anonymous": self.anonymous,
            "contact": self.contact,
            "attachments": pictures,
            "channel": self.channel,
            "language": self.language,
            "municipality_code": self.municipality_code,
            "capped_fields": list(self.capped_fields),
            "personal_data_in_text": sorted(found),
            "delivery": self.delivery.to_json(),
        }


def _decrypt(cipher: TipCipher, token: str | None, reference: str) -> str | None:
    try:
        return cipher.decrypt_text(token)
    except InvalidToken:
        raise TipUnreadable(
            f"tip {reference} cannot be decrypted with the configured keys"
        ) from None


def _attachment_views(
    connection: Connection, tip_id: int, reference: str, cipher: TipCipher, with_data: bool
) -> tuple[AttachmentView, ...]:
    columns = [
        tip_attachments.c.position,
        tip_attachments.c.filename_enc,
        tip_attachments.c.content_type,
        tip_attachments.c.size,
    ]
    if with_data:
        columns.append(tip_attachments.c.data_enc)
    rows = connection.execute(
        sa.select(*columns)
        .where(tip_attachments.c.tip_id == tip_id)
        .order_by(tip_attachments.c.position)
    ).all()
    views = []
    for row in rows:
        data = None
        if with_data:
            try:
                data = cipher.decrypt(bytes(row.data_enc))
            except InvalidToken:
                raise TipUnreadable(f"a picture of tip {reference} cannot be decrypted") from None
        filename = _decrypt(cipher, row.filename_enc, reference) or ""
        views.append(AttachmentView(row.position, filename, row.content_type, row.size, data))
    return tuple(views)


def _view(connection: Connection, row: Row, cipher: TipCipher, with_data: bool) -> TipView:
    reference = row.reference
    return TipView(
        id=row.id,
        reference=reference,
        created_at=as_utc(row.created_at) or utcnow(),
        what=_decrypt(cipher, row.what_enc, reference) or "",
        when=_decrypt(cipher, row.when_enc, reference) or "",
        where=_decrypt(cipher, row.where_enc, reference),
        how_known=row.how_known,
        how_known_text=_decrypt(cipher, row.how_known_enc, reference),
        contact=_decrypt(cipher, row.contact_enc, reference),
        anonymous=bool(row.anonymous),
        channel=row.channel,
        language=row.language,
        municipality_code=row.municipality_code,
        capped_fields=tuple(f for f in (row.capped_fields or "").split(",") if f),
        attachments=_attachment_views(connection, row.id, reference, cipher, with_data),
        delivery=DeliveryView(
            status=row.delivery_status,
            attempts=row.delivery_attempts,
            last_attempt_at=as_utc(row.delivery_last_attempt_at),
            last_error=row.delivery_last_error,
            next_attempt_at=as_utc(row.delivery_next_at),
            delivered_at=as_utc(row.delivered_at),
        ),
    )


def get_tip(
    engine: Engine, reference: str, cipher: TipCipher, *, with_data: bool = False
) -> TipView | None:
    """The tip with `reference`, decrypted, or None. Raises TipUnreadable if a key is missing."""
    with engine.connect() as connection:
        row = connection.execute(sa.select(tips).where(tips.c.reference == reference)).first()
        return None if row is None else _view(connection, row, cipher, with_data)


def get_tip_by_id(
    engine: Engine, tip_id: int, cipher: TipCipher, *, with_data: bool = False
) -> TipView | None:
    """The tip with database id `tip_id` (what the delivery worker claims), or None."""
    with engine.connect() as connection:
        row = connection.execute(sa.select(tips).where(tips.c.id == tip_id)).first()
        return None if row is None else _view(connection, row, cipher, with_data)


def list_tips(
    engine: Engine,
    cipher: TipCipher,
    *,
    since: datetime,
    limit: int,
    status: str | None = None,
) -> list[TipView]:
    """Tips created at or after `since`, oldest first, at most `limit` of them."""
    query = (
        sa.select(tips)
        .where(tips.c.created_at >= as_utc(since))
        .order_by(tips.c.created_at, tips.c.id)
        .limit(limit)
    )
    if status is not None:
        query = query.where(tips.c.delivery_status == status)
    with engine.connect() as connection:
        return [_view(connection, row, cipher, False) for row in connection.execute(query).all()]


def get_attachment(
    engine: Engine, reference: str, position: int, cipher: TipCipher
) -> AttachmentView | None:
    """One picture of a tip with its bytes, or None if there is no such tip or picture."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(
                tip_attachments.c.position,
                tip_attachments.c.filename_enc,
                tip_attachments.c.content_type,
                tip_attachments.c.size,
                tip_attachments.c.data_enc,
            )
            .join(tips, tips.c.id == tip_attachments.c.tip_id)
            .where(tips.c.reference == reference, tip_attachments.c.position == position)
        ).first()
    if row is None:
        return None
    try:
        data = cipher.decrypt(bytes(row.data_enc))
    except InvalidToken:
        raise TipUnreadable(f"a picture of tip {reference} cannot be decrypted") from None
    filename = _decrypt(cipher, row.filename_enc, reference) or ""
    return AttachmentView(row.position, filename, row.content_type, row.size, data)


# --- key rotation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RotationReport:
    """How many stored values were re-encrypted with the newest key."""

    tips: int
    attachments: int
    staged_pictures: int = 0


_TIP_TEXT = ("what_enc", "when_enc", "where_enc", "contact_enc")


def _rotate_text(cipher: TipCipher, token: str | None) -> str | None:
    if token is None or cipher.is_current(token.encode("ascii")):
        return None
    return cipher.rotate(token.encode("ascii")).decode("ascii")


def _rotate_table(
    engine: Engine,
    cipher: TipCipher,
    table: sa.Table,
    text_columns: Sequence[str],
    bytes_columns: Sequence[str],
    batch_size: int,
) -> int:
    changed = 0
    last_id = 0
    columns = [table.c.id, *(table.c[c] for c in (*text_columns, *bytes_columns))]
    while True:
        with engine.begin() as connection:
            rows = connection.execute(
                sa.select(*columns)
                .where(table.c.id > last_id)
                .order_by(table.c.id)
                .limit(batch_size)
            ).all()
            if not rows:
                return changed
            for row in rows:
                values: dict[str, Any] = {}
                for name in text_columns:
                    rotated = _rotate_text(cipher, row._mapping[name])
                    if rotated is not None:
                        values[name] = rotated
                for name in bytes_columns:
                    token = bytes(row._mapping[name])
                    if not cipher.is_current(token):
                        values[name] = cipher.rotate(token)
                if values:
                    connection.execute(table.update().where(table.c.id == row.id).values(**values))
                    changed += 1
            last_id = rows[-1].id


def reencrypt_all(engine: Engine, cipher: TipCipher, *, batch_size: int = 100) -> RotationReport:
    """Re-encrypt every stored tip value with the newest key, batch by batch.

    Safe to interrupt and run again (values already under the newest key are skipped), and
    safe while the services run: each batch is its own short transaction.
    """
    return RotationReport(
        tips=_rotate_table(engine, cipher, tips, _TIP_TEXT, (), batch_size),
        attachments=_rotate_table(
            engine,
            cipher,
            tip_attachments,
            ("filename_enc",),
            ("data_enc",),
            max(1, batch_size // 10),
        ),
        staged_pictures=_rotate_table(
            engine, cipher, staged_pictures, (), ("data_enc",), max(1, batch_size // 10)
        ),
    )
