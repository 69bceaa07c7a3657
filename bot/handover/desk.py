"""The conversation side of handover: what the bot does when a citizen asks for a person.

Plain Python over `bot.handover.service`; every text reaches the console masked
(`bot.tips.pii.mask`), so identity numbers, phone numbers and e-mail addresses never show.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy.orm import sessionmaker

from bot.handover import service
from bot.handover.hours import is_open
from bot.handover.service import HandoverTicket
from bot.handover.settings import HandoverSettings
from bot.settings import Settings
from bot.storage.db import make_engine, make_session_factory
from bot.tips.pii import mask


@dataclass(frozen=True)
class HandoverDesk:
    sessions: sessionmaker
    settings: HandoverSettings

    @classmethod
    def from_settings(cls, settings: Settings, environ: Mapping[str, str]) -> HandoverDesk:
        return cls(
            make_session_factory(make_engine(settings.database_url)),
            HandoverSettings.from_env(environ),
        )

    def is_open(self, now: datetime | None = None) -> bool:
        """Are agents answering chats now (Europe/Stockholm staffing hours)?"""
        return is_open(now or datetime.now(timezone.utc), self.settings.chat_hours)

    def open(
        self,
        conversation_id: str,
        channel: str,
        language: str,
        area: str | None,
        reason: str,
        transcript: Iterable[tuple[str, str]],
    ) -> HandoverTicket:
        """Queue the conversation with its transcript so far (masked) for the agent."""
        with self.sessions() as session:
            existing = service.status_of(session, conversation_id)
            ticket = service.open_handover(
                session,
                conversation_id,
                channel,
                language,
                area,
                reason,
                queue=self.settings.default_queue,
            )
            if existing is None or existing.status == "closed":
                for kind, text in transcript:
                    add = service.add_citizen_message if kind == "user" else service.add_bot_message
                    add(session, conversation_id, mask(text))
            session.commit()
            return ticket

    def forward(self, conversation_id: str, text: str) -> HandoverTicket | None:
        """A citizen message during handover goes to the agent, masked."""
        with self.sessions() as session:
            service.add_citizen_message(session, conversation_id, mask(text))
            ticket = service.status_of(session, conversation_id)
            session.commit()
            return ticket

    def handover_state(self, conversation_id: str) -> str | None:
        """"waiting" or "active" while a person has (or will have) the conversation, else
        None (the database decides)."""
        with self.sessions() as session:
            ticket = service.status_of(session, conversation_id)
            return ticket.status if ticket is not None and ticket.status in (
                "waiting", "active") else None

    def ticket(self, conversation_id: str) -> HandoverTicket | None:
        """The conversation's open ticket (its queue position), else its latest, else None."""
        with self.sessions() as session:
            return service.status_of(session, conversation_id)

    def cancel(self, conversation_id: str) -> None:
        """The citizen went back to the bot before an agent closed the conversation."""
        with self.sessions() as session:
            service.cancel_handover(session, conversation_id)
            session.commit()

    def callback(
        self,
        conversation_id: str,
        phone: str,
        name: str | None,
        best_time: str | None,
        language: str,
    ) -> str:
        """Store an out-of-hours callback request; returns its reference."""
        with self.sessions() as session:
            reference = service.create_callback(
                session, conversation_id, phone, name, best_time, language
            )
            session.commit()
            return reference

    def banner(self) -> str | None:
        """The staff's emergency banner (e.g. a major incident), shown at the first turn."""
        with self.sessions() as session:
            return service.get_banner(session)
