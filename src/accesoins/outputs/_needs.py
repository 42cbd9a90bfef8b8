"""Local indicators, priority classes and official zoning of a snapshot, as outputs show them.

Every output (web, fiches, brochure, exports) reads them here, from the snapshot
alone. Indicators that count people (``is_count``) pass the public gate like
every people count: they are gated with the same fixed groups as the layer they
join. Other indicators (rates, medians) are shown for plain units only: a
merged group has no single poverty rate. The priority class crosses the gated
APL with a need (``parameters/needs.yaml``) in terciles of the territory's units:
accesoins' own reading, never the ARS zoning.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from accesoins.indicators import priority_classes, territory_reference
from accesoins.labels import label_of
from accesoins.outputs._disclosure import Gate, public_layer
from accesoins.sources import ZoningClass
from accesoins.store import Store

__all__ = [
    "PRIORITY_NOTE",
    "IndicatorSheet",
    "LocalData",
    "indicator_rows",
    "indicator_sheet",
    "local_data",
    "priority_need",
    "with_local_indicators",
    "zone_aid",
    "zone_rule",
    "zoning_rows",
]

PRIORITY_NOTE = "classe indicative d'accesoins (terciles du territoire) — ce n'est pas le zonage de l'ARS"
_COUNT_PREFIX = "habitants_"  # a people column for the gate (see outputs._disclosure)


@cache
def _parameters() -> dict[str, Any]:
    text = resources.files("accesoins.parameters").joinpath("needs.yaml").read_text("utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


@dataclass(frozen=True)
class LocalData:
    """What a snapshot keeps of the local indicators and zoning (empty frames when none was attached)."""

    catalogue: pd.DataFrame
    values: pd.DataFrame  # level, unit_id, indicator, value
    zoning: pd.DataFrame
    bassins: pd.DataFrame  # commune_code, bassin_code (INSEE BV2022), when the build had the table

    def indicators_of(self, level: str) -> pd.DataFrame:
        """Catalogue rows of one level, indexed by indicator key."""
        if self.catalogue.empty:
            return self.catalogue
        return self.catalogue[self.catalogue["level"] == level].set_index("indicator")

    def wide(self, level: str) -> pd.DataFrame:
        """Values of one level: one row per unit, one column per indicator."""
        rows = self.values[self.values["level"] == level] if len(self.values) else self.values
        if rows.empty:
            return pd.DataFrame(index=pd.Index([], name="unit_id"))
        return rows.pivot(index="unit_id", columns="indicator", values="value").astype(float)

    @cached_property
    def zoning_by_unit(self) -> dict[tuple[str, str], list[tuple[str, str, str]]]:
        """(zone, profession, source) of each zoned (level, unit), in the table's order."""
        found: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
        for r in self.zoning.itertuples(index=False):
            found.setdefault((str(r.level), str(r.unit_id)), []).append(
                (str(r.zone), str(r.profession), str(r.source))
            )
        return found

    @cached_property
    def bassin_of(self) -> dict[str, str]:
        """The bassin de vie of each commune: the INSEE table, else each bassin's centre commune."""
        if not self.bassins.empty:
            table = self.bassins.drop_duplicates("commune_code")  # the first row of a commune, as before
            return dict(zip(table["commune_code"].astype(str), table["bassin_code"].astype(str), strict=True))
        if not len(self.values):
            return {}
        centres = self.values.loc[self.values["level"] == "bassin_vie", "unit_id"].astype(str)
        return {c: c for c in centres}


def local_data(store: Store, snapshot_id: str) -> LocalData:
    """The local indicators, zoning and commune → bassin table of a snapshot."""
    return LocalData(
        catalogue=store.kept("local_indicator_catalogue", snapshot_id),
        values=store.kept("local_indicators", snapshot_id),
        zoning=store.kept("official_zoning", snapshot_id),
        bassins=store.kept("commune_bassins", snapshot_id),
    )


def priority_need(local: LocalData, level: str) -> str | None:
    """The need crossed with the APL at ``level`` (first of ``priority_needs`` the snapshot has)."""
    have = local.indicators_of(level)
    return next((n for n in _parameters()["priority_needs"] if n in have.index), None)


def with_local_indicators(
    public: pd.DataFrame, raw: pd.DataFrame, local: LocalData, level: str, gate: Gate
) -> pd.DataFrame:
    """``public`` (a gated layer of ``level``) with one column per local indicator and the priority class.

    ``raw``: the ungated units of the level (``unit_id``, ``population``, ``parent_id``), so
    that counts are gated in the same groups as ``public``. Adds ``priority_class``
    (« A1-B3 »: weakest APL, highest need), ``priority_rank`` and ``priority_need`` when the
    layer has an APL and the level a need.
    """
    out = public.copy()
    meta = local.indicators_of(level)
    if meta.empty:
        return out
    wide = local.wide(level)
    counts = [i for i in meta.index if bool(meta.at[i, "is_count"]) and i in wide.columns]
    if counts:
        keys = [c for c in ("unit_id", "population", "parent_id") if c in raw.columns]
        frame = raw[keys].drop_duplicates("unit_id").copy()
        for ind in counts:
            frame[_COUNT_PREFIX + ind] = frame["unit_id"].map(wide[ind]).to_numpy()
        gated = public_layer(frame, level, gate).set_index("unit_id")
        for ind in counts:
            out[ind] = out["unit_id"].map(gated[_COUNT_PREFIX + ind]).astype(float).to_numpy()
    plain = out["secret"].fillna("").eq("") if "secret" in out.columns else pd.Series(True, index=out.index)
    for ind in (i for i in meta.index if i not in counts and i in wide.columns):
        out[ind] = out["unit_id"].map(wide[ind]).astype(float).where(plain.to_numpy())
    need = priority_need(local, level)
    if need is not None and "apl" in out.columns:
        units = out.drop_duplicates("unit_id").set_index("unit_id")
        classes = priority_classes(units["apl"].astype(float), units[need].astype(float))
        out["priority_class"] = out["unit_id"].map(classes["bivariate"]).fillna("").astype(str)
        out["priority_rank"] = out["unit_id"].map(classes["priority_rank"]).astype("Int64")
        out["priority_need"] = need
    return out


def zone_aid(profession: str, zone: str) -> str:
    """Installation aid granted by an official zoning class, in French (empty when it grants none)."""
    params = _parameters()
    return str(params["zone_aid"].get(profession, {}).get(zone, ""))


def zone_rule(profession: str, zone: str) -> str:
    """A regulation tied to the zoning class (installation only to replace a departure…), in French."""
    return str(_parameters()["zone_rules"].get(profession, {}).get(zone, ""))


def zoning_rows(
    local: LocalData, level: str, unit_id: str, profession_labels: dict[str, str]
) -> list[dict[str, str]]:
    """The official zoning of one unit, one row per profession: class label, source, aid, rule."""
    return [
        {
            "profession": profession,
            "profession_label": profession_labels.get(profession, profession),
            "zone": zone,
            "label": label_of(ZoningClass, zone),
            "source": source,
            "aid": zone_aid(profession, zone),
            "rule": zone_rule(profession, zone),
        }
        for zone, profession, source in local.zoning_by_unit.get((level, unit_id), [])
    ]


@dataclass(frozen=True)
class _Indicators:
    """One level's local indicators: each one's catalogue entry, value by unit and territory reference."""

    level: str
    note: str  # how a value of this level is shown beside another level's unit ("" for the unit's own)
    entries: list[tuple[str, dict[str, Any], dict[str, float], float, str]]  # key, spec, values, ref, how

    def rows(self, unit_id: str, note: str) -> list[dict[str, Any]]:
        out = []
        for ind, spec, values, reference, how in self.entries:
            value = values.get(unit_id, np.nan)
            out.append(
                {
                    "indicator": ind,
                    "level": self.level,
                    "label": str(spec["label"]),
                    "unit": str(spec["unit"]),
                    "year": None if pd.isna(spec["year"]) else int(spec["year"]),
                    "source": str(spec["source"]),
                    "is_count": bool(spec["is_count"]),
                    "digits": _digits(str(spec["unit"]), is_count=bool(spec["is_count"])),
                    "value": None if pd.isna(value) else float(value),
                    "reference": None if np.isnan(reference) else reference,
                    "reference_label": how,
                    "note": note,
                }
            )
        return out


def _indicators(local: LocalData, level: str, table: pd.DataFrame, *, described_only: bool) -> _Indicators:
    meta = local.indicators_of(level)
    if described_only and len(meta):
        meta = meta[meta["unit"].fillna("").astype(str) != ""]
    entries = []
    for ind, spec in meta.iterrows():
        if ind not in table.columns:
            continue
        pool = table[ind].groupby(level=0).first()  # one value per unit (layers repeat per profession)
        reference, how = territory_reference(pool, is_count=bool(spec["is_count"]))
        values = {str(u): v for u, v in pool.items()}
        entries.append((str(ind), spec.to_dict(), values, reference, how))
    return _Indicators(level, "", entries)


@dataclass(frozen=True)
class IndicatorSheet:
    """The local indicators of one level, ready for any of its units (:func:`indicator_sheet`)."""

    own: _Indicators
    bassin: _Indicators | None  # a commune's bassin de vie
    bassin_of: dict[str, str]

    def rows(self, unit_id: str) -> list[dict[str, Any]]:
        """Local indicators of ``unit_id`` beside the territory's value (see :func:`indicator_rows`)."""
        rows = self.own.rows(unit_id, "")
        bassin = self.bassin_of.get(unit_id) if self.bassin is not None else None
        if self.bassin is not None and bassin is not None:
            rows += self.bassin.rows(bassin, f"valeur du bassin de vie {bassin}")
        return rows


def indicator_sheet(
    local: LocalData, level: str, public: pd.DataFrame, k: int, *, described_only: bool = False
) -> IndicatorSheet:
    """What :func:`indicator_rows` reads for every unit of ``level``, computed once (web fiches)."""
    own = _indicators(local, level, public.set_index("unit_id"), described_only=described_only)
    bassin = None
    if level == "commune":
        wide = local.wide("bassin_vie")
        for ind in local.indicators_of("bassin_vie").query("is_count").index.intersection(wide.columns):
            wide[ind] = wide[ind].where(~wide[ind].between(1, k - 1, inclusive="both"))
        bassin = _indicators(local, "bassin_vie", wide, described_only=described_only)
    return IndicatorSheet(own, bassin, local.bassin_of)


def indicator_rows(
    local: LocalData, level: str, unit_id: str, public: pd.DataFrame, k: int, *, described_only: bool = False
) -> list[dict[str, Any]]:
    """Local indicators of one unit beside the territory's value (median, or total of a count).

    ``public``: the gated layer of ``level`` with its local columns (:func:`with_local_indicators`);
    values and references are read there, so a count never shows what the gate hides. For a
    commune, the indicators of its bassin de vie are added: through the commune → bassin table
    when the snapshot has it, else on the bassin's centre commune only, labelled as the bassin's
    value (a bassin count under ``k`` is blanked). ``described_only``: only the indicators that
    ``parameters/indicator_tables.yaml`` (or the user's YAML) describes with a unit, as a
    printed fiche keeps to them; an export's other columns stay in the web fiche and exports.
    """
    return indicator_sheet(local, level, public, k, described_only=described_only).rows(unit_id)


def _digits(unit: str, *, is_count: bool) -> int:
    """Decimals shown for an indicator: none for people and euros, three for an index, else one."""
    if is_count or "€" in unit:
        return 0
    return 3 if unit.startswith("indice") else 1
