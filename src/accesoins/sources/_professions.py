"""Our profession keys and how to recognise them in the Annuaire Santé nomenclatures.

The table ``parameters/professions.csv`` maps the official codes of the ANS
nomenclatures to our keys (``generaliste``, ``infirmier``...): TRE_G15
(« Code profession ») for the profession, TRE_R38 (« savoir-faire »,
spécialité ordinale) for physicians. Each row may also give a label only, so
that files without codes (the 2017 extraction) are recognised from their
labels, compared without accents, case or punctuation.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources

import pandas as pd

from accesoins.errors import ConfigurationError
from accesoins.sources._codes import Profession

__all__ = ["OTHER", "classify_professions", "load_professions", "normalise_label"]

OTHER = Profession.AUTRE
"""Key of every profession outside the table."""

_PHYSICIAN_CODE = "10"  # TRE_G15 « Médecin »
_NOMENCLATURES = ("TRE_G15", "TRE_R38", "")
_TRAILING_QUALIFIER = re.compile(r"\s*\((?:sm|c|cex|capa|dnq|dec|op|si|scd)\)\s*$")


def normalise_label(labels: pd.Series) -> pd.Series:
    """Labels without accents, case, punctuation, nor the « (SM) » suffix of the nomenclature.

    Examples
    --------
    >>> labels = pd.Series(["Spécialiste en Médecine générale (SM)", "Gynécologie-obstétrique"])
    >>> normalise_label(labels).tolist()
    ['specialiste en medecine generale', 'gynecologie obstetrique']
    """

    def one(text: str) -> str:
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c)).lower()
        text = _TRAILING_QUALIFIER.sub("", text)
        return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())

    labels = labels.fillna("").astype(str)
    return labels.map({label: one(label) for label in labels.unique()})  # national files: few labels


@cache
def _rules() -> pd.DataFrame:
    path = resources.files("accesoins.parameters").joinpath("professions.csv")
    with resources.as_file(path) as file:
        rules = pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8")
    expected = ["profession", "label", "first_line", "nomenclature", "code", "code_label"]
    if list(rules.columns) != expected:
        raise ConfigurationError(f"professions.csv : colonnes attendues {', '.join(expected)}")
    bad = ~rules["nomenclature"].isin(_NOMENCLATURES) | ~rules["first_line"].isin(["true", "false"])
    if bad.any():
        row = rules[bad].iloc[0]
        raise ConfigurationError(
            f"professions.csv, ligne {int(bad.to_numpy().argmax()) + 2} : nomenclature "
            f"« {row['nomenclature']} » ou first_line « {row['first_line']} » invalide "
            f"(nomenclatures : TRE_G15, TRE_R38 ou vide ; first_line : true/false)"
        )
    if rules.groupby("profession")[["label", "first_line"]].nunique().gt(1).any(axis=None):
        raise ConfigurationError("professions.csv : une profession a plusieurs libellés ou first_line")
    rules["norm"] = normalise_label(rules["code_label"])
    for nomenclature, group in rules[rules["nomenclature"] != ""].groupby("nomenclature"):
        for key in ("code", "norm"):
            values = group[group[key] != ""]
            clash = values.groupby(key)["profession"].nunique()
            if clash.gt(1).any():
                raise ConfigurationError(
                    f"professions.csv : « {clash[clash.gt(1)].index[0]} » ({nomenclature}) "
                    "désigne plusieurs professions"
                )
    if set(rules["profession"]) != set(Profession):
        raise ConfigurationError(
            "professions.csv : les professions doivent être exactement "
            f"{', '.join(Profession)} (lues : {', '.join(sorted(set(rules['profession'])))})"
        )
    return rules


@cache
def load_professions() -> pd.DataFrame:
    """Our profession keys: ``profession``, French ``label``, ``first_line`` (premier recours).

    Examples
    --------
    >>> p = load_professions().set_index("profession")
    >>> p.loc["generaliste", "label"], bool(p.loc["generaliste", "first_line"])
    ('Médecin généraliste', True)
    """
    table = _rules().drop_duplicates("profession")[["profession", "label", "first_line"]].copy()
    table["first_line"] = table["first_line"].eq("true")
    return table.reset_index(drop=True)


def _lookup(codes: pd.Series, labels: pd.Series, nomenclature: str) -> pd.Series:
    rules = _rules()
    rules = rules[rules["nomenclature"] == nomenclature]
    by_code = rules[rules["code"] != ""].set_index("code")["profession"]
    by_label = rules[rules["norm"] != ""].drop_duplicates("norm").set_index("norm")["profession"]
    found = codes.fillna("").astype(str).str.strip().map(by_code)
    return found.fillna(normalise_label(labels).map(by_label))


def classify_professions(
    profession_code: pd.Series,
    profession_label: pd.Series,
    specialty_code: pd.Series,
    specialty_label: pd.Series,
) -> pd.Series:
    """Our profession key for each row, from the TRE_G15 profession and the TRE_R38 specialty.

    The code decides when it is in the table, else the normalised label. Physicians
    (TRE_G15 10) take the key of their specialty; a physician whose specialty is not
    in the table is ``autre_specialiste``, one without any specialty ``autre``. Every
    other profession outside the table is ``autre``.

    Examples
    --------
    >>> s = lambda *v: pd.Series(list(v))
    >>> classify_professions(
    ...     s("10", "", "60", "28"), s("Médecin", "Médecin", "Infirmier", "Opticien-Lunetier"),
    ...     s("SM20", "", "", ""), s("Gynécologie-obstétrique", "Spécialiste en Médecine Générale", "", ""),
    ... ).tolist()
    ['gynecologue', 'generaliste', 'infirmier', 'autre']
    """
    rules = _rules()
    physician_key = rules.loc[
        (rules["nomenclature"] == "TRE_G15") & (rules["code"] == _PHYSICIAN_CODE), "profession"
    ].iloc[0]
    profession = _lookup(profession_code, profession_label, "TRE_G15")
    specialty = _lookup(specialty_code, specialty_label, "TRE_R38")
    physician = profession.eq(physician_key)
    has_specialty = specialty_code.fillna("").astype(str).str.strip().ne("") | specialty_label.fillna(
        ""
    ).astype(str).str.strip().ne("")
    physician_other = pd.Series(physician_key, index=profession.index).where(has_specialty, OTHER.value)
    result = profession.where(~physician, specialty.fillna(physician_other))
    return result.fillna(OTHER.value).astype(str).rename("profession")
