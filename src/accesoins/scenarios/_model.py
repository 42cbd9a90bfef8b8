"""Scenario files: a named list of changes to a snapshot, written in YAML (French keys).

Example::

    nom: MSP du Grand Parc et départs en retraite
    territoire: "33"
    instantane: dernier
    changements:
      - ajouter_site: {nom: MSP Grand Parc, lon: -0.5840, lat: 44.8573, generalistes: 4, mode: liberal}
      - retirer: {praticiens: ["10003456789"]}
      - retirer: {commune: "33522", profession: generaliste}
      - retraites: {fichier: enrichissement.csv, horizon: 2031, age: 67}
      - retraites: {horizon: 2031}   # sans fichier : la table des départs de l'instantané
      - ajouter_population: {nom: ZAC Brazza, lon: -0.5530, lat: 44.8550, logements: 800,
                             personnes_par_logement: 2.1}
      - modifier_site: {site: "finess:330000217", generalistes: 3, mode: centre_sante}
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from accesoins import sources
from accesoins.errors import ConfigurationError, DataFileError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Remove(_Strict):
    """Practitioners leaving: by identifier, or every one of a profession in a commune."""

    praticiens: list[str] = Field(default_factory=list)
    commune: str | None = None
    profession: str = "generaliste"

    @model_validator(mode="after")
    def _something(self) -> Remove:
        if not self.praticiens and self.commune is None:
            raise ValueError("indiquez « praticiens » (identifiants) ou « commune »")
        self.praticiens = [sources.practitioner_key(p) for p in self.praticiens]  # « 8 » + RPPS accepted
        return self


class Retirements(_Strict):
    """Departures projected from ages or planned retirement dates: a local file, else the snapshot's table."""

    fichier: Path | None = None
    horizon: int = Field(ge=2000, le=2100)
    age: int = Field(default=67, ge=50, le=90)


class AddSite(_Strict):
    """A new practice site (MSP, centre de santé...) with its GPs, at a point."""

    nom: str
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    generalistes: float = Field(gt=0, description="ETP de médecins généralistes")
    mode: Literal["liberal", "centre_sante"] = "liberal"
    unite: str | None = Field(default=None, description="unité de demande qui contient le site, si connue")


class AddPopulation(_Strict):
    """New residents (a housing programme) at a point: dwellings × persons per dwelling."""

    nom: str
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    logements: int = Field(gt=0)
    personnes_par_logement: float = Field(default=2.1, gt=0, le=10)
    unite: str | None = None

    @property
    def residents(self) -> float:
        """Number of new residents."""
        return self.logements * self.personnes_par_logement


class ChangeSite(_Strict):
    """A site's GP supply (ETP) or mode changes (e.g. becomes a centre de santé)."""

    site: str
    generalistes: float | None = Field(default=None, ge=0)
    mode: Literal["liberal", "centre_sante"] | None = None


class Change(_Strict):
    """Exactly one of the possible changes."""

    retirer: Remove | None = None
    retraites: Retirements | None = None
    ajouter_site: AddSite | None = None
    ajouter_population: AddPopulation | None = None
    modifier_site: ChangeSite | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Change:
        given = [k for k, v in self.__dict__.items() if v is not None]
        if len(given) != 1:
            raise ValueError(
                "chaque changement doit avoir exactement une clé parmi : retirer, retraites, "
                "ajouter_site, ajouter_population, modifier_site"
            )
        return self

    @property
    def value(self) -> Remove | Retirements | AddSite | AddPopulation | ChangeSite:
        """The change itself."""
        given: Remove | Retirements | AddSite | AddPopulation | ChangeSite = next(
            v for v in self.__dict__.values() if v is not None
        )
        return given


class Scenario(_Strict):
    """A named what-if applied to a snapshot."""

    nom: str
    territoire: str | None = Field(default=None, description="territoire de l'instantané (ex. 33)")
    instantane: str = "dernier"
    changements: list[Change] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct_site_names(self) -> Scenario:
        """New sites are identified by their name (``scenario:<nom>``): two with one name would merge."""
        names = [c.ajouter_site.nom for c in self.changements if c.ajouter_site is not None]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(
                f"plusieurs nouveaux sites portent le nom « {repeated[0]} » : "
                "donnez à chacun un nom différent"
            )
        return self


def read_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file (relative paths inside are relative to the file)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataFileError("fichier de scénario introuvable", path=path) from exc
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise DataFileError(
            f"YAML invalide ({getattr(exc, 'problem', exc)})",
            path=path,
            line=None if line is None else line + 1,
        ) from exc
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        at = f" à « {where} »" if where else ""
        raise ConfigurationError(
            f"{path} : scénario invalide{at} : {first['msg'].removeprefix('Value error, ')}"
        ) from exc
    for change in scenario.changements:
        retirements = change.retraites
        if (
            retirements is not None
            and retirements.fichier is not None
            and not retirements.fichier.is_absolute()
        ):
            retirements.fichier = path.parent / retirements.fichier
    return scenario
