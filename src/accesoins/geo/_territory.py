"""Territory selection: France, a région, a département, an EPCI (SIREN) or a list of communes."""

from __future__ import annotations

import re
from dataclasses import dataclass

import geopandas as gpd

from accesoins.errors import ConfigurationError


@dataclass(frozen=True)
class Territory:
    """What the user asked for: ``kind``: ``france``, ``region``, ``departement``, ``epci``, ``communes``."""

    kind: str
    codes: tuple[str, ...]

    @property
    def label(self) -> str:
        """Short name used in snapshot identifiers and messages."""
        if self.kind == "communes":
            return "communes-" + "-".join(self.codes[:3]) + ("-etc" if len(self.codes) > 3 else "")
        if self.kind == "region":
            return "R" + self.codes[0]
        return self.codes[0]

    def select(self, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """Communes of the territory (raises a French error when none matches)."""
        if self.kind == "france":
            mask = communes["commune_code"].ne("")
        elif self.kind == "region":
            mask = communes["region"].isin(self.codes)
        elif self.kind == "departement":
            mask = communes["department"].isin(self.codes)
        elif self.kind == "epci":
            mask = communes["epci_code"].isin(self.codes)
        else:
            mask = communes["commune_code"].isin(self.codes)
        chosen = communes[mask]
        if chosen.empty:
            raise ConfigurationError(f"aucune commune ne correspond au territoire « {','.join(self.codes)} »")
        if self.kind == "communes" and len(chosen) < len(set(self.codes)):
            missing = sorted(set(self.codes) - set(chosen["commune_code"]))
            raise ConfigurationError(f"code(s) commune inconnu(s) : {', '.join(missing)}")
        return chosen.reset_index(drop=True)


def parse_territory(text: str) -> Territory:
    """Read ``--territory``: ``France``, ``R75`` (région code after an R), ``33`` / ``2A`` / ``971``
    (département), a 9-digit EPCI SIREN, or commune codes.

    Examples
    --------
    >>> parse_territory("33"), parse_territory("243300316").kind, parse_territory("33063,33318").codes
    (Territory(kind='departement', codes=('33',)), 'epci', ('33063', '33318'))
    >>> parse_territory("r75"), parse_territory("France").label
    (Territory(kind='region', codes=('75',)), 'FR')
    """
    items = [t.strip().upper() for t in re.split(r"[,\s;]+", text.strip()) if t.strip()]
    if items in (["FRANCE"], ["FR"]):
        return Territory("france", ("FR",))
    if len(items) == 1 and re.fullmatch(r"R\d{2}", items[0]):
        return Territory("region", (items[0][1:],))
    if len(items) == 1 and re.fullmatch(r"\d{2}|2[AB]|97\d", items[0]):
        return Territory("departement", (items[0],))
    if len(items) == 1 and re.fullmatch(r"\d{9}", items[0]):
        return Territory("epci", (items[0],))
    if items and all(re.fullmatch(r"\d{5}|2[AB]\d{3}", i) for i in items):
        return Territory("communes", tuple(items))
    raise ConfigurationError(
        f"territoire « {text} » non reconnu : indiquez France, une région (R75), "
        "un département (33, 2A, 974), un SIREN d'EPCI (9 chiffres, ex. 243300316) "
        "ou une liste de codes commune (33063,33318)"
    )
