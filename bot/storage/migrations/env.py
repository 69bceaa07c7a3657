"""Alembic environment: the URL comes from the settings, the schema from bot.storage.models."""

from __future__ import annotations

from alembic import context

import bot.promises.models  # noqa: F401 - registers the promise tables on the metadata
from bot.settings import Settings
from bot.storage.db import make_engine
from bot.storage.models import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url

if context.is_offline_mode():
    context.configure(url=url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
