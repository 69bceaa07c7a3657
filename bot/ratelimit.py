"""Rate limits on the public endpoints, shared across processes through Redis when
`REDIS_URL` is set (else per process, in memory), with the `limits` library's moving window.

The limits are per conversation (a web-chat session, a Meta sender), per client address
(the upload, the accessibility feedback) and sized so that a busy office behind one shared
address never meets them at normal use: a person cannot type 30 messages a minute, and 40
colleagues chatting at once stay far below the per-address limits. An emergency is never
limited, and a store that fails lets the request through (and logs it): a limit must not
become an outage.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

logger = logging.getLogger(__name__)

# One citizen's messages in one conversation (web chat, Messenger, Instagram, WhatsApp).
MESSAGES_PER_CONVERSATION = parse("30/minute")
# How often a limited conversation is told so (the rest of the flood is dropped silently).
LIMIT_NOTICES = parse("1/minute")
# Pictures staged for one conversation's tip, and uploads from one address.
UPLOADS_PER_CONVERSATION = parse("20/minute")
UPLOADS_PER_ADDRESS = parse("300/minute")
# Accessibility problem reports from one address.
FEEDBACK_PER_ADDRESS = parse("10/hour")

TOO_MANY_MESSAGES = {
    "sv": "Du skickar många meddelanden på kort tid. Vänta en minut och skriv sedan igen. "
          "Är det ett nödläge, ring 112.",
    "en": "You are sending many messages in a short time. Wait a minute, then write again. "
          "In an emergency, call 112.",
}


@dataclass
class RateLimits:
    """Moving-window limits on one storage ("memory://" or a Redis URL)."""

    storage_url: str = "memory://"
    _limiter: MovingWindowRateLimiter = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # The limiter holds its storage only weakly: keep it here.
        self._storage = storage_from_string(self.storage_url)
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._remote = not self.storage_url.startswith("memory://")

    @classmethod
    def from_redis_url(cls, redis_url: str) -> RateLimits:
        return cls(redis_url or "memory://")

    def hit(self, limit: RateLimitItem, *keys: str) -> bool:
        """Count one request; False when it is over the limit (a failing store: True)."""
        try:
            return bool(self._limiter.hit(limit, *keys))
        except Exception as error:  # noqa: BLE001 - fail open, see the module doc
            logger.warning("rate limit store failed (%s); request let through",
                           type(error).__name__)
            return True

    async def allow(self, limit: RateLimitItem, *keys: str) -> bool:
        """:meth:`hit` without blocking the event loop on a network store."""
        if not self._remote:
            return self.hit(limit, *keys)
        return await asyncio.to_thread(self.hit, limit, *keys)
