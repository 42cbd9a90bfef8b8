"""Versioned reference parameters: DREES APL vintages, APL classes, crow-fly speeds.

Each vintage of the official APL is one YAML file beside this module
(``apl_drees_<year>.yaml``); code never repeats these numbers as literals.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from accesoins.errors import ConfigurationError, UnknownChoiceError

if TYPE_CHECKING:
    from accesoins.indicators import Decay

__all__ = [
    "ActivityBounds",
    "AplClassBounds",
    "AplParameters",
    "CoverageParameters",
    "CrowFlyParameters",
    "RetirementParameters",
    "StepDecay",
    "TileParameters",
    "apl_vintages",
    "load_apl_classes",
    "load_apl_parameters",
    "load_coverage_parameters",
    "load_crowfly_parameters",
    "load_retirement_parameters",
    "load_tile_parameters",
]

AGE_BANDS: tuple[str, ...] = (
    "0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49",
    "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85-89", "90+",
)  # fmt: skip


class ActivityBounds(BaseModel):
    """DREES treatment of a GP's yearly activity (consultations and visits)."""

    lower_bound: float = Field(gt=0)
    floor: float = Field(gt=0)
    ceiling: float = Field(gt=0)
    imputed_new: float = Field(gt=0)
    bounds_for_health_centres: bool


class Step(BaseModel):
    below_min: float = Field(gt=0)
    weight: float = Field(ge=0, le=1)


class StepDecay(BaseModel):
    """Step distance decay: ``weight`` when travel time < ``below_min``."""

    unit: str
    steps: list[Step]
    beyond: float = 0.0

    @model_validator(mode="after")
    def _increasing(self) -> StepDecay:
        limits = [s.below_min for s in self.steps]
        if limits != sorted(limits):
            raise ValueError("les seuils de temps doivent être croissants")
        return self


class AplParameters(BaseModel):
    """One vintage of the official DREES APL to GPs."""

    vintage: int
    profession: str
    population_year: int
    source: str
    activity: ActivityBounds
    decay_steps: StepDecay = Field(alias="decay")
    age_weights: dict[str, float]

    @model_validator(mode="after")
    def _bands(self) -> AplParameters:
        if tuple(self.age_weights) != AGE_BANDS:
            raise ValueError(f"tranches d'âge attendues : {', '.join(AGE_BANDS)}")
        return self

    @property
    def decay(self) -> Decay:
        """The decay the kernel applies (every field of the YAML); ``decay.reach_min`` is the cutoff."""
        from accesoins.indicators import Decay  # the indicators import this module: import when used

        steps = self.decay_steps
        return Decay(
            "steps",
            limits=tuple(s.below_min for s in steps.steps),
            weights=tuple(s.weight for s in steps.steps),
            beyond=steps.beyond,
        )


class AplClassBound(BaseModel):
    """One APL class: its code and the value it stays strictly below (None: no upper bound)."""

    code: str
    below: float | None = Field(default=None, gt=0)


class AplClassBounds(BaseModel):
    """The APL classes in increasing order (``apl_classes.yaml``); only the last one is unbounded."""

    source: str
    classes: list[AplClassBound] = Field(min_length=2)

    @model_validator(mode="after")
    def _increasing(self) -> AplClassBounds:
        limits = [c.below for c in self.classes[:-1] if c.below is not None]
        if len(limits) < len(self.classes) - 1 or self.classes[-1].below is not None:
            raise ValueError("seule la dernière classe est sans borne supérieure")
        if limits != sorted(limits) or len(set(limits)) != len(limits):
            raise ValueError("les bornes des classes doivent être croissantes")
        return self


class CrowFlyParameters(BaseModel):
    """Crow-fly travel time model: ``access_min`` + straight distance × detour ÷ speed by density class."""

    detour_factor: float = Field(gt=1.0)
    density_breaks_per_km2: list[float]
    speeds_kph: list[float]
    access_min: float = Field(default=0.0, ge=0)
    intra_unit_min: float = Field(ge=0)
    source: str

    @model_validator(mode="after")
    def _classes(self) -> CrowFlyParameters:
        if len(self.speeds_kph) != len(self.density_breaks_per_km2) + 1:
            raise ValueError("il faut une vitesse de plus que de seuils de densité")
        return self


class TileParameters(BaseModel):
    """When a 200 m grid runs on tiles, how large a tile is, how long to wait for a Dask scheduler."""

    tile_above_cells: int = Field(ge=1)
    max_tile_pairs: int = Field(ge=1)
    scheduler_timeout_s: float = Field(gt=0)


class CoverageParameters(BaseModel):
    """When a professionals file covers a département (``coverage.yaml``)."""

    department_density_share: float = Field(gt=0, le=1)


class RetirementParameters(BaseModel):
    """Retirements from a local file: default horizon, retirement age, the « 60 and over » age, disclosure."""

    horizon_years: int = Field(ge=1, le=30)
    retirement_age: int = Field(ge=50, le=90)
    senior_age: int = Field(ge=40, le=90)
    min_practitioners: int = Field(ge=1)
    min_cell: int = Field(ge=1)
    source: str


_M = TypeVar("_M", bound=BaseModel)


def _validated(model: type[_M], name: str) -> _M:
    """The parameter file ``name`` checked against ``model``; an invalid file is a French error naming it."""
    try:
        return model.model_validate(_read_yaml(name))
    except ValidationError as exc:
        raise ConfigurationError(f"{name} invalide : {exc}") from exc


def _read_yaml(name: str) -> dict[str, Any]:
    try:
        text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigurationError(f"fichier de paramètres absent : {name}") from exc
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ConfigurationError(f"{name} : un dictionnaire YAML est attendu")
    return data


def apl_vintages() -> list[int]:
    """Vintages of the DREES APL shipped with accesoins."""
    names = [p.name for p in resources.files(__name__).iterdir()]
    return sorted(int(n[10:14]) for n in names if n.startswith("apl_drees_") and n.endswith(".yaml"))


@cache
def load_apl_parameters(vintage: int) -> AplParameters:
    """Official parameters of the DREES APL ``vintage``.

    Examples
    --------
    >>> p = load_apl_parameters(2023)
    >>> p.activity.floor, p.decay.limits, p.decay.reach_min, p.age_weights["90+"]
    (3600.0, (10.0, 15.0, 20.0), 20.0, 2.26)
    """
    if vintage not in apl_vintages():
        raise UnknownChoiceError("Millésime APL", vintage, apl_vintages())
    return _validated(AplParameters, f"apl_drees_{vintage}.yaml")


@cache
def load_apl_classes() -> AplClassBounds:
    """Classes of the APL and their thresholds (``apl_classes.yaml``), defined nowhere else.

    Examples
    --------
    >>> [(c.code, c.below) for c in load_apl_classes().classes]
    [('sous_dotee', 2.5), ('intermediaire', 4.0), ('bien_dotee', None)]
    """
    return _validated(AplClassBounds, "apl_classes.yaml")


@cache
def load_crowfly_parameters() -> CrowFlyParameters:
    """Parameters of the crow-fly travel time model (``crowfly.yaml``)."""
    return _validated(CrowFlyParameters, "crowfly.yaml")


@cache
def load_tile_parameters() -> TileParameters:
    """Tiling of large grids (``tiles.yaml``).

    Examples
    --------
    >>> p = load_tile_parameters()
    >>> p.tile_above_cells, p.max_tile_pairs, p.scheduler_timeout_s
    (20000, 2000000, 5.0)
    """
    return _validated(TileParameters, "tiles.yaml")


@cache
def load_coverage_parameters() -> CoverageParameters:
    """Coverage of départements by professionals files (``coverage.yaml``).

    Examples
    --------
    >>> load_coverage_parameters().department_density_share
    0.25
    """
    return _validated(CoverageParameters, "coverage.yaml")


@cache
def load_retirement_parameters() -> RetirementParameters:
    """Parameters of retirements and of their disclosure (``retirements.yaml``).

    Examples
    --------
    >>> p = load_retirement_parameters()
    >>> p.horizon_years, p.retirement_age, p.senior_age, p.min_practitioners, p.min_cell
    (5, 67, 60, 5, 3)
    """
    return _validated(RetirementParameters, "retirements.yaml")
