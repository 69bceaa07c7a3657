"""Replies to Messenger, Instagram and WhatsApp through the Graph API.

- Each platform's text limit is respected (Messenger 2000, Instagram 1000, WhatsApp 4096
  characters, counted in UTF-16 units as Meta does); a long reply is split at sentence ends.
- Buttons become Messenger/Instagram quick replies (at most 13) or WhatsApp interactive reply
  buttons (at most 3; an interactive list of at most 10 rows beyond that).
- 429, 5xx, Meta's throttling codes and network errors are retried with exponential back-off.
- A permanent error is logged with its code only (never the text or a token) and returned as
  a :class:`SendResult`, not raised; outside the 24-hour messaging window the result says
  :attr:`SendStatus.OUTSIDE_WINDOW`, so the contact-centre console can tell the agent.
- An agent's reply (never the bot's) may carry Meta's ``HUMAN_AGENT`` message tag on
  Messenger and Instagram (``messaging_type: MESSAGE_TAG``), which Meta allows up to 7 days
  after the citizen's last message; :func:`agent_reply_plan` decides from that time.

The base URL is a setting: tests run against ``tests/fake_graph.py``. Tokens go in the
Authorization header, never in a URL.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.channels.meta.parse import Platform

logger = logging.getLogger(__name__)

TEXT_LIMITS = {Platform.MESSENGER: 2000, Platform.INSTAGRAM: 1000, Platform.WHATSAPP: 4096}
MAX_QUICK_REPLIES = 13
QUICK_REPLY_TITLE_CHARS = 20
QUICK_REPLY_PAYLOAD_CHARS = 1000
WHATSAPP_MAX_BUTTONS = 3
WHATSAPP_MAX_LIST_ROWS = 10
WHATSAPP_BUTTON_TITLE_CHARS = 20
WHATSAPP_BUTTON_ID_CHARS = 256
WHATSAPP_ROW_TITLE_CHARS = 24
WHATSAPP_ROW_ID_CHARS = 200
WHATSAPP_ROW_DESCRIPTION_CHARS = 72
WHATSAPP_INTERACTIVE_BODY_CHARS = 1024
MAX_RETRY_AFTER_SECONDS = 30.0

# Meta's throttling and "try again" codes (HTTP 400 with these codes is not permanent).
TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 613, 80007, 130429, 131016, 131056})
# Outside the messaging window: Messenger (10/2018278), Instagram (10/2534022), WhatsApp.
OUTSIDE_WINDOW = frozenset({(10, 2018278), (10, 2534022)})
WHATSAPP_OUTSIDE_WINDOW_CODE = 131047
# The standard messaging window, and how long Meta accepts a human agent's reply with the
# HUMAN_AGENT tag (Messenger and Instagram; WhatsApp allows only templates after 24 hours).
STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
HUMAN_AGENT_TAG = "HUMAN_AGENT"


class SendStatus(str, Enum):
    """How a send ended."""

    DELIVERED = "delivered"
    OUTSIDE_WINDOW = "outside_window"
    FAILED = "failed"


@dataclass(frozen=True)
class SendResult:
    """The typed outcome of one reply (all its parts): never the text, only codes."""

    status: SendStatus
    code: int | None = None
    subcode: int | None = None
    http_status: int | None = None
    attempts: int = 0
    message_ids: tuple[str, ...] = ()
    # The message tag it went out with ("HUMAN_AGENT"), if any.
    tag: str | None = None
    # Outside the window: which one, in hours (24, or 168 for HUMAN_AGENT); None if unknown.
    window_hours: int | None = None

    @property
    def delivered(self) -> bool:
        return self.status is SendStatus.DELIVERED

    @property
    def cannot_deliver(self) -> bool:
        """True outside the messaging window: the agent must reach the citizen another way."""
        return self.status is SendStatus.OUTSIDE_WINDOW


def utf16_units(text: str) -> int:
    """Length as Meta counts it (an emoji outside the BMP is two)."""
    return len(text.encode("utf-16-le")) // 2


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n\s*")


def _hard_split(text: str, limit: int) -> list[str]:
    """A sentence longer than the limit: cut at the last space that fits, else anywhere."""
    parts: list[str] = []
    while utf16_units(text) > limit:
        cut = 0
        units = 0
        for index, char in enumerate(text):
            units += utf16_units(char)
            if units > limit:
                break
            cut = index + 1
        space = text.rfind(" ", 0, cut + 1)
        if space > limit // 2:
            cut = space
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


def split_text(text: str, limit: int) -> list[str]:
    """Split `text` into parts of at most `limit` units, at sentence ends where possible."""
    text = text.strip()
    if not text:
        return []
    if utf16_units(text) <= limit:
        return [text]
    segments: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        segments.append(text[start : match.end()])
        start = match.end()
    segments.append(text[start:])
    parts: list[str] = []
    current = ""
    for segment in segments:
        if utf16_units((current + segment).rstrip()) <= limit:
            current += segment
            continue
        if current.strip():
            parts.append(current.strip())
        if utf16_units(segment.rstrip()) <= limit:
            current = segment
        else:
            pieces = _hard_split(segment.strip(), limit)
            parts.extend(pieces[:-1])
            current = pieces[-1] + " " if pieces else ""
    if current.strip():
        parts.append(current.strip())
    return parts


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Choice:
    """A Rasa button reduced to what a platform needs: the label and the payload sent back."""

    title: str
    payload: str


def choices_from_buttons(buttons: Sequence[dict[str, Any]]) -> list[Choice]:
    """Rasa buttons → choices (a button without a payload sends its title); duplicates go."""
    choices: list[Choice] = []
    seen: set[str] = set()
    for button in buttons:
        if not isinstance(button, dict):
            continue
        title = str(button.get("title") or "").strip()
        payload = str(button.get("payload") or title).strip()
        if not title or not payload or payload in seen:
            continue
        seen.add(payload)
        choices.append(Choice(title, payload))
    return choices


def quick_replies(choices: Sequence[Choice]) -> list[dict[str, str]]:
    """Messenger/Instagram quick replies: at most 13, titles of at most 20 characters."""
    replies = [
        {
            "content_type": "text",
            "title": _short(c.title, QUICK_REPLY_TITLE_CHARS),
            "payload": c.payload,
        }
        for c in choices
        if len(c.payload) <= QUICK_REPLY_PAYLOAD_CHARS
    ]
    if len(replies) > MAX_QUICK_REPLIES:
        logger.warning(
            "meta send: %d quick replies, only %d shown", len(replies), MAX_QUICK_REPLIES
        )
    return replies[:MAX_QUICK_REPLIES]


def whatsapp_interactive(body: str, choices: Sequence[Choice], language: str) -> dict[str, Any]:
    """WhatsApp reply buttons (at most 3), or an interactive list (at most 10 rows) beyond."""
    body = _short(body, WHATSAPP_INTERACTIVE_BODY_CHARS) if body else "…"
    if len(choices) <= WHATSAPP_MAX_BUTTONS:
        buttons = [
            {
                "type": "reply",
                "reply": {"id": c.payload, "title": _short(c.title, WHATSAPP_BUTTON_TITLE_CHARS)},
            }
            for c in choices
            if len(c.payload) <= WHATSAPP_BUTTON_ID_CHARS
        ]
        return {"type": "button", "body": {"text": body}, "action": {"buttons": buttons}}
    usable = [c for c in choices if len(c.payload) <= WHATSAPP_ROW_ID_CHARS]
    if len(usable) > WHATSAPP_MAX_LIST_ROWS:
        logger.warning(
            "meta send: %d choices, only %d fit a WhatsApp list",
            len(usable),
            WHATSAPP_MAX_LIST_ROWS,
        )
    rows = []
    for c in usable[:WHATSAPP_MAX_LIST_ROWS]:
        row = {"id": c.payload, "title": _short(c.title, WHATSAPP_ROW_TITLE_CHARS)}
        if len(c.title) > WHATSAPP_ROW_TITLE_CHARS:
            row["description"] = _short(c.title, WHATSAPP_ROW_DESCRIPTION_CHARS)
        rows.append(row)
    label = "Choose" if language == "en" else "Välj"
    return {
        "type": "list",
        "body": {"text": body},
        "action": {"button": label, "sections": [{"title": label, "rows": rows}]},
    }


@dataclass
class _Reply:
    """One HTTP exchange after retries."""

    http_status: int | None
    data: Any = None
    body: bytes | None = None
    code: int | None = None
    subcode: int | None = None
    attempts: int = 0
    too_large: bool = False


def _error_codes(data: Any) -> tuple[int | None, int | None]:
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None, None
    code, subcode = error.get("code"), error.get("error_subcode")
    return (code if isinstance(code, int) else None, subcode if isinstance(subcode, int) else None)


def _retry_after(headers: Any) -> float:
    try:
        return min(float(headers.get("Retry-After", 0)), MAX_RETRY_AFTER_SECONDS)
    except (TypeError, ValueError):
        return 0.0


@dataclass
class GraphClient:
    """A small Graph API client with retries; one per channel, closed on server stop."""

    base_url: str
    attempts: int = 4
    retry_base_seconds: float = 0.5
    timeout_seconds: float = 10.0
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
    _session: aiohttp.ClientSession | None = field(default=None, repr=False)

    def url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_seconds)
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def request(
        self,
        method: str,
        url: str,
        *,
        token: str | None = None,
        json_body: dict[str, Any] | None = None,
        max_bytes: int | None = None,
    ) -> _Reply:
        """One call with retries on 429, 5xx, throttling codes and network errors.

        With `max_bytes` the raw body is read (at most that much; `too_large` otherwise).
        """
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if max_bytes is not None:
            # A download we may stop reading half-way never goes back to the pool (aiohttp
            # can reuse such a connection and then wait forever for the next answer).
            headers["Connection"] = "close"
        reply = _Reply(http_status=None)
        for attempt in range(1, max(1, self.attempts) + 1):
            reply = _Reply(http_status=None, attempts=attempt)
            wait = 0.0
            try:
                async with self._get_session().request(
                    method,
                    url,
                    json=json_body,
                    headers=headers,
                    allow_redirects=not token,  # never carry a token to another origin
                ) as response:
                    reply.http_status = response.status
                    wait = _retry_after(response.headers)
                    if max_bytes is not None and response.status == 200:
                        await self._read_capped(response, reply, max_bytes)
                        return reply
                    raw = await response.read()
                    try:
                        reply.data = await response.json(content_type=None) if raw else None
                    except ValueError:
                        reply.data = None
                    reply.code, reply.subcode = _error_codes(reply.data)
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                logger.info(
                    "meta graph: %s attempt %d failed (%s)", method, attempt, type(error).__name__
                )
            else:
                status = reply.http_status or 0
                transient = status == 429 or status >= 500 or reply.code in TRANSIENT_CODES
                if status < 400 or not transient:
                    return reply
            if attempt < self.attempts:
                await self.sleep(max(self.retry_base_seconds * 2 ** (attempt - 1), wait))
        return reply

    @staticmethod
    async def _read_capped(response: aiohttp.ClientResponse, reply: _Reply, cap: int) -> None:
        length = response.content_length
        if length is not None and length > cap:
            reply.too_large = True
            response.close()  # a half-read connection must not go back to the pool
            return
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > cap:
                reply.too_large = True
                response.close()
                return
            chunks.append(chunk)
        reply.body = b"".join(chunks)


def _result(platform: Platform, reply: _Reply) -> SendResult:
    """Classify a finished call; permanent failures are logged by code only."""
    status = reply.http_status or 0
    if 200 <= status < 300:
        data = reply.data if isinstance(reply.data, dict) else {}
        ids: list[str] = []
        if isinstance(data.get("message_id"), str):
            ids.append(data["message_id"])
        for item in data.get("messages") or []:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                ids.append(item["id"])
        return SendResult(
            SendStatus.DELIVERED,
            http_status=status,
            attempts=reply.attempts,
            message_ids=tuple(ids),
        )
    outside = (reply.code, reply.subcode) in OUTSIDE_WINDOW or (
        platform is Platform.WHATSAPP and reply.code == WHATSAPP_OUTSIDE_WINDOW_CODE
    )
    result = SendResult(
        SendStatus.OUTSIDE_WINDOW if outside else SendStatus.FAILED,
        code=reply.code,
        subcode=reply.subcode,
        http_status=reply.http_status,
        attempts=reply.attempts,
    )
    logger.warning(
        "meta send: %s %s (http=%s code=%s subcode=%s attempts=%d)",
        platform.value,
        result.status.value,
        result.http_status,
        result.code,
        result.subcode,
        result.attempts,
    )
    return result


def _combine(results: Sequence[SendResult]) -> SendResult:
    """One result for a reply sent in several parts: the first failure, else delivered."""
    for result in results:
        if not result.delivered:
            return result
    ids = tuple(i for r in results for i in r.message_ids)
    attempts = sum(r.attempts for r in results)
    http_status = results[-1].http_status if results else None
    return SendResult(
        SendStatus.DELIVERED, http_status=http_status, attempts=attempts, message_ids=ids
    )


@dataclass(frozen=True)
class AgentReplyPlan:
    """How an agent's reply may go out, from the time since the citizen's last message."""

    allowed: bool
    tag: str | None = None
    window_hours: int | None = None  # the window that has closed, when not allowed


def agent_reply_plan(platform: Platform, since_last_message: timedelta | None) -> AgentReplyPlan:
    """Within 24 hours: a normal reply. Messenger and Instagram: with the HUMAN_AGENT tag up
    to 7 days, then not at all. WhatsApp: not after 24 hours (only templates are allowed).
    An unknown time is tried as a normal reply: Meta decides."""
    if since_last_message is None or since_last_message <= STANDARD_WINDOW:
        return AgentReplyPlan(True)
    if platform is Platform.WHATSAPP:
        return AgentReplyPlan(False, window_hours=24)
    if since_last_message <= HUMAN_AGENT_WINDOW:
        return AgentReplyPlan(True, tag=HUMAN_AGENT_TAG)
    return AgentReplyPlan(False, window_hours=int(HUMAN_AGENT_WINDOW.total_seconds() // 3600))


def media_url_allowed(url: str, graph_url: str) -> bool:
    """HTTPS anywhere (Meta's CDNs), or the Graph API's own origin (the local fake in tests):
    never a plain-HTTP address elsewhere."""
    try:
        target, graph = urlsplit(url), urlsplit(graph_url)
        if not target.hostname:
            return False
    except ValueError:
        return False
    if target.scheme == "https":
        return True
    return (target.scheme, target.netloc) == (graph.scheme, graph.netloc)


class PlatformSender:
    """Sends text, choices and images to one platform's users; every method returns a result."""

    def __init__(
        self, platform: Platform, client: GraphClient, token: str, phone_number_id: str = ""
    ) -> None:
        self.platform = platform
        self.client = client
        self._token = token
        self.phone_number_id = phone_number_id

    def __repr__(self) -> str:
        return f"PlatformSender({self.platform.value})"

    @property
    def limit(self) -> int:
        return TEXT_LIMITS[self.platform]

    @property
    def configured(self) -> bool:
        if self.platform is Platform.WHATSAPP:
            return bool(self._token and self.phone_number_id)
        return bool(self._token)

    async def _post(
        self, recipient_id: str, message: dict[str, Any], tag: str | None = None
    ) -> SendResult:
        if not self.configured:
            logger.warning("meta send: %s has no token configured", self.platform.value)
            return SendResult(SendStatus.FAILED)
        if self.platform is Platform.WHATSAPP:
            url = self.client.url(f"{self.phone_number_id}/messages")
            body = {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": recipient_id,
                **message,
            }
        else:
            url = self.client.url("me/messages")
            body = {
                "recipient": {"id": recipient_id},
                "messaging_type": "MESSAGE_TAG" if tag else "RESPONSE",
                "message": message,
            }
            if tag:
                body["tag"] = tag
        reply = await self.client.request("POST", url, token=self._token, json_body=body)
        result = _result(self.platform, reply)
        if tag and result.cannot_deliver:
            result = replace(result, window_hours=HUMAN_AGENT_WINDOW.days * 24)
        return result

    def _text_message(self, text: str) -> dict[str, Any]:
        if self.platform is Platform.WHATSAPP:
            return {"type": "text", "text": {"preview_url": False, "body": text}}
        return {"text": text}

    async def _send_parts(
        self, recipient_id: str, parts: Sequence[str], tag: str | None = None
    ) -> list[SendResult]:
        results: list[SendResult] = []
        for part in parts:
            result = await self._post(recipient_id, self._text_message(part), tag)
            results.append(result)
            if not result.delivered:
                break
        return results

    async def send_text(self, recipient_id: str, text: str, tag: str | None = None) -> SendResult:
        """Send `text`, split into as many messages as the platform's limit needs. A message
        tag (Messenger, Instagram: only for a human agent's reply) goes on every part."""
        if self.platform is Platform.WHATSAPP:
            tag = None  # WhatsApp has no message tags
        parts = split_text(text, self.limit)
        if not parts:
            return SendResult(SendStatus.DELIVERED)
        result = _combine(await self._send_parts(recipient_id, parts, tag))
        return replace(result, tag=tag) if result.delivered and tag else result

    async def send_choices(
        self, recipient_id: str, text: str, choices: Sequence[Choice], language: str = "sv"
    ) -> SendResult:
        """Text with buttons: the last part of the text carries the quick replies / buttons."""
        if not choices:
            return await self.send_text(recipient_id, text)
        last_limit = (
            WHATSAPP_INTERACTIVE_BODY_CHARS if self.platform is Platform.WHATSAPP else self.limit
        )
        parts = split_text(text, self.limit) or ["…"]
        if utf16_units(parts[-1]) > last_limit:
            parts = parts[:-1] + split_text(parts[-1], last_limit)
        results = await self._send_parts(recipient_id, parts[:-1])
        if results and not results[-1].delivered:
            return _combine(results)
        if self.platform is Platform.WHATSAPP:
            message: dict[str, Any] = {
                "type": "interactive",
                "interactive": whatsapp_interactive(parts[-1], choices, language),
            }
        else:
            message = {"text": parts[-1], "quick_replies": quick_replies(choices)}
        results.append(await self._post(recipient_id, message))
        return _combine(results)

    async def send_image(self, recipient_id: str, image_url: str) -> SendResult:
        """An image by URL (the platform fetches it)."""
        if self.platform is Platform.WHATSAPP:
            message: dict[str, Any] = {"type": "image", "image": {"link": image_url}}
        else:
            message = {"attachment": {"type": "image", "payload": {"url": image_url}}}
        return await self._post(recipient_id, message)

    async def fetch_media(self, url: str | None, media_id: str | None, max_bytes: int) -> _Reply:
        """The bytes of a citizen's attachment: a CDN URL (Messenger, Instagram, no token), or
        a WhatsApp media id resolved through the Graph API (token on both calls)."""
        if media_id is not None:
            meta = await self.client.request("GET", self.client.url(media_id), token=self._token)
            data = meta.data if isinstance(meta.data, dict) else {}
            size = data.get("file_size")
            if isinstance(size, int) and size > max_bytes:
                return _Reply(http_status=meta.http_status, too_large=True)
            url = data.get("url") if isinstance(data.get("url"), str) else None
            if meta.http_status != 200 or not url:
                return _Reply(http_status=meta.http_status, code=meta.code)
            if not media_url_allowed(url, self.client.base_url):
                logger.warning("meta media: %s media URL refused", self.platform.value)
                return _Reply(http_status=None)
            return await self.client.request("GET", url, token=self._token, max_bytes=max_bytes)
        if url is None or not media_url_allowed(url, self.client.base_url):
            logger.warning("meta media: %s attachment URL refused", self.platform.value)
            return _Reply(http_status=None)
        return await self.client.request("GET", url, max_bytes=max_bytes)
