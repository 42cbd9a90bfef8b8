"""Where would a new practice help most? Facility location on candidate premises (spopt).

Demand: the residents of the APL-level units that are under-served today (APL
below the « sous-dotée » threshold; non-standardised population, as DREES asks for counting people).
Models: maximal covering (``mclp``: the k candidates that bring the most
under-served residents within the radius) and p-median (``pmedian``: the k
candidates that minimise the residents' total travel time to the nearest one,
unreachable pairs costing twice the radius).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pulp
import pyogrio
from spopt.locate import MCLP, PMedian

from accesoins import indicators
from accesoins.errors import ConfigurationError, DataFileError
from accesoins.labels import format_threshold
from accesoins.scenarios._engine import ScenarioEngine, _fr
from accesoins.sources._table import Column, read_table

Model = Literal["mclp", "pmedian"]


@dataclass(frozen=True)
class SiteChoice:
    """Chosen candidates, each candidate's own coverage, and a French explanation."""

    chosen: list[str]
    ranking: pd.DataFrame  # candidate, covered_residents (alone), mean_time_min
    covered_residents: float
    explanation: str


def coverage_problem(
    engine: ScenarioEngine, candidates: gpd.GeoDataFrame, *, radius_min: float
) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Travel-time matrix (under-served units × candidates, NaN when beyond reach) and unit weights."""
    level = engine.levels[engine.apl_level]
    access = pd.Series(engine._base[2], index=level.units.index)
    under = access < indicators.UNDER_SERVED
    units = level.units[under.to_numpy()]
    if units.empty:
        raise ConfigurationError(
            f"aucune unité sous-dotée (APL < {format_threshold(indicators.UNDER_SERVED)}) : rien à couvrir"
        )
    if "point_lon" in units:
        origins = gpd.GeoDataFrame(
            {"id": units.index, "density_per_km2": units["density_per_km2"]},
            geometry=gpd.points_from_xy(units["point_lon"], units["point_lat"]),
            crs="EPSG:4326",
        )
    else:
        origins = gpd.GeoDataFrame({"id": units.index})
    dest = candidates.to_crs("EPSG:4326").copy()
    dest["id"] = candidates["candidate"].to_numpy()
    dest["unit_id"] = [engine._unit_at(p.x, p.y) for p in dest.geometry]
    dest["density_per_km2"] = (
        dest["unit_id"].map(level.units["density_per_km2"]) if "density_per_km2" in level.units else np.nan
    )
    horizon = max(radius_min * 2.0, engine.decay.reach_min)
    costs = engine.cost_model.travel_times(origins, dest, max_time_min=horizon)
    matrix = np.full((len(units), len(dest)), np.nan)
    rows = units.index.get_indexer(costs["origin_id"])
    cols = pd.Index(dest["id"]).get_indexer(costs["destination_id"])
    matrix[rows, cols] = costs["travel_time_min"].to_numpy()
    return matrix, units["population"].to_numpy(dtype=float), units.index


def choose_sites(
    engine: ScenarioEngine,
    candidates: gpd.GeoDataFrame,
    *,
    k: int,
    radius_min: float = 10.0,
    model: Model = "mclp",
) -> SiteChoice:
    """Pick ``k`` of the ``candidates`` (GeoDataFrame with ``candidate`` names and points)."""
    if not 1 <= k <= len(candidates):
        raise ConfigurationError(f"k doit être entre 1 et le nombre de locaux candidats ({len(candidates)})")
    matrix, weights, _ = coverage_problem(engine, candidates, radius_min=radius_min)
    names = list(candidates["candidate"])
    chosen = solve(matrix, weights, k=k, radius_min=radius_min, model=model)
    covered = covered_weight(matrix, weights, chosen, radius_min)
    alone = [covered_weight(matrix, weights, [j], radius_min) for j in range(len(names))]
    ranking = pd.DataFrame(
        {
            "candidate": names,
            "covered_residents": alone,
            "mean_time_min": np.nanmean(np.where(np.isnan(matrix), np.nan, matrix), axis=0),
        }
    )
    ranking = ranking.sort_values("covered_residents", ascending=False, ignore_index=True)
    picked = [names[j] for j in chosen]
    explanation = (
        f"{_fr(round(covered, -2))} habitants aujourd'hui sous-dotés gagneraient un accès à moins de "
        f"{radius_min:g} minutes avec {', '.join(picked)}."
    )
    return SiteChoice(picked, ranking, covered, explanation)


def covered_weight(matrix: np.ndarray, weights: np.ndarray, chosen: list[int], radius_min: float) -> float:
    """Residents within ``radius_min`` of at least one chosen candidate."""
    within = np.nan_to_num(matrix[:, chosen], nan=np.inf) <= radius_min
    return float(weights[within.any(axis=1)].sum())


def _cbc_path() -> str:
    """CBC from the ``pulp[cbc]`` extra (cbcbox), found even when the venv is not activated."""
    try:
        import cbcbox

        return str(cbcbox.cbc_bin_path())
    except (ImportError, OSError) as exc:
        found = shutil.which("cbc")
        if found is None:
            raise ConfigurationError("solveur CBC introuvable : pip install 'pulp[cbc]'") from exc
        return found


def solve(matrix: np.ndarray, weights: np.ndarray, *, k: int, radius_min: float, model: Model) -> list[int]:
    """Indices of the ``k`` chosen candidates (spopt, CBC solver)."""
    solver = pulp.COIN_CMD(path=_cbc_path(), msg=False)
    if model == "mclp":
        cost = np.nan_to_num(matrix, nan=radius_min * 10.0)
        problem = MCLP.from_cost_matrix(cost, weights, service_radius=radius_min, p_facilities=k).solve(
            solver
        )
    elif model == "pmedian":
        cost = np.nan_to_num(matrix, nan=radius_min * 2.0)
        problem = PMedian.from_cost_matrix(cost, weights, p_facilities=k).solve(solver)
    else:
        raise ConfigurationError(f"modèle « {model} » inconnu : mclp ou pmedian")
    return [j for j, var in enumerate(problem.fac_vars) if (var.value() or 0) > 0.5]


def brute_force(matrix: np.ndarray, weights: np.ndarray, *, k: int, radius_min: float, model: Model) -> float:
    """Best objective over every k-subset (reference for small instances)."""
    best = -np.inf if model == "mclp" else np.inf
    for subset in combinations(range(matrix.shape[1]), k):
        if model == "mclp":
            best = max(best, covered_weight(matrix, weights, list(subset), radius_min))
        else:
            cost = np.nan_to_num(matrix[:, list(subset)], nan=radius_min * 2.0).min(axis=1)
            best = min(best, float((cost * weights).sum()))
    return float(best)


def read_candidates(path: str | Path) -> gpd.GeoDataFrame:
    """Candidate premises: a CSV ``nom,lon,lat`` (WGS84) or any OGR point layer with a ``nom`` field."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        table = read_table(
            path,
            [
                Column("nom", nullable=False),
                Column("lon", "float", nullable=False),
                Column("lat", "float", nullable=False),
            ],
            sep=",",
        )
        layer = gpd.GeoDataFrame(
            {"candidate": table["nom"]},
            geometry=gpd.points_from_xy(table["lon"], table["lat"]),
            crs="EPSG:4326",
        )
    else:
        try:
            frame = pyogrio.read_dataframe(path)
        except Exception as exc:  # pyogrio raises several error types
            raise DataFileError(f"couche de locaux illisible ({exc})", path=path) from exc
        if "nom" not in frame.columns:
            raise DataFileError("champ « nom » attendu", path=path)
        layer = gpd.GeoDataFrame(
            {"candidate": frame["nom"].astype(str)}, geometry=frame.geometry, crs=frame.crs
        )
    if layer["candidate"].duplicated().any():
        raise DataFileError(
            f"nom de local en double : « {layer['candidate'][layer['candidate'].duplicated()].iloc[0]} »",
            path=path,
        )
    return layer
