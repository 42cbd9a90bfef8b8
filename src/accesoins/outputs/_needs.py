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
from functools import cache
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
    "LocalData",
    "indicator_rows",
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
    z = local.zoning
    if z.empty:
        return []
    mine = z[(z["level"] == level) & (z["unit_id"] == unit_id)]
    rows = []
    for r in mine.itertuples(index=False):
        zone, profession = str(r.zone), str(r.profession)
        rows.append(
            {
                "profession": profession,
                "profession_label": profession_labels.get(profession, profession),
                "zone": zone,
                "label": label_of(ZoningClass, zone),
                "source": str(r.source),
                "aid": zone_aid(profession, zone),
                "rule": zone_rule(profession, zone),
            }
        )
    return rows


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
    rows: list[dict[str, Any]] = []
    targets: list[tuple[str, str, str, pd.DataFrame]] = [(level, unit_id, "", public.set_index("unit_id"))]
    if level == "commune":
        bassin = _bassin_of(local, unit_id)
        if bassin is not None:
            wide = local.wide("bassin_vie")
            for ind in local.indicators_of("bassin_vie").query("is_count").index.intersection(wide.columns):
                wide[ind] = wide[ind].where(~wide[ind].between(1, k - 1, inclusive="both"))
            targets.append(("bassin_vie", bassin, f"valeur du bassin de vie {bassin}", wide))
    for lvl, uid, note, table in targets:
        meta = local.indicators_of(lvl)
        if described_only and len(meta):
            meta = meta[meta["unit"].fillna("").astype(str) != ""]
        for ind, spec in meta.iterrows():
            if ind not in table.columns:
                continue
            value = table[ind].get(uid, np.nan) if uid in table.index else np.nan
            pool = table[ind].groupby(level=0).first()  # one value per unit (layers repeat per profession)
            reference, how = territory_reference(pool, is_count=bool(spec["is_count"]))
            rows.append(
                {
                    "indicator": str(ind),
                    "level": lvl,
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
    return rows


def _digits(unit: str, *, is_count: bool) -> int:
    """Decimals shown for an indicator: none for people and euros, three for an index, else one."""
    if is_count or "€" in unit:
        return 0
    return 3 if unit.startswith("indice") else 1


def _bassin_of(local: LocalData, commune: str) -> str | None:
    """The bassin de vie of a commune (INSEE table), else the commune itself when it is a bassin's centre."""
    if not local.bassins.empty:
        match = local.bassins.loc[local.bassins["commune_code"] == commune, "bassin_code"]
        return str(match.iloc[0]) if len(match) else None
    centres = local.values.loc[local.values["level"] == "bassin_vie", "unit_id"] if len(local.values) else []
    return commune if commune in set(centres) else None
