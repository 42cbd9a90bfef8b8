"""Travel costs between demand units and supply sites.

Reads point layers (demand units, practice sites) and returns long tables of
``origin_id, destination_id, travel_time_min`` (origin = demand, destination =
supply). Cost sources are pluggable: :class:`CrowFlyCosts` (straight-line
distance × detour ÷ speed by settlement density), :class:`OdTableCosts` (an
origin–destination table read from a file); the OpenStreetMap road and walking
networks plug in through the same :class:`CostSource` protocol
(:class:`RoadNetworkCosts` on a :class:`RoadGraph` from :func:`load_or_build`),
and :func:`isochrones` draws the area reachable around sites.
"""

from accesoins.network._build import build_graph, graph_from_ways
from accesoins.network._cache import graph_cache_key, load_or_build
from accesoins.network._codes import CostSourceCode
from accesoins.network._costs import CostSource, CrowFlyCosts, CrowFlyPoints, IndexedCosts, OdTableCosts
from accesoins.network._dijkstra import travel_time_pairs
from accesoins.network._graph import RoadGraph, haversine_m
from accesoins.network._isochrones import export_isochrones, isochrones
from accesoins.network._osm import RoadSpeedParameters, load_road_speeds, read_osm_ways
from accesoins.network._prepared import NewSites, PreparedOrigins, prepare_origins
from accesoins.network._road_costs import RoadNetworkCosts
from accesoins.network._stored import cost_tables, stored_cost_source

__all__ = [
    "CostSource",
    "CostSourceCode",
    "CrowFlyCosts",
    "CrowFlyPoints",
    "IndexedCosts",
    "NewSites",
    "OdTableCosts",
    "PreparedOrigins",
    "RoadGraph",
    "RoadNetworkCosts",
    "RoadSpeedParameters",
    "build_graph",
    "cost_tables",
    "export_isochrones",
    "graph_cache_key",
    "graph_from_ways",
    "haversine_m",
    "isochrones",
    "load_or_build",
    "load_road_speeds",
    "prepare_origins",
    "read_osm_ways",
    "stored_cost_source",
    "travel_time_pairs",
]
