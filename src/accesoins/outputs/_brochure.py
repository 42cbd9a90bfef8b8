"""Brochure (PDF) for health professionals considering settling in a territory.

Reads a snapshot (communes, indicators, practice sites), optionally the FINESS
file recorded in it (from the data directory, checked against its SHA-256) and a
YAML file of contacts; returns a PDF with the territory's key figures, a map by
APL class, the under-served communes (APL class ``sous_dotee``), the local health ecosystem
(maisons de santé, centres de santé, hospitals, pharmacies… by FINESS name) and
whom to call. Disclosure control applies as for every public output.

Contacts file (YAML, UTF-8; only ``contacts`` is required)::

    titre: S'installer en Gironde            # optional, title on the cover
    introduction: Texte d'accueil…           # optional, one paragraph
    aides:                                   # optional, one line per aid
      - Contrat d'aide à l'installation des médecins (CAIM)
    contacts:
      - organisme: ARS Nouvelle-Aquitaine    # required
        role: Guichet unique d'installation   # optional
        telephone: "05 57 01 44 00"           # optional, quoted
        courriel: contact@exemple.fr          # optional
        site: https://www.exemple.fr          # optional
        adresse: 103 bis rue Belleville, Bordeaux   # optional
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from accesoins import __version__
from accesoins.errors import ConfigurationError, StoreError
from accesoins.geo import parse_territory
from accesoins.indicators import UNDER_SERVED
from accesoins.labels import label_of
from accesoins.outputs._disclosure import public_layer
from accesoins.outputs._gpkg import format_number
from accesoins.outputs._needs import LocalData, zone_aid, zone_rule
from accesoins.outputs._report import (
    ReportBuilder,
    _total,
    apl_classes_context,
    apl_map,
    department_label,
    profession_label,
    render_pdf,
)
from accesoins.sources import Profession, ZoningClass, classify_site_names
from accesoins.store import Store, indicator_layer

__all__ = ["BrochureConfig", "Contact", "build_brochure", "load_brochure_config"]


ECOSYSTEM_LABELS = {  # site types of accesoins.sources.classify_site_names, in brochure order
    "maison_sante": "Maisons de santé pluriprofessionnelles",
    "centre_sante": "Centres de santé",
    "hopital": "Hôpitaux et cliniques",
    "pharmacie": "Pharmacies",
    "laboratoire": "Laboratoires de biologie médicale",
    "pmi": "Protection maternelle et infantile (PMI)",
    "ehpad": "EHPAD",
}
LISTED_TYPES = ("maison_sante", "centre_sante", "hopital")


class Contact(BaseModel):
    """One contact of the brochure (an office, not a person's private details)."""

    model_config = ConfigDict(extra="forbid")
    organisme: str = Field(min_length=1)
    role: str = ""
    telephone: str = ""
    courriel: str = ""
    site: str = ""
    adresse: str = ""


class BrochureConfig(BaseModel):
    """Contents of the brochure's YAML file."""

    model_config = ConfigDict(extra="forbid")
    titre: str = ""
    introduction: str = ""
    aides: list[str] = Field(default_factory=list)
    contacts: list[Contact] = Field(min_length=1)


def load_brochure_config(path: str | Path) -> BrochureConfig:
    """Read and validate the contacts file (format in this module's docstring and docs/partage.md)."""
    path = Path(path)
    if not path.exists():
        raise ConfigurationError(
            f"fichier de contacts introuvable : {path} (exemple : docs/brochure_contacts.yaml)"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", ligne {mark.line + 1}, colonne {mark.column + 1}" if mark is not None else ""
        raise ConfigurationError(f"{path}{where} : YAML illisible ({getattr(exc, 'problem', exc)})") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{path} : le fichier doit contenir des clés (titre, introduction, aides, contacts)"
        )
    try:
        return BrochureConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{_where(err['loc'])} : {_french(err)}" for err in exc.errors())
        raise ConfigurationError(
            f"{path} : {problems}. Clés possibles : titre, introduction, aides, contacts "
            "(organisme, role, telephone, courriel, site, adresse)"
        ) from exc


def _where(loc: tuple[Any, ...]) -> str:
    """« contacts, élément 2, organisme » for ``("contacts", 1, "organisme")``."""
    return "« " + ", ".join(f"élément {p + 1}" if isinstance(p, int) else str(p) for p in loc) + " »"


def _french(err: Any) -> str:
    kind = err.get("type", "")
    if kind == "missing":
        return "champ obligatoire manquant"
    if kind == "extra_forbidden":
        return "clé inconnue"
    if kind in ("too_short", "string_too_short"):
        return "ne doit pas être vide"
    if kind.endswith("_type"):
        return "type de valeur inattendu (texte ou liste attendu)"
    return str(err.get("msg", kind))


# -- data ------------------------------------------------------------------------------------------------


def _select(store: Store, territory: str, snapshot: str | None) -> tuple[str, list[str], str]:
    """Snapshot id, commune codes and French name of ``territory``."""
    spec = parse_territory(territory)
    if snapshot is None:
        known = set(store.snapshots()["territory"])
        snapshot = store.latest(territory=territory) if territory in known else store.latest()
    sid = store.resolve(snapshot)
    units = store.table("units", sid, where="level = 'commune'")
    if spec.kind == "departement":
        codes = units.loc[units["parent_id"] == spec.codes[0], "unit_id"].tolist()
        name = department_label(spec.codes[0])
    elif spec.kind == "communes":
        codes = [c for c in spec.codes if c in set(units["unit_id"])]
        names = units.set_index("unit_id").loc[codes, "name"].tolist() if codes else []
        name = ", ".join(names[:3]) + (f" et {len(names) - 3} autres communes" if len(names) > 3 else "")
    else:
        meta = store.metadata(sid)  # the snapshot's territory by kind and codes, not by its label
        same = meta.get("territory_kind") == spec.kind and list(meta.get("territory", [])) == list(spec.codes)
        codes = units["unit_id"].tolist() if same else []
        name = f"l'intercommunalité {territory}"
    if not codes:
        raise StoreError(
            f"aucune commune du territoire « {territory} » dans l'instantané {sid} : "
            "construisez-le d'abord avec « accesoins build -t ... »"
        )
    return sid, sorted(codes), name


def _finess_sites(store: Store, sid: str, communes: gpd.GeoDataFrame) -> tuple[pd.DataFrame, bool]:
    """Establishments by type and commune, and whether they come from the whole FINESS file.

    The build keeps the territory's FINESS establishments in the snapshot; a
    snapshot without them falls back on the sites where its practitioners work.
    """
    names = communes.set_index("unit_id")["name"]
    kept = store.kept("establishments", sid)
    if not kept.empty:
        kept = kept[kept["commune_code"].isin(names.index)]
        full = True
    else:
        sites = store.table("sites", sid, where="precision = 'etablissement'")
        sites = sites[sites["commune_code"].isin(names.index)]
        kept = sites.assign(site_type=classify_site_names(sites["label"]))
        full = False
    frame = pd.DataFrame(
        {
            "label": kept["label"],
            "site_type": kept["site_type"],
            "commune_code": kept["commune_code"],
            "commune": kept["commune_code"].map(names),
        }
    )
    return frame.reset_index(drop=True), full


def build_brochure(
    store: Store,
    territory: str,
    out_path: str | Path,
    *,
    config: BrochureConfig,
    snapshot: str | None = None,
    limit: int = 30,
) -> Path:
    """Write the brochure of ``territory`` (département, commune codes) to ``out_path``."""
    sid, codes, name = _select(store, territory, snapshot)
    layer = indicator_layer(store, sid, level="commune", profession="generaliste")
    report = ReportBuilder(store, sid)
    layer = public_layer(layer[layer["unit_id"].isin(codes)].reset_index(drop=True), "commune", report.gate)
    pop = layer["population"].astype(float)
    apl = layer["apl"].astype(float)
    under = layer[apl < UNDER_SERVED].sort_values("population", ascending=False)
    total_pop = float(pop.sum())
    ok = apl.notna() & (pop > 0)
    mean_apl = float(np.average(apl[ok], weights=pop[ok])) if ok.any() else float("nan")
    communes = store.geotable("units", sid, where="level = 'commune'")
    communes = communes[communes["unit_id"].isin(codes)]
    sites = store.geotable("sites", sid)
    sites = sites[sites["commune_code"].isin(codes)]
    ecosystem, full_finess = _finess_sites(store, sid, communes)
    under_codes = set(under["unit_id"])
    counts = [
        {
            "label": ECOSYSTEM_LABELS[t],
            "n": format_number(float((ecosystem["site_type"] == t).sum())),
            "under": format_number(
                float(((ecosystem["site_type"] == t) & ecosystem["commune_code"].isin(under_codes)).sum())
            ),
        }
        for t in ECOSYSTEM_LABELS
    ]
    listed = []
    for t in LISTED_TYPES:
        part = ecosystem[ecosystem["site_type"] == t].sort_values(["commune", "label"])
        listed.append(
            {
                "title": ECOSYSTEM_LABELS[t],
                "total": len(part),
                "rows": [
                    {"label": str(r.label), "commune": str(r.commune), "under": r.commune_code in under_codes}
                    for r in part.head(limit).itertuples()
                ],
            }
        )
    context = {
        "title": config.titre or f"S'installer en médecine générale — {name}",
        "territory": name,
        "intro": config.introduction,
        "aides": config.aides,
        "contacts": [c.model_dump() for c in config.contacts],
        "snapshot": sid,
        "k": report.k,
        "version": __version__,
        "today": date.today().strftime("%d/%m/%Y"),
        "key": {
            "communes": format_number(float(len(layer))),
            "population": format_number(total_pop),
            "gp": format_number(_total(layer["headcount"])),
            "density": format_number(_total(layer["etp"]) * 100_000 / total_pop if total_pop else np.nan, 1),
            "apl": format_number(mean_apl, 2),
            "under": format_number(float(len(under))),
            "under_pop": format_number(float(under["population"].sum())),
            "under_share": format_number(
                100 * float(under["population"].sum()) / total_pop if total_pop else np.nan, 1
            ),
        },
        "under": [
            {
                "name": str(r.name),
                "code": str(r.unit_id),
                "population": format_number(r.population),
                "apl": format_number(r.apl, 2),
                "gp": format_number(r.headcount),
            }
            for r in under.head(limit).itertuples()
        ],
        "under_more": max(0, len(under) - limit),
        "counts": counts,
        "listed": listed,
        "ecosystem_source": "fichier FINESS complet"
        if full_finess
        else "établissements où exercent les praticiens suivis",
        "map_png": apl_map(layer, sites, labels=len(layer) <= 40, size_cm=(17.0, 9.0)),
        "sources": report.source_rows(),
        "apl_classes": apl_classes_context(),
        "zoning": _zoning(store, sid, report.local, communes, limit),
    }
    return render_pdf("brochure.html", context, out_path)


def _zoning(
    store: Store, sid: str, local: LocalData, communes: gpd.GeoDataFrame, limit: int
) -> list[dict[str, Any]]:
    """The official ARS zoning of the brochure's communes and of their QPV, by profession and class.

    Each class says which installation aid it opens (``parameters/needs.yaml``), or none.
    """
    zoning = local.zoning
    if zoning.empty:
        return []
    names = dict(zip(communes["unit_id"].astype(str), communes["name"].astype(str), strict=True))
    qpv = store.table("units", sid, where="level = 'qpv'") if "qpv" in set(zoning["level"]) else None
    if qpv is not None:
        qpv = qpv[qpv["parent_id"].astype(str).isin(names)]
        names.update(zip(qpv["unit_id"].astype(str), qpv["name"].astype(str), strict=True))
    here = zoning[zoning["unit_id"].isin(names)]
    labels = {str(p): profession_label(str(p)) for p in Profession}
    rows = []
    for (level, profession, zone), part in here.groupby(["level", "profession", "zone"], sort=True):
        units = sorted(names[u] for u in part["unit_id"])
        rows.append(
            {
                "profession": labels.get(str(profession), str(profession)),
                "where": "QPV" if level == "qpv" else "communes",
                "label": label_of(ZoningClass, str(zone)),
                "n": len(units),
                "names": ", ".join(units[:limit]) + (f" … (+{len(units) - limit})" * (len(units) > limit)),
                "aid": zone_aid(str(profession), str(zone)),
                "rule": zone_rule(str(profession), str(zone)),
                "source": str(part["source"].iloc[0]),
            }
        )
    return rows
