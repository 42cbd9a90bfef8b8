"""Car and walking graphs: build rules, cache, travel times against networkx, unreachable points."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest

import accesoins.network._build as build_module
from accesoins.errors import NetworkError, UnknownChoiceError
from accesoins.network import (
    CostSource,
    RoadGraph,
    RoadNetworkCosts,
    build_graph,
    load_or_build,
    load_road_speeds,
    read_osm_ways,
    travel_time_pairs,
)
from accesoins.network._graph import haversine_m

BURE = "bure_55_saudron_52_overpass_2022-03-14.osm.pbf"
REDON = "redon_35_overpass_2019-09-09.osm.pbf"
SAINT_BARTH = "saint_barthelemy_977_2014.osm.pbf"


@pytest.fixture(scope="session")
def osm_dir() -> Path:
    data = Path(os.environ.get("ACCESOINS_DATA", Path(__file__).parents[1].parent / "shared" / "data"))
    return data / "osm"


@pytest.fixture(scope="session")
def sb_car(osm_dir: Path) -> RoadGraph:
    return build_graph(osm_dir / SAINT_BARTH, "car")


@pytest.fixture(scope="session")
def bure_car(osm_dir: Path) -> RoadGraph:
    return build_graph(osm_dir / BURE, "car")


def points(lonlat: list[tuple[float, float]], ids: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ids},
        geometry=gpd.points_from_xy([p[0] for p in lonlat], [p[1] for p in lonlat]),
        crs="EPSG:4326",
    )


def node_of(graph: RoadGraph, osm_id: int) -> int:
    return int(np.flatnonzero(graph.node_osm_id == osm_id)[0])


def edge_set(graph: RoadGraph) -> set[tuple[int, int]]:
    tails = np.repeat(graph.node_osm_id, np.diff(graph.indptr))
    return set(zip(tails.tolist(), graph.node_osm_id[graph.indices].tolist(), strict=True))


def to_networkx(graph: RoadGraph) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(graph.n_nodes))
    tails = np.repeat(np.arange(graph.n_nodes), np.diff(graph.indptr))
    g.add_weighted_edges_from(
        zip(tails.tolist(), graph.indices.tolist(), graph.time_min.tolist(), strict=True)
    )
    return g


def test_csr_arrays_are_consistent(sb_car: RoadGraph) -> None:
    g = sb_car
    assert g.indptr[0] == 0 and g.indptr[-1] == g.n_edges == len(g.time_min) == len(g.length_m)
    assert (g.time_min > 0).all() and (g.length_m > 0).all()
    # Edge length is the great-circle distance between its nodes (metres).
    tails = np.repeat(np.arange(g.n_nodes), np.diff(g.indptr))
    expected = haversine_m(g.node_lon[tails], g.node_lat[tails], g.node_lon[g.indices], g.node_lat[g.indices])
    np.testing.assert_allclose(g.length_m, expected)
    speed_kph = g.length_m / g.time_min * 60 / 1000
    assert speed_kph.min() > 9.9 and speed_kph.max() < 120
    # The whole island is one strongly connected component.
    assert g.matrix().shape == (g.n_nodes, g.n_nodes)


def test_oneway_respected_by_car_not_on_foot(osm_dir: Path) -> None:
    # Every oneway=yes way of Redon (Rue Saint-Michel…): car edges in way order only.
    ways = read_osm_ways(osm_dir / REDON)
    car = build_graph(osm_dir / REDON, "car", largest_component=False)
    walk = build_graph(osm_dir / REDON, "walk", largest_component=False)
    car_edges, walk_edges = edge_set(car), edge_set(walk)
    oneway = np.flatnonzero(ways.oneway == 1)
    assert len(oneway) > 5
    checked = 0
    for k in oneway:
        ids = ways.node_osm_id[ways.way_start[k] : ways.way_start[k + 1]]
        for a, b in zip(ids[:-1].tolist(), ids[1:].tolist(), strict=True):
            assert (a, b) in car_edges
            if (b, a) not in car_edges:  # unless another two-way street shares the pair
                checked += 1
            assert (a, b) in walk_edges and (b, a) in walk_edges
    assert checked > 20
    # Walking graph is symmetric.
    assert all((b, a) in walk_edges for a, b in walk_edges)


def test_walk_graph_includes_footways(osm_dir: Path) -> None:
    car = build_graph(osm_dir / REDON, "car")
    walk = build_graph(osm_dir / REDON, "walk")
    assert walk.n_nodes > car.n_nodes
    speed_kph = walk.length_m / walk.time_min * 60 / 1000
    np.testing.assert_allclose(speed_kph, 4.5)


def test_known_route_bure(bure_car: RoadGraph) -> None:
    """D 151 (way 74216852, secondary, maxspeed=90) from node 620841460 to node 2378893596.

    By hand: the way is 4,745 m long (sum of the great-circle lengths of its
    130 segments); tagged 90 km/h × maxspeed_factor 0.8 = 72 km/h;
    4.745 km ÷ 72 km/h × 60 = 3.954 min, both ways (a two-way road).
    """
    a, b = node_of(bure_car, 620841460), node_of(bure_car, 2378893596)
    oi, dj, minutes = travel_time_pairs(bure_car, np.array([a, b]), np.array([b, a]), max_time_min=30)
    got = dict(zip(zip(oi.tolist(), dj.tolist(), strict=True), minutes.tolist(), strict=True))
    assert got[(0, 0)] == pytest.approx(3.954, abs=0.01)
    assert got[(1, 1)] == pytest.approx(3.954, abs=0.01)
    assert got[(0, 1)] == 0.0 and got[(1, 0)] == 0.0


def test_known_route_saint_barthelemy(sb_car: RoadGraph) -> None:
    """Gustavia (place=town node) to the Gustaf III airport node, by car.

    By hand: 1.14 km as the crow flies; the road climbs over the Col de la
    Tourmente, about 1.6–2.2 km. At the 35–45 km/h of the island's main roads
    (rural secondary/primary at 65–70 km/h only outside the dense cells) the
    trip takes between 1.14 km ÷ 70 km/h = 1.0 min and 2.2 km ÷ 25 km/h = 5.3 min.
    """
    costs = RoadNetworkCosts(sb_car)
    times = costs.travel_times(
        points([(-62.8508372, 17.8957043)], ["gustavia"]),
        points([(-62.8449201, 17.9040893)], ["aeroport"]),
        max_time_min=30,
    )
    assert len(times) == 1
    assert 1.0 < times["travel_time_min"].iloc[0] < 5.3


def test_known_walk_redon(osm_dir: Path) -> None:
    """Pharmacie du Port to Pharmacie Centrale, Redon, on foot.

    By hand: 0.35 km as the crow flies; at 4.5 km/h that is 4.7 min; the
    street path is at most about 1.6 times longer: between 4.7 and 7.5 min.
    """
    walk = build_graph(osm_dir / REDON, "walk")
    costs = RoadNetworkCosts(walk)
    assert costs.name == "marche"
    port, centrale = (-2.0880679, 47.6483768), (-2.0849001, 47.6499311)
    lon, lat = np.array([port[0], centrale[0]]), np.array([port[1], centrale[1]])
    crow_m = float(haversine_m(lon[:1], lat[:1], lon[1:], lat[1:])[0])
    assert crow_m == pytest.approx(290, abs=70)
    times = costs.travel_times(points([port], ["port"]), points([centrale], ["centrale"]), max_time_min=60)
    t = times["travel_time_min"].iloc[0]
    assert crow_m / 1000 / 4.5 * 60 * 0.8 < t < crow_m / 1000 / 4.5 * 60 * 1.6 + 1.0


@pytest.mark.parametrize(("n_origins", "n_destinations"), [(120, 25), (25, 120)])
def test_equals_networkx(sb_car: RoadGraph, n_origins: int, n_destinations: int) -> None:
    """Both search directions (from origins, or from destinations on the reversed graph)."""
    rng = np.random.default_rng(7)
    origins = rng.choice(sb_car.n_nodes, n_origins)  # with repeats: deduplicated inside
    destinations = rng.choice(sb_car.n_nodes, n_destinations)
    cutoff = 6.0
    oi, dj, minutes = travel_time_pairs(sb_car, origins, destinations, max_time_min=cutoff)
    g = to_networkx(sb_car)
    expected = {}
    for i, o in enumerate(origins.tolist()):
        lengths = nx.single_source_dijkstra_path_length(g, o, cutoff=cutoff)
        for j, d in enumerate(destinations.tolist()):
            if d in lengths:
                expected[(i, j)] = lengths[d]
    got = dict(zip(zip(oi.tolist(), dj.tolist(), strict=True), minutes.tolist(), strict=True))
    assert 0 < len(expected) < n_origins * n_destinations
    assert set(got) == set(expected)
    assert max(abs(got[k] - expected[k]) for k in expected) < 1e-6


def test_times_are_asymmetric_with_oneways(sb_car: RoadGraph) -> None:
    rng = np.random.default_rng(3)
    nodes = rng.choice(sb_car.n_nodes, 60, replace=False)
    oi, dj, t = travel_time_pairs(sb_car, nodes, nodes, max_time_min=60)
    m = np.full((60, 60), np.nan)
    m[oi, dj] = t
    assert np.isfinite(m).all()  # one strongly connected component: every pair reachable
    assert np.nanmax(np.abs(m - m.T)) > 0.01


def test_point_far_from_network_is_unreachable(sb_car: RoadGraph) -> None:
    costs = RoadNetworkCosts(sb_car, max_snap_m=500)
    assert isinstance(costs, CostSource) and costs.name == "route"
    origins = points([(-62.8508372, 17.8957043), (-62.70, 17.95)], ["gustavia", "en_mer"])
    destinations = points([(-62.8449201, 17.9040893)], ["aeroport"])
    report = costs.snap_report(origins)
    assert report["reachable"].tolist() == [True, False]
    assert report["snap_m"].iloc[1] > 10_000
    times = costs.travel_times(origins, destinations, max_time_min=60)
    assert times["origin_id"].tolist() == ["gustavia"]
    assert list(times.columns) == ["origin_id", "destination_id", "travel_time_min"]


def test_disconnected_node_is_reported_not_crashed(osm_dir: Path) -> None:
    full = build_graph(osm_dir / BURE, "walk", largest_component=False)
    main = build_graph(osm_dir / BURE, "walk")
    outside = np.flatnonzero(~np.isin(full.node_osm_id, main.node_osm_id))
    assert len(outside) > 0
    inside = np.flatnonzero(np.isin(full.node_osm_id, main.node_osm_id))[:5]
    oi, _, _ = travel_time_pairs(full, np.concatenate([inside, outside[:1]]), inside, max_time_min=1e6)
    assert 5 not in oi.tolist()  # the isolated origin has no pair
    assert len(oi) == 25


def test_empty_layers_and_cutoff_zero(sb_car: RoadGraph) -> None:
    costs = RoadNetworkCosts(sb_car)
    none = points([], [])
    one = points([(-62.8508372, 17.8957043)], ["a"])
    assert costs.travel_times(none, one, max_time_min=10).empty
    same = costs.travel_times(one, one.assign(id=["b"]), max_time_min=0)
    assert same["travel_time_min"].tolist() == [0.0]


def test_points_need_a_crs(sb_car: RoadGraph) -> None:
    costs = RoadNetworkCosts(sb_car)
    no_crs = gpd.GeoDataFrame({"id": ["a"]}, geometry=gpd.points_from_xy([-62.85], [17.89]))
    with pytest.raises(NetworkError, match="CRS"):
        costs.travel_times(no_crs, no_crs, max_time_min=10)


def test_projected_points_are_accepted(bure_car: RoadGraph) -> None:
    costs = RoadNetworkCosts(bure_car)
    a = points([(5.2868545, 48.475953)], ["a"]).to_crs("EPSG:2154")
    b = points([(5.2581682, 48.5101389)], ["b"]).to_crs("EPSG:2154")
    times = costs.travel_times(a, b, max_time_min=30)
    assert times["travel_time_min"].iloc[0] == pytest.approx(3.954, abs=0.01)
    assert isinstance(times, pd.DataFrame)


def test_unknown_mode(osm_dir: Path) -> None:
    with pytest.raises(UnknownChoiceError, match="vélo"):
        build_graph(osm_dir / REDON, "vélo")


def test_load_or_build_uses_the_cache(osm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_or_build(osm_dir / REDON, "walk", tmp_path)
    files = list(tmp_path.glob("graph-*-walk-*.npz"))
    assert len(files) == 1

    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the extract was parsed again")

    monkeypatch.setattr(build_module, "read_osm_ways", no_parse)
    second = load_or_build(osm_dir / REDON, "walk", tmp_path)
    for name in ("indptr", "indices", "time_min", "length_m", "node_lon", "node_osm_id"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    assert second.mode == "walk" and second.key == first.key
    with pytest.raises(AssertionError, match="parsed again"):
        load_or_build(osm_dir / REDON, "car", tmp_path)  # another mode: another key


def test_corrupt_cache_is_rebuilt(osm_dir: Path, tmp_path: Path) -> None:
    load_or_build(osm_dir / REDON, "car", tmp_path)
    (cache,) = tmp_path.glob("graph-*.npz")
    cache.write_bytes(b"not a npz")
    again = load_or_build(osm_dir / REDON, "car", tmp_path)
    assert again.n_nodes > 500


def test_connector_legs_are_added(osm_dir: Path) -> None:
    walk = build_graph(osm_dir / REDON, "walk")
    port = points([(-2.0880679, 47.6483768)], ["port"])
    centrale = points([(-2.0849001, 47.6499311)], ["centrale"])
    plain = RoadNetworkCosts(walk).travel_times(port, centrale, max_time_min=60)
    with_legs = RoadNetworkCosts(walk, connector_speed_kph=4.5)
    snaps = with_legs.snap_report(port)["snap_m"].iloc[0] + with_legs.snap_report(centrale)["snap_m"].iloc[0]
    legs = with_legs.travel_times(port, centrale, max_time_min=60)
    expected = plain["travel_time_min"].iloc[0] + snaps / 75.0  # 4.5 km/h = 75 m/min
    assert legs["travel_time_min"].iloc[0] == pytest.approx(expected)
    assert "n_nodes=" in repr(walk)


def test_cache_key_follows_speeds(osm_dir: Path, tmp_path: Path) -> None:
    base = load_road_speeds()
    faster = base.model_copy(update={"walk": base.walk.model_copy(update={"speed_kph": 5.0})})
    a = load_or_build(osm_dir / REDON, "walk", tmp_path)
    b = load_or_build(osm_dir / REDON, "walk", tmp_path, params=faster)
    assert a.key != b.key and len(list(tmp_path.glob("graph-*.npz"))) == 2
    np.testing.assert_allclose(a.time_min, b.time_min * 5.0 / 4.5)


@pytest.mark.parametrize(
    ("file", "mode", "cutoff"),
    [(BURE, "car", 8.0), (BURE, "walk", 25.0), (REDON, "car", 3.0), (REDON, "walk", 8.0)],
)
def test_equals_networkx_on_chains(osm_dir: Path, file: str, mode: str, cutoff: float) -> None:
    """Most nodes of these graphs lie inside chains that the search contracts: still exact."""
    graph = build_graph(osm_dir / file, mode, largest_component=False)
    assert graph.chain_nodes().mean() > 0.5
    rng = np.random.default_rng(11)
    g = to_networkx(graph)
    for n_origins, n_destinations in ((40, 15), (15, 40)):
        origins = rng.choice(graph.n_nodes, n_origins)
        destinations = rng.choice(graph.n_nodes, n_destinations)
        oi, dj, minutes = travel_time_pairs(graph, origins, destinations, max_time_min=cutoff)
        got = dict(zip(zip(oi.tolist(), dj.tolist(), strict=True), minutes.tolist(), strict=True))
        expected = {}
        for i, o in enumerate(origins.tolist()):
            lengths = nx.single_source_dijkstra_path_length(g, o, cutoff=cutoff)
            for j, d in enumerate(destinations.tolist()):
                if d in lengths:
                    expected[(i, j)] = lengths[d]
        assert len(expected) > 0
        assert set(got) == set(expected)
        assert max(abs(got[k] - expected[k]) for k in expected) < 1e-6
