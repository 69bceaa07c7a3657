"""What the conversation side needs about promises, in one object per process: the place
index (built once), the topic table and a session factory for the promise store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from bot.places import PlaceIndex
from bot.promises.importer import import_file
from bot.promises.presenter import Topic, load_topics
from bot.promises.reference import load_reference
from bot.promises.repository import PromiseView, promises_for
from bot.settings import Settings
from bot.storage.db import make_engine, make_session_factory

# The published promises: the seven pilot areas, and the further ones from the reference list.
PROMISE_FILES = (Path("data/promises/pilots.yml"), Path("data/promises/more.yml"))


def seed_database(database_url: str, root: Path) -> None:
    """Load the place reference rows and the published promises (idempotent)."""
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            load_reference(session, root / "data" / "places")
            for path in PROMISE_FILES:
                import_file(session, root / path)
    finally:
        engine.dispose()


@dataclass(frozen=True)
class PlaceRef:
    """A resolved place as the conversation remembers it ("1480/Angered")."""

    municipality_code: str
    district: str | None

    @classmethod
    def parse(cls, value: object) -> PlaceRef | None:
        if not isinstance(value, str) or not value[:4].isdigit():
            return None
        code, _, district = value.partition("/")
        return cls(code, district or None)


@dataclass(frozen=True)
class PromiseService:
    places: PlaceIndex
    topics: tuple[Topic, ...]
    sessions: sessionmaker

    @classmethod
    def from_settings(cls, settings: Settings) -> PromiseService:
        return cls(
            places=PlaceIndex.load(settings.root / "data" / "places"),
            topics=load_topics(settings.root / "data" / "promises" / "topics.yml"),
            sessions=make_session_factory(make_engine(settings.database_url)),
        )

    def promises(self, place: PlaceRef, today: date) -> list[PromiseView]:
        """Promises for the place, current first."""
        with self.sessions() as session:
            return promises_for(session, place.municipality_code, place.district, today)

    def label(self, place: PlaceRef) -> str:
        """"Göteborg – Angered", "Gävle"; the code itself if unknown."""
        municipality = self.places.municipality(place.municipality_code)
        name = municipality.municipality if municipality else place.municipality_code
        return f"{name} – {place.district}" if place.district else name

    def police_region(self, place: PlaceRef) -> str | None:
        municipality = self.places.municipality(place.municipality_code)
        return municipality.police_region if municipality else None

    def local_police_area(self, place: PlaceRef) -> str | None:
        return self.places.local_police_area(place.municipality_code, place.district)
