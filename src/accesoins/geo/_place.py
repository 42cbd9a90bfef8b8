"""Place practice activities on the map, with the precision of each placement.

Order of preference: the FINESS establishment's coordinates when the activity
is in an establishment (``etablissement``); else the address, when a BAN
address table is given (``adresse``); else the town hall of its commune
(``commune``; the commune's representative point when the town hall is
unknown). Activities whose commune is unknown are kept with precision
``inconnue`` and no geometry: every output counts them.
"""

from __future__ import annotations

import logging
import re
import unicodedata

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from accesoins.geo._codes import Precision

log = logging.getLogger(__name__)

PRECISIONS = tuple(str(p) for p in Precision)
PLACE_CRS = "EPSG:4326"


def commune_points(communes: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Town hall of each commune, or a point inside it when the town hall is unknown or outside."""
    halls = gpd.GeoSeries(communes["town_hall"], crs=communes.crs).to_crs("EPSG:2154")
    inside = communes["town_hall"].notna() & (halls.distance(communes.geometry.to_crs("EPSG:2154")) < 200.0)
    fallback = communes.geometry.representative_point()
    use_hall = inside | (communes.geometry.isna() & communes["town_hall"].notna())
    return gpd.GeoSeries(
        np.where(use_hall, communes["town_hall"], fallback), index=communes.index, crs=communes.crs
    )


def _normalise(text: pd.Series) -> pd.Series:
    def one(s: str) -> str:
        s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().upper()
        return re.sub(r"[^A-Z0-9]+", " ", s).strip()

    return text.fillna("").astype(str).map(one)


def _address_key(number: pd.Series, street: pd.Series, commune: pd.Series) -> pd.Series:
    return number.fillna("").astype(str).str.strip() + "|" + _normalise(street) + "|" + commune.fillna("")


def place_activities(
    activities: pd.DataFrame,
    communes: gpd.GeoDataFrame,
    *,
    establishments: pd.DataFrame | None = None,
    addresses: pd.DataFrame | None = None,
    commune_history: pd.Series | None = None,
) -> gpd.GeoDataFrame:
    """Locate each activity and attach ``site_id``, ``precision`` and a point geometry.

    ``activities``: the common activity schema of :mod:`accesoins.sources`
    (``finess_site``, ``street``, ``commune_code``...). ``establishments``:
    FINESS with ``finess``, ``lon``, ``lat``. ``addresses``: a BAN table with
    ``numero``, ``nom_voie``, ``code_insee``, ``lon``, ``lat``; the activity's
    ``street_number`` and ``street_name`` columns are matched on it.
    ``commune_history`` maps former commune codes to current ones.
    Returns a GeoDataFrame (EPSG:4326) with the original columns plus
    ``commune_code`` (current), ``site_id`` and ``precision``.
    """
    out = activities.copy()
    code = out["commune_code"].fillna("")
    if commune_history is not None:
        known = set(communes["commune_code"])
        old = ~code.isin(known) & code.isin(commune_history.index)
        code = code.where(~old, code.map(commune_history))
        if old.any():
            log.info(
                "%d activité(s) sur un code commune ancien ramené(es) à la commune actuelle", int(old.sum())
            )
    out["commune_code"] = code
    n = len(out)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    precision = np.full(n, Precision.INCONNUE.value, dtype=object)
    site = np.full(n, "", dtype=object)

    if establishments is not None and "finess_site" in out.columns:
        fin = establishments.drop_duplicates("finess").set_index("finess")
        f = out["finess_site"].fillna("")
        hit = f.isin(fin.index) & (f != "")
        lon[hit] = f[hit].map(fin["lon"]).to_numpy()
        lat[hit] = f[hit].map(fin["lat"]).to_numpy()
        hit &= ~np.isnan(lon)
        precision[hit] = Precision.ETABLISSEMENT.value
        site[hit] = "finess:" + f[hit]

    if addresses is not None and {"street_number", "street_name"} <= set(out.columns):
        ban = addresses.assign(
            key=_address_key(addresses["numero"], addresses["nom_voie"], addresses["code_insee"])
        )
        ban = ban.drop_duplicates("key").set_index("key")
        key = _address_key(out["street_number"], out["street_name"], out["commune_code"])
        hit = (precision == Precision.INCONNUE.value) & key.isin(ban.index).to_numpy()
        lon[hit] = key[hit].map(ban["lon"]).astype(float).to_numpy()
        lat[hit] = key[hit].map(ban["lat"]).astype(float).to_numpy()
        precision[hit] = Precision.ADRESSE.value
        site[hit] = "adresse:" + key[hit]

    points = commune_points(communes)
    by_code = pd.Series(points.values, index=communes["commune_code"].to_numpy())
    rest = (precision == Precision.INCONNUE.value) & out["commune_code"].isin(by_code.index).to_numpy()
    pts = out.loc[rest, "commune_code"].map(by_code)
    lon[rest] = shapely.get_x(pts.to_numpy())
    lat[rest] = shapely.get_y(pts.to_numpy())
    precision[rest] = Precision.COMMUNE.value
    site[rest] = "commune:" + out.loc[rest, "commune_code"]
    unknown = precision == Precision.INCONNUE.value
    if unknown.any():
        log.warning("%d activité(s) sans lieu connu (commune absente du territoire)", int(unknown.sum()))
    out["site_id"] = site
    out["precision"] = precision
    geometry = shapely.points(lon, lat)
    geometry[unknown] = None
    return gpd.GeoDataFrame(out, geometry=geometry, crs=PLACE_CRS)


def assign_units(points: gpd.GeoDataFrame, units: gpd.GeoDataFrame, *, unit_id: str) -> pd.Series:
    """Identifier of the unit polygon containing each point ("" outside every unit)."""
    if points.empty:
        return pd.Series([], dtype=object, index=points.index)
    located = points[points.geometry.notna()]
    joined = gpd.sjoin(
        located[["geometry"]], units[[unit_id, "geometry"]].to_crs(points.crs), how="left", predicate="within"
    )
    first = joined[~joined.index.duplicated()][unit_id]
    return first.reindex(points.index).fillna("").astype(object)
