"""Fuzzing harness of the source loaders: seeded mutants of the real files, and what each loader made of them.

Every source type (:data:`SOURCE_TYPES`) has a seed built from a real file of
``$ACCESOINS_DATA`` (a few hundred rows at most, so that a mutant loads in a
fraction of a second) and a loader. :func:`mutants` derives seeded broken
copies: truncation, columns deleted / duplicated / shuffled, another separator
or encoding, empty and header-only files, NUL bytes, huge / negative / infinite
/ NaN numbers, duplicated keys and lines, a one-megabyte field, a stray quote,
a zip of junk as a workbook, invalid geometries, points outside France, a
directory instead of a file. :func:`run_mutant` loads one and classifies the
outcome (:data:`OUTCOMES`); an accepted mutant is then checked for impossible
values (non-finite or negative counts, points outside France, duplicated keys).

Used by ``tests/test_fuzz.py`` (a small sample) and ``bench/fuzz.py`` (the full campaign).
"""

from __future__ import annotations

import bz2
import csv
import io
import itertools
import json
import random
import traceback
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import shapely

from accesoins import sources
from accesoins.errors import DataFileError
from accesoins.network import read_osm_ways
from accesoins.sources._finess import GEOLOCALISATION_FIELDS, STRUCTUREET_FIELDS
from accesoins.sources._validate import in_france

OUTCOMES = ("erreur située", "erreur sans position", "traceback", "acceptée", "valeur impossible acceptée")
"""French error with a location / without / other exception / accepted and sane / accepted but impossible."""

MEGABYTE_FIELD = "X" * 1_048_576


@dataclass
class Table:
    """A delimited text seed: rows of fields and where the interesting cells are."""

    rows: list[list[str]]
    sep: str
    header: int | None  # index of the header row, None for headerless formats
    cells: dict[str, list[tuple[int, int]]]  # role ("number", "lon", "lat", "key") -> (row, column)
    encoding: str = "utf-8"
    prefix: str = ""  # kept before the rows (a title line)

    def text(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=self.sep, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerows(self.rows)
        return self.prefix + buffer.getvalue()

    def data_rows(self) -> list[int]:
        start = 0 if self.header is None else self.header + 1
        return list(range(start, len(self.rows)))


@dataclass
class Seed:
    """The real content a source type's mutants start from."""

    kind: str  # table, xlsx, geojson, osm_xml, osm_pbf
    suffix: str
    raw: bytes
    table: Table | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceType:
    """A source format: how to build its seed, load a file, and find impossible values in the result."""

    name: str
    seed: Callable[[Path], Seed]
    load: Callable[[Path], Any]
    impossible: Callable[[Any], list[str]]


@dataclass(frozen=True)
class Mutant:
    """One broken copy of a seed: its name and its bytes (None: a directory is given instead of a file)."""

    source: str
    name: str
    content: bytes | None
    suffix: str


@dataclass(frozen=True)
class Outcome:
    """What the loader made of a mutant."""

    mutant: Mutant
    outcome: str
    detail: str


# --- seeds ------------------------------------------------------------------------------------------


def _table_seed(
    path: Path,
    *,
    sep: str,
    roles: dict[str, list[str]],
    max_rows: int = 300,
    encoding: str = "utf-8",
    suffix: str = ".csv",
) -> Seed:
    text = path.read_bytes().decode(encoding)
    rows = list(itertools.islice(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=sep), max_rows + 1))
    header = rows[0]
    cells = {
        role: [(r, header.index(name)) for name in names for r in range(1, len(rows)) if name in header]
        for role, names in roles.items()
    }
    table = Table(rows, sep, 0, cells, encoding)
    return Seed("table", suffix, table.text().encode(encoding), table)


def _annuaire(data: Path) -> Seed:
    path = data / "health_professionals/ps_libreacces_personne_activite_sample20_format.txt"
    return _table_seed(
        path,
        sep="|",
        roles={"key": ["Identifiant PP"], "number": ["Code commune (coord. structure)"]},
        suffix=".txt",
    )


def _rpps(data: Path) -> Seed:
    path = data / "health_professionals/rpps_2017_gironde33_generalistes_neurologues.csv"
    return _table_seed(path, sep=",", roles={"key": ["RPPS"], "number": ["Commune"]})


def _finess_wgs84(data: Path) -> Seed:
    path = data / "health_professionals/finess_2017-01_gironde33_etablissements_geoloc_wgs84.csv"
    return _table_seed(path, sep=",", roles={"key": ["code"], "lon": ["long"], "lat": ["lat"]})


def _finess_stock(data: Path) -> Seed:
    path = data / "health_professionals/finess_etalab_stock_et_20201231_sample100_dep01.csv"
    return _table_seed(path, sep=";", roles={"key": ["nofinesset"], "lon": ["coordx"], "lat": ["coordy"]})


def _finess_extraction(data: Path) -> Seed:
    """The daily extraction's layout (structureet + geolocalisation lines) from the real stock sample."""
    stock = pd.read_csv(
        data / "health_professionals/finess_etalab_stock_et_20201231_sample100_dep01.csv",
        sep=";",
        dtype=str,
        keep_default_na=False,
    )
    stock = stock.assign(
        section="structureet",
        commune=stock["cog"].str[2:],
        categagretab=stock["categretab"],
        libcategagretab=stock["libcategretab"],
        codemft=stock["mft"],
        codesph=stock["sph"],
        dateouv=stock["dateouvert"],
        numuai="",
    )
    rows = [["finess", "etalab", "94", "2020-12-31"]]
    cells: dict[str, list[tuple[int, int]]] = {"key": [], "lon": [], "lat": [], "number": []}
    for _, record in stock.iterrows():
        cells["key"].append((len(rows), 1))
        rows.append([str(record.get(f, "")) for f in STRUCTUREET_FIELDS])
        rows[-1][0] = "structureet"
    for _, record in stock.iterrows():
        cells["lon"].append((len(rows), 2))
        cells["lat"].append((len(rows), 3))
        rows.append(
            [
                "geolocalisation",
                record["nofinesset"],
                record["coordx"],
                record["coordy"],
                record["sourcegeocod"],
                "",
            ]
        )
    assert len(rows[-1]) == len(GEOLOCALISATION_FIELDS)
    table = Table(rows, ";", None, cells)
    return Seed("table", ".csv", table.text().encode(), table)


def _od(data: Path) -> Seed:
    return _table_seed(
        data / "travel_times/od_iris_06_alpes_maritimes_km_min.csv",
        sep=",",
        roles={"key": ["IRIS1"], "number": ["TIME", "KM"]},
    )


def _osrm(data: Path) -> Seed:
    return _table_seed(
        data / "travel_times/osrm_iris_19_correze_route_m_s.csv",
        sep=",",
        roles={"key": ["origin_id"], "number": ["duration", "distance"]},
    )


def _gp_iris(data: Path) -> Seed:
    return _table_seed(
        data / "apl_reference_06/gp_iris_06_2022.csv",
        sep=",",
        roles={"key": ["iris"], "number": ["NB", "iris"], "lon": ["lon"], "lat": ["lat"]},
    )


def _single_age(data: Path) -> Seed:
    path = data / "apl_reference_06/insee_pop_sexe_age_commune_2018_sample_format.csv"
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    ages = [h for h in header if h.startswith("SEXE")]
    return _table_seed(path, sep=",", roles={"key": ["CODGEO"], "number": ages})


def _grid(data: Path) -> Seed:
    return _table_seed(
        data / "population_grid/filosofi2021_200m_bordeaux_centre_8x8km_epsg3035.csv",
        sep=",",
        roles={"key": ["idcar_200m"], "number": ["ind"]},
    )


def _xlsx_seed(path: Path, sheet: str, max_rows: int, header_row: int, roles: dict[str, list[int]]) -> Seed:
    """A smaller workbook with the first rows of one real sheet (``header_row``: 1-based)."""
    source = openpyxl.load_workbook(path, read_only=True)
    rows = [list(r) for _, r in zip(range(max_rows), source[sheet].iter_rows(values_only=True), strict=False)]
    source.close()
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    first_data = header_row + (2 if sheet.startswith("APL") else 1)
    return Seed(
        "xlsx",
        ".xlsx",
        buffer.getvalue(),
        extra={"sheet": sheet, "header_row": header_row, "first_data": first_data, "roles": roles},
    )


def _drees(data: Path) -> Seed:
    return _xlsx_seed(
        data / "apl_drees/apl_medecins_generalistes_2022_2023_drees.xlsx",
        "APL 2023",
        300,
        9,
        {"key": [1], "number": [3, 4, 5, 6]},
    )


def _iris_population(data: Path) -> Seed:
    return _xlsx_seed(
        data / "apl_reference_06/pop_iris_06_2019_insee.xlsx",
        "Feuil2",
        200,
        1,
        {"key": [1], "number": [6, 7, 8]},
    )


def _qpv(data: Path) -> Seed:
    raw = (data / "qpv/qpv_2015_ille_et_vilaine_6_avec_pop.geojson").read_bytes()
    return Seed("geojson", ".geojson", raw)


def _osm_xml(data: Path) -> Seed:
    raw = bz2.decompress((data / "osm/redon_35_overpass_2019-09-09.osm.bz2").read_bytes())
    return Seed("osm_xml", ".osm", raw)


def _osm_pbf(data: Path) -> Seed:
    return Seed("osm_pbf", ".osm.pbf", (data / "osm/saint_barthelemy_977_2014.osm.pbf").read_bytes())


# --- impossible values in what a loader accepted ---------------------------------------------------


def _bad_numbers(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    found = []
    for column in columns:
        if column in frame.columns:
            values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
            if (~np.isfinite(values[~np.isnan(values)])).any() or (values < 0).any():
                found.append(f"{column} non fini ou négatif")
    return found


def _outside(lon: Any, lat: Any) -> list[str]:
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    located = ~(np.isnan(x) & np.isnan(y))
    return ["point hors de France"] if (~in_france(x[located], y[located])).any() else []


def _duplicated(frame: pd.DataFrame, keys: list[str]) -> list[str]:
    return [f"clé {'/'.join(keys)} en double"] if frame.duplicated(keys).any() else []


def _activities(frame: pd.DataFrame) -> list[str]:
    content = [c for c in frame.columns if c not in ("activity_id", "source_line")]
    return _duplicated(frame, ["activity_id"]) + _duplicated(frame, content)


def _finess(frame: pd.DataFrame) -> list[str]:
    return _duplicated(frame, ["finess"]) + _outside(frame["lon"], frame["lat"])


def _od_result(frame: pd.DataFrame) -> list[str]:
    return _bad_numbers(frame, ["travel_time_min", "distance_km"]) + _duplicated(
        frame, ["origin_id", "destination_id"]
    )


def _gp_result(frame: pd.DataFrame) -> list[str]:
    return (
        _bad_numbers(frame, ["etp"])
        + _outside(frame["lon"], frame["lat"])
        + _duplicated(frame, ["activity_id"])
    )


def _single_age_result(frame: pd.DataFrame) -> list[str]:
    ages = [c for c in frame.columns if isinstance(c, int)]
    return _bad_numbers(frame, ages) + _duplicated(frame, ["commune_code", "year"])


def _grid_result(frame: Any) -> list[str]:
    centre = frame.geometry.centroid.to_crs("EPSG:4326")
    return (
        _bad_numbers(frame, ["population"]) + _duplicated(frame, ["cell_id"]) + _outside(centre.x, centre.y)
    )


def _drees_result(frame: pd.DataFrame) -> list[str]:
    numbers = ["apl", "apl_under65", "population_standardised", "population_total"]
    return _bad_numbers(frame, numbers) + _duplicated(frame, ["commune_code"])


def _iris_result(result: tuple[pd.DataFrame, int]) -> list[str]:
    frame = result[0]
    return _bad_numbers(
        frame, [c for c in frame.columns if c not in ("iris_code", "commune_code")]
    ) + _duplicated(frame, ["iris_code"])


def _qpv_result(frame: Any) -> list[str]:
    found = _duplicated(frame, ["qpv_code"]) + _bad_numbers(frame, ["population"])
    geoms = frame.geometry.to_numpy()
    if not shapely.is_valid(geoms).all() or (shapely.area(geoms) <= 0).any():
        found.append("géométrie invalide")
    bounds = frame.geometry.bounds.to_numpy()
    return found + _outside(bounds[:, 0], bounds[:, 1]) + _outside(bounds[:, 2], bounds[:, 3])


def _osm_result(ways: Any) -> list[str]:
    return _outside(ways.lon, ways.lat) + (
        ["vitesse non finie ou négative"] if (ways.maxspeed_kph < 0).any() else []
    )


SOURCE_TYPES: dict[str, SourceType] = {
    s.name: s
    for s in (
        SourceType("annuaire_sante", _annuaire, sources.read_annuaire_sante, _activities),
        SourceType("rpps_2017", _rpps, sources.read_rpps_2017, _activities),
        SourceType("finess_wgs84", _finess_wgs84, sources.read_finess_geoloc_wgs84, _finess),
        SourceType("finess_stock", _finess_stock, sources.read_finess_stock, _finess),
        SourceType("finess_extraction", _finess_extraction, sources.read_finess_extraction, _finess),
        SourceType("drees_apl_xlsx", _drees, lambda p: sources.read_apl_drees(p, 2023), _drees_result),
        SourceType("insee_iris_xlsx", _iris_population, sources.read_iris_population, _iris_result),
        SourceType("insee_ages_csv", _single_age, sources.read_population_single_age, _single_age_result),
        SourceType("od_iris", _od, sources.read_od_table, _od_result),
        SourceType("od_osrm", _osrm, sources.read_od_table, _od_result),
        SourceType("gp_iris", _gp_iris, sources.read_gp_iris, _gp_result),
        SourceType("filosofi_grid", _grid, sources.read_filosofi_grid, _grid_result),
        SourceType("qpv_geojson", _qpv, sources.read_qpv, _qpv_result),
        SourceType("osm_xml", _osm_xml, read_osm_ways, _osm_result),
        SourceType("osm_pbf", _osm_pbf, read_osm_ways, _osm_result),
    )
}
"""Every source type the harness mutates, by name."""


# --- mutations --------------------------------------------------------------------------------------

Mutator = Callable[[Seed, random.Random], bytes | None]


def _copy(table: Table) -> Table:
    return Table(
        [list(r) for r in table.rows], table.sep, table.header, table.cells, table.encoding, table.prefix
    )


def _encoded(table: Table) -> bytes:
    return table.text().encode(table.encoding, errors="replace")


def _cell(table: Table, rng: random.Random, roles: tuple[str, ...]) -> tuple[int, int]:
    choices = [c for role in roles for c in table.cells.get(role, [])]
    if not choices:
        rows = table.data_rows()
        row = rng.choice(rows)
        return row, rng.randrange(len(table.rows[row]))
    return rng.choice(choices)


def _set_cell(value: str, roles: tuple[str, ...]) -> Mutator:
    def mutate(seed: Seed, rng: random.Random) -> bytes:
        assert seed.table is not None
        table = _copy(seed.table)
        r, c = _cell(table, rng, roles)
        table.rows[r][c] = value
        return _encoded(table)

    return mutate


def _swap_lonlat(seed: Seed, rng: random.Random) -> bytes:
    assert seed.table is not None
    table = _copy(seed.table)
    if not table.cells.get("lon"):
        return _set_cell("-5000", ("number",))(seed, rng) or b""
    i = rng.randrange(len(table.cells["lon"]))
    (r, c_lon), (_, c_lat) = table.cells["lon"][i], table.cells["lat"][i]
    table.rows[r][c_lon], table.rows[r][c_lat] = table.rows[r][c_lat], table.rows[r][c_lon]
    return _encoded(table)


def _duplicate_line(seed: Seed, rng: random.Random) -> bytes:
    assert seed.table is not None
    table = _copy(seed.table)
    r = rng.choice([r for r, _ in table.cells.get("key", [])] or table.data_rows())
    table.rows.insert(rng.randrange(r + 1, len(table.rows) + 1), list(table.rows[r]))
    return _encoded(table)


def _duplicate_key(seed: Seed, rng: random.Random) -> bytes:
    """Two lines with the same key but other values (a second record under one identifier)."""
    assert seed.table is not None
    table = _copy(seed.table)
    keys = table.cells.get("key", [])
    if len(keys) < 2:  # a one-row seed: a second row under its key, one other field changed
        r1, c = keys[0]
        copy = list(table.rows[r1])
        other = rng.choice([k for k in range(len(copy)) if k != c])
        copy[other] = copy[other] + "1"
        table.rows.append(copy)
        return _encoded(table)
    (r1, c), (r2, _) = rng.sample(keys, 2)
    table.rows[r2][c] = table.rows[r1][c]
    return _encoded(table)


def _columns(action: str) -> Mutator:
    def mutate(seed: Seed, rng: random.Random) -> bytes:
        assert seed.table is not None
        table = _copy(seed.table)
        width = len(table.rows[table.header or 0])
        k = rng.randrange(width)
        if action == "shuffle":
            order = list(range(width))
            rng.shuffle(order)
        for row in table.rows:
            if len(row) != width:
                continue
            if action == "delete":
                del row[k]
            elif action == "duplicate":
                row.insert(k, row[k])
            else:
                row[:] = [row[i] for i in order]
        return _encoded(table)

    return mutate


def _separator(seed: Seed, rng: random.Random) -> bytes:
    assert seed.table is not None
    table = _copy(seed.table)
    table.sep = rng.choice([s for s in (",", ";", "|", "\t") if s != table.sep])
    return _encoded(table)


def _encoding(seed: Seed, rng: random.Random) -> bytes:
    text = seed.raw.decode("utf-8", errors="replace")
    encoding = rng.choice(["utf-16", "cp1252", "latin-1", "utf-8-sig"])
    return text.encode(encoding, errors="replace")


def _header_only(seed: Seed, rng: random.Random) -> bytes:
    assert seed.table is not None
    table = _copy(seed.table)
    table.rows = table.rows[: (table.header or 0) + 1]
    return _encoded(table)


def _megabyte_field(quoted: bool) -> Mutator:
    def mutate(seed: Seed, rng: random.Random) -> bytes:
        assert seed.table is not None
        table = _copy(seed.table)
        row = rng.choice(table.data_rows())
        c = rng.randrange(len(table.rows[row]))
        table.rows[row][c] = ('"' if quoted else "") + MEGABYTE_FIELD
        return _encoded(table)

    return mutate


def _stray_quote(seed: Seed, rng: random.Random) -> bytes:
    """A `"` opening a field: naive CSV readers swallow the following lines into one."""
    assert seed.table is not None
    lines = _encoded(seed.table).decode(seed.table.encoding).split("\n")
    rows = seed.table.data_rows()
    i = rng.choice(rows[: max(1, len(rows) - 2)])
    fields = lines[i].split(seed.table.sep)
    k = rng.randrange(len(fields))
    fields[k] = '"' + fields[k]
    lines[i] = seed.table.sep.join(fields)
    return "\n".join(lines).encode(seed.table.encoding)


def _ragged(seed: Seed, rng: random.Random) -> bytes:
    assert seed.table is not None
    table = _copy(seed.table)
    row = table.rows[rng.choice(table.data_rows())]
    if rng.random() < 0.5 and len(row) > 1:
        row.pop()
    else:
        row.append("extra")
    return _encoded(table)


def _truncate(seed: Seed, rng: random.Random) -> bytes:
    return seed.raw[: rng.randrange(1, len(seed.raw))]


def _nul_bytes(seed: Seed, rng: random.Random) -> bytes:
    data = bytearray(seed.raw)
    for _ in range(rng.randint(1, 5)):
        data.insert(rng.randrange(len(data)), 0)
    return bytes(data)


def _flip_bytes(seed: Seed, rng: random.Random) -> bytes:
    data = bytearray(seed.raw)
    for _ in range(rng.randint(1, 20)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def _empty(seed: Seed, rng: random.Random) -> bytes:
    return b""


def _junk_zip(seed: Seed, rng: random.Random) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("junk.bin", rng.randbytes(2048))
    return buffer.getvalue()


def _directory(seed: Seed, rng: random.Random) -> None:
    return None


BYTE_MUTATORS: dict[str, Mutator] = {
    "tronqué": _truncate,
    "octets NUL": _nul_bytes,
    "octets altérés": _flip_bytes,
    "fichier vide": _empty,
    "zip de déchets": _junk_zip,
    "répertoire": _directory,
}

TABLE_MUTATORS: dict[str, Mutator] = {
    **BYTE_MUTATORS,
    "colonne supprimée": _columns("delete"),
    "colonne en double": _columns("duplicate"),
    "colonnes mélangées": _columns("shuffle"),
    "autre séparateur": _separator,
    "autre encodage": _encoding,
    "en-tête seul": _header_only,
    "champ d'un mégaoctet": _megabyte_field(quoted=False),
    "champ d'un mégaoctet après un guillemet": _megabyte_field(quoted=True),
    "guillemet égaré": _stray_quote,
    "ligne incomplète ou trop longue": _ragged,
    "ligne en double": _duplicate_line,
    "clé en double": _duplicate_key,
    "nombre énorme": _set_cell("1e308", ("number", "lon", "lat")),
    "nombre négatif": _set_cell("-5000", ("number", "lon", "lat")),
    "infini": _set_cell("inf", ("number", "lon", "lat")),
    "NaN": _set_cell("nan", ("number", "lon", "lat")),
    "texte au lieu d'un nombre": _set_cell("abc", ("number", "lon", "lat")),
    "latitude 91,5": _set_cell("91.5", ("lat", "number")),
    "longitude et latitude inversées": _swap_lonlat,
}


def _workbook(seed: Seed) -> tuple[openpyxl.Workbook, Any]:
    book = openpyxl.load_workbook(io.BytesIO(seed.raw))
    return book, book[seed.extra["sheet"]]


def _saved(book: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(value: object, role: str) -> Mutator:
    def mutate(seed: Seed, rng: random.Random) -> bytes:
        book, ws = _workbook(seed)
        row = rng.randrange(seed.extra["first_data"], ws.max_row + 1)
        ws.cell(row=row, column=rng.choice(seed.extra["roles"][role]), value=value)
        return _saved(book)

    return mutate


def _xlsx_duplicate_key(seed: Seed, rng: random.Random) -> bytes:
    book, ws = _workbook(seed)
    first, last = seed.extra["first_data"], ws.max_row
    r1, r2 = rng.sample(range(first, last + 1), 2)
    for column in seed.extra["roles"]["key"]:
        ws.cell(row=r2, column=column, value=ws.cell(row=r1, column=column).value)
    return _saved(book)


def _xlsx_columns(action: str) -> Mutator:
    def mutate(seed: Seed, rng: random.Random) -> bytes:
        book, ws = _workbook(seed)
        k = rng.randint(1, 6)
        if action == "delete":
            ws.delete_cols(k)
        else:
            ws.insert_cols(k)
            for row in range(1, ws.max_row + 1):
                ws.cell(row=row, column=k, value=ws.cell(row=row, column=k + 1).value)
        return _saved(book)

    return mutate


def _xlsx_header_down(seed: Seed, rng: random.Random) -> bytes:
    book, ws = _workbook(seed)
    ws.insert_rows(1, amount=rng.randint(25, 40))
    return _saved(book)


def _xlsx_empty_sheet(seed: Seed, rng: random.Random) -> bytes:
    book, ws = _workbook(seed)
    ws.delete_rows(1, ws.max_row)
    return _saved(book)


def _xlsx_header_only(seed: Seed, rng: random.Random) -> bytes:
    book, ws = _workbook(seed)
    ws.delete_rows(seed.extra["first_data"], ws.max_row)
    return _saved(book)


def _xlsx_member(action: str) -> Mutator:
    """Rewrite the zip with the sheet's XML truncated, or without it."""

    def mutate(seed: Seed, rng: random.Random) -> bytes:
        source = zipfile.ZipFile(io.BytesIO(seed.raw))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                data = source.read(info)
                if info.filename.startswith("xl/worksheets/sheet"):
                    if action == "remove":
                        continue
                    data = data[: rng.randrange(1, len(data))]
                target.writestr(info, data)
        return buffer.getvalue()

    return mutate


XLSX_MUTATORS: dict[str, Mutator] = {
    **BYTE_MUTATORS,
    "feuille XML tronquée": _xlsx_member("truncate"),
    "feuille XML absente": _xlsx_member("remove"),
    "feuille vide": _xlsx_empty_sheet,
    "en-tête seul": _xlsx_header_only,
    "en-tête sous la ligne 30": _xlsx_header_down,
    "colonne supprimée": _xlsx_columns("delete"),
    "colonne en double": _xlsx_columns("duplicate"),
    "clé en double": _xlsx_duplicate_key,
    "nombre énorme": _xlsx_cell(1e308, "number"),
    "nombre négatif": _xlsx_cell(-5000, "number"),
    "infini (texte)": _xlsx_cell("inf", "number"),
    "NaN (texte)": _xlsx_cell("nan", "number"),
    "texte au lieu d'un nombre": _xlsx_cell("abc", "number"),
    "code invalide": _xlsx_cell("ABCDE", "key"),
    "champ d'un mégaoctet": _xlsx_cell("X" * 32_000, "key"),
}


def _geojson(change: Callable[[dict[str, Any], random.Random], None]) -> Mutator:
    def mutate(seed: Seed, rng: random.Random) -> bytes:
        doc = json.loads(seed.raw)
        change(doc, rng)
        return json.dumps(doc, allow_nan=True).encode()

    return mutate


def _feature(doc: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    feature: dict[str, Any] = rng.choice(doc["features"])
    return feature


def _set_geometry(geometry: dict[str, Any] | None) -> Callable[[dict[str, Any], random.Random], None]:
    def change(doc: dict[str, Any], rng: random.Random) -> None:
        _feature(doc, rng)["geometry"] = geometry

    return change


def _shift(dx: float, dy: float) -> Callable[[dict[str, Any], random.Random], None]:
    def change(doc: dict[str, Any], rng: random.Random) -> None:
        geometry = _feature(doc, rng)["geometry"]
        geometry["coordinates"] = json.loads(
            json.dumps(geometry["coordinates"]),
            parse_float=lambda v: float(v),
        )

        def move(node: Any) -> Any:
            if isinstance(node[0], float | int):
                return [node[0] + dx, node[1] + dy]
            return [move(n) for n in node]

        geometry["coordinates"] = move(geometry["coordinates"])

    return change


def _swap_coordinates(doc: dict[str, Any], rng: random.Random) -> None:
    geometry = _feature(doc, rng)["geometry"]

    def swap(node: Any) -> Any:
        return [node[1], node[0]] if isinstance(node[0], float | int) else [swap(n) for n in node]

    geometry["coordinates"] = swap(geometry["coordinates"])


def _property(key: str, value: object) -> Callable[[dict[str, Any], random.Random], None]:
    def change(doc: dict[str, Any], rng: random.Random) -> None:
        _feature(doc, rng)["properties"][key] = value

    return change


def _duplicate_code(doc: dict[str, Any], rng: random.Random) -> None:
    a, b = rng.sample(doc["features"], 2)
    b["properties"]["CODE_QP"] = a["properties"]["CODE_QP"]


def _drop_property(doc: dict[str, Any], rng: random.Random) -> None:
    for feature in doc["features"]:
        feature["properties"].pop("CODE_QP", None)


def _no_features(doc: dict[str, Any], rng: random.Random) -> None:
    doc["features"] = []


_BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[-1.68, 48.11], [-1.66, 48.13], [-1.66, 48.11], [-1.68, 48.13], [-1.68, 48.11]]],
}
_SPIKE = {
    "type": "Polygon",
    "coordinates": [[[-1.68, 48.11], [-1.66, 48.11], [-1.67, 48.12], [-1.66, 48.11], [-1.68, 48.11]]],
}
_HOLE_OUTSIDE = {
    "type": "Polygon",
    "coordinates": [
        [[-1.68, 48.11], [-1.66, 48.11], [-1.66, 48.13], [-1.68, 48.13], [-1.68, 48.11]],
        [[-1.60, 48.00], [-1.59, 48.00], [-1.59, 48.01], [-1.60, 48.00]],
    ],
}
_OVERLAPPING_PARTS = {
    "type": "MultiPolygon",
    "coordinates": [
        [[[-1.68, 48.11], [-1.66, 48.11], [-1.66, 48.13], [-1.68, 48.13], [-1.68, 48.11]]],
        [[[-1.67, 48.12], [-1.65, 48.12], [-1.65, 48.14], [-1.67, 48.14], [-1.67, 48.12]]],
    ],
}

GEOJSON_MUTATORS: dict[str, Mutator] = {
    **BYTE_MUTATORS,
    "polygone croisé (nœud papillon)": _geojson(_set_geometry(_BOWTIE)),
    "polygone à pointe": _geojson(_set_geometry(_SPIKE)),
    "trou hors du polygone": _geojson(_set_geometry(_HOLE_OUTSIDE)),
    "parties superposées": _geojson(_set_geometry(_OVERLAPPING_PARTS)),
    "anneau de deux points": _geojson(
        _set_geometry({"type": "Polygon", "coordinates": [[[-1.68, 48.11], [-1.66, 48.11], [-1.68, 48.11]]]})
    ),
    "anneau ouvert": _geojson(
        _set_geometry(
            {
                "type": "Polygon",
                "coordinates": [[[-1.68, 48.11], [-1.66, 48.11], [-1.66, 48.13], [-1.68, 48.13]]],
            }
        )
    ),
    "polygone vide": _geojson(_set_geometry({"type": "Polygon", "coordinates": []})),
    "géométrie nulle": _geojson(_set_geometry(None)),
    "point au lieu d'un polygone": _geojson(_set_geometry({"type": "Point", "coordinates": [-1.67, 48.12]})),
    "ligne au lieu d'un polygone": _geojson(
        _set_geometry({"type": "LineString", "coordinates": [[-1.68, 48.11], [-1.66, 48.13]]})
    ),
    "coordonnée NaN": _geojson(
        _set_geometry(
            {
                "type": "Polygon",
                "coordinates": [[[-1.68, 48.11], [float("nan"), 48.11], [-1.66, 48.13], [-1.68, 48.11]]],
            }
        )
    ),
    "coordonnées énormes": _geojson(_shift(1e300, 0.0)),
    "hors de France (latitude − 100)": _geojson(_shift(0.0, -100.0)),
    "hors de France (Atlantique)": _geojson(_shift(-20.0, 0.0)),
    "longitude et latitude inversées": _geojson(_swap_coordinates),
    "code QPV en double": _geojson(_duplicate_code),
    "code QPV absent": _geojson(_drop_property),
    "code QPV invalide": _geojson(_property("CODE_QP", "12")),
    "population négative": _geojson(_property("pop", "-5 000")),
    "population infinie": _geojson(_property("pop", "inf")),
    "population énorme": _geojson(_property("pop", 1e308)),
    "aucune entité": _geojson(_no_features),
    "nom d'un mégaoctet": _geojson(_property("NOM_QP", MEGABYTE_FIELD)),
}


def _osm_text(change: Callable[[str, random.Random], str]) -> Mutator:
    def mutate(seed: Seed, rng: random.Random) -> bytes:
        return change(seed.raw.decode("utf-8"), rng).encode("utf-8")

    return mutate


def _node_attribute(attribute: str, value: str) -> Callable[[str, random.Random], str]:
    def change(text: str, rng: random.Random) -> str:
        needle = f' {attribute}="'
        starts = [i for i in range(0, len(text), 997) if text.find(needle, i) >= 0][:200]
        start = text.find(needle, rng.choice(starts))
        end = text.find('"', start + len(needle))
        return text[: start + len(needle)] + value + text[end:]

    return change


def _long_tag(text: str, rng: random.Random) -> str:
    start = text.find('<tag k="highway" v="', rng.randrange(len(text) // 2))
    start = start if start >= 0 else text.find('<tag k="highway" v="')
    head = start + len('<tag k="highway" v="')
    return text[:head] + "x" * rng.choice([300, 1024, 100_000]) + text[text.find('"', head) :]


def _osm_xml_truncated_element(text: str, rng: random.Random) -> str:
    return text[: rng.randrange(len(text) // 10, len(text))]


OSM_XML_MUTATORS: dict[str, Mutator] = {
    **BYTE_MUTATORS,
    "XML tronqué": _osm_text(_osm_xml_truncated_element),
    "latitude 91,5": _osm_text(_node_attribute("lat", "91.5")),
    "latitude −5000": _osm_text(_node_attribute("lat", "-5000")),
    "longitude non numérique": _osm_text(_node_attribute("lon", "abc")),
    "longitude 1e308": _osm_text(_node_attribute("lon", "1e308")),
    "latitude NaN": _osm_text(_node_attribute("lat", "nan")),
    "hors de France (latitude 0)": _osm_text(_node_attribute("lat", "0.0")),
    "identifiant non numérique": _osm_text(_node_attribute("id", "n12")),
    "valeur de tag trop longue": _osm_text(_long_tag),
    "autre encodage": _encoding,
}

_MUTATORS_BY_KIND: dict[str, dict[str, Mutator]] = {
    "table": TABLE_MUTATORS,
    "xlsx": XLSX_MUTATORS,
    "geojson": GEOJSON_MUTATORS,
    "osm_xml": OSM_XML_MUTATORS,
    "osm_pbf": BYTE_MUTATORS,
}


def mutants(
    source: str, seed: Seed, *, count: int, rng_seed: int = 0, shuffle: bool = False
) -> Iterator[Mutant]:
    """``count`` seeded mutants: each mutator once (in a seeded order with ``shuffle``), then random ones."""
    rng = random.Random(f"{source}:{rng_seed}")
    mutators = _MUTATORS_BY_KIND[seed.kind]
    names = list(mutators)
    if shuffle:
        rng.shuffle(names)
    for k in range(count):
        name = names[k] if k < len(names) else rng.choice(names)
        yield Mutant(source, name, mutators[name](seed, rng), seed.suffix)


# --- running ----------------------------------------------------------------------------------------


def run_mutant(source: SourceType, mutant: Mutant, workdir: Path) -> Outcome:
    """Write ``mutant`` under ``workdir``, load it, and classify what the loader did."""
    path = workdir / f"{mutant.source}{mutant.suffix}"
    if path.is_dir():
        path.rmdir()
    path.unlink(missing_ok=True)
    if mutant.content is None:
        path.mkdir()
    else:
        path.write_bytes(mutant.content)
    try:
        result = source.load(path)
    except DataFileError as exc:
        return Outcome(mutant, OUTCOMES[0] if exc.located else OUTCOMES[1], str(exc)[:300])
    except Exception as exc:  # the harness exists to find these
        lines = traceback.format_exception(exc)
        return Outcome(mutant, OUTCOMES[2], f"{type(exc).__name__}: {exc}"[:300] + "\n" + "".join(lines[-3:]))
    problems = source.impossible(result)
    if problems:
        return Outcome(mutant, OUTCOMES[4], "; ".join(problems))
    return Outcome(mutant, OUTCOMES[3], "")


def campaign(data: Path, workdir: Path, *, per_source: int, rng_seed: int = 0) -> list[Outcome]:
    """Every source type's ``per_source`` mutants, loaded and classified."""
    results = []
    for name, source in SOURCE_TYPES.items():
        seed = source.seed(data)
        for mutant in mutants(name, seed, count=per_source, rng_seed=rng_seed):
            results.append(run_mutant(source, mutant, workdir))
    return results
