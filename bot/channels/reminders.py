"""The personnummer reminder: a citizen who writes a Swedish personal identity number gets
"Skriv inte personnummer här. Polisen kan fråga efter det om de ringer upp dig." with the
assistant's answer, on every channel and at every point of the conversation where the
assistant answers (in a tip, in the middle of anything else).

Why here and not in the dialogue: the reminder does not depend on what the message means,
so no intent or rule has to know about it, and no action-server call is added to every
message. Every citizen message passes through one of our input channels (REST, socket.io,
Meta); each wraps the message's output channel with :func:`with_reminder`, which sends the
reminder right after the first reply of the turn. A turn without a reply gets none: while a
person at the contact centre has the conversation, the assistant stays silent (the agent
sees the number masked). The number itself is masked in the tip
(:func:`bot.tips.intake.answer`), in transcripts (`bot.handover.desk`) and in logs
(:class:`bot.tips.pii.MaskingFilter`).
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import OutputChannel

from bot.tips.pii import PERSONNUMMER, kinds

REMINDER = {
    "sv": "Skriv inte personnummer här. Polisen kan fråga efter det om de ringer upp dig.",
    "en": "Please do not write personal identity numbers here. The police can ask for it if "
          "they call you back.",
}


def personnummer_reminder(text: str, language: str | None) -> str | None:
    """The reminder in `language` (Swedish for anything else) when `text` holds a
    personnummer, else None."""
    if text.startswith("/") or PERSONNUMMER not in kinds(text):
        return None
    return REMINDER.get(language or "sv", REMINDER["sv"])


class _Reminding(OutputChannel):
    """`output`, which adds the reminder after the first reply it sends."""

    def __init__(self, output: OutputChannel, reminder: str) -> None:
        self.output = output
        self.reminder: str | None = reminder

    def name(self) -> str:  # type: ignore[override] - the wrapped channel's name
        return self.output.name()

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        await self.output.send_response(recipient_id, message)
        reminder, self.reminder = self.reminder, None
        if reminder is not None:
            await self.output.send_text_message(recipient_id, reminder)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.output, name)


def with_reminder(output: OutputChannel, text: str, language: str | None) -> OutputChannel:
    """`output` itself, or when `text` holds a personnummer `output` adding the reminder."""
    reminder = personnummer_reminder(text, language)
    return output if reminder is None else _Reminding(output, reminder)
