"""Validated settings: where the data and the store are, read once from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where things are, from ``ACCESOINS_*`` variables.

    ``ACCESOINS_DATA``: directory of source files; ``ACCESOINS_STORE``: the DuckDB
    store file; ``ACCESOINS_CACHE``: directory of derived tables kept between runs
    (the communes of France as Parquet); ``ACCESOINS_DASK``: address of a Dask
    distributed scheduler for tiled computations (none: local threads);
    ``ACCESOINS_DISCLOSURE_K``: smallest count of residents a public output may show (recorded in
    each snapshot at build; INSEE / CNIL practice is 11).
    """

    model_config = SettingsConfigDict(env_prefix="ACCESOINS_", extra="ignore")

    data: Path = Field(default=Path("data"), description="répertoire des fichiers sources")
    store: Path = Field(default=Path("var/accesoins.duckdb"), description="fichier de l'entrepôt DuckDB")
    disclosure_k: int = Field(
        default=11, ge=1, description="secret statistique : aucun compte de 1 à k-1 personnes n'est publié"
    )
    cache: Path = Field(
        default=Path.home() / ".cache" / "accesoins", description="répertoire des tables dérivées (cache)"
    )
    dask: str | None = Field(default=None, description="ordonnanceur Dask distribué (tcp://hôte:port)")


def get_settings() -> Settings:
    """Settings from the environment (a new object each call, so tests can change the environment)."""
    return Settings()
