"""Local indicator tables: deprivation, health status, ages — any numeric column per zone code.

A city crosses access with need: Filosofi poverty by IRIS, people living alone,
the share of the population in ALD by bassin de vie (CartoSanté), INSEE local
statistics. Every such table is a code column plus numeric columns. Known tables
are recognised by their header (``parameters/indicator_tables.yaml``); a user's
own table comes with a YAML description beside it (``<fichier>.yaml``) giving the
level, the code column and, per column, a label, a unit, a year, a source and
whether it counts people (then it passes the disclosure gate).

Empty cells and « N/A - secret statistique » are INSEE/CartoSanté suppressions:
kept as missing values, never as zeros.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from accesoins.errors import DataFileError
from accesoins.sources._table import parse_numbers, read_table
from accesoins.sources._validate import unique_rows

__all__ = ["INDICATOR_LEVELS", "IndicatorTable", "check_indicator_codes", "read_indicator_table"]

INDICATOR_LEVELS = ("iris", "commune", "qpv", "carreau", "bassin_vie", "departement")

_CODE_PATTERNS = {
    "iris": r"\d[0-9AB]\d{3}[0-9A-Z]\d{3}",
    "commune": r"\d[0-9AB]\d{3}",
    "bassin_vie": r"\d[0-9AB]\d{3}|\d{3}ZZ",
    "departement": r"\d[0-9AB]|\d{3}",
    "qpv": r"Q[PN]\d{3}\d{3}[A-Z]?",
    "carreau": r"CRS3035RES200mN\d+E\d+",
}
_SUPPRESSED = ("", "N/A - secret statistique", "N/A - résultat non disponible", "s", "nd", "NA")
_YEAR = re.compile(r"\s*((?:19|20)\d{2})\s*$")


@dataclass(frozen=True)
class IndicatorTable:
    """Values of one imported table and the description of each indicator.

    ``meta``: one row per indicator (``indicator_id``, ``label``, ``unit``, ``year``,
    ``source``, ``people``, ``share``); ``values``: ``unit_id`` (the zone code), one
    column per indicator (float, NaN where suppressed); ``names``: zone names when
    the file gives them.
    """

    level: str
    meta: pd.DataFrame
    values: pd.DataFrame
    names: pd.Series
    path: Path


@cache
def _presets() -> dict[str, Any]:
    text = resources.files("accesoins.parameters").joinpath("indicator_tables.yaml").read_text("utf-8")
    presets: dict[str, Any] = yaml.safe_load(text)
    return presets


def _lines(path: Path, count: int) -> list[str]:
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as fh:
            return [fh.readline().rstrip("\r\n") for _ in range(count)]
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise DataFileError(
            "fichier introuvable ou dossier donné à la place d'un fichier", path=path
        ) from exc


def read_indicator_table(path: str | Path, description: str | Path | None = None) -> IndicatorTable:
    """Read a table of local indicators, recognised by its header or described by a YAML file.

    ``description`` defaults to ``<path>.yaml`` when it exists (a user's own table).
    """
    path = Path(path)
    head = _lines(path, 3)
    described = Path(description) if description else path.with_name(path.name + ".yaml")
    if described.is_file():
        return _read_described(path, described)
    presets = _presets()
    export = presets["cartosante_export"]
    if any(head[0].startswith(b) for b in export["banner_starts_with"]):
        return _read_export(path, head, export)
    for name, preset in presets.items():
        if "header_starts_with" in preset and head[0].replace('"', "").startswith(
            preset["header_starts_with"]
        ):
            return _read_known(path, preset, name)
    raise DataFileError(
        "table d'indicateurs non reconnue : ni Filosofi IRIS, ni export CartoSanté / INSEE Statistiques "
        f"locales, ni description YAML ({described.name}) à côté du fichier. En-tête lu : {head[0][:120]}",
        path=path,
        line=1,
    )


def _read_known(path: Path, preset: dict[str, Any], name: str) -> IndicatorTable:
    columns = preset["columns"]
    frame = read_table(path, [], sep=preset["separator"])
    return _build(
        path,
        frame,
        level=preset["level"],
        code_column=preset["code_column"],
        name_column=None,
        specs=[
            {**spec, "column": col, "year": spec.get("year", preset["year"]), "source": preset["source"]}
            for col, spec in columns.items()
        ],
        first_line=2,
    )


def _read_export(path: Path, head: list[str], export: dict[str, Any]) -> IndicatorTable:
    banner = head[1].lower()
    level = next((lvl for key, lvl in export["levels"].items() if f"france par {key}" in banner), None)
    if level is None:
        raise DataFileError(
            f"référentiel géographique non reconnu dans l'en-tête « {head[1].split(';')[0]} »",
            path=path,
            line=2,
        )
    frame = read_table(path, [], sep=export["separator"], encoding="utf-8-sig", skip_lines=2)
    source = head[0].split(";")[0].strip()
    specs = []
    for col in frame.columns:
        if col in (export["code_column"], export["name_column"]):
            continue
        match = _YEAR.search(col)
        title = col[: match.start()].strip() if match else col.strip()
        known = export["columns"].get(title, {})
        specs.append(
            {
                "column": col,
                "id": known.get("id", _slug(title)),
                "label": known.get("label", title),
                "unit": known.get("unit", ""),
                "people": known.get("people", False),
                "share": known.get("share", False),
                "year": int(match.group(1)) if match else None,
                "source": f"{source} (export, {head[1].split(';')[0].strip()})",
            }
        )
    return _build(
        path,
        frame,
        level=level,
        code_column=export["code_column"],
        name_column=export["name_column"],
        specs=specs,
        first_line=4,
    )


def _read_described(path: Path, described: Path) -> IndicatorTable:
    try:
        spec = yaml.safe_load(described.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DataFileError(f"description illisible : {exc}", path=described) from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("columns"), dict):
        raise DataFileError("la description doit donner « niveau », « code » et « colonnes »", path=described)
    missing = [k for k in ("level", "code_column", "source", "year") if k not in spec]
    if missing:
        raise DataFileError(f"champ(s) manquant(s) : {', '.join(missing)}", path=described, column=missing[0])
    sep = str(spec.get("separator", ";"))
    frame = read_table(path, [], sep=sep, encoding="utf-8-sig", skip_lines=int(spec.get("skip_lines", 0)))
    return _build(
        path,
        frame,
        level=str(spec["level"]),
        code_column=str(spec["code_column"]),
        name_column=spec.get("name_column"),
        specs=[
            {
                "column": col,
                "id": c.get("id", _slug(col)),
                "label": c.get("label", col),
                "unit": c.get("unit", ""),
                "people": bool(c.get("people", False)),
                "share": bool(c.get("share", False)),
                "year": c.get("year", spec["year"]),
                "source": c.get("source", spec["source"]),
            }
            for col, c in spec["columns"].items()
        ],
        first_line=int(spec.get("skip_lines", 0)) + 2,
    )


def _build(
    path: Path,
    frame: pd.DataFrame,
    *,
    level: str,
    code_column: str,
    name_column: str | None,
    specs: list[dict[str, Any]],
    first_line: int,
) -> IndicatorTable:
    if level not in INDICATOR_LEVELS:
        raise DataFileError(
            f"niveau « {level} » inconnu (niveaux possibles : {', '.join(INDICATOR_LEVELS)})", path=path
        )
    if code_column not in frame.columns:
        raise DataFileError(f"colonne de code « {code_column} » absente", path=path, line=first_line - 1)
    codes = frame[code_column].astype(str).str.strip()
    bad = ~codes.str.fullmatch(_CODE_PATTERNS[level])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFileError(
            f"code « {codes.iloc[i]} » invalide pour le niveau {level}",
            path=path,
            line=first_line + i,
            column=code_column,
        )
    unique_rows(
        pd.DataFrame({"unit_id": codes}), ["unit_id"], path=path, lines=first_line, what="code",
        column=code_column,
    )  # fmt: skip
    values = pd.DataFrame({"unit_id": codes.to_numpy()})
    meta_rows = []
    for spec in specs:
        column = spec["column"]
        if column not in frame.columns:
            raise DataFileError(
                f"colonne « {column} » absente", path=path, line=first_line - 1, column=column
            )
        text = frame[column].astype(str).str.strip()
        numbers = parse_numbers(
            text.mask(text.isin(_SUPPRESSED), ""),
            path=path,
            column=column,
            first_line=first_line,
            allow_empty=True,
        )
        _check_range(numbers, spec, path, column, first_line)
        values[spec["id"]] = numbers.to_numpy()
        meta_rows.append(
            {
                "indicator_id": spec["id"],
                "label": spec["label"],
                "unit": spec["unit"],
                "year": spec["year"],
                "source": spec["source"],
                "people": bool(spec.get("people", False)),
                "share": bool(spec.get("share", False)),
                "column": column,
            }
        )
    meta = pd.DataFrame(meta_rows)
    if meta.empty:
        raise DataFileError("aucune colonne d'indicateur dans la table", path=path, line=first_line - 1)
    if meta["indicator_id"].duplicated().any():
        dup = meta.loc[meta["indicator_id"].duplicated(), "column"].iloc[0]
        raise DataFileError("deux colonnes donnent le même indicateur", path=path, column=str(dup))
    names = (
        pd.Series(frame[name_column].to_numpy(), index=codes.to_numpy())
        if name_column and name_column in frame.columns
        else pd.Series(dtype=str)
    )
    return IndicatorTable(level=level, meta=meta, values=values, names=names, path=path)


def _check_range(numbers: pd.Series, spec: dict[str, Any], path: Path, column: str, first_line: int) -> None:
    """Finite values; counts of people non-negative; shares between 0 and 100."""
    present = numbers.notna()
    bad = present & ~np.isfinite(numbers.to_numpy(dtype=float, na_value=0.0))
    what = "valeur infinie"
    if not bad.any() and spec.get("people"):
        bad = present & (numbers < 0)
        what = "effectif négatif"
    if not bad.any() and spec.get("share"):
        bad = present & ~numbers.between(0, 100)
        what = "part hors de 0 à 100 %"
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFileError(f"{what} « {numbers.iloc[i]} »", path=path, line=first_line + i, column=column)


def _slug(title: str) -> str:
    """A stable identifier for a column title of an export (lower case, ASCII, underscores)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_title.lower()).strip("_")[:60]


def check_indicator_codes(table: IndicatorTable, known: set[str] | pd.Index) -> IndicatorTable:
    """The rows of ``table`` whose code is in ``known``; a French error listing codes that are not.

    Codes of other territories are normal in a national or départemental table, so
    only a table with *no* known code, or codes of the territory's own prefix that
    do not exist, is refused.
    """
    known_set = set(known)
    inside = table.values["unit_id"].isin(known_set)
    if not inside.any():
        sample = ", ".join(table.values["unit_id"].head(5))
        raise DataFileError(
            f"aucun code du niveau {table.level} de la table ne correspond au territoire (ex. {sample})",
            path=table.path,
        )
    prefixes = {code[:5] for code in known_set} if table.level == "iris" else set()
    unknown = table.values.loc[~inside, "unit_id"]
    unknown = unknown[unknown.str[:5].isin(prefixes)] if prefixes else unknown.iloc[0:0]
    if len(unknown):
        listed = ", ".join(unknown.head(10)) + (" …" if len(unknown) > 10 else "")
        raise DataFileError(
            f"{len(unknown)} code(s) IRIS inconnu(s) dans les communes du territoire : {listed}",
            path=table.path,
            column="code",
        )
    values = table.values[inside].reset_index(drop=True)
    return IndicatorTable(table.level, table.meta, values, table.names, table.path)


def is_indicator_table(path: str | Path) -> bool:
    """Whether :func:`read_indicator_table` reads ``path`` (known header, export, or a YAML beside).

    An ARS zoning export has the CartoSanté banner too but a « Zonage … » column: not an indicator table.
    """
    path = Path(path)
    if path.with_name(path.name + ".yaml").is_file():
        return True
    head = _lines(path, 3)
    presets = _presets()
    if any(head[0].startswith(b) for b in presets["cartosante_export"]["banner_starts_with"]):
        return not any(_slug(field).startswith("zonage") for field in head[2].split(";")[2:])
    return any(
        head[0].replace('"', "").startswith(p["header_starts_with"])
        for p in presets.values()
        if "header_starts_with" in p
    )


def find_indicator_tables(data_dir: Path) -> list[Path]:
    """The local-indicator tables of a data folder (``.csv`` files recognised by their first lines)."""
    return [p for p in sorted(data_dir.rglob("*.csv")) if p.is_file() and is_indicator_table(p)]


def read_commune_bassins(path: str | Path) -> pd.DataFrame:
    """INSEE « appartenance géographique des communes » (CSV): ``commune_code`` → ``bassin_code`` (BV2022).

    The header line (``CODGEO;…;BV2022;…``) may follow banner lines, as in INSEE's
    own export; ``;`` or ``,`` separated. A bassin de vie is named by the INSEE code
    of its centre commune.
    """
    path = Path(path)
    head = _lines(path, 12)
    line_no = next((i for i, line in enumerate(head) if "CODGEO" in line.upper()), None)
    if line_no is None:
        raise DataFileError("colonne CODGEO introuvable dans les 12 premières lignes", path=path)
    sep = ";" if head[line_no].count(";") >= head[line_no].count(",") else ","
    frame = read_table(path, [], sep=sep, encoding="utf-8-sig", skip_lines=line_no)
    upper = {c.upper().strip('"'): c for c in frame.columns}
    if "BV2022" not in upper:
        raise DataFileError("colonne BV2022 (bassin de vie 2022) absente", path=path, line=line_no + 1)
    out = pd.DataFrame(
        {
            "commune_code": frame[upper["CODGEO"]].astype(str).str.strip().to_numpy(),
            "bassin_code": frame[upper["BV2022"]].astype(str).str.strip().to_numpy(),
        }
    )
    for column, level in (("commune_code", "commune"), ("bassin_code", "bassin_vie")):
        bad = ~out[column].str.fullmatch(_CODE_PATTERNS[level])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataFileError(
                f"code « {out[column].iloc[i]} » invalide",
                path=path,
                line=line_no + 2 + i,
                column="CODGEO" if column == "commune_code" else "BV2022",
            )
    unique_rows(out, ["commune_code"], path=path, lines=line_no + 2, what="commune", column="CODGEO")
    return out


def is_commune_bassins(path: str | Path) -> bool:
    """Whether ``path`` looks like INSEE's commune → bassin de vie table (CODGEO and BV2022 in its header)."""
    return any("CODGEO" in line.upper() and "BV2022" in line.upper() for line in _lines(Path(path), 12))
