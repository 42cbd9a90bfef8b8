"""A cost source as plain tables, so a snapshot can price travel to a new site without its raw files.

Which tables depend on the source (see ``docs/instantanes.md``):

- crow-fly: none, the model is its parameters (``parameters/crowfly.yaml``);
- origin–destination table: ``od_times``, the unit-to-unit rows leaving the
  territory's demand units within the decay's reach (a new site anywhere in the
  territory lies in one of those units);
- road network: ``road_nodes`` and ``road_edges``, the compact CSR graph itself
  (node coordinates and OSM ids, edge times and lengths) with ``road_graph``
  (its mode and cache key, i.e. the identity of the OSM extract), so a new point
  is snapped and routed exactly as at build time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from accesoins.errors import StoreError
from accesoins.network._codes import CostSourceCode
from accesoins.network._costs import COST_COLUMNS, CostSource, CrowFlyCosts, OdTableCosts
from accesoins.network._graph import RoadGraph
from accesoins.network._road_costs import RoadNetworkCosts

TableReader = Callable[[str], pd.DataFrame]


def cost_tables(cost: CostSource, *, origin_ids: pd.Index, reach_min: float) -> dict[str, pd.DataFrame]:
    """Tables that let :func:`stored_cost_source` rebuild ``cost`` (empty for the crow-fly model)."""
    if isinstance(cost, OdTableCosts):
        table = cost.table
        keep = table["origin_id"].isin(origin_ids) & (table["travel_time_min"] <= reach_min)
        return {"od_times": table.loc[keep, COST_COLUMNS].reset_index(drop=True)}
    if isinstance(cost, RoadNetworkCosts):
        graph = cost.graph
        tails = np.repeat(np.arange(graph.n_nodes, dtype=np.int64), np.diff(graph.indptr))
        return {
            "road_graph": pd.DataFrame(
                {"mode": [graph.mode], "graph_key": [graph.key], "max_snap_m": [cost.max_snap_m]}
            ),
            "road_nodes": pd.DataFrame(
                {"lon": graph.node_lon, "lat": graph.node_lat, "osm_id": graph.node_osm_id.astype(np.int64)}
            )
            .rename_axis("node")
            .reset_index(),
            "road_edges": pd.DataFrame(
                {
                    "edge": np.arange(graph.n_edges, dtype=np.int64),
                    "tail": tails,
                    "head": graph.indices.astype(np.int64),
                    "time_min": graph.time_min,
                    "length_m": graph.length_m,
                }
            ),
        }
    return {}


def stored_cost_source(name: str, read: TableReader) -> CostSource:
    """The cost source ``name`` of a snapshot, rebuilt from the tables ``read`` returns."""
    if name == CrowFlyCosts.name:
        return CrowFlyCosts()
    if name == CostSourceCode.ROUTE:
        graph, max_snap_m = _road_graph(read)
        return RoadNetworkCosts(graph, max_snap_m=max_snap_m)
    if name == CostSourceCode.DISTANCIER:
        table = read("od_times")
        if table.empty:
            raise StoreError("distancier absent de l'instantané : reconstruisez-le avec « accesoins build »")
        return OdTableCosts(table)
    raise StoreError(f"temps de trajet « {name} » inconnus : reconstruisez l'instantané")


def _road_graph(read: TableReader) -> tuple[RoadGraph, float]:
    meta = read("road_graph")
    if meta.empty:
        raise StoreError("graphe routier absent de l'instantané : reconstruisez-le avec --cost route")
    nodes = read("road_nodes").sort_values("node")
    edges = read("road_edges").sort_values("edge")
    counts = np.bincount(edges["tail"].to_numpy(dtype=np.int64), minlength=len(nodes))
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    graph = RoadGraph(
        str(meta["mode"].iloc[0]),
        indptr,
        edges["head"].to_numpy(dtype=np.int32),
        edges["time_min"].to_numpy(dtype=np.float64),
        edges["length_m"].to_numpy(dtype=np.float64),
        nodes["lon"].to_numpy(dtype=np.float64),
        nodes["lat"].to_numpy(dtype=np.float64),
        nodes["osm_id"].to_numpy(dtype=np.int64),
        str(meta["graph_key"].iloc[0]),
    )
    return graph, float(meta["max_snap_m"].iloc[0])
