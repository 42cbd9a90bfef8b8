"""Build the embedded demo territory (src/accesoins/demo/data) from the real files of ../shared/data.

Bordeaux Métropole (EPCI 243300316, 28 communes): the RPPS 2017 and FINESS 2017 rows of its communes,
the Filosofi 200 m grid window of central Bordeaux (whole file), the DREES APL rows of its communes.
Lines of the CSV files are copied byte for byte; the DREES workbook keeps its layout (header on row 9,
units row) with only the rows of the 28 communes. Run: python scripts/demo_extract.py [DATA_DIR]
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
from pathlib import Path

import openpyxl
import shapely

from accesoins.sources import read_communes

EPCI = "243300316"
OUT = Path(__file__).resolve().parents[1] / "src" / "accesoins" / "demo" / "data"
RPPS = "health_professionals/rpps_2017_gironde33_generalistes_neurologues.csv"
FINESS = "health_professionals/finess_2017-01_gironde33_etablissements_geoloc_wgs84.csv"
GRID = "population_grid/filosofi2021_200m_bordeaux_centre_8x8km_epsg3035.csv"
DREES = "apl_drees/apl_medecins_generalistes_2022_2023_drees.xlsx"


def _filter_lines(src: Path, dst: Path, keep: object) -> int:
    """Copy the header and the lines whose parsed row ``keep(row)`` accepts, byte for byte."""
    lines = src.read_bytes().decode("utf-8").splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    rows = (dict(zip(header, next(csv.reader(io.StringIO(line))), strict=False)) for line in lines[1:])
    kept = [line for line, row in zip(lines[1:], rows, strict=True) if keep(row)]  # type: ignore[operator]
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes((lines[0] + "".join(kept)).encode("utf-8"))
    return len(kept)


def main(data: Path) -> None:
    communes = read_communes()
    metro = communes[communes["epci_code"] == EPCI]
    codes = set(metro["commune_code"])
    area = shapely.union_all(metro.geometry.to_numpy())
    rpps_rows: list[dict[str, str]] = []

    def rpps(row: dict[str, str]) -> bool:
        if row["Commune"] in codes:
            rpps_rows.append(row)
            return True
        return False

    n_rpps = _filter_lines(data / RPPS, OUT / RPPS, rpps)
    linked = {r["FINESS"] for r in rpps_rows if r["FINESS"]}

    def finess(row: dict[str, str]) -> bool:
        point = shapely.Point(float(row["long"]), float(row["lat"]))
        return row["code"] in linked or bool(area.contains(point))

    n_finess = _filter_lines(data / FINESS, OUT / FINESS, finess)
    (OUT / GRID).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(data / GRID, OUT / GRID)
    source = openpyxl.load_workbook(data / DREES, read_only=True)
    book = openpyxl.Workbook()
    book.remove(book.active)
    n_drees = 0
    for sheet in source.worksheets:  # same sheets, same layout; APL sheets keep the 28 communes' rows
        copy = book.create_sheet(sheet.title)
        for i, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            apl_row = sheet.title.startswith("APL") and i > 10 and row and row[0] is not None
            if apl_row and str(row[0]) not in codes:
                continue
            n_drees += bool(apl_row and sheet.title == "APL 2023")
            copy.append(list(row))
    (OUT / DREES).parent.mkdir(parents=True, exist_ok=True)
    book.save(OUT / DREES)
    print(f"{len(codes)} communes ; RPPS {n_rpps} lignes ; FINESS {n_finess} ; DREES {n_drees} communes")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data")
