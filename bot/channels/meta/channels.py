"""Rasa input channels for Facebook Messenger, Instagram messaging and WhatsApp Cloud API.

Enable them in ``credentials.yml`` (no keys needed; secrets come from the environment
through :class:`MetaSettings`)::

    bot.channels.meta.channels.MessengerInput:
    bot.channels.meta.channels.InstagramInput:
    bot.channels.meta.channels.WhatsAppInput:

Webhook URLs: ``/webhooks/{messenger,instagram,whatsapp}/webhook`` (GET: the subscribe
handshake; POST: deliveries).

How a delivery is handled:
1. The X-Hub-Signature-256 of the raw body is checked (403 and nothing read otherwise).
2. Every citizen message of every entry is queued and 200 is answered at once, so slow
   processing never makes Meta retry. One queue per sender keeps a conversation in order.
3. In the background each message is claimed in the shared de-duplication store (Meta's
   retries carry the same id), cleaned like every other channel's input, its pictures are
   fetched and checked, and it goes to Rasa. Text is never logged.

Conversation ids are ``<platform>:<platform user id>`` (``messenger:<PSID>``,
``instagram:<IGSID>``, ``whatsapp:<wa_id>``), so ids of different platforms never collide.

What Rasa receives besides the text (metadata): ``language`` ("sv"/"en": the locale Meta
gave, else guessed from the text), ``attachments`` (``[{"content_type", "size", "sha256"}]``
for accepted pictures; the bytes were staged for the conversation's tip by the attachment
sink, and a picture without text arrives as the payload ``/pictures_added``), ``location``
(``{"lat", "long"}``: a shared location arrives as an EMPTY text with this metadata, because
hygiene refuses forged intent payloads such as ``/inform_location``; the NLU component
``SharedLocationPlacer`` resolves it to the municipality it is in or near), and ``truncated``
when the text was cut. Stickers and reactions get no answer; content the assistant cannot
read gets :data:`CANNOT_READ`. Every message is remembered as the sender's latest, which
decides how an agent's reply may go out (see :class:`MetaOutput`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ClassVar

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.hygiene import clean_metadata, clean_text
from bot.channels.meta.dedup import DedupStore, make_dedup_store
from bot.channels.meta.media import (
    AcceptedAttachment,
    AttachmentSink,
    Refusal,
    StagingSink,
    receive_attachment,
)
from bot.channels.meta.outgoing import (
    HUMAN_AGENT_TAG,
    GraphClient,
    PlatformSender,
    SendResult,
    SendStatus,
    agent_reply_plan,
    choices_from_buttons,
)
from bot.channels.meta.parse import InboundEvent, Platform, language_from_locale, parse_webhook
from bot.channels.meta.settings import MetaSettings
from bot.channels.meta.signature import SIGNATURE_HEADER, answer_handshake, verify_signature
from bot.channels.reminders import with_reminder
from bot.tips.draft import Problem
from bot.tips.uploads import PictureStaging

logger = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 5 * 1024 * 1024
DRAIN_ON_STOP_SECONDS = 10.0

REMINDER = {
    "sv": "Skriv inte känsliga uppgifter här, till exempel personnummer, hälsouppgifter eller "
    "detaljer om brott mot dig eller andra. För känsliga ärenden, använd Polisens webbchatt: "
    "{url}",
    "en": "Please do not post sensitive details here, such as personal identity numbers, "
    "health information or details of crimes against you or others. For sensitive matters, "
    "use the Swedish Police's web chat: {url}",
}
ATTACHMENT_REFUSED = {
    "sv": "Jag kunde inte ta emot bilden. Skicka en bild i JPEG, PNG eller GIF på högst {mb} MB. "
    "Vid nödläge: ring 112.",
    "en": "I could not receive the picture. Send a JPEG, PNG or GIF picture of at most {mb} MB. "
    "In an emergency, call 112.",
}
# A voice message, a video or another file: only pictures are taken (for a tip).
NOT_A_PICTURE = {
    "sv": "Jag kan bara ta emot bilder här (JPEG, PNG eller GIF), inte röstmeddelanden, filmer "
    "eller andra filer. Skriv gärna ditt meddelande i stället. Vid nödläge: ring 112.",
    "en": "I can only receive pictures here (JPEG, PNG or GIF), not voice messages, videos or "
    "other files. Please write your message instead. In an emergency, call 112.",
}
EMERGENCY_REMINDER = {"sv": "Vid nödläge: ring 112.", "en": "In an emergency, call 112."}
# What Rasa gets for a message that only brought pictures (the tip form counts what is staged).
PICTURES_ADDED = "/pictures_added"
# A message the assistant cannot read at all (WhatsApp contacts or "unsupported" content,
# Messenger's unsupported messages). Stickers and reactions get no answer.
CANNOT_READ = {
    "sv": "Jag kan bara läsa text, bilder och delade platser här. Skriv gärna ditt meddelande. "
    "Vid nödläge, ring 112.",
    "en": "I can only read text, pictures and shared locations here. Please write your message. "
    "In an emergency, call 112.",
}
CANNOT_ANSWER = {
    "sv": "Assistenten kan inte svara just nu. Ring 114 14, eller 112 vid nödläge.",
    "en": "The assistant cannot answer right now. Call 114 14, or 112 in an emergency.",
}

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
LastMessage = Callable[[str], Awaitable[datetime | None]]


def _is_agent_reply(kwargs: dict[str, Any]) -> bool:
    """Rasa hands a bot message's `custom` payload to the send methods: the handover relay
    (actions/handover.py) marks an agent's words with `{"agent": true}`."""
    custom = kwargs.get("custom")
    return isinstance(custom, dict) and custom.get("agent") is True


class CannotDeliver(Exception):
    """Raised by an output channel made for Rasa's HTTP API (the console's agent replies)
    when a reply did not reach the citizen, so the API answers an error instead of success.
    The message names the reason and Meta's code, never the text."""

    def __init__(self, result: SendResult) -> None:
        self.result = result
        if result.cannot_deliver and result.window_hours == 168:
            reason = "outside the 7-day human-agent window"
        elif result.cannot_deliver:
            reason = "outside the 24-hour messaging window"
        else:
            reason = "the platform refused it"
        super().__init__(
            f"cannot deliver: {reason} (status={result.status.value} code={result.code} "
            f"subcode={result.subcode})"
        )


def _where(error: BaseException) -> str:
    """Where an exception was raised (file:line of the innermost frame), for logs."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno}"


def conversation_id(platform: Platform, user_id: str) -> str:
    """The Rasa conversation id of a platform user."""
    return f"{platform.value}:{user_id}"


def platform_user_id(platform: Platform, conversation: str) -> str | None:
    """The platform user id of a conversation; None if it is not this platform's (a reply
    must never go to a Meta user whose id merely looks like another channel's sender)."""
    prefix = f"{platform.value}:"
    if conversation.startswith(prefix):
        return conversation[len(prefix) :] or None
    return None


@dataclass(frozen=True)
class Reminder:
    """ "Do not post sensitive details here; use the web chat": once per sender and period."""

    store: DedupStore
    ttl_seconds: int
    web_chat_url: str

    def text(self, language: str) -> str:
        return REMINDER.get(language, REMINDER["sv"]).format(url=self.web_chat_url)

    async def due(self, platform: Platform, user_id: str) -> bool:
        """True once per sender within the period, across processes (the dedup store)."""
        return await self.store.claim(f"reminder:{platform.value}:{user_id}", self.ttl_seconds)


class MetaOutput(OutputChannel):
    """Sends Rasa's replies through the Graph API; every send's typed result is kept.

    `raise_on_failure` is for the output channel Rasa's HTTP API uses (agent replies from the
    console): an undelivered reply raises :class:`CannotDeliver` there, so the console sees
    an error instead of a false "delivered". Replies to a citizen's own message never raise.

    An agent's reply (the relay's `{"agent": true}`) is timed from the citizen's last message
    (`last_message`): a normal reply within 24 hours, the HUMAN_AGENT tag on Messenger and
    Instagram up to 7 days, otherwise refused without calling Meta. The bot's own replies
    never carry a tag.
    """

    platform: ClassVar[Platform] = Platform.MESSENGER

    def __init__(
        self,
        sender: PlatformSender,
        *,
        language: str = "sv",
        reminder: Reminder | None = None,
        raise_on_failure: bool = False,
        on_result: Callable[[SendResult], None] | None = None,
        last_message: LastMessage | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.sender = sender
        self.last_message = last_message
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.language = language if language in REMINDER else "sv"
        self.reminder = reminder
        self.raise_on_failure = raise_on_failure
        self.on_result = on_result
        self.results: list[SendResult] = []
        self._reminder_checked = False

    @classmethod
    def name(cls) -> str:
        return cls.platform.value

    def _recipient(self, recipient_id: str) -> str | None:
        return platform_user_id(self.platform, recipient_id)

    async def _with_reminder(self, user_id: str, text: str) -> str:
        if self.reminder is None or self._reminder_checked:
            return text
        self._reminder_checked = True
        if await self.reminder.due(self.platform, user_id):
            return f"{text.rstrip()}\n\n{self.reminder.text(self.language)}"
        return text

    def _record(self, result: SendResult) -> SendResult:
        self.results.append(result)
        if self.on_result is not None:
            self.on_result(result)
        if self.raise_on_failure and not result.delivered:
            raise CannotDeliver(result)
        return result

    def _not_ours(self) -> SendResult:
        logger.warning(
            "meta send: %s output got another channel's conversation", self.platform.value
        )
        return self._record(SendResult(SendStatus.FAILED))

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        user_id = self._recipient(recipient_id)
        if user_id is None:
            self._not_ours()
            return
        if _is_agent_reply(kwargs):
            self._record(await self._send_agent_text(user_id, text))
            return
        text = await self._with_reminder(user_id, text)
        self._record(await self.sender.send_text(user_id, text))

    async def _send_agent_text(self, user_id: str, text: str) -> SendResult:
        """An agent's words, inside the window the time since the citizen wrote allows."""
        last = await self.last_message(user_id) if self.last_message is not None else None
        since = self.clock() - last if last is not None else None
        plan = agent_reply_plan(self.platform, since)
        if not plan.allowed:
            logger.info(
                "meta send: %s agent reply refused, %d-hour window closed",
                self.platform.value,
                plan.window_hours or 0,
            )
            return SendResult(SendStatus.OUTSIDE_WINDOW, window_hours=plan.window_hours)
        result = await self.sender.send_text(user_id, text, tag=plan.tag)
        if result.cannot_deliver and plan.tag is None and self.platform is not Platform.WHATSAPP:
            # Meta counts the 24 hours from its own clock (or we never saw the citizen's
            # message time): the HUMAN_AGENT tag still reaches them within 7 days.
            result = await self.sender.send_text(user_id, text, tag=HUMAN_AGENT_TAG)
        return result

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        user_id = self._recipient(recipient_id)
        if user_id is None:
            self._not_ours()
            return
        text = await self._with_reminder(user_id, text or "")
        choices = choices_from_buttons(buttons)
        self._record(await self.sender.send_choices(user_id, text, choices, self.language))

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies, **kwargs)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        user_id = self._recipient(recipient_id)
        if user_id is None:
            self._not_ours()
            return
        self._record(await self.sender.send_image(user_id, image))

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """Raw platform JSON is not sent to citizens: every reply goes through the checks."""
        logger.warning("meta send: %s custom JSON reply skipped", self.platform.value)


class MessengerOutput(MetaOutput):
    platform = Platform.MESSENGER


class InstagramOutput(MetaOutput):
    platform = Platform.INSTAGRAM


class WhatsAppOutput(MetaOutput):
    platform = Platform.WHATSAPP


class SenderQueues:
    """One FIFO per sender, worked by one task each: messages of a conversation are handled
    in order, different conversations in parallel. Idle queues go away."""

    def __init__(self) -> None:
        self._queues: dict[str, asyncio.Queue[Callable[[], Awaitable[None]]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, key: str, job: Callable[[], Awaitable[None]]) -> None:
        """Queue `job` behind the sender's earlier ones; returns at once."""
        queue = self._queues.get(key)
        if queue is None:
            queue = asyncio.Queue()
            self._queues[key] = queue
            task = asyncio.get_running_loop().create_task(self._work(key, queue))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        queue.put_nowait(job)

    async def _work(self, key: str, queue: asyncio.Queue[Callable[[], Awaitable[None]]]) -> None:
        while True:
            try:
                job = queue.get_nowait()
            except asyncio.QueueEmpty:
                # No await between this check and submit()'s lookup: nothing can slip in.
                del self._queues[key]
                return
            try:
                await job()
            except Exception as error:  # noqa: BLE001 - one bad message must not stop the rest
                logger.error("meta channel: a queued message failed (%s)", type(error).__name__)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every queued message has been handled (tests, shutdown)."""

        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        while self._tasks:
            left = None if deadline is None else deadline - asyncio.get_running_loop().time()
            if left is not None and left <= 0:
                raise asyncio.TimeoutError
            # asyncio.wait, unlike gather, never cancels the workers when it gives up.
            await asyncio.wait(list(self._tasks), timeout=left)


class MetaInput(InputChannel):
    """The webhook side shared by the three platforms; subclasses pick the platform."""

    platform: ClassVar[Platform] = Platform.MESSENGER
    output_class: ClassVar[type[MetaOutput]] = MessengerOutput

    @classmethod
    def name(cls) -> str:
        return cls.platform.value

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Secrets come from the environment (MetaSettings), never from credentials.yml."""
        return cls(MetaSettings.from_env())

    def __init__(
        self,
        settings: MetaSettings,
        *,
        dedup: DedupStore | None = None,
        attachment_sink: AttachmentSink | None = None,
        graph: GraphClient | None = None,
    ) -> None:
        self.settings = settings
        self.dedup = dedup or make_dedup_store(settings.redis_url, settings.database_url)
        self.attachment_sink = attachment_sink or StagingSink(
            functools.partial(PictureStaging.from_database, settings.database_url, settings.tips)
        )
        self.graph = graph or GraphClient(
            settings.graph_url,
            attempts=settings.send_attempts,
            retry_base_seconds=settings.retry_base_seconds,
        )
        self.sender = PlatformSender(
            self.platform, self.graph, self._token(), settings.whatsapp_phone_number_id
        )
        self.reminder = Reminder(self.dedup, settings.reminder_ttl_seconds, settings.web_chat_url)
        self.queues = SenderQueues()
        if not settings.app_secret:
            logger.warning(
                "%s channel: META_APP_SECRET is not set, every webhook is refused", self.name()
            )
        if not self.sender.configured:
            logger.warning("%s channel: no access token set, replies cannot be sent", self.name())

    def _token(self) -> str:
        return self.settings.messenger_page_token

    # --- outgoing ------------------------------------------------------------------------

    def output(
        self, language: str = "sv", *, reminder: bool = True, raise_on_failure: bool = False
    ) -> MetaOutput:
        """An output channel to this platform's users."""
        return self.output_class(
            self.sender,
            language=language,
            reminder=self.reminder if reminder else None,
            raise_on_failure=raise_on_failure,
            last_message=self.last_message_at,
        )

    async def last_message_at(self, user_id: str) -> datetime | None:
        """When this platform's user last wrote (any process saw it), or None if unknown."""
        return await self.dedup.last_message(conversation_id(self.platform, user_id))

    async def note_message(self, user_id: str, when: datetime | None = None) -> None:
        """Remember that the user wrote now (or at `when`): it opens the messaging window."""
        await self.dedup.note_message(
            conversation_id(self.platform, user_id), when or datetime.now(timezone.utc)
        )

    def get_output_channel(self) -> OutputChannel:
        """For Rasa's HTTP API with output_channel=latest (the console's agent replies):
        no reminder added to an agent's words, and an undelivered reply is an error."""
        return self.output(reminder=False, raise_on_failure=True)

    # --- incoming ------------------------------------------------------------------------

    def accept(self, raw_body: bytes, signature: str | None, on_new_message: OnNewMessage) -> int:
        """Verify, parse and queue one delivery; returns the HTTP status at once (no I/O)."""
        if len(raw_body) > MAX_WEBHOOK_BYTES:
            return 413
        if not verify_signature(self.settings.app_secret, raw_body, signature):
            logger.warning("%s webhook: missing or wrong signature, refused", self.name())
            return 403
        try:
            body = json.loads(raw_body)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply
            logger.warning("%s webhook: signed body is not JSON", self.name())
            return 400
        events = parse_webhook(self.platform, body)
        for event in events:
            self.queues.submit(
                event.sender_id, functools.partial(self.handle_event, event, on_new_message)
            )
        return 200

    async def handle_event(self, event: InboundEvent, on_new_message: OnNewMessage) -> None:
        """One citizen message: de-duplicate, clean, fetch pictures, hand to Rasa."""
        if not await self.dedup.claim(event.dedup_key, self.settings.dedup_ttl_seconds):
            logger.info("%s webhook: duplicate delivery dropped", self.name())
            return
        await self.note_message(event.sender_id)
        if event.unreadable:
            language = language_from_locale(event.locale) or "sv"
            await self.sender.send_text(event.sender_id, CANNOT_READ[language])
            return
        message = clean_text(event.payload if event.payload is not None else event.text)
        locale_language = language_from_locale(event.locale)
        # A button's payload ("/give_tip") says nothing about the language; its title does.
        visible = clean_text(event.text).text if event.payload is not None else message.text
        metadata: dict[str, Any] = clean_metadata(
            {"language": locale_language} if locale_language else None, visible
        )
        language = metadata["language"] if metadata.get("language") in REMINDER else "sv"
        if message.truncated:
            metadata["truncated"] = True
        accepted, refused = await self._receive_attachments(event)
        if accepted:
            metadata["attachments"] = [a.as_metadata() for a in accepted]
            if not message.text:
                message = dataclasses.replace(message, text=PICTURES_ADDED)
        if event.location is not None:
            metadata["location"] = {"lat": event.location.lat, "long": event.location.long}
        for notice in self._refusal_notices(refused, language):
            await self.sender.send_text(event.sender_id, notice)
        if not message.text and not accepted and event.location is None:
            return  # nothing left for the assistant (a refused picture was answered above)
        output = self.output(language)
        try:
            await on_new_message(
                UserMessage(
                    message.text,
                    with_reminder(output, message.text, language),
                    conversation_id(self.platform, event.sender_id),
                    input_channel=self.name(),
                    message_id=event.message_id,
                    metadata=metadata,
                )
            )
        except Exception as error:  # noqa: BLE001 - tell the citizen instead of going silent
            # Type and place only: an exception's message may quote the citizen's text.
            logger.error(
                "%s channel: handling a message failed (%s at %s)",
                self.name(),
                type(error).__name__,
                _where(error),
            )
            await self.sender.send_text(event.sender_id, CANNOT_ANSWER[language])

    async def _receive_attachments(
        self, event: InboundEvent
    ) -> tuple[list[AcceptedAttachment], list[Refusal | Problem]]:
        accepted: list[AcceptedAttachment] = []
        refused: list[Refusal | Problem] = []
        for attachment in event.attachments:
            outcome = await receive_attachment(
                self.sender,
                attachment,
                conversation_id=conversation_id(self.platform, event.sender_id),
                max_bytes=self.settings.max_attachment_bytes,
                sink=self.attachment_sink,
            )
            if isinstance(outcome, Refusal | Problem):
                code = outcome.value if isinstance(outcome, Refusal) else outcome.code
                logger.info("%s webhook: attachment refused (%s)", self.name(), code)
                refused.append(outcome)
            else:
                accepted.append(outcome)
        return accepted, refused

    def _refusal_notices(self, refused: list[Refusal | Problem], language: str) -> list[str]:
        """What to tell the citizen about refused attachments, each reason once: the tip's
        own reason (too many, too large together, unreadable), that only pictures are taken
        (voice, video, other files), or the general one; each reminds of 112."""
        mb = max(1, self.settings.max_attachment_bytes // (1024 * 1024))
        notices: list[str] = []
        for outcome in refused:
            if isinstance(outcome, Problem):
                notice = outcome.text(language)
            elif outcome is Refusal.NOT_A_PICTURE:
                notice = NOT_A_PICTURE[language]
            else:
                notice = ATTACHMENT_REFUSED[language].format(mb=mb)
            if "112" not in notice:
                notice = f"{notice.rstrip()} {EMERGENCY_REMINDER[language]}"
            if notice not in notices:
                notices.append(notice)
        return notices

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for every queued message (tests; shutdown)."""
        await self.queues.drain(timeout)

    async def close(self) -> None:
        """Release the HTTP session and the de-duplication store."""
        await self.graph.close()
        await self.dedup.close()

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint(f"meta_{self.name()}_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def handshake(request: Request) -> HTTPResponse:
            args = {
                k: request.args.get(k) for k in ("hub.mode", "hub.verify_token", "hub.challenge")
            }
            answer = answer_handshake(self.settings.verify_token, args)
            if answer.status != 200:
                logger.warning("%s webhook: subscribe handshake refused", self.name())
            return response.text(answer.body, status=answer.status)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            status = self.accept(
                request.body or b"", request.headers.get(SIGNATURE_HEADER), on_new_message
            )
            return response.text("ok" if status == 200 else "refused", status=status)

        @webhook.listener("before_server_stop")
        async def finish(*_: Any) -> None:
            try:
                await self.drain(DRAIN_ON_STOP_SECONDS)
            except asyncio.TimeoutError:
                logger.warning(
                    "%s channel: %d conversations still queued at shutdown",
                    self.name(),
                    self.queues.pending,
                )
            await self.close()

        return webhook


class MessengerInput(MetaInput):
    """Facebook Messenger (`object: page`), replies with the page access token."""

    platform = Platform.MESSENGER
    output_class = MessengerOutput

    def _token(self) -> str:
        return self.settings.messenger_page_token


class InstagramInput(MetaInput):
    """Instagram messaging through the Messenger Platform (`object: instagram`)."""

    platform = Platform.INSTAGRAM
    output_class = InstagramOutput

    def _token(self) -> str:
        return self.settings.instagram_page_token


class WhatsAppInput(MetaInput):
    """WhatsApp Cloud API (`object: whatsapp_business_account`)."""

    platform = Platform.WHATSAPP
    output_class = WhatsAppOutput

    def _token(self) -> str:
        return self.settings.whatsapp_token
