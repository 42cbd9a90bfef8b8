"""CSV import and export of each register, with French errors per file, line and column.

An import validates every row before writing any, then writes them in one transaction: a file with
errors imports nothing and the error lists them all (line 1 is the header); an interrupted import
leaves nothing either. Exported text cells that a spreadsheet would run as formulas are neutralised.
Separators ``;`` and ``,`` are both read; booleans accept oui/non, vrai/faux, 1/0; dates are ISO
(2026-09-01) or French (01/09/2026).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from accesoins.errors import AccesoinsError, DataFileError, UnknownChoiceError
from accesoins.registers._schemas import (
    DirectoryCreate,
    PremisesCreate,
    ProjectCreate,
    RequestCreate,
    french_error,
)
from accesoins.registers._security import Actor
from accesoins.registers._service import Registers

REGISTERS: dict[str, type[BaseModel]] = {
    "demandes": RequestCreate,
    "locaux": PremisesCreate,
    "projets": ProjectCreate,
    "annuaire": DirectoryCreate,
}
_NESTED = {"partners", "documents"}
_TRUE = {"oui", "o", "vrai", "1", "true", "x", "yes"}
_FALSE = {"non", "n", "faux", "0", "false", "no"}
_FR_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
MAX_ERRORS_SHOWN = 50


class RegisterImportError(AccesoinsError, ValueError):
    """A CSV file with invalid rows: nothing was imported; ``errors`` lists every problem."""

    def __init__(self, path: str | Path, errors: list[DataFileError]) -> None:
        self.errors = errors
        shown = "\n".join(f"  - {e}" for e in errors[:MAX_ERRORS_SHOWN])
        more = f"\n  … et {len(errors) - MAX_ERRORS_SHOWN} autre(s)" if len(errors) > MAX_ERRORS_SHOWN else ""
        super().__init__(f"{len(errors)} erreur(s) dans {path}, rien n'a été importé :\n{shown}{more}")


def _columns(model: type[BaseModel]) -> list[str]:
    return [name for name in model.model_fields if name not in _NESTED]


def _model(name: str) -> type[BaseModel]:
    if name not in REGISTERS:
        raise UnknownChoiceError("registre", name, REGISTERS)
    return REGISTERS[name]


def _cell(model: type[BaseModel], column: str, raw: str) -> Any:
    annotation = str(model.model_fields[column].annotation)
    text = raw.strip()
    if "bool" in annotation:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        return text
    if "date" in annotation:
        match = _FR_DATE.match(text)
        if match:
            day, month, year = (int(g) for g in match.groups())
            try:
                return dt.date(year, month, day).isoformat()
            except ValueError:
                return text
    if ("float" in annotation or "int" in annotation) and "," in text:
        return text.replace("\u202f", "").replace(" ", "").replace(",", ".")
    return text


def _records(path: Path, text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Rows of a CSV text with the line each starts on; a stray quote is a French error with its line.

    A quote opened and never closed (or closed further down) would swallow the following rows into one
    value: refused when a value spans lines of which one looks like a row of the file.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    line = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise RegisterImportError(
                path,
                [
                    DataFileError(
                        f'guillemet mal placé ({exc}) : fermez-le ou doublez-le ("") dans la valeur',
                        path=path,
                        line=line + 1,
                    )
                ],
            ) from None
        start, line = line + 1, reader.line_num
        yield start, record


def _swallowed_rows(record: list[str], delimiter: str, n_columns: int) -> bool:
    """True when a value holds a line that looks like a row of the file (a stray quote merged rows)."""
    return any(
        part.count(delimiter) >= n_columns - 1
        for value in record
        if "\n" in value
        for part in value.splitlines()
    )


def read_register_csv(name: str, path: str | Path) -> list[BaseModel]:
    """Validated rows of a register's CSV file; :class:`RegisterImportError` lists every bad cell."""
    model = _model(name)
    path = Path(path)
    if path.is_dir():
        raise DataFileError("c'est un dossier : donnez un fichier CSV", path=path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:  # CR inside a quoted value is kept
            text = f.read()
    except FileNotFoundError as exc:
        raise DataFileError("fichier introuvable", path=path) from exc
    except UnicodeDecodeError as exc:
        raise DataFileError("encodage non reconnu : enregistrez le fichier en UTF-8", path=path) from exc
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") >= first.count(",") and ";" in first else ","
    records = _records(path, text, delimiter)
    header = [h.strip() for h in next(records, (1, []))[1]]
    expected = _columns(model)
    errors: list[DataFileError] = []
    for column in header:
        if column not in expected and column != "id":
            errors.append(
                DataFileError(
                    f"colonne inconnue ; colonnes possibles : {', '.join(expected)}",
                    path=path,
                    line=1,
                    column=column,
                )
            )
    required = [n for n in expected if model.model_fields[n].is_required()]
    for column in required:
        if column not in header:
            errors.append(DataFileError("colonne obligatoire absente", path=path, line=1, column=column))
    if not header:
        errors.append(
            DataFileError(f"fichier vide : en-tête attendu ({', '.join(expected)})", path=path, line=1)
        )
    if errors:
        raise RegisterImportError(path, errors)
    rows: list[BaseModel] = []
    for line, record in records:
        if not record or record == [""]:
            continue
        if len(record) != len(header):
            errors.append(
                DataFileError(
                    f"{len(record)} valeur(s) pour {len(header)} colonnes (séparateur « {delimiter} »)",
                    path=path,
                    line=line,
                )
            )
            continue
        if _swallowed_rows(record, delimiter, len(header)):
            errors.append(
                DataFileError(
                    "guillemet isolé : les lignes suivantes sont tombées dans une seule valeur ; "
                    'fermez-le ou doublez-le ("") dans la valeur',
                    path=path,
                    line=line,
                )
            )
            continue
        data = {
            column: _cell(model, column, _unquote_formula(value))
            for column, value in zip(header, record, strict=True)
            if column in expected and value.strip() != ""
        }
        try:
            rows.append(model.model_validate(data))
        except ValidationError as exc:
            for err in exc.errors():
                where = str(err["loc"][0]) if err["loc"] else None
                errors.append(DataFileError(french_error(err), path=path, line=line, column=where))
    if errors:
        raise RegisterImportError(path, errors)
    return rows


def import_csv(
    registers: Registers,
    name: str,
    path: str | Path,
    *,
    actor: Actor,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Add every row of a register's CSV file in one transaction; return the number of rows added.

    All or nothing: an error, Ctrl-C or a killed process leaves the registers as they were.
    ``progress(done, total)`` is called after each row (the CLI draws a bar with it).
    """
    rows = read_register_csv(name, path)
    create: dict[str, Callable[[Actor, Any], object]] = {
        "demandes": registers.create_request,
        "locaux": registers.create_premises,
        "projets": registers.create_project,
        "annuaire": registers.create_directory_entry,
    }
    with registers.transaction():
        for done, row in enumerate(rows, start=1):
            create[name](actor, row)
            if progress is not None:
                progress(done, len(rows))
    return len(rows)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe (shown as text).

    Examples
    --------
    >>> print(neutralise_formula('=HYPERLINK("http://x")'), neutralise_formula("Dr A"))
    '=HYPERLINK("http://x") Dr A
    """
    return "'" + text if text.startswith(_FORMULA_START) else text


def _unquote_formula(text: str) -> str:
    """Inverse of :func:`neutralise_formula` on import (an exported file imports back unchanged)."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_START) else text


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)  # a negative number is data, not a formula
    return neutralise_formula(str(value))


def export_csv(registers: Registers, name: str, path: str | Path, *, actor: Actor) -> int:
    """Write a register as CSV (``;``-separated, UTF-8 with BOM for spreadsheets); return the row count."""
    model = _model(name)
    rows: list[Any]
    if name == "demandes":
        rows = list(registers.requests(actor))
    elif name == "locaux":
        rows = list(registers.premises_list(actor))
    elif name == "projets":
        rows = registers.projects(actor)
    else:
        rows = list(registers.directory())
    columns = ["id", *_columns(model)]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, delimiter=";")
        writer.writerow(columns)
        for row in rows:
            get = row.get if isinstance(row, dict) else lambda c, r=row: getattr(r, c, None)
            writer.writerow([_plain(get(c)) for c in columns])
    if name != "annuaire":  # the directory holds no personal data
        with registers.session() as session:
            ids = [row["id"] if isinstance(row, dict) else row.id for row in rows]
            registers.audit(session, actor, "export", name, ids, f"export CSV vers {path.name}")
    return len(rows)
