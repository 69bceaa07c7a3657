"""Which Swedish municipality is a shared location (latitude, longitude) in or near?

``LocalityIndex`` answers from ``data/places/localities.csv`` (GeoNames places of at least 500
people, built by ``bot.places_geo_build``): the municipality of the nearest Swedish locality.
It is an approximation, so a reply must say "in or near". Rules:

- The nearest Swedish locality must be within :data:`MAX_DISTANCE_KM`; farther out (the open
  sea, the emptiest mountains, the rest of the world) there is no answer.
- Foreign localities near Sweden are in the index too. When one of them is nearer than the
  nearest Swedish locality by more than :data:`BORDER_SLACK_KM`, the place is abroad (Oslo,
  Copenhagen, Mariehamn) and there is no answer. The slack favours Sweden at the border
  (a point in Haparanda is nearer to Tornio's centre than to Haparanda's in places).
- Anything that is not a pair of finite numbers in range (NaN, infinities, strings, booleans,
  latitude 600) gives no answer and never raises.

Everything is precomputed in :meth:`LocalityIndex.load`: points sit in a grid of small
cells, and a look-up scans rings of cells around the query only until the nearest Swedish
locality is certain (a few dozen distance computations, no trigonometry per point).
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_DISTANCE_KM = 60.0
BORDER_SLACK_KM = 3.0

_EARTH_KM = 6371.0088
_KM_PER_DEGREE = _EARTH_KM * math.pi / 180
_CELL_LAT = 0.2  # degrees: about 22 km
_CELL_LON = 0.4  # degrees: 13-25 km at Sweden's latitudes
# Nothing outside this box can be within MAX_DISTANCE_KM of a Swedish locality.
_BOX = (54.0, 70.5, 9.5, 25.5)  # lat min, lat max, lon min, lon max


@dataclass(frozen=True)
class GeoMatch:
    """The municipality a location is in or near, and the locality that decided it."""

    municipality_code: str
    locality: str
    distance_km: float


@dataclass(frozen=True)
class _Point:
    lat: float
    lon: float
    name: str
    municipality_code: str  # "" for a foreign locality


def coordinates(lat: Any, lon: Any) -> tuple[float, float] | None:
    """``(lat, lon)`` when both are real, finite numbers in range; else None (never raises)."""
    values = []
    for value, limit in ((lat, 90.0), (lon, 180.0)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            return None
        if not math.isfinite(number) or not -limit <= number <= limit:
            return None
        values.append(number)
    return values[0], values[1]


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / _CELL_LAT), math.floor(lon / _CELL_LON)


class LocalityIndex:
    """Nearest-locality look-ups over Swedish and nearby foreign localities."""

    def __init__(self, points: list[_Point]) -> None:
        cells: dict[tuple[int, int], list[_Point]] = defaultdict(list)
        for point in points:
            cells[_cell(point.lat, point.lon)].append(point)
        self._cells = {k: tuple(v) for k, v in cells.items()}
        self.swedish = sum(1 for p in points if p.municipality_code)
        self.foreign = len(points) - self.swedish

    @classmethod
    def load(cls, data_dir: Path) -> LocalityIndex:
        """Read ``localities.csv`` from the place data directory."""
        with (Path(data_dir) / "localities.csv").open(encoding="utf-8", newline="") as fh:
            points = [
                _Point(
                    float(row["latitude"]),
                    float(row["longitude"]),
                    row["name"],
                    row["municipality_code"] if row["country"] == "SE" else "",
                )
                for row in csv.DictReader(fh)
            ]
        return cls(points)

    def locate(self, lat: Any, lon: Any) -> GeoMatch | None:
        """The municipality the location is in or near, or None (abroad, too far, invalid)."""
        checked = coordinates(lat, lon)
        if checked is None:
            return None
        lat, lon = checked
        if not (_BOX[0] <= lat <= _BOX[1] and _BOX[2] <= lon <= _BOX[3]):
            return None
        # Equirectangular distances: well under 1 % off at these distances, and cheap.
        kx = _KM_PER_DEGREE * math.cos(math.radians(lat))
        ky = _KM_PER_DEGREE
        # A ring of cells k steps out guarantees every point within k whole cells is seen.
        step_km = min(_CELL_LAT * ky, _CELL_LON * kx)
        row, col = _cell(lat, lon)
        best_se: _Point | None = None
        best_se_d2 = math.inf
        best_fo_d2 = math.inf
        limit = MAX_DISTANCE_KM
        ring = 0
        while True:
            for r, c in _ring(row, col, ring):
                for p in self._cells.get((r, c), ()):
                    d2 = ((p.lon - lon) * kx) ** 2 + ((p.lat - lat) * ky) ** 2
                    if p.municipality_code:
                        if d2 < best_se_d2:
                            best_se, best_se_d2 = p, d2
                    elif d2 < best_fo_d2:
                        best_fo_d2 = d2
            covered = ring * step_km
            if covered >= min(limit, math.sqrt(best_se_d2)):
                break
            ring += 1
        if best_se is None:
            return None
        d_se = math.sqrt(best_se_d2)
        if d_se > MAX_DISTANCE_KM or math.sqrt(best_fo_d2) + BORDER_SLACK_KM < d_se:
            return None
        return GeoMatch(best_se.municipality_code, best_se.name, round(d_se, 1))


def _ring(row: int, col: int, k: int) -> list[tuple[int, int]]:
    """The cells exactly k steps (Chebyshev distance) from (row, col)."""
    if k == 0:
        return [(row, col)]
    cells = [(row + dr, col + dc) for dr in (-k, k) for dc in range(-k, k + 1)]
    cells += [(row + dr, col + dc) for dr in range(-k + 1, k) for dc in (-k, k)]
    return cells
