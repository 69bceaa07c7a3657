"""What the action server builds once and reuses (created on first use, never at import)."""

from __future__ import annotations

import os
from functools import cache

from bot.handover.desk import HandoverDesk
from bot.settings import Settings


@cache
def desk() -> HandoverDesk:
    """The handover desk (queue, transcript, banner) on the service database."""
    return HandoverDesk.from_settings(Settings.from_env(), os.environ)
