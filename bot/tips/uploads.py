"""Pictures a citizen sends during a conversation, kept until the tip they belong to is sent.

Every channel that can carry pictures (the web chat's upload, Messenger, Instagram,
WhatsApp) hands each one to :meth:`PictureStaging.stage` with the conversation id Rasa uses
for that citizen (the sender id). A picture is checked there, as it arrives, by
:func:`bot.tips.draft.check_attachment` against what the conversation already staged (JPEG,
PNG or GIF by its bytes; at most :data:`~bot.tips.draft.MAX_ATTACHMENTS`, at most
:data:`~bot.tips.draft.MAX_TOTAL_BYTES` together), so a refused one is explained at once.

What is kept (table ``staged_pictures``): the conversation id, the order, the type and size
the bytes proved, their SHA-256, when, and the bytes as a Fernet token of the tip cipher.
No filename a citizen chose is kept, in the clear or otherwise.

Then one of three things happens:

- the tip is sent: :func:`bot.tips.store.submit` moves the pictures into the tip's
  attachments with :func:`take_into_tip`, in the transaction that inserts the tip (a failure
  stores nothing and loses nothing; a repeated submission stores one tip),
- the tip is cancelled: :meth:`PictureStaging.discard`,
- nothing: ``python -m bot purge`` deletes pictures older than
  ``RETENTION_STAGED_PICTURE_HOURS`` (:func:`purge_staged`).

Blocking (SQLAlchemy): call it from an executor in async code.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings
from bot.storage.db import make_engine, make_session_factory
from bot.tips.crypto import TipCipher
from bot.tips.draft import Attachment, check_attachment
from bot.tips.models import staged_pictures, tip_attachments
from bot.tips.settings import TipSettings

__all__ = ["PictureStaging", "StagedPicture", "purge_staged", "take_into_tip"]

log = logging.getLogger(__name__)

# Two pictures of one conversation arriving at the same moment may race for the same place;
# the loser retries against the winner. More than a few rounds means something else is wrong.
STAGE_ATTEMPTS = 5
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif"}


@dataclass(frozen=True)
class StagedPicture:
    """A picture waiting for its tip (what may be shown about it: never its bytes)."""

    id: int
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class _Accepted(Attachment):
    """A picture already staged, as check_attachment counts it (its size, without its bytes)."""

    stored_size: int = 0

    @property
    def size(self) -> int:
        return self.stored_size


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _picture(row: Row) -> StagedPicture:
    return StagedPicture(row.id, row.content_type, row.size, row.sha256)


def _rows(session: Session, conversation_id: str) -> list[Row]:
    return list(
        session.execute(
            sa.select(
                staged_pictures.c.id,
                staged_pictures.c.position,
                staged_pictures.c.content_type,
                staged_pictures.c.size,
                staged_pictures.c.sha256,
            )
            .where(staged_pictures.c.conversation_id == conversation_id)
            .order_by(staged_pictures.c.position)
        ).all()
    )


class PictureStaging:
    """The staged pictures of every conversation: one session factory and the tip cipher."""

    def __init__(self, session_factory: sessionmaker, cipher: TipCipher) -> None:
        self._sessions = session_factory
        self._cipher = cipher

    def __repr__(self) -> str:
        return "PictureStaging(<database>, <cipher>)"

    @classmethod
    def from_settings(
        cls, settings: Settings, environ: Mapping[str, str] | None = None
    ) -> PictureStaging:
        """Staging on the service database with the tip keys (`environ`: the process's)."""
        tips = TipSettings.from_env(os.environ if environ is None else environ,
                                    root=settings.root)
        return cls.from_database(settings.database_url, tips)

    @classmethod
    def from_database(cls, database_url: str, tips: TipSettings) -> PictureStaging:
        """Staging on `database_url` with the tip keys of `tips` (or its key file)."""
        return cls(
            make_session_factory(make_engine(database_url)),
            TipCipher.from_settings(tips.encryption_keys, tips.key_file),
        )

    def stage(
        self, conversation_id: str, filename: str, content_type: str, data: bytes
    ) -> StagedPicture:
        """Keep `data` for the conversation's tip, or raise AttachmentRefused with the reason.

        Checked against what the conversation staged already (at most 4 pictures, 10 MB
        together, really JPEG/PNG/GIF). The same bytes twice for one conversation return the
        picture staged the first time (a retried webhook or a double click adds nothing).
        `filename` only matters to the check; it is not kept.
        """
        if not conversation_id:
            raise ValueError("conversation_id is required")
        digest = hashlib.sha256(data).hexdigest()
        for _ in range(STAGE_ATTEMPTS):
            with self._sessions() as session:
                rows = _rows(session, conversation_id)
            same = next((row for row in rows if row.sha256 == digest), None)
            if same is not None:
                return _picture(same)
            accepted = [_Accepted("", row.content_type, b"", row.size) for row in rows]
            picture = check_attachment(filename, content_type, data, accepted)
            token = self._cipher.encrypt(picture.data)
            position = max((row.position for row in rows), default=0) + 1
            try:
                with self._sessions.begin() as session:
                    result = session.execute(
                        staged_pictures.insert().values(
                            conversation_id=conversation_id,
                            position=position,
                            content_type=picture.content_type,
                            size=picture.size,
                            sha256=digest,
                            created_at=_utcnow(),
                            data_enc=token,
                        )
                    )
                    new_id = result.inserted_primary_key[0]
            except IntegrityError:
                # Another picture (or this one, twice) was staged meanwhile: look again.
                continue
            return StagedPicture(int(new_id), picture.content_type, picture.size, digest)
        raise RuntimeError("could not stage the picture: too many concurrent uploads")

    def staged(self, conversation_id: str) -> list[StagedPicture]:
        """The conversation's pictures waiting for its tip, in the order they arrived."""
        with self._sessions() as session:
            return [_picture(row) for row in _rows(session, conversation_id)]

    def discard(self, conversation_id: str) -> int:
        """Forget the conversation's staged pictures (the tip was cancelled); how many."""
        with self._sessions.begin() as session:
            result = session.execute(
                staged_pictures.delete().where(staged_pictures.c.conversation_id == conversation_id)
            )
            return int(result.rowcount or 0)

    def data(self, conversation_id: str, picture_id: int) -> bytes | None:
        """The bytes of one staged picture of the conversation (decrypted), or None."""
        with self._sessions() as session:
            token = session.execute(
                sa.select(staged_pictures.c.data_enc).where(
                    staged_pictures.c.conversation_id == conversation_id,
                    staged_pictures.c.id == picture_id,
                )
            ).scalar()
        return None if token is None else self._cipher.decrypt(bytes(token))


def take_into_tip(
    session: Session, conversation_id: str, tip_id: int, first_position: int, cipher: TipCipher
) -> int:
    """Move the conversation's staged pictures to tip `tip_id`, inside the caller's transaction.

    The encrypted bytes move as they are (the same cipher protects both tables); each picture
    gets a neutral name (``bild-1.jpg``). Returns how many were moved. The staged rows are
    deleted in the same transaction, so a rollback keeps them for the next attempt.
    """
    rows = session.execute(
        sa.select(
            staged_pictures.c.id,
            staged_pictures.c.content_type,
            staged_pictures.c.size,
            staged_pictures.c.data_enc,
        )
        .where(staged_pictures.c.conversation_id == conversation_id)
        .order_by(staged_pictures.c.position)
    ).all()
    for position, row in enumerate(rows, start=first_position):
        extension = _EXTENSIONS.get(row.content_type, "bin")
        session.execute(
            tip_attachments.insert().values(
                tip_id=tip_id,
                position=position,
                content_type=row.content_type,
                size=row.size,
                filename_enc=cipher.encrypt_text(f"bild-{position}.{extension}"),
                data_enc=bytes(row.data_enc),
            )
        )
    if rows:
        session.execute(
            staged_pictures.delete().where(staged_pictures.c.id.in_([row.id for row in rows]))
        )
    return len(rows)


def purge_staged(engine: Engine, cutoff: datetime, batch: int = 100) -> int:
    """Delete staged pictures created before `cutoff` (batch by batch); how many."""
    older = staged_pictures.c.created_at < cutoff
    deleted = 0
    while True:
        with engine.begin() as connection:
            chunk = list(
                connection.execute(
                    sa.select(staged_pictures.c.id).where(older).limit(batch)
                ).scalars()
            )
            if not chunk:
                return deleted
            deleted += int(
                connection.execute(
                    staged_pictures.delete().where(staged_pictures.c.id.in_(chunk), older)
                ).rowcount
                or 0
            )
