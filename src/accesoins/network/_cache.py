"""Built graphs cached in ``.npz`` files keyed by the extract's checksum, the mode and the speeds."""

from __future__ import annotations

import logging
from pathlib import Path

from accesoins.errors import UnknownChoiceError
from accesoins.network._build import MODES, build_graph
from accesoins.network._graph import RoadGraph
from accesoins.network._osm import RoadSpeedParameters, file_checksum, load_road_speeds

log = logging.getLogger(__name__)

GRAPH_FORMAT = 2  # bump when the arrays or the build rules change: invalidates caches


def graph_cache_key(
    path: str | Path, mode: str, *, params: RoadSpeedParameters | None = None, largest_component: bool = True
) -> str:
    """Cache key of a built graph: file checksum, mode, parameters, build rules."""
    params = params or load_road_speeds()
    scope = "scc" if largest_component else "all"
    return f"{file_checksum(path)[:20]}-{mode}-{params.digest()}-{scope}-v{GRAPH_FORMAT}"


def load_or_build(
    path: str | Path,
    mode: str,
    cache_dir: str | Path | None = None,
    *,
    params: RoadSpeedParameters | None = None,
    largest_component: bool = True,
) -> RoadGraph:
    """The ``mode`` graph of an extract, read from ``cache_dir`` when already built.

    The cache file is ``<cache_dir>/graph-<key>.npz`` with the key of
    :func:`graph_cache_key`; a changed file, mode or speed table gives a new
    key. Without ``cache_dir`` the graph is always built.
    """
    if mode not in MODES:
        raise UnknownChoiceError("Mode de déplacement", mode, MODES)
    if cache_dir is None:
        return build_graph(path, mode, params=params, largest_component=largest_component)
    key = graph_cache_key(path, mode, params=params, largest_component=largest_component)
    cache_file = Path(cache_dir) / f"graph-{key}.npz"
    if cache_file.is_file():
        try:
            graph = RoadGraph.load(cache_file)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("unreadable graph cache %s (%s): rebuilding", cache_file, exc)
        else:
            log.info("graph read from cache %s", cache_file)
            return graph
    graph = build_graph(path, mode, params=params, largest_component=largest_component)
    graph.key = key
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    graph.save(cache_file)
    return graph
