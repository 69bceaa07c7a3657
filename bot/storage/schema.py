"""Every table model module, imported once so the shared metadata knows all tables
(Alembic's environment and the schema tests use it)."""

import bot.channels.meta.models  # noqa: F401
import bot.handover.models  # noqa: F401
import bot.promises.models  # noqa: F401
import bot.tips.models  # noqa: F401
from bot.storage.models import metadata

__all__ = ["metadata"]
