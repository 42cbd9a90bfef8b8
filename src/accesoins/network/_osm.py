"""Read OpenStreetMap extracts into flat arrays of routable ways.

Reads ``.osm.pbf``, ``.osm``, ``.osm.gz`` and ``.osm.bz2`` files with pyosmium
(which decompresses gzip and bzip2 XML itself) and returns, for every way with
a ``highway`` tag, its node identifiers and coordinates plus what the car and
walking profiles need (class, numeric speed limit, one-way direction, access).
Speeds per class are versioned data: ``parameters/road_speeds.yaml``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from array import array
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, Field, ValidationError

from accesoins.errors import ConfigurationError, DataFileError
from accesoins.sources import in_france

log = logging.getLogger(__name__)

OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.gz", ".osm.bz2")
DENIED_ACCESS = frozenset({"no", "private"})
CAR_ACCESS_KEYS = ("motorcar", "motor_vehicle", "vehicle", "access")  # most specific first
FOOT_ACCESS_KEYS = ("foot", "access")
FOOT_FORCED = frozenset({"yes", "designated", "permissive"})
# Speed limits that are written as zones rather than numbers (France and generic).
NAMED_MAXSPEED_KPH = {
    "fr:urban": 50.0,
    "fr:rural": 80.0,
    "fr:zone30": 30.0,
    "fr:zone20": 20.0,
    "fr:motorway": 130.0,
    "fr:walk": 6.0,
    "walk": 6.0,
}
URBAN_LABELS = frozenset({"fr:urban", "fr:zone30", "fr:zone20", "fr:walk"})
RURAL_LABELS = frozenset({"fr:rural", "fr:motorway"})
TAG_KEYS = (
    "highway",
    "oneway",
    "junction",
    "maxspeed",
    "maxspeed:type",
    "zone:maxspeed",
    "source:maxspeed",
    "access",
    "motorcar",
    "motor_vehicle",
    "vehicle",
    "foot",
    "area",
)
_NUMBER = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(km/h|kmh|kph|mph)?\s*$", re.IGNORECASE)


class UrbanDetection(BaseModel):
    cell_m: float = Field(gt=0)
    min_junctions: int = Field(ge=1)


class CarSpeeds(BaseModel):
    urban: dict[str, float]
    rural: dict[str, float]
    maxspeed_factor: float = Field(gt=0, le=1.5)
    urban_detection: UrbanDetection


class WalkSpeeds(BaseModel):
    speed_kph: float = Field(gt=0)
    excluded: list[str]


class RoadSpeedParameters(BaseModel):
    """Speeds of the car and walking graphs (``parameters/road_speeds.yaml``)."""

    version: str
    source: str
    car: CarSpeeds
    walk: WalkSpeeds

    def digest(self) -> str:
        """Short hash of the parameters, part of the cache key of built graphs."""
        text = json.dumps(self.model_dump(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@cache
def load_road_speeds() -> RoadSpeedParameters:
    """Default speeds shipped with accesoins (``parameters/road_speeds.yaml``).

    Examples
    --------
    >>> p = load_road_speeds()
    >>> p.walk.speed_kph, p.car.rural["primary"] > p.car.urban["primary"]
    (4.5, True)
    """
    name = "road_speeds.yaml"
    try:
        text = resources.files("accesoins.parameters").joinpath(name).read_text(encoding="utf-8")
        return RoadSpeedParameters.model_validate(yaml.safe_load(text))
    except FileNotFoundError as exc:
        raise ConfigurationError(f"fichier de paramètres absent : {name}") from exc
    except ValidationError as exc:
        raise ConfigurationError(f"{name} invalide : {exc}") from exc


@dataclass(frozen=True)
class OsmWays:
    """Routable ways of an extract, flattened.

    Way ``k`` has the nodes ``node_osm_id[way_start[k]:way_start[k + 1]]``.
    Per way: ``highway`` class, ``maxspeed_kph`` (NaN if absent or not
    numeric), ``oneway`` for cars (1 forward, -1 backward, 0 both), ``car`` and
    ``foot`` access, and ``urban_tag`` (1 urban, 0 rural, -1 unknown).
    """

    node_osm_id: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    way_start: np.ndarray
    highway: np.ndarray
    maxspeed_kph: np.ndarray
    oneway: np.ndarray
    car: np.ndarray
    foot: np.ndarray
    urban_tag: np.ndarray

    @property
    def n_ways(self) -> int:
        return len(self.highway)


def parse_maxspeed(value: str | None) -> float:
    """Speed limit in km/h from an OSM ``maxspeed`` value, NaN if not usable.

    Examples
    --------
    >>> parse_maxspeed("70"), parse_maxspeed("30 mph"), parse_maxspeed("FR:urban"), parse_maxspeed("none")
    (70.0, 48.28032, 50.0, nan)
    """
    if not value:
        return float("nan")
    value = value.split(";")[0].strip()
    named = NAMED_MAXSPEED_KPH.get(value.lower())
    if named is not None:
        return named
    match = _NUMBER.match(value)
    if match is None:
        return float("nan")
    speed = float(match.group(1).replace(",", "."))
    if match.group(2) and match.group(2).lower() == "mph":
        speed *= 1.609344
    return speed if speed > 0 else float("nan")


def _access(tags: dict[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if key in tags:
            return tags[key].lower()
    return None


def _oneway(tags: dict[str, str]) -> int:
    value = tags.get("oneway", "").lower()
    if value in ("yes", "true", "1"):
        return 1
    if value in ("-1", "reverse"):
        return -1
    if value in ("no", "false", "0"):
        return 0
    if tags.get("junction", "").lower() in ("roundabout", "circular"):
        return 1
    if tags.get("highway") in ("motorway", "motorway_link"):
        return 1
    return 0


def _urban_tag(tags: dict[str, str]) -> int:
    for key in ("maxspeed", "maxspeed:type", "zone:maxspeed", "source:maxspeed"):
        value = tags.get(key, "").lower()
        if value in URBAN_LABELS:
            return 1
        if value in RURAL_LABELS:
            return 0
    return -1


def way_profile(tags: dict[str, str], params: RoadSpeedParameters) -> tuple[bool, bool, int]:
    """``(car allowed, foot allowed, car one-way direction)`` of a ``highway`` way.

    Examples
    --------
    >>> p = load_road_speeds()
    >>> way_profile({"highway": "residential", "oneway": "-1"}, p)
    (True, True, -1)
    >>> way_profile({"highway": "footway"}, p), way_profile({"highway": "service", "access": "private"}, p)
    ((False, True, 0), (False, False, 0))
    """
    highway = tags.get("highway", "")
    car_access = _access(tags, CAR_ACCESS_KEYS)
    car = highway in params.car.urban and highway in params.car.rural and car_access not in DENIED_ACCESS
    foot_access = _access(tags, FOOT_ACCESS_KEYS)
    foot_tag = tags.get("foot", "").lower()
    foot = (
        foot_tag in FOOT_FORCED or highway not in params.walk.excluded
    ) and foot_access not in DENIED_ACCESS
    if tags.get("area", "").lower() == "yes" and highway not in ("pedestrian", "footway"):
        car = foot = False
    return car, foot, _oneway(tags) if car else 0


def _check_path(path: Path) -> None:
    if path.is_dir():
        raise DataFileError("c'est un répertoire : donnez le chemin d'un extrait OpenStreetMap", path=path)
    if not path.is_file():
        raise DataFileError("fichier OpenStreetMap introuvable", path=path)
    if not path.name.lower().endswith(OSM_SUFFIXES):
        raise DataFileError(
            f"extension non reconnue ; formats acceptés : {', '.join(OSM_SUFFIXES)}",
            path=path,
        )
    if path.stat().st_size == 0:
        raise DataFileError("fichier vide : téléchargez de nouveau l'extrait OpenStreetMap", path=path)


def read_osm_ways(path: str | Path, *, params: RoadSpeedParameters | None = None) -> OsmWays:
    """Read the routable ``highway`` ways of an OpenStreetMap extract.

    Nodes without a location (outside the extract) are dropped from their way,
    which is then joined across the gap; ways left with fewer than two nodes
    are skipped. Raises :class:`~accesoins.errors.DataFileError` for a missing,
    empty or unreadable file.
    """
    import osmium

    path = Path(path)
    _check_path(path)
    params = params or load_road_speeds()
    # Flat typed buffers (8 bytes per value), not lists of Python objects: memory.
    refs = array("q")
    lons = array("d")
    lats = array("d")
    sizes: list[int] = []
    classes: list[str] = []
    attributes: list[tuple[float, int, bool, bool, int]] = []
    missing = 0
    processor = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    try:
        for way in processor:
            way_tags = way.tags
            tags = {k: way_tags[k] for k in TAG_KEYS if k in way_tags}
            car, foot, oneway = way_profile(tags, params)
            if not (car or foot):
                continue
            node_list = list(way.nodes)  # type: ignore[union-attr]  # the filter lets only ways through
            locations = [n.location for n in node_list]
            if not all(loc.valid() for loc in locations):
                kept = [i for i, loc in enumerate(locations) if loc.valid()]
                missing += len(node_list) - len(kept)
                node_list = [node_list[i] for i in kept]
                locations = [locations[i] for i in kept]
            if len(node_list) < 2:
                continue
            refs.extend([n.ref for n in node_list])
            lons.extend([loc.lon for loc in locations])
            lats.extend([loc.lat for loc in locations])
            sizes.append(len(node_list))
            classes.append(tags["highway"])
            attributes.append((parse_maxspeed(tags.get("maxspeed")), oneway, car, foot, _urban_tag(tags)))
    except (RuntimeError, ValueError, osmium.InvalidLocationError) as exc:  # bad coordinate, id, tag...
        raise DataFileError(
            f"fichier OpenStreetMap illisible ou corrompu ({exc}) ; vérifiez le format et l'extension",
            path=path,
        ) from exc
    if missing:
        log.warning("%s : %d nœud(s) de voie sans position valide écarté(s)", path.name, missing)
    if not refs:
        raise DataFileError("aucune voie routable (« highway ») dans l'extrait OpenStreetMap", path=path)
    _check_in_france(path, refs, lons, lats)
    way_start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    attrs = np.array(attributes, dtype=np.float64)
    log.info("%s: %d routable ways, %d way nodes", path.name, len(sizes), len(refs))
    return OsmWays(
        node_osm_id=np.frombuffer(refs, dtype=np.int64).copy(),
        lon=np.frombuffer(lons, dtype=np.float64).copy(),
        lat=np.frombuffer(lats, dtype=np.float64).copy(),
        way_start=way_start,
        highway=np.array(classes, dtype=object),
        maxspeed_kph=attrs[:, 0],
        oneway=attrs[:, 1].astype(np.int8),
        car=attrs[:, 2].astype(bool),
        foot=attrs[:, 3].astype(bool),
        urban_tag=attrs[:, 4].astype(np.int8),
    )


def _check_in_france(path: Path, refs: array[int], lons: array[float], lats: array[float]) -> None:
    """Refuse an extract whose routable nodes are not all in France (DROM included)."""
    lon = np.frombuffer(lons, dtype=np.float64)
    lat = np.frombuffer(lats, dtype=np.float64)
    outside = ~in_france(lon, lat)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise DataFileError(
            f"nœud {refs[i]} hors de France (longitude {lon[i]:g}, latitude {lat[i]:g}) ; "
            f"{int(outside.sum())} nœud(s) de voie concerné(s) : extrait d'un territoire français attendu",
            path=path,
        )


def file_checksum(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex), read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
