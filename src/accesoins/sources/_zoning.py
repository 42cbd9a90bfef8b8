"""The ARS zoning of a profession, as CartoSanté exports it.

Installation aid depends on the *official* zoning set by each ARS, not on an
APL threshold: the doctors' zoning has « zones d'intervention prioritaire »
(ZIP) and « zones d'action complémentaire » (ZAC); the nurses', physiotherapists',
midwives' and dentists' conventional zonings have five classes from « très
sous-dotée » to « sur-dotée ». CartoSanté exports them per commune::

    CartoSanté; ;
    Référentiel géographique : France par commune et arrondissement mun.; ;
    Code;Libellé;Zonage infirmiers
    01001;L'Abergement-Clémenciat;4_Tres_dotee
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd

from accesoins.errors import DataFileError
from accesoins.sources._table import Column, read_table
from accesoins.sources._validate import unique_rows

__all__ = ["ZoningClass", "find_zonings", "is_ars_zoning", "parse_zoning_class", "read_ars_zoning"]


class ZoningClass(StrEnum):
    """Classes of the ARS zonings (doctors: ZIP/ZAC; other professions: five classes)."""

    TRES_SOUS_DOTEE = "tres_sous_dotee"
    SOUS_DOTEE = "sous_dotee"
    INTERMEDIAIRE = "intermediaire"
    TRES_DOTEE = "tres_dotee"
    SUR_DOTEE = "sur_dotee"
    ZIP = "zip"
    ZAC = "zac"
    HORS_ZONAGE = "hors_zonage"
    NON_DISPONIBLE = "non_disponible"


_PROFESSIONS = {
    "infirmier": "infirmier",
    "medecin": "generaliste",
    "generaliste": "generaliste",
    "kinesitherapeute": "kinesitherapeute",
    "masseur": "kinesitherapeute",
    "sage": "sage_femme",
    "dentiste": "dentiste",
    "orthophoniste": "orthophoniste",
}


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def parse_zoning_class(value: str) -> ZoningClass | None:
    """The class of an export cell (« 2_Sous_dotee », « ZIP », « N/A - résultat non disponible »…)."""
    text = re.sub(r"^\d_", "", _ascii(value).strip()).replace("-", "_").replace(" ", "_")
    if text.startswith("n/a") or text == "":
        return ZoningClass.NON_DISPONIBLE
    aliases = {"hors_zone": ZoningClass.HORS_ZONAGE, "zv": ZoningClass.HORS_ZONAGE}
    try:
        return ZoningClass(text)
    except ValueError:
        return aliases.get(text)


def is_ars_zoning(path: str | Path) -> bool:
    """Whether ``path`` is a CartoSanté zoning export (banner, then ``Code;Libellé;Zonage …``)."""
    try:
        with Path(path).open(encoding="utf-8-sig", errors="replace") as fh:
            head = [fh.readline() for _ in range(3)]
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise DataFileError(
            "fichier introuvable ou dossier donné à la place d'un fichier", path=path
        ) from exc
    fields = head[2].split(";")
    return head[0].startswith("CartoSanté") and len(fields) > 2 and _ascii(fields[2]).startswith("zonage")


def find_zonings(data_dir: Path) -> list[Path]:
    """The ARS zoning exports of a data folder (``.csv`` files recognised by their first lines)."""
    return [p for p in sorted(data_dir.rglob("*.csv")) if p.is_file() and is_ars_zoning(p)]


def read_ars_zoning(path: str | Path) -> pd.DataFrame:
    """Commune zoning: ``commune_code``, ``name``, ``profession``, ``zone`` (:class:`ZoningClass`),
    ``source``.

    The profession comes from the column title (« Zonage infirmiers », « Zonage médecins »…);
    ``source`` says in French who set it and where it comes from (the export carries no date).
    """
    path = Path(path)
    if not is_ars_zoning(path):
        raise DataFileError(
            "ce n'est pas un export de zonage CartoSanté : attendu deux lignes de bandeau (« CartoSanté… »), "
            "puis l'en-tête Code;Libellé;Zonage <profession>",
            path=path,
            line=1,
        )
    frame = read_table(
        path,
        [Column("Code", "code", r"\d[0-9AB]\d{3}", nullable=False), Column("Libellé")],
        sep=";",
        encoding="utf-8-sig",
        skip_lines=2,
    )
    zoning_columns = [c for c in frame.columns if _ascii(c).startswith("zonage")]
    if len(zoning_columns) != 1:
        raise DataFileError(
            "une colonne « Zonage <profession> » attendue après Code;Libellé", path=path, line=3
        )
    column = zoning_columns[0]
    profession = next((p for key, p in _PROFESSIONS.items() if key in _ascii(column)), None)
    if profession is None:
        raise DataFileError(
            f"profession du zonage non reconnue : « {column} »", path=path, line=3, column=column
        )
    classes = frame[column].map(parse_zoning_class)
    unknown = classes.isna()
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise DataFileError(
            f"classe de zonage inconnue « {frame[column].iloc[i]} »", path=path, line=4 + i, column=column
        )
    unique_rows(frame, ["Code"], path=path, lines=4, what="commune")
    return pd.DataFrame(
        {
            "commune_code": frame["Code"].to_numpy(),
            "name": frame["Libellé"].to_numpy(),
            "profession": profession,
            "zone": classes.to_numpy(),
            "source": f"zonage de l'ARS ({column.lower()}), export CartoSanté par commune — {path.name}",
        }
    )
