"""The road or walking graph: CSR arrays, snapping points to nodes, saving and loading.

A :class:`RoadGraph` holds compressed sparse row (CSR) arrays of directed
edges with their time in minutes and length in metres, plus node coordinates
(WGS 84). It is built from OpenStreetMap in :mod:`accesoins.network._build`,
cached by :mod:`accesoins.network._cache`, searched by
:mod:`accesoins.network._dijkstra` and used as a cost source by
:mod:`accesoins.network._road_costs`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres between WGS 84 points (arrays, degrees).

    Examples
    --------
    >>> round(float(haversine_m(np.array([0.0]), np.array([0.0]), np.array([0.0]), np.array([1.0]))[0]))
    111195
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0))))


def _unit_xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lam, phi = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])


@dataclass(repr=False)
class RoadGraph:
    """A directed road or walking graph in CSR form.

    Edges of node ``u`` are ``indices[indptr[u]:indptr[u + 1]]`` with weights
    ``time_min`` (minutes) and ``length_m`` (metres). Nodes carry WGS 84
    coordinates and their OpenStreetMap identifier.
    """

    mode: str
    indptr: np.ndarray
    indices: np.ndarray
    time_min: np.ndarray
    length_m: np.ndarray
    node_lon: np.ndarray
    node_lat: np.ndarray
    node_osm_id: np.ndarray
    key: str = ""
    _tree: cKDTree | None = field(default=None, repr=False, compare=False)
    _reverse: RoadGraph | None = field(default=None, repr=False, compare=False)
    _chain: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        return (
            f"RoadGraph(mode={self.mode!r}, n_nodes={self.n_nodes}, n_edges={self.n_edges}, key={self.key!r})"
        )

    @property
    def n_nodes(self) -> int:
        return len(self.node_lon)

    @property
    def n_edges(self) -> int:
        return len(self.indices)

    def matrix(self) -> sparse.csr_matrix:
        """Times in minutes as a ``scipy.sparse`` CSR matrix (row = tail node)."""
        shape = (self.n_nodes, self.n_nodes)
        return sparse.csr_matrix((self.time_min, self.indices, self.indptr), shape=shape)

    def reversed(self) -> RoadGraph:
        """The graph with every edge turned round (cached)."""
        if self._reverse is None:
            shape = (self.n_nodes, self.n_nodes)
            edge = np.arange(self.n_edges, dtype=np.float64)
            order = sparse.csr_matrix((edge + 1.0, self.indices, self.indptr), shape=shape).T.tocsr()
            order.sort_indices()
            perm = order.data.astype(np.int64) - 1
            self._reverse = RoadGraph(
                self.mode,
                order.indptr.astype(np.int64),
                order.indices.astype(np.int32),
                self.time_min[perm],
                self.length_m[perm],
                self.node_lon,
                self.node_lat,
                self.node_osm_id,
                self.key + ":reversed",
                self._tree,
                self,
            )
        return self._reverse

    def chain_nodes(self) -> np.ndarray:
        """Boolean mask of the nodes inside a chain, which a search can skip (cached).

        A chain node has exactly two neighbours and is either two-way with both
        (in and out degree 2) or one-way through (one edge in, one edge out to
        the other neighbour): a shortest path entering it can only go on.
        """
        if self._chain is None:
            n = np.int64(self.n_nodes)
            out_degree = np.diff(self.indptr)
            in_degree = np.bincount(self.indices, minlength=self.n_nodes)
            tails = np.repeat(np.arange(n), out_degree)
            heads = self.indices.astype(np.int64)
            pairs = np.unique(np.concatenate([tails * n + heads, heads * n + tails]))
            neighbours = np.bincount(pairs // n, minlength=self.n_nodes)
            two_way = (out_degree == 2) & (in_degree == 2)
            one_way = (out_degree == 1) & (in_degree == 1)
            self._chain = (neighbours == 2) & (two_way | one_way)
        return self._chain

    def snap(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node of each point and its great-circle distance in metres.

        Uses a KD-tree on unit-sphere coordinates, so the nearest node is exact
        anywhere on Earth.
        """
        if self._tree is None:
            self._tree = cKDTree(_unit_xyz(self.node_lon, self.node_lat))
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        if len(lon) == 0:
            return np.empty(0, dtype=np.int64), np.empty(0)
        chord, node = self._tree.query(_unit_xyz(lon, lat))
        snap_m = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(np.asarray(chord) / 2, 1.0))
        return np.asarray(node, dtype=np.int64), snap_m

    def save(self, path: str | Path) -> None:
        """Write the arrays to an uncompressed ``.npz`` file (atomic rename)."""
        path = Path(path)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
        np.savez(
            tmp,
            mode=np.array(self.mode),
            key=np.array(self.key),
            indptr=self.indptr,
            indices=self.indices,
            time_min=self.time_min,
            length_m=self.length_m,
            node_lon=self.node_lon,
            node_lat=self.node_lat,
            node_osm_id=self.node_osm_id,
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> RoadGraph:
        """Read a graph written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            return cls(
                str(z["mode"]),
                z["indptr"],
                z["indices"],
                z["time_min"],
                z["length_m"],
                z["node_lon"],
                z["node_lat"],
                z["node_osm_id"],
                str(z["key"]),
            )
