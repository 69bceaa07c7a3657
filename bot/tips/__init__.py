"""Non-emergency tips: the store, its encryption, delivery to the police's systems, staff API.

The conversation (Rasa form and actions) builds a :class:`bot.tips.draft.TipDraft` and calls
:func:`bot.tips.store.submit`; it shows the reference only from the result, which exists only
after the commit. The bot web service gets the staff API and the delivery worker from
:func:`bot.tips.api.install`. See docs/tips.md and docs/staff-api.md.

This module holds only the typed keys under which the web application keeps the tip
configuration, so every other module can import them without import cycles.
"""

from __future__ import annotations

from aiohttp import web

from bot.tips.crypto import TipCipher
from bot.tips.settings import DeliveryConfig, TipSettings

TIP_SETTINGS = web.AppKey("tip_settings", TipSettings)
TIP_CIPHER = web.AppKey("tip_cipher", TipCipher)
# Present only when a webhook is configured.
TIP_DELIVERY = web.AppKey("tip_delivery", DeliveryConfig)
