"""Full export of a snapshot for GIS: a styled GeoPackage, GeoParquet and CSV files.

Reads a snapshot of the store; writes one layer per level × profession (every
indicator of that level, disclosure control applied), the practice sites, a
``lisez_moi`` table documenting every column, and QGIS styles in the
``layer_styles`` table (the schema QGIS itself writes), so that each layer
opens styled: graduated APL classes (``parameters/apl_classes.yaml``), density quantiles.
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from accesoins import french, labels
from accesoins.errors import UnknownChoiceError
from accesoins.geo import Level, Precision
from accesoins.indicators import APL_CLASS_BOUNDS, UNDER_SERVED, AplClass, apl_class, with_urban_unit
from accesoins.outputs._disclosure import Gate, public_layer, public_sites, snapshot_gate
from accesoins.outputs._export import export_table
from accesoins.outputs._needs import LocalData, local_data, with_local_indicators
from accesoins.store import Store, indicator_layer

__all__ = [
    "APL_CLASSES",
    "COLUMN_DOCS",
    "EXPORT_FORMATS",
    "URBAN_UNIT_TEXT",
    "AplClassStyle",
    "apl_style",
    "export_observatory",
    "format_number",
    "public_layers",
]

log = logging.getLogger(__name__)

EXPORT_FORMATS: tuple[str, ...] = ("gpkg", "parquet", "csv")
GEOMETRY_COLUMN = "geom"  # what GDAL names the geometry column of a GeoPackage layer


@dataclass(frozen=True)
class AplClassStyle:
    """How one APL class is drawn: bounds (lower included, upper excluded), French legend, colour."""

    code: AplClass
    lower: float
    upper: float
    label: str
    colour: str


APL_COLOURS = {
    AplClass.SOUS_DOTEE: "#d6604d",
    AplClass.INTERMEDIAIRE: "#92c5de",
    AplClass.BIEN_DOTEE: "#2166ac",
}


def _apl_class_styles() -> tuple[AplClassStyle, ...]:
    lowers = [0.0, *(upper for _, upper in APL_CLASS_BOUNDS[:-1])]
    return tuple(
        AplClassStyle(
            cls,
            lower,
            min(upper, 1e6),
            f"{labels.apl_class_range(cls)} : {labels.label(cls)}",
            APL_COLOURS[cls],
        )
        for lower, (cls, upper) in zip(lowers, APL_CLASS_BOUNDS, strict=True)
    )


APL_CLASSES: tuple[AplClassStyle, ...] = _apl_class_styles()
"""APL classes (bounds from ``parameters/apl_classes.yaml``) as drawn by maps, reports and QGIS styles."""

DENSITY_COLOURS = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
SITE_COLOURS = {Precision.ETABLISSEMENT: "#1b7837", Precision.COMMUNE: "#762a83", Precision.IRIS: "#e08214"}
NO_DATA_COLOUR = "#d9d9d9"

COLUMN_DOCS: dict[str, str] = {
    "priority_class": "Classe de priorité d'accesoins A1-B3 : accès (APL, A1 la plus faible) × besoin (B3 le "
    "plus fort), terciles des unités du territoire ; indicative, ce n'est pas le zonage de l'ARS",
    "priority_rank": "Rang parmi les unités prioritaires A1-B3 (1 = la plus prioritaire)",
    "priority_need": "Indicateur de besoin croisé avec l'APL pour la classe de priorité",
    "unit_id": "Code de l'unité : code commune INSEE, code IRIS, ou identifiant INSPIRE du carreau de 200 m",
    "name": "Nom de l'unité (noms joints par « + » quand des unités ont été fusionnées)",
    "parent_id": "Code de l'unité englobante (département d'une commune, commune d'un IRIS ou d'un carreau)",
    "level": "Niveau géographique : " + ", ".join(f"{c} ({labels.label(c)})" for c in Level),
    "profession": "Profession (generaliste, neurologue, …)",
    "headcount": "Nombre de praticiens exerçant dans l'unité (information publique de l'annuaire santé)",
    "etp": "Équivalents temps plein des praticiens (une activité partagée sur deux lieux compte 0,5)",
    "n_commune": "Activités localisées seulement à la commune (adresse imprécise)",
    "n_etablissement": "Activités localisées à l'établissement FINESS (adresse précise)",
    "n_iris": "Activités localisées à l'IRIS",
    "population_in": "Habitants de la zone",
    "population_rest": "Habitants du reste de la (des) commune(s) de la zone",
    "etp_in": "ETP localisés dans la zone (hors praticiens ramenés au centre de la commune)",
    "etp_rest": "ETP localisés dans le reste de la commune",
    "density_in": "ETP pour 100 000 habitants dans la zone",
    "density_rest": "ETP pour 100 000 habitants dans le reste de la commune",
    "density_ratio": "Densité de la zone rapportée à celle du reste de la commune (1 = égale ; "
    "question de l'ONPV)",
    "ratio_low": "Borne basse de l'intervalle de confiance à 95 % du rapport (méthode exacte, binomiale)",
    "ratio_high": "Borne haute de l'intervalle de confiance à 95 % du rapport",
    "std_density_ratio": "Rapport des densités sur la population standardisée par âge",
    "apl_in": "APL moyenne des habitants de la zone (pondérée par la population standardisée)",
    "apl_rest": "APL moyenne des habitants du reste de la commune",
    "apl_ratio": "APL de la zone rapportée à celle du reste de la commune",
    "population_rest_uu": "Habitants du reste de l'unité urbaine de la commune (communes de la construction)",
    "etp_rest_uu": "ETP localisés dans le reste de l'unité urbaine",
    "density_rest_uu": "ETP pour 100 000 habitants dans le reste de l'unité urbaine",
    "density_ratio_uu": "Densité de la zone rapportée à celle du reste de l'unité urbaine (question ONPV)",
    "ratio_low_uu": "Borne basse de l'intervalle de confiance à 95 % du rapport à l'unité urbaine",
    "ratio_high_uu": "Borne haute de l'intervalle de confiance à 95 % du rapport à l'unité urbaine",
    "apl_rest_uu": "APL moyenne des habitants du reste de l'unité urbaine",
    "apl_ratio_uu": "APL de la zone rapportée à celle du reste de l'unité urbaine",
    "uu_code": "Code INSEE de l'unité urbaine 2020 de la commune (vide : hors unité urbaine, table absente)",
    "uu_name": "Nom de l'unité urbaine",
    "uu_outside": "Communes de l'unité urbaine hors de la construction, non comptées (séparées par ;)",
    "uu_note": "Unité urbaine comparée, ou pourquoi elle ne l'est pas (« table INSEE non fournie »)",
    "etp_point": "ETP localisés dans la zone par le point de leur établissement ou de leur adresse",
    "etp_iris": "ETP connus à l'IRIS, répartis dans la zone au prorata de la population de l'IRIS",
    "unlocated_share": "Part des ETP de la commune sans lieu d'exercice infra-communal connu (mairie)",
    "population_method": "Origine de la population de la zone : carreau (centres des carreaux de 200 m), "
    "iris (part de surface des IRIS) ou commune (part de surface de la commune)",
    "fine_population_share": "Part de la population de la zone venue des carreaux ou des IRIS",
    "population": "Habitants (INSEE) ; jamais moins de k (le seuil du secret de l'instantané) : les petites "
    "unités sont regroupées dans un groupe fixe (carreau de 1 km, 2 km… ; IRIS de la commune) ou masquées",
    "population_standardised": "Population pondérée par l'âge (besoins de soins standardisés)",
    "density_per_100k": "Praticiens en équivalent temps plein (ETP) pour 100 000 habitants",
    "std_density_per_100k": "Praticiens en ETP pour 100 000 habitants, population pondérée par l'âge",
    "apl": "Accessibilité potentielle localisée : consultations accessibles par an et par habitant "
    "(médecins généralistes seulement)",
    "apl_class": f"Classe d'APL ({labels.APL_CLASS_NOTE}) : "
    + ", ".join(f"{c} = {labels.label(c)}, APL {labels.apl_class_range(c)}" for c in AplClass),
    "unites_fusionnees": "Unités regroupées pour le secret statistique (vide si aucune)",
    "secret": "« fusion » : groupe fixe de petites unités ; « masque » : habitants, densités et APL masqués",
    "site_id": "Lieu d'exercice : « finess:NUMÉRO » (établissement) ou « commune:CODE » (centre de commune)",
    "label": "Nom de l'établissement FINESS (vide pour un lieu ramené au centre de la commune)",
    "precision": "Précision de localisation : " + ", ".join(f"{c} = {labels.label(c)}" for c in SITE_COLOURS),
    "professions": "Professions exerçant sur le lieu",
    "commune_code": "Code INSEE de la commune du lieu",
    "iris_code": "Code IRIS du lieu, quand il est connu",
    "n_activities": "Nombre d'activités de praticiens sur le lieu",
    "consultations": "Consultations annuelles offertes, selon l'hypothèse d'activité retenue",
    "density_per_km2": "Densité de population de la commune du lieu (habitants par km²) ; vide si la "
    "commune compte moins de k habitants",
    "ratio": "Ratio offre / demande du lieu (première étape de l'APL)",
    "lon": "Longitude WGS 84 (degrés)",
    "lat": "Latitude WGS 84 (degrés)",
}
"""French description of every exported column (the ``lisez_moi`` layer and docs/partage.md)."""


def apl_style(apl: float) -> AplClassStyle | None:
    """The :data:`APL_CLASSES` style of an APL value (None when missing).

    Examples
    --------
    >>> apl_style(2.49).label, apl_style(2.5).label
    ('moins de 2,5 : sous-dotée', '2,5 à moins de 4 : intermédiaire')
    """
    cls = apl_class(apl)
    return None if cls is None else APL_CLASSES[list(AplClass).index(cls)]


# -- layers ----------------------------------------------------------------------------------------------


def public_layers(store: Store, snapshot_id: str) -> dict[str, gpd.GeoDataFrame]:
    """Every layer safe to publish, by name: ``{level}_{profession}`` indicators (through the
    snapshot's disclosure gate) and ``sites``."""
    gate = snapshot_gate(store, snapshot_id)
    local = local_data(store, snapshot_id)
    pairs = store.con.execute(
        "SELECT DISTINCT level, profession FROM indicators WHERE snapshot_id = ? ORDER BY level, profession",
        [snapshot_id],
    ).fetchall()
    order = {"commune": 0, "iris": 1, "carreau": 2}
    layers: dict[str, gpd.GeoDataFrame] = {}
    for level, profession in sorted(pairs, key=lambda p: (order.get(p[0], 9), p[1])):
        layer = indicator_layer(store, snapshot_id, level=level, profession=profession)
        disclosed = public_layer(layer, level, gate)
        if profession == "generaliste":  # local indicators and priority once, beside the GPs' APL
            disclosed = with_local_indicators(disclosed, layer, local, level, gate)
        if disclosed["apl"].isna().all():
            disclosed = disclosed.drop(columns=["apl", "apl_class"])
        layers[f"{level}_{profession}"] = disclosed.reset_index(drop=True)
    layers.update(public_zone_comparison(store, snapshot_id, gate))
    sites = store.geotable("sites", snapshot_id)
    sites["lon"], sites["lat"] = sites.geometry.x.round(6), sites.geometry.y.round(6)
    communes = [layer for name, layer in layers.items() if name.startswith("commune_")]
    layers["sites"] = public_sites(sites, communes[0]) if communes else sites
    return layers


URBAN_UNIT_TEXT = ("uu_code", "uu_name", "uu_outside", "uu_note")
"""Text columns of a zone comparison about its unité urbaine."""


def public_zone_comparison(store: Store, snapshot_id: str, gate: Gate) -> dict[str, gpd.GeoDataFrame]:
    """``comparaison_{level}`` layers: each QPV or quartier against the rest of its commune and of its unité
    urbaine (ONPV question), with the zone's polygon, through the gate (a zone under ``k`` residents keeps
    only its ETP)."""
    if not store.has_table("zone_comparison"):
        return {}
    table = store.table("zone_comparison", snapshot_id)
    if "uu_note" not in table.columns or table["uu_note"].isna().all():  # built before the unité urbaine
        table = with_urban_unit(table.drop(columns=[c for c in URBAN_UNIT_TEXT if c in table]), None, None)
    out: dict[str, gpd.GeoDataFrame] = {}
    for level, rows in table.groupby("level", sort=True):
        units = store.geotable("units", snapshot_id, where="level = ?", args=[str(level)])
        units = units.set_index("unit_id")
        framed = gpd.GeoDataFrame(
            rows.assign(name=rows["unit_id"].map(units["name"])),
            geometry=rows["unit_id"].map(units.geometry).to_numpy(),
            crs="EPSG:4326",
        )
        out[f"comparaison_{level}"] = public_layer(framed, str(level), gate).reset_index(drop=True)
    return out


def _documentation(layers: dict[str, gpd.GeoDataFrame], local: LocalData) -> pd.DataFrame:
    docs = dict(COLUMN_DOCS)
    for r in local.catalogue.itertuples():  # local indicators: label, unit, year and source
        docs.setdefault(str(r.indicator), f"{r.label} ({r.unit}, {r.year}) — {r.source}")
    rows = [
        {"couche": name, "colonne": col, "description": docs.get(col, "")}
        for name, layer in layers.items()
        for col in layer.columns
        if col != "geometry"
    ]
    return pd.DataFrame(rows)


# -- QGIS styles -----------------------------------------------------------------------------------------


def _rgba(colour: str) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"{r},{g},{b},255"


def _fill_symbol(name: str, colour: str, *, kind: str = "fill") -> str:
    """QGIS symbol XML; properties written both as ``Option`` (QGIS ≥ 3.26) and ``prop`` (older 3.x)."""
    if kind == "marker":
        props = {
            "color": _rgba(colour),
            "name": "circle",
            "outline_color": "255,255,255,255",
            "outline_width": "0.3",
            "size": "2.6",
        }
        cls = "SimpleMarker"
    else:
        props = {
            "color": _rgba(colour),
            "outline_color": "255,255,255,255",
            "outline_style": "solid",
            "outline_width": "0.2",
            "style": "solid",
        }
        cls = "SimpleFill"
    options = "".join(f'<Option name="{k}" type="QString" value="{v}"/>' for k, v in props.items())
    legacy = "".join(f'<prop k="{k}" v="{v}"/>' for k, v in props.items())
    layer = (
        f'<layer class="{cls}" enabled="1" locked="0" pass="0">'
        f'<Option type="Map">{options}</Option>{legacy}</layer>'
    )
    return f'<symbol alpha="1" clip_to_extent="1" force_rhr="0" name="{name}" type="{kind}">{layer}</symbol>'


def _qml(renderer: str) -> str:
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis styleCategories="Symbology" version="3.28.0">\n' + renderer + "\n</qgis>\n"
    )


def _graduated_qml(attribute: str, ranges: list[tuple[float, float, str, str]], *, kind: str = "fill") -> str:
    """Graduated renderer; QGIS ranges include both bounds, so each upper bound is nudged below the next."""
    items, symbols = [], []
    for i, (lower, upper, label, colour) in enumerate(ranges):
        top = upper if i == len(ranges) - 1 else np.nextafter(upper, -np.inf)
        items.append(
            f'<range lower="{lower:.10g}" upper="{top:.17g}" symbol="{i}" label="{escape(label)}" '
            'render="true"/>'
        )
        symbols.append(_fill_symbol(str(i), colour, kind=kind))
    return _qml(
        f'<renderer-v2 attr="{attribute}" type="graduatedSymbol" graduatedMethod="GraduatedColor" '
        'forceraster="0" symbollevels="0" enableorderby="0">'
        f"<ranges>{''.join(items)}</ranges><symbols>{''.join(symbols)}</symbols>"
        '<classificationMethod id="Manual"/></renderer-v2>'
    )


def _categorised_qml(attribute: str, categories: list[tuple[str, str, str]], *, kind: str) -> str:
    items, symbols = [], []
    for i, (value, label, colour) in enumerate(categories):
        items.append(
            f'<category value="{escape(value)}" symbol="{i}" label="{escape(label)}" render="true"/>'
        )
        symbols.append(_fill_symbol(str(i), colour, kind=kind))
    return _qml(
        f'<renderer-v2 attr="{attribute}" type="categorizedSymbol" forceraster="0" symbollevels="0" '
        f'enableorderby="0"><categories>{"".join(items)}</categories>'
        f"<symbols>{''.join(symbols)}</symbols></renderer-v2>"
    )


def _sld(
    layer: str,
    attribute: str,
    classes: list[tuple[float, float, str, str]] | list[tuple[str, str, str]],
    *,
    point: bool = False,
) -> str:
    """SLD 1.1 rules: ``(lower, upper, label, colour)`` ranges, or ``(value, label, colour)`` categories."""
    prop = f"<ogc:PropertyName>{attribute}</ogc:PropertyName>"
    rules = []
    for item in classes:
        if len(item) == 4:
            lower, upper, label, colour = item
            test = (
                f"<ogc:And><ogc:PropertyIsGreaterThanOrEqualTo>{prop}<ogc:Literal>{lower:.10g}</ogc:Literal>"
                f"</ogc:PropertyIsGreaterThanOrEqualTo><ogc:PropertyIsLessThan>{prop}"
                f"<ogc:Literal>{upper:.10g}</ogc:Literal></ogc:PropertyIsLessThan></ogc:And>"
            )
        else:
            value, label, colour = item
            literal = f"<ogc:Literal>{escape(str(value))}</ogc:Literal>"
            test = f"<ogc:PropertyIsEqualTo>{prop}{literal}</ogc:PropertyIsEqualTo>"
        fill = f'<se:Fill><se:SvgParameter name="fill">{colour}</se:SvgParameter></se:Fill>'
        symbol = (
            f"<se:PointSymbolizer><se:Graphic><se:Mark><se:WellKnownName>circle</se:WellKnownName>{fill}"
            "</se:Mark><se:Size>7</se:Size></se:Graphic></se:PointSymbolizer>"
            if point
            else f"<se:PolygonSymbolizer>{fill}<se:Stroke>"
            '<se:SvgParameter name="stroke">#ffffff</se:SvgParameter>'
            '<se:SvgParameter name="stroke-width">0.5</se:SvgParameter></se:Stroke></se:PolygonSymbolizer>'
        )
        rules.append(
            f"<se:Rule><se:Name>{escape(str(label))}</se:Name><ogc:Filter>{test}</ogc:Filter>"
            f"{symbol}</se:Rule>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<StyledLayerDescriptor xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc" '
        'xmlns:se="http://www.opengis.net/se" version="1.1.0"><NamedLayer>'
        f"<se:Name>{escape(layer)}</se:Name><UserStyle><se:FeatureTypeStyle>{''.join(rules)}"
        "</se:FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>"
    )


def format_number(x: float | None, digits: int = 0) -> str:
    """French number: narrow no-break space between thousands, decimal comma; « — » when missing.

    Examples
    --------
    >>> format_number(254436), format_number(4.516388, 2), format_number(float("nan"))
    ('254\u202f436', '4,52', '—')
    """
    if x is None or pd.isna(x) or not np.isfinite(float(x)):
        return "—"
    return french.format_number(float(x), digits)


def density_ranges(values: Iterable[float], *, classes: int = 5) -> list[tuple[float, float, str, str]]:
    """Quantile classes of densities (lower, upper, French label, colour).

    Examples
    --------
    >>> [r[2] for r in density_ranges([0, 0, 50, 100, 150, 200], classes=2)]
    ['0 à 75', '75 à 200']
    """
    data = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if data.size == 0:
        return [(0.0, 1.0, "aucune donnée", DENSITY_COLOURS[0])]
    edges = np.unique(np.quantile(data, np.linspace(0, 1, classes + 1)))
    if edges.size < 2:
        edges = np.array([edges[0], edges[0] + 1])
    palette = np.linspace(0, len(DENSITY_COLOURS) - 1, edges.size - 1).round().astype(int)
    return [
        (float(lo), float(hi), f"{format_number(lo)} à {format_number(hi)}", DENSITY_COLOURS[palette[i]])
        for i, (lo, hi) in enumerate(itertools.pairwise(edges))
    ]


def _styles(name: str, layer: gpd.GeoDataFrame) -> list[dict[str, object]]:
    styles: list[dict[str, object]] = []
    if name == "sites":
        cats = [(str(p), labels.label(p), colour) for p, colour in SITE_COLOURS.items()]
        styles.append(
            {
                "styleName": "Précision de localisation",
                "useAsDefault": True,
                "description": "Lieux d'exercice selon la précision de leur localisation",
                "styleQML": _categorised_qml("precision", cats, kind="marker"),
                "styleSLD": _sld(name, "precision", cats, point=True),
            }
        )
        return styles
    types = layer.geometry.dropna().geom_type
    kind = (
        "marker" if len(types) and types.isin(["Point", "MultiPoint"]).all() else "fill"
    )  # IRIS as centroids
    if "apl" in layer.columns:
        ranges = [(c.lower, c.upper, c.label, c.colour) for c in APL_CLASSES]
        styles.append(
            {
                "styleName": f"Classes d'APL (seuil {labels.format_threshold(UNDER_SERVED)}, indicatives)",
                "useAsDefault": True,
                "description": "APL en consultations par an et par habitant ; "
                f"sous-dotée sous {labels.format_threshold(UNDER_SERVED)} ({labels.APL_CLASS_NOTE})",
                "styleQML": _graduated_qml("apl", ranges, kind=kind),
                "styleSLD": _sld(name, "apl", ranges, point=kind == "marker"),
            }
        )
    if name.startswith("comparaison_"):  # zones against the rest of their commune: 1 = equal densities
        ranges = [
            (0.0, 0.5, "moins de la moitié du reste de la commune", APL_CLASSES[0].colour),
            (0.5, 1.0, "de la moitié à l'égal du reste de la commune", APL_CLASSES[1].colour),
            (1.0, 1e9, "égale ou plus forte que dans le reste de la commune", APL_CLASSES[-1].colour),
        ]
        styles.append(
            {
                "styleName": "Densité rapportée au reste de la commune",
                "useAsDefault": True,
                "description": "Densité en ETP de la zone divisée par celle du reste de sa commune (ONPV)",
                "styleQML": _graduated_qml("density_ratio", ranges, kind=kind),
                "styleSLD": _sld(name, "density_ratio", ranges, point=kind == "marker"),
            }
        )
        return styles
    ranges = density_ranges(layer["density_per_100k"].to_numpy(dtype=float))
    styles.append(
        {
            "styleName": "Densité en ETP pour 100 000 habitants (quantiles)",
            "useAsDefault": not styles,
            "description": "Praticiens en ETP pour 100 000 habitants, cinq classes de même effectif",
            "styleQML": _graduated_qml("density_per_100k", ranges, kind=kind),
            "styleSLD": _sld(name, "density_per_100k", ranges, point=kind == "marker"),
        }
    )
    return styles


_LAYER_STYLES_DDL = """
CREATE TABLE IF NOT EXISTS layer_styles (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256),
    f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT,
    useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
    update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)
"""


def _write_styles(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> int:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    rows = [
        (
            "",
            "",
            name,
            GEOMETRY_COLUMN,
            s["styleName"],
            s["styleQML"],
            s["styleSLD"],
            int(bool(s["useAsDefault"])),
            s["description"],
            "accesoins",
            None,
            stamp,
        )
        for name, layer in layers.items()
        for s in _styles(name, layer)
    ]
    con = sqlite3.connect(path)
    try:
        with con:
            con.execute(_LAYER_STYLES_DDL)
            con.executemany(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                "styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            con.execute(
                "INSERT OR REPLACE INTO gpkg_contents "
                "(table_name, data_type, identifier, description, last_change) "
                "VALUES ('layer_styles', 'attributes', 'layer_styles', 'Styles QGIS', ?)",
                [stamp],
            )
    finally:
        con.close()
    return len(rows)


# -- export ----------------------------------------------------------------------------------------------


def export_observatory(
    store: Store,
    snapshot_id: str,
    out_dir: str | Path,
    *,
    formats: Iterable[str] = EXPORT_FORMATS,
    step: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write every public layer of a snapshot into ``out_dir``; returns the files written.

    ``observatoire.gpkg`` holds all layers, ``lisez_moi`` and ``layer_styles``;
    GeoParquet and CSV give one file per layer (``<couche>.parquet``,
    ``<couche>.csv``) and ``lisez_moi.csv``. Every layer goes through the snapshot's
    disclosure gate (:func:`~accesoins.outputs.public_layer`).
    """
    formats = list(formats)
    for fmt in formats:
        if fmt not in EXPORT_FORMATS:
            raise UnknownChoiceError("Format d'export", fmt, EXPORT_FORMATS)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    layers = public_layers(store, snapshot_id)
    doc = _documentation(layers, local_data(store, snapshot_id))
    written: list[Path] = []
    if "gpkg" in formats:
        path = out / "observatoire.gpkg"
        partial = out / ".partiel-observatoire.gpkg"
        partial.unlink(missing_ok=True)
        for name, layer in layers.items():
            if step:
                step(f"GeoPackage : {name}")
            layer.to_file(partial, layer=name, driver="GPKG", engine="pyogrio")
        pyogrio.write_dataframe(doc, partial, layer="lisez_moi", driver="GPKG")
        n = _write_styles(partial, layers)
        log.info("%d styles QGIS écrits dans %s", n, path.name)
        partial.replace(path)
        written.append(path)
    for fmt in ("parquet", "csv"):
        if fmt not in formats:
            continue
        for name, layer in layers.items():
            if step:
                step(f"{fmt.upper()} : {name}")
            written.append(export_table(layer, out / f"{name}.{fmt}", fmt=fmt))
        if fmt == "csv":
            written.append(export_table(doc, out / "lisez_moi.csv", fmt="csv"))
    return written
