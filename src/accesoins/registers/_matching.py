"""Scores between installation requests and premises, each point explained in French.

Criteria (points out of 100 when an observatory snapshot is available, rescaled to 100 otherwise):
place wanted vs location (30), surface (20), availability date (15), accessibility (10) and the
under-served level of the commune containing the premises (25, from the snapshot's APL of general
practitioners: full points below the « sous-dotée » threshold, none from the « bien dotée » one up,
both from ``parameters/apl_classes.yaml``).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

from accesoins.french import format_number
from accesoins.indicators import UNDER_SERVED, WELL_SERVED
from accesoins.labels import apl_class_label, format_threshold
from accesoins.network import haversine_m

log = logging.getLogger(__name__)
POINTS = {"lieu": 30.0, "surface": 20.0, "date": 15.0, "accessibilite": 10.0, "sous_dotation": 25.0}
MONTHS_LATE_ZERO = 6.0


def haversine_km(
    lat1_deg: npt.ArrayLike, lon1_deg: npt.ArrayLike, lat2_deg: npt.ArrayLike, lon2_deg: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Great-circle distance in km between WGS84 points (arrays broadcast).

    Examples
    --------
    >>> round(float(haversine_km(44.8378, -0.5792, 44.8333, -0.6333)), 1)  # Bordeaux → Mérignac
    4.3
    """
    lat1, lon1, lat2, lon2 = (np.asarray(a, dtype=float) for a in (lat1_deg, lon1_deg, lat2_deg, lon2_deg))
    return np.asarray(haversine_m(lon1, lat1, lon2, lat2) / 1000.0, dtype=np.float64)


def _fr(x: float, digits: int = 1) -> str:
    return format_number(x, digits)


@dataclass(frozen=True)
class CommuneApl:
    unit_id: str
    name: str
    apl: float


class AplLookup:
    """APL of general practitioners of the commune containing a point (from an observatory snapshot)."""

    def __init__(self, communes: gpd.GeoDataFrame, *, snapshot_id: str = "") -> None:
        self.communes = communes.reset_index(drop=True)
        self.snapshot_id = snapshot_id
        self._tree = shapely.STRtree(np.asarray(self.communes.geometry))

    @classmethod
    def from_store(cls, store_path: str | Path, *, snapshot: str | None = None) -> AplLookup:
        from accesoins.store import Store, indicator_layer

        with Store(store_path, read_only=True) as store:
            sid = store.resolve(snapshot)
            layer = indicator_layer(store, sid, level="commune", profession="generaliste")
        name = layer["name"] if "name" in layer.columns else layer["unit_id"]
        frame = gpd.GeoDataFrame(
            {"unit_id": layer["unit_id"].astype(str), "name": name.astype(str), "apl": layer["apl"]},
            geometry=layer.geometry,
            crs=layer.crs,
        )
        return cls(frame[frame.geometry.notna()], snapshot_id=sid)

    def at(self, lat: float, lon: float) -> CommuneApl | None:
        hits = self._tree.query(shapely.Point(lon, lat), predicate="intersects")
        if len(hits) == 0:
            return None
        row = self.communes.iloc[int(hits[0])]
        apl = row["apl"]
        if apl is None or not np.isfinite(apl):
            return None
        return CommuneApl(str(row["unit_id"]), str(row["name"]), float(apl))


def score_pair(
    request: Any, premises: Any, *, commune_apl: CommuneApl | None, apl_available: bool
) -> tuple[float, list[dict[str, Any]]]:
    """Score (0–100) of ``premises`` for ``request`` and its explained criteria.

    ``request`` and ``premises`` are ORM rows (or any object with the same attributes).
    """
    criteria: list[dict[str, Any]] = []

    def add(name: str, fraction: float, text: str) -> None:
        fraction = float(min(1.0, max(0.0, fraction)))
        criteria.append(
            {
                "name": name,
                "points": round(POINTS[name] * fraction, 1),
                "max_points": POINTS[name],
                "explanation": text,
            }
        )

    # place
    where = request.wished_commune or "le lieu souhaité"
    if request.wished_lat is not None and request.wished_lon is not None:
        d_km = float(haversine_km(request.wished_lat, request.wished_lon, premises.lat, premises.lon))
        radius = float(request.wished_radius_km)
        fraction = 1.0 if d_km <= radius else 1.0 - (d_km - radius) / (2 * radius)
        inside = "dans le" if d_km <= radius else "hors du"
        add(
            "lieu",
            fraction,
            f"local à {_fr(d_km)} km de {where}, {inside} rayon souhaité de {_fr(radius)} km",
        )
    elif request.wished_commune and premises.commune:
        same = request.wished_commune.strip().casefold() == premises.commune.strip().casefold()
        add(
            "lieu",
            1.0 if same else 0.0,
            f"local {'dans' if same else 'hors de'} la commune souhaitée ({request.wished_commune})",
        )
    else:
        add("lieu", 0.5, "aucun lieu souhaité précisé : critère compté à moitié")
    # surface
    if request.surface_min_m2:
        fraction = premises.surface_m2 / request.surface_min_m2
        verdict = "suffisante" if fraction >= 1 else "insuffisante"
        add(
            "surface",
            fraction,
            f"surface {_fr(premises.surface_m2, 0)} m² pour {_fr(request.surface_min_m2, 0)} "
            f"m² demandés : {verdict}",
        )
    else:
        add("surface", 1.0, f"surface {_fr(premises.surface_m2, 0)} m² (aucun minimum demandé)")
    # date
    wished: dt.date | None = request.wished_date
    available: dt.date | None = premises.available_on
    if wished is None or available is None or available <= wished:
        when = f"le {available:%d/%m/%Y}" if available else "dès maintenant"
        add(
            "date",
            1.0,
            f"local disponible {when}" + (f", avant le {wished:%d/%m/%Y} souhaité" if wished else ""),
        )
    else:
        late_months = (available - wished).days / 30.44
        add(
            "date",
            1.0 - late_months / MONTHS_LATE_ZERO,
            f"local disponible le {available:%d/%m/%Y}, {_fr(late_months)} mois après la date souhaitée",
        )
    # accessibility
    if premises.accessible_pmr:
        add("accessibilite", 1.0, "local accessible aux personnes à mobilité réduite")
    elif request.needs_accessibility:
        add(
            "accessibilite",
            0.0,
            "local non accessible aux personnes à mobilité réduite, alors que c'est demandé",
        )
    else:
        add("accessibilite", 0.5, "local non accessible aux personnes à mobilité réduite (non exigé)")
    # under-served level
    if commune_apl is not None:
        fraction = (WELL_SERVED - commune_apl.apl) / (WELL_SERVED - UNDER_SERVED)
        add(
            "sous_dotation",
            fraction,
            f"commune {commune_apl.name} {apl_class_label(commune_apl.apl)} : APL {_fr(commune_apl.apl, 2)} "
            f"consultations par habitant et par an (seuil {format_threshold(UNDER_SERVED)})",
        )
    elif apl_available:
        add("sous_dotation", 0.0, "local hors des communes de l'instantané : niveau de sous-dotation inconnu")
    total = sum(c["points"] for c in criteria)
    maximum = sum(c["max_points"] for c in criteria)
    return round(100.0 * total / maximum, 1), criteria
