"""Versioned snapshots in one embedded DuckDB file.

A build writes every table of its snapshot inside one transaction and marks
the snapshot ``complete`` just before ``COMMIT``. Interrupted (Ctrl-C, kill,
power cut), the transaction never commits and DuckDB rolls it back when the
file is next opened: the previous snapshots stay exactly as they were.
Geometries are stored with the DuckDB spatial extension, loaded from the file
shipped by the ``duckdb-extension-spatial`` wheel (nothing is downloaded).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import geopandas as gpd
import pandas as pd
import shapely

from accesoins import __version__
from accesoins.errors import StoreError

_SNAPSHOTS_DDL = """
CREATE TABLE IF NOT EXISTS snapshots (
    snapshot_id VARCHAR PRIMARY KEY,
    territory VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL,
    accesoins_version VARCHAR NOT NULL,
    parameters JSON
)
"""
_SOURCES_DDL = """
CREATE TABLE IF NOT EXISTS sources (
    snapshot_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    bytes BIGINT NOT NULL,
    rows BIGINT
)
"""


def spatial_extension_path() -> Path:
    """Path of the spatial extension file bundled in the ``duckdb-extension-spatial`` wheel."""
    base = resources.files("duckdb_extension_spatial").joinpath("extensions", f"v{duckdb.__version__}")
    path = Path(str(base)) / "spatial.duckdb_extension"
    if not path.exists():
        raise StoreError(
            f"extension spatiale DuckDB absente pour DuckDB {duckdb.__version__} ({path}) : "
            "installez duckdb-extension-spatial de la même version que duckdb"
        )
    return path


class Store:
    """The snapshot store of an observatory (one DuckDB file)."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        if read_only and not self.path.exists():
            raise StoreError(f"aucun entrepôt de données à {self.path} : lancez d'abord « accesoins build »")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            raise StoreError(
                f"entrepôt {self.path} inaccessible (déjà ouvert en écriture ?) : {exc}"
            ) from exc
        self.con.execute(f"LOAD '{spatial_extension_path()}'")
        if not read_only:
            self.con.execute(_SNAPSHOTS_DDL)
            self.con.execute(_SOURCES_DDL)

    def close(self) -> None:
        """Close the DuckDB connection."""
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------------
    def snapshots(self, *, territory: str | None = None) -> pd.DataFrame:
        """Complete snapshots, oldest first."""
        if not self.has_table("snapshots"):
            return pd.DataFrame(columns=["snapshot_id", "territory", "created_at", "status"])
        query = "SELECT * FROM snapshots WHERE status = 'complete'"
        args: list[Any] = []
        if territory is not None:
            query += " AND territory = ?"
            args.append(territory)
        return self.con.execute(query + " ORDER BY created_at, snapshot_id", args).df()

    def latest(self, *, territory: str | None = None) -> str:
        """Identifier of the most recent complete snapshot."""
        snaps = self.snapshots(territory=territory)
        if snaps.empty:
            where = f" pour le territoire {territory}" if territory else ""
            raise StoreError(f"aucun instantané{where} dans {self.path} : lancez « accesoins build »")
        return str(snaps["snapshot_id"].iloc[-1])

    def resolve(self, snapshot: str | None) -> str:
        """Snapshot identifier from a user's text: an id, ``latest``/None, or ``previous``."""
        snaps = self.snapshots()
        if snapshot in (None, "latest", "dernier"):
            return self.latest()
        if snapshot in ("previous", "precedent", "précédent"):
            if len(snaps) < 2:
                raise StoreError("il n'y a pas d'instantané précédent")
            return str(snaps["snapshot_id"].iloc[-2])
        if snapshot not in set(snaps["snapshot_id"]):
            known = ", ".join(snaps["snapshot_id"].tail(5))
            raise StoreError(f"instantané « {snapshot} » inconnu. Derniers instantanés : {known or 'aucun'}")
        return str(snapshot)

    def metadata(self, snapshot_id: str) -> dict[str, Any]:
        """Parameters recorded with a snapshot."""
        row = self.con.execute(
            "SELECT parameters FROM snapshots WHERE snapshot_id = ?", [snapshot_id]
        ).fetchone()
        if row is None:
            raise StoreError(f"instantané « {snapshot_id} » inconnu")
        return dict(json.loads(row[0] or "{}"))

    def table(
        self, name: str, snapshot_id: str, *, where: str = "", args: list[Any] | None = None
    ) -> pd.DataFrame:
        """Rows of table ``name`` in a snapshot (geometry columns come back as WKB bytes)."""
        if not re.fullmatch(r"[a-z_]+", name) or not self.has_table(name):
            raise StoreError(f"table « {name} » absente de l'entrepôt")
        geo_cols = self._geometry_columns(name)
        select = ", ".join(["* EXCLUDE (" + ", ".join(geo_cols) + ")"] if geo_cols else ["*"])
        select += "".join(f", ST_AsWKB({c}) AS {c}" for c in geo_cols)
        query = f"SELECT {select} FROM {name} WHERE snapshot_id = ?" + (f" AND {where}" if where else "")
        frame = self.con.execute(query, [snapshot_id, *(args or [])]).df()
        return frame.drop(columns="snapshot_id")

    def geotable(
        self, name: str, snapshot_id: str, *, where: str = "", args: list[Any] | None = None
    ) -> gpd.GeoDataFrame:
        """Like :meth:`table`, as a GeoDataFrame in EPSG:4326 (geometry column ``geometry``)."""
        frame = self.table(name, snapshot_id, where=where, args=args)
        raw = frame.pop("geometry")
        wkb = [bytes(b) if isinstance(b, bytes | bytearray | memoryview) else None for b in raw]
        geom = shapely.from_wkb(pd.Series(wkb, dtype=object).to_numpy())
        return gpd.GeoDataFrame(frame, geometry=geom, crs="EPSG:4326")

    def kept(self, name: str, snapshot_id: str) -> pd.DataFrame:
        """Rows of a table the build keeps for later stages, empty when no snapshot ever wrote it."""
        if not re.fullmatch(r"[a-z_]+", name) or not self.has_table(name):
            return pd.DataFrame()
        return self.table(name, snapshot_id)

    def sources(self, snapshot_id: str) -> pd.DataFrame:
        """Source files of a snapshot with their SHA-256."""
        return self.table("sources", snapshot_id)

    def has_table(self, name: str) -> bool:
        """Whether the store holds a table ``name`` (optional tables: surroundings, zones...)."""
        row = self.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name])
        return bool(row.fetchone()[0])  # type: ignore[index]

    def _geometry_columns(self, name: str) -> list[str]:
        rows = self.con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = ? AND data_type = 'GEOMETRY'",
            [name],
        ).fetchall()
        return [r[0] for r in rows]

    # -- writing ---------------------------------------------------------------------------------
    @contextmanager
    def snapshot(self, territory: str, parameters: dict[str, Any]) -> Iterator[SnapshotWriter]:
        """Write a new snapshot atomically: all of it is committed at the end, or nothing."""
        stamp = datetime.now(UTC).replace(tzinfo=None)
        snapshot_id = f"{territory}-{stamp:%Y%m%dT%H%M%S}"
        existing = set(self.con.execute("SELECT snapshot_id FROM snapshots").df()["snapshot_id"])
        n = 1
        while snapshot_id in existing:
            n += 1
            snapshot_id = f"{territory}-{stamp:%Y%m%dT%H%M%S}-{n}"
        with self.transaction():
            self.con.execute(
                "INSERT INTO snapshots VALUES (?, ?, ?, 'building', ?, ?)",
                [snapshot_id, territory, stamp, __version__, json.dumps(parameters, default=str)],
            )
            yield SnapshotWriter(self, snapshot_id)
            self.con.execute("UPDATE snapshots SET status = 'complete' WHERE snapshot_id = ?", [snapshot_id])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything written inside is committed at the end, or rolled back on any error or interruption."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def append_rows(self, name: str, frame: pd.DataFrame) -> None:
        """Append ``frame`` to table ``name`` (created or widened as needed).

        A GeoDataFrame's geometry (any CRS) is stored as a GEOMETRY column in EPSG:4326.
        """
        con = self.con
        data = pd.DataFrame(frame).copy()
        geo = isinstance(frame, gpd.GeoDataFrame)
        if geo:
            geometry = frame.geometry.to_crs("EPSG:4326") if frame.crs else frame.geometry
            data = data.drop(columns=[frame.geometry.name])
            data["geometry_wkb"] = shapely.to_wkb(geometry.to_numpy())
        for col in data.columns:
            if data[col].dtype == object and col != "geometry_wkb":
                data[col] = data[col].astype("string")
        con.register("_incoming", data)
        try:
            select = (
                "SELECT * EXCLUDE (geometry_wkb), ST_GeomFromWKB(geometry_wkb) AS geometry"
                if geo
                else "SELECT *"
            )
            if not self.has_table(name):
                con.execute(f"CREATE TABLE {name} AS {select} FROM _incoming LIMIT 0")
            existing = set(con.execute(f"SELECT * FROM {name} LIMIT 0").df().columns)
            types = {r[0]: r[1] for r in con.execute(f"DESCRIBE {select} FROM _incoming").fetchall()}
            for col, typ in types.items():
                if col not in existing:
                    con.execute(f'ALTER TABLE {name} ADD COLUMN "{col}" {typ}')
            con.execute(f"INSERT INTO {name} BY NAME {select} FROM _incoming")
        finally:
            con.unregister("_incoming")


class SnapshotWriter:
    """Appends tables to the snapshot being written (inside its transaction)."""

    def __init__(self, store: Store, snapshot_id: str) -> None:
        self.store = store
        self.snapshot_id = snapshot_id

    def add_source(self, name: str, file: Path, sha256: str, rows: int | None) -> None:
        """Record one source file and its checksum."""
        self.store.con.execute(
            "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?)",
            [self.snapshot_id, name, file.name, sha256, file.stat().st_size, rows],
        )

    def append(self, name: str, frame: pd.DataFrame) -> None:
        """Append ``frame`` to table ``name``, tagged with this snapshot (see :meth:`Store.append_rows`)."""
        data = frame.copy()
        data.insert(0, "snapshot_id", self.snapshot_id)
        self.store.append_rows(name, data)


def indicator_layer(
    store: Store, snapshot_id: str, *, level: str, profession: str | None
) -> gpd.GeoDataFrame:
    """Indicators of one level (and profession) joined to their unit geometry."""
    where, args = "level = ?", [level]
    if profession:
        where += " AND profession = ?"
        args.append(profession)
    table = store.table("indicators", snapshot_id, where=where, args=args)
    if table.empty:
        levels = store.con.execute(
            "SELECT DISTINCT level FROM indicators WHERE snapshot_id = ?", [snapshot_id]
        ).df()
        profs = store.con.execute(
            "SELECT DISTINCT profession FROM indicators WHERE snapshot_id = ?", [snapshot_id]
        ).df()
        raise StoreError(
            f"aucun indicateur pour le niveau « {level} »"
            + (f" et la profession « {profession} »" if profession else "")
            + f". Niveaux disponibles : {', '.join(levels['level'])} ; "
            + f"professions : {', '.join(profs['profession'])}"
        )
    units = store.geotable("units", snapshot_id, where="level = ?", args=[level])
    merged = table.merge(units[["unit_id", "parent_id", "geometry"]], on="unit_id", how="left")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs="EPSG:4326")


def save_scenario(store: Store, snapshot_id: str, name: str, text: str, table: pd.DataFrame) -> str:
    """Keep a scenario and its per-unit results beside the snapshot it modifies (one transaction)."""
    stamp = datetime.now(UTC).replace(tzinfo=None)
    scenario_id = f"{snapshot_id}/{stamp:%Y%m%dT%H%M%S%f}"
    with store.transaction():
        store.con.execute(
            "CREATE TABLE IF NOT EXISTS scenarios (scenario_id VARCHAR PRIMARY KEY, snapshot_id VARCHAR, "
            "name VARCHAR, definition VARCHAR, created_at TIMESTAMP)"
        )
        store.con.execute(
            "INSERT INTO scenarios VALUES (?, ?, ?, ?, ?)", [scenario_id, snapshot_id, name, text, stamp]
        )
        store.append_rows("scenario_results", table.assign(scenario_id=scenario_id))
    return scenario_id
