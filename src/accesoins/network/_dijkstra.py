"""Many-to-many travel times on a road graph: compiled Dijkstra searches up to a cutoff."""

from __future__ import annotations

import threading

import numpy as np
from numba import get_num_threads, njit, prange

from accesoins.errors import ConfigurationError
from accesoins.network._graph import RoadGraph

MAX_BLOCK_CELLS = 4_000_000  # dense (sources × targets) block computed at once, float64
PARALLEL_MIN_WORK = 5_000_000  # sources × graph nodes below which threads are not started
_KERNEL_LOCK = threading.Lock()


@njit(cache=True, nogil=True)
def _one_source(
    src: int, indptr: np.ndarray, indices: np.ndarray, weight: np.ndarray, target_slot: np.ndarray,
    n_targets: int, cutoff: float, out_row: np.ndarray, dist: np.ndarray, state: np.ndarray,
    pos: np.ndarray, heap_node: np.ndarray, heap_key: np.ndarray, touched: np.ndarray,
) -> None:  # fmt: skip
    """Dijkstra from ``src`` up to ``cutoff``; writes target times in ``out_row``, resets its state.

    Indexed binary heap with decrease-key, keys stored beside the nodes for
    locality; ``state`` is 0 unseen, 1 queued, 2 settled. Stops when the heap
    is empty (every node within ``cutoff`` settled) or every target is settled.
    """
    n_touched = 1
    touched[0] = src
    dist[src] = 0.0
    state[src] = 1
    heap_node[0] = src
    heap_key[0] = 0.0
    pos[src] = 0
    size = 1
    remaining = n_targets
    while size > 0:
        u = heap_node[0]
        du = heap_key[0]
        size -= 1
        if size > 0:  # move the last item down from the root
            last = heap_node[size]
            key = heap_key[size]
            i = 0
            while True:
                c = 2 * i + 1
                if c >= size:
                    break
                if c + 1 < size and heap_key[c + 1] < heap_key[c]:
                    c += 1
                if heap_key[c] >= key:
                    break
                heap_node[i] = heap_node[c]
                heap_key[i] = heap_key[c]
                pos[heap_node[i]] = i
                i = c
            heap_node[i] = last
            heap_key[i] = key
            pos[last] = i
        state[u] = 2
        slot = target_slot[u]
        if slot >= 0:
            out_row[slot] = du
            remaining -= 1
            if remaining == 0:
                break
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            if state[v] == 2:
                continue
            nd = du + weight[e]
            if nd > cutoff:
                continue
            if state[v] == 0:
                state[v] = 1
                touched[n_touched] = v
                n_touched += 1
                i = size
                size += 1
            elif nd < dist[v]:
                i = pos[v]
            else:
                continue
            dist[v] = nd
            while i > 0:  # move up
                p = (i - 1) >> 1
                if heap_key[p] <= nd:
                    break
                heap_node[i] = heap_node[p]
                heap_key[i] = heap_key[p]
                pos[heap_node[i]] = i
                i = p
            heap_node[i] = v
            heap_key[i] = nd
            pos[v] = i
    for k in range(n_touched):
        w = touched[k]
        dist[w] = np.inf
        state[w] = 0


@njit(cache=True, nogil=True)
def _sources_block(
    indptr: np.ndarray, indices: np.ndarray, weight: np.ndarray, sources: np.ndarray,
    target_slot: np.ndarray, n_targets: int, cutoff: float, out: np.ndarray, lo: int, hi: int,
) -> None:  # fmt: skip
    """Run the searches of ``sources[lo:hi]`` with one set of working arrays (41 bytes per node)."""
    n = len(indptr) - 1
    dist = np.full(n, np.inf)
    state = np.zeros(n, dtype=np.int8)
    pos = np.empty(n, dtype=np.int64)
    heap_node = np.empty(n, dtype=np.int64)
    heap_key = np.empty(n, dtype=np.float64)
    touched = np.empty(n, dtype=np.int64)
    for k in range(lo, hi):
        _one_source(
            sources[k], indptr, indices, weight, target_slot, n_targets, cutoff, out[k],
            dist, state, pos, heap_node, heap_key, touched,
        )  # fmt: skip


@njit(cache=True, nogil=True)
def _many_serial(
    indptr: np.ndarray, indices: np.ndarray, weight: np.ndarray, sources: np.ndarray,
    target_slot: np.ndarray, n_targets: int, cutoff: float, n_blocks: int,
) -> np.ndarray:  # fmt: skip
    """Dense times from each source to each target slot, in this thread."""
    out = np.full((len(sources), n_targets), np.inf)
    _sources_block(indptr, indices, weight, sources, target_slot, n_targets, cutoff, out, 0, len(sources))
    return out


@njit(cache=True, parallel=True)
def _many_parallel(
    indptr: np.ndarray, indices: np.ndarray, weight: np.ndarray, sources: np.ndarray,
    target_slot: np.ndarray, n_targets: int, cutoff: float, n_blocks: int,
) -> np.ndarray:  # fmt: skip
    """Dense times from each source to each target slot; sources split in ``n_blocks`` parallel runs."""
    m = len(sources)
    out = np.full((m, n_targets), np.inf)
    for b in prange(n_blocks):
        _sources_block(
            indptr, indices, weight, sources, target_slot, n_targets, cutoff, out,
            b * m // n_blocks, (b + 1) * m // n_blocks,
        )  # fmt: skip
    return out


@njit(cache=True, nogil=True)
def _contract(
    indptr: np.ndarray, indices: np.ndarray, weight: np.ndarray, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Graph between the ``keep`` nodes: each chain of other nodes becomes one edge.

    Every node not kept must be a chain node (see :meth:`RoadGraph.chain_nodes`);
    walking on from a chain node means taking its out-edge that does not go back.
    The weight of a new edge is the sum of the chain's weights, added in path
    order. Returns ``(indptr, indices, weight, new_id)`` with ``new_id[node]``
    the kept node's index (-1 otherwise); kept nodes keep their relative order.
    """
    n = len(indptr) - 1
    new_id = np.full(n, -1, dtype=np.int64)
    n_kept = 0
    for u in range(n):
        if keep[u]:
            new_id[u] = n_kept
            n_kept += 1
    out_ptr = np.zeros(n_kept + 1, dtype=np.int64)
    out_ind = np.empty(len(indices), dtype=np.int32)
    out_w = np.empty(len(indices), dtype=np.float64)
    k = 0
    for u in range(n):
        if not keep[u]:
            continue
        for e in range(indptr[u], indptr[u + 1]):
            prev = u
            v = indices[e]
            w = weight[e]
            steps = 0
            while not keep[v] and steps <= n:
                nxt = -1
                w_next = 0.0
                for f in range(indptr[v], indptr[v + 1]):
                    if indices[f] != prev:
                        nxt = indices[f]
                        w_next = weight[f]
                        break
                if nxt < 0:
                    break
                w += w_next
                prev = v
                v = nxt
                steps += 1
            if keep[v] and v != u:
                out_ind[k] = new_id[v]
                out_w[k] = w
                k += 1
        out_ptr[new_id[u] + 1] = k
    return out_ptr, out_ind[:k].copy(), out_w[:k].copy(), new_id


def _many_to_many_dense(
    indptr: np.ndarray, indices: np.ndarray, weight: np.ndarray, sources: np.ndarray,
    targets: np.ndarray, cutoff: float,
) -> np.ndarray:  # fmt: skip
    """Dense ``(len(sources), len(targets))`` times, ``inf`` beyond ``cutoff``; nodes must be distinct.

    Threads only pay off on large queries: starting them costs milliseconds, so
    small ones (fewer than ``PARALLEL_MIN_WORK`` source × node) run in this thread.
    """
    n_nodes = len(indptr) - 1
    target_slot = np.full(n_nodes, -1, dtype=np.int64)
    target_slot[targets] = np.arange(len(targets))
    n_blocks = max(1, min(get_num_threads(), len(sources)))
    parallel = n_blocks > 1 and len(sources) * n_nodes >= PARALLEL_MIN_WORK
    kernel = _many_parallel if parallel else _many_serial
    with _KERNEL_LOCK:  # numba's default "workqueue" threading layer must not be entered twice at once
        out = kernel(
            indptr,
            indices,
            weight,
            sources.astype(np.int64),
            target_slot,
            len(targets),
            float(cutoff),
            n_blocks,
        )
    return np.asarray(out)


def _search_graph(graph: RoadGraph, query_nodes: np.ndarray) -> tuple[np.ndarray, ...]:
    """CSR arrays of ``graph`` with its chains contracted, query nodes kept; and ``new_id``."""
    keep = ~graph.chain_nodes()
    keep[query_nodes] = True
    indptr = graph.indptr.astype(np.int64, copy=False)
    indices = graph.indices.astype(np.int32, copy=False)
    weight = graph.time_min.astype(np.float64, copy=False)
    if keep.mean() > 0.9:  # little to gain
        return indptr, indices, weight, np.arange(graph.n_nodes, dtype=np.int64)
    return tuple(_contract(indptr, indices, weight, keep))


def _expand(
    group: np.ndarray, members: np.ndarray, starts: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each item of ``group`` (a unique-node index), all original members: (item, member)."""
    reps = counts[group]
    item = np.repeat(np.arange(len(group)), reps)
    offset = np.arange(len(item)) - np.repeat(np.cumsum(reps) - reps, reps)
    return item, members[starts[group][item] + offset]


def _groups(nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    valid = np.flatnonzero(nodes >= 0)
    unique, inverse = np.unique(nodes[valid], return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=len(unique))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return unique, valid[order], starts, counts


def travel_time_pairs(
    graph: RoadGraph, origin_nodes: np.ndarray, destination_nodes: np.ndarray, *, max_time_min: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shortest times from origin nodes to destination nodes, up to ``max_time_min``.

    ``origin_nodes`` and ``destination_nodes`` are node indices (``-1`` for a
    point that could not be snapped: it gets no pair). Returns
    ``(origin_idx, destination_idx, minutes)``: positions in the input arrays
    and the time of every pair reachable within ``max_time_min`` (inclusive).

    Repeated nodes are computed once; chains of degree-2 nodes are contracted
    into single edges (query nodes kept); Dijkstra runs from the smaller side
    (on the reversed graph when destinations are fewer), stops at the cutoff
    and when every target is settled, in compiled code (numba), in parallel
    for large queries.

    Examples
    --------
    >>> g = RoadGraph("walk", np.array([0, 1, 2, 2]), np.array([1, 2]), np.array([1.0, 2.0]),
    ...               np.array([75.0, 150.0]), np.zeros(3), np.zeros(3), np.arange(3))
    >>> travel_time_pairs(g, np.array([0, 0, -1]), np.array([2, 1]), max_time_min=10)
    (array([0, 0, 1, 1]), array([0, 1, 0, 1]), array([3., 1., 3., 1.]))
    """
    if not max_time_min >= 0:
        raise ConfigurationError(
            f"temps maximal invalide : {max_time_min} (un nombre de minutes ≥ 0 est attendu)"
        )
    origin_nodes = np.asarray(origin_nodes, dtype=np.int64)
    destination_nodes = np.asarray(destination_nodes, dtype=np.int64)
    uo, mem_o, start_o, count_o = _groups(origin_nodes)
    ud, mem_d, start_d, count_d = _groups(destination_nodes)
    empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0))
    if len(uo) == 0 or len(ud) == 0:
        return empty
    backward = len(ud) < len(uo)
    search = graph.reversed() if backward else graph
    sources, targets = (ud, uo) if backward else (uo, ud)
    indptr, indices, weight, new_id = _search_graph(search, np.concatenate([sources, targets]))
    sources_c, targets_c = new_id[sources], new_id[targets]
    rows_per_block = max(1, MAX_BLOCK_CELLS // len(targets))
    parts_s, parts_t, parts_m = [], [], []
    for lo in range(0, len(sources), rows_per_block):
        block = _many_to_many_dense(
            indptr, indices, weight, sources_c[lo : lo + rows_per_block], targets_c, max_time_min
        )
        r, c = np.nonzero(block <= max_time_min)
        parts_s.append(r + lo)
        parts_t.append(c)
        parts_m.append(block[r, c])
    s_idx, t_idx, minutes = np.concatenate(parts_s), np.concatenate(parts_t), np.concatenate(parts_m)
    o_u, d_u = (t_idx, s_idx) if backward else (s_idx, t_idx)
    item, o_idx = _expand(o_u, mem_o, start_o, count_o)
    d_u, minutes = d_u[item], minutes[item]
    item, d_idx = _expand(d_u, mem_d, start_d, count_d)
    o_idx, minutes = o_idx[item], minutes[item]
    order = np.lexsort((d_idx, o_idx))
    return o_idx[order], d_idx[order], minutes[order]
