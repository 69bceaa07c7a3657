"""Persistence: the SQLAlchemy engine, the table models and the Alembic migrations."""
