"""Health professionals' practice activities from the Annuaire Santé (RPPS / ADELI).

Two formats are read into one schema (:data:`ACTIVITY_COLUMNS`), one row per
practice activity (practitioner × place of practice):

- the current ANS extraction ``PS_LibreAcces_Personne_activite_<date>.txt``
  (UTF-8, ``|``-separated, 52 named columns, every line ending with ``|``);
- the 2017 RPPS extraction of Gironde (``RPPS,Nom,Prenom,FINESS,…``), which has
  no profession code, no exercise mode and no address.

Names of practitioners are never carried into the output: identifiers only.
A line repeated exactly (the 2017 file has 25) is one activity: the copies are
removed with a French warning that counts them (a practitioner may have
several activities, so only exact copies are duplicates).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from accesoins.errors import DataFileError
from accesoins.sources._finess import COMMUNE_PATTERN, FINESS_PATTERN, ascii_upper, classify_site_names
from accesoins.sources._professions import classify_professions, load_professions, normalise_label
from accesoins.sources._table import Column, read_table
from accesoins.sources._validate import unique_rows

__all__ = ["ACTIVITY_COLUMNS", "MODES", "read_annuaire_sante", "read_rpps_2017"]

logger = logging.getLogger(__name__)

ACTIVITY_COLUMNS: tuple[str, ...] = (
    "activity_id",
    "practitioner_id",
    "profession",
    "profession_label",
    "mode",
    "finess_site",
    "site_name",
    "siret",
    "street",
    "postcode",
    "commune_code",
    "commune_name",
    "source_file",
    "source_line",
)
"""Columns of every practice-activity loader (``source_line`` 1-based, header = line 1)."""

MODES: tuple[str, ...] = ("liberal", "salarie", "centre_sante", "benevole", "inconnu")
"""Exercise modes of an activity."""

_MODE_CODES = {"L": "liberal", "S": "salarie", "B": "benevole"}  # TRE_R23 « Mode exercice »
_HEALTH_CENTRE_SECTOR = "SA05"  # TRE_R02 « Secteur d'activité » : Centre de santé

# Site names of the 2017 extraction that designate an employer, not a private practice.
_EMPLOYER_NAMES = (
    r"SANTE AU TRAVAIL|MEDECINE DU TRAVAIL|\bMSA\b|\bRSI\b|\bC ?P ?A ?M\b|CAISSE PRIMAIRE|"
    r"AGENCE REGIONALE|UNIVERSITE|PREFECTURE|\bSDIS\b|CITE ADMINISTRATIVE|CENTRE DE GESTION|"
    r"PROTECTION MATERNELLE|\bMAIRIE\b|CONSEIL (?:DEPARTEMENTAL|GENERAL|REGIONAL)"
)

_AS = "(coord. structure)"
_ANNUAIRE_COLUMNS = [
    Column("Type d'identifiant PP", "code", pattern=r"\d", nullable=False),
    Column("Identifiant PP", "code", pattern=r"[0-9A-Z]{1,30}", nullable=False),
    Column("Identification nationale PP", "code", pattern=r"\d[0-9A-Z]{1,30}", nullable=False),
    Column("Code profession", "code", pattern=r"\d{2}"),
    Column("Libellé profession"),
    Column("Code savoir-faire", "code", pattern=r"[A-Z0-9]{1,8}"),
    Column("Libellé savoir-faire"),
    Column("Code mode exercice", "code", pattern=r"[A-Z]"),
    Column("Numéro SIRET site", "code", pattern=r"\d{14}"),
    Column("Numéro FINESS site", "code", pattern=FINESS_PATTERN),
    Column("Identifiant technique de la structure"),
    Column("Raison sociale site"),
    Column("Enseigne commerciale site"),
    Column(f"Numéro Voie {_AS}"),
    Column(f"Indice répétition voie {_AS}"),
    Column(f"Code type de voie {_AS}"),
    Column(f"Libellé type de voie {_AS}"),
    Column(f"Libellé Voie {_AS}"),
    Column(f"Code postal {_AS}"),
    Column(f"Code commune {_AS}", "code", pattern=COMMUNE_PATTERN),
    Column(f"Libellé commune {_AS}"),
    Column("Code secteur d'activité", "code", pattern=r"SA\d{2}"),
    Column("Libellé secteur d'activité"),
]


def _join_words(*parts: pd.Series) -> pd.Series:
    joined = parts[0].fillna("").astype(str)
    for part in parts[1:]:
        joined = joined + " " + part.fillna("").astype(str)
    return joined.str.split().str.join(" ")


def _finish(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    labels = load_professions().set_index("profession")["label"]
    frame["profession_label"] = frame["profession"].map(labels).fillna("")
    frame["source_file"] = path.name
    frame["activity_id"] = path.name + ":" + frame["source_line"].astype(str)
    out = frame.loc[:, list(ACTIVITY_COLUMNS)].reset_index(drop=True)
    for col in ACTIVITY_COLUMNS:
        if col != "source_line":
            out[col] = out[col].fillna("").astype(str)
    out["source_line"] = out["source_line"].astype("int64")
    return out


def read_annuaire_sante(path: str | Path, *, with_place_only: bool = True) -> pd.DataFrame:
    """Practice activities of the ANS extraction ``PS_LibreAcces_Personne_activite_<date>.txt``.

    ``practitioner_id`` is « Identifiant PP » (the RPPS number, 11 digits, or the
    ADELI number, 9 characters), i.e. « Identification nationale PP » without its
    leading type digit. ``mode`` comes from « Code mode exercice » (L, S, B), and is
    ``centre_sante`` when the activity's sector is a centre de santé (SA05).
    With ``with_place_only`` (the default) only activities with a place of practice
    are kept: a commune code, a FINESS site, a SIRET or a structure identifier.
    """
    path = Path(path)
    frame = read_table(path, _ANNUAIRE_COLUMNS, sep="|", trailing_separator=True)
    frame = unique_rows(frame, list(frame.columns), path=path, lines=2, what="activité", policy="drop")
    frame["source_line"] = frame.index.to_numpy() + 2
    _check_identifiers(frame, path)
    if with_place_only:
        place = (
            frame[f"Code commune {_AS}"].ne("")
            | frame["Numéro FINESS site"].ne("")
            | frame["Numéro SIRET site"].ne("")
            | frame["Identifiant technique de la structure"].ne("")
        )
        logger.info("%s : %d activité(s) sans lieu d'exercice écartée(s)", path.name, int((~place).sum()))
        frame = frame[place]
    mode = frame["Code mode exercice"].map(_MODE_CODES).fillna("inconnu")
    health_centre = frame["Code secteur d'activité"].eq(_HEALTH_CENTRE_SECTOR) | normalise_label(
        frame["Libellé secteur d'activité"]
    ).eq("centre de sante")
    site_name = frame["Raison sociale site"].where(
        frame["Raison sociale site"].ne(""), frame["Enseigne commerciale site"]
    )
    street_type = frame[f"Libellé type de voie {_AS}"].where(
        frame[f"Libellé type de voie {_AS}"].ne(""), frame[f"Code type de voie {_AS}"]
    )
    number = frame[f"Numéro Voie {_AS}"] + frame[f"Indice répétition voie {_AS}"]
    out = pd.DataFrame(
        {
            "practitioner_id": frame["Identifiant PP"],
            "profession": classify_professions(
                frame["Code profession"],
                frame["Libellé profession"],
                frame["Code savoir-faire"],
                frame["Libellé savoir-faire"],
            ),
            "mode": mode.where(~health_centre, "centre_sante"),
            "finess_site": frame["Numéro FINESS site"],
            "site_name": site_name,
            "siret": frame["Numéro SIRET site"],
            "street": _join_words(number, street_type, frame[f"Libellé Voie {_AS}"]),
            "postcode": frame[f"Code postal {_AS}"],
            "commune_code": frame[f"Code commune {_AS}"],
            "commune_name": frame[f"Libellé commune {_AS}"],
            "source_line": frame["source_line"],
        }
    )
    return _finish(out, path)


def _check_identifiers(frame: pd.DataFrame, path: Path) -> None:
    """Identification nationale = type digit + identifiant; RPPS (type 8): 11 digits; ADELI (0): 9."""
    kind = frame["Type d'identifiant PP"]
    ident = frame["Identifiant PP"]
    bad = (
        frame["Identification nationale PP"].ne(kind + ident)
        | (kind.eq("8") & ~ident.str.fullmatch(r"\d{11}"))
        | (kind.eq("0") & ~ident.str.fullmatch(r"\d[0-9AB]\d{7}"))
    )
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFileError(
            f"identifiant incohérent : type « {kind.iloc[i]} », identifiant « {ident.iloc[i]} », "
            f"identification nationale « {frame['Identification nationale PP'].iloc[i]} » (attendu : "
            "type + identifiant ; 11 chiffres pour un RPPS, type 8 ; 9 caractères pour un ADELI, type 0)",
            path=path,
            line=int(frame["source_line"].iloc[i]),
            column="Identifiant PP",
        )


def read_rpps_2017(path: str | Path) -> pd.DataFrame:
    """Practice activities of the 2017 RPPS extraction (``RPPS,Nom,Prenom,FINESS,…,Etablissement``).

    ``practitioner_id`` is the 12-character ``RPPS`` without its leading type digit 8.
    The file has no exercise mode; it is inferred from the site name and the
    ``Etablissement`` flag: ``centre_sante`` when the name designates a centre de
    santé; ``salarie`` when the activity is in a FINESS establishment that is not a
    centre or maison de santé, or when the name designates an employer (occupational
    health service, ARS, CPAM, MSA, university, prefecture...); ``liberal`` otherwise.
    ``Nom`` and ``Prenom`` are not kept.
    """
    path = Path(path)
    frame = read_table(
        path,
        [
            Column("RPPS", "code", pattern=r"8\d{11}", nullable=False),
            Column("Nom", required=False),
            Column("Prenom", required=False),
            Column("FINESS", "code", pattern=FINESS_PATTERN),
            Column("RaisonSociale"),
            Column("Commune", "code", pattern=COMMUNE_PATTERN),
            Column("LibCommune"),
            Column("CodePostal", "code", pattern=r"\d{5}"),
            Column("Specialite", nullable=False),
            Column("Etablissement", "code", pattern=r"oui|non", nullable=False),
        ],
        sep=",",
    )
    frame = unique_rows(frame, list(frame.columns), path=path, lines=2, what="activité", policy="drop")
    empty = pd.Series("", index=frame.index)
    site_type = classify_site_names(frame["RaisonSociale"])
    in_establishment = frame["Etablissement"].eq("oui")
    employer = ascii_upper(frame["RaisonSociale"]).str.contains(_EMPLOYER_NAMES, regex=True)
    mode = np.select(
        [
            site_type.eq("centre_sante"),
            in_establishment & ~site_type.isin(["centre_sante", "maison_sante"]),
            employer,
        ],
        ["centre_sante", "salarie", "salarie"],
        default="liberal",
    )
    out = pd.DataFrame(
        {
            "practitioner_id": frame["RPPS"].str[1:],
            "profession": classify_professions(
                empty, pd.Series("Médecin", index=frame.index), empty, frame["Specialite"]
            ),
            "mode": mode,
            "finess_site": frame["FINESS"],
            "site_name": frame["RaisonSociale"],
            "siret": "",
            "street": "",
            "postcode": frame["CodePostal"],
            "commune_code": frame["Commune"],
            "commune_name": frame["LibCommune"],
            "source_line": frame.index.to_numpy() + 2,
        }
    )
    return _finish(out, path)
