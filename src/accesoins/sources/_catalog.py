"""Catalogue of sources: where each one is published, how to find it in a data directory, how to fetch it.

Download and parsing are separate: :func:`fetch` only copies the official file
into ``<data_dir>/raw/<source>/`` with a SHA-256 manifest; every loader reads a
file from a directory, so everything works offline once the files are there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from accesoins.errors import AccesoinsError, MissingSourceError, UnknownChoiceError
from accesoins.sources._codes import SourceName

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceSpec:
    """An official source: publisher's address and file name patterns in a data directory."""

    name: SourceName
    label: str
    publisher: str
    url: str
    patterns: tuple[str, ...]
    licence: str = "Licence Ouverte / Etalab 2.0"


CATALOG: dict[str, SourceSpec] = {  # keyed by SourceName (a str)
    s.name: s
    for s in (
        SourceSpec(
            SourceName.ANNUAIRE_SANTE,
            "Annuaire Santé – extraction PS_LibreAcces (RPPS/ADELI)",
            "ANS",
            "https://service.annuaire.sante.fr/annuaire-sante-webservices/V300/services/extraction/PS_LibreAcces",
            (
                "PS_LibreAcces_Personne_activite*.txt",
                "ps_libreacces_personne_activite*.txt",
                "rpps_*.csv",
                "ExtractionMonoTable_CAT18*.csv",
            ),
        ),
        SourceSpec(
            SourceName.FINESS,
            "FINESS – extraction des établissements (géolocalisés)",
            "Ministère de la Santé / DREES",
            "https://www.data.gouv.fr/api/1/datasets/finess-extraction-du-fichier-des-etablissements/",
            (
                "etalab-cs1100507-stock-*.csv",
                "etalab_cs1100507_stock_*.csv",
                "finess_*geoloc*.csv",
                "etalab_stock_et_*.csv",
                "finess_etalab_stock_et_*.csv",
            ),
        ),
        SourceSpec(
            SourceName.APL_DREES,
            "APL aux médecins généralistes (classeur DREES)",
            "DREES",
            "https://data.drees.solidarites-sante.gouv.fr/explore/dataset/530_l-accessibilite-potentielle-localisee-apl/",
            ("apl_medecins_generalistes*.xlsx", "*APL*generalistes*.xlsx"),
        ),
        SourceSpec(
            SourceName.POPULATION_IRIS,
            "Population par âge à l'IRIS (base-ic-evol-struct-pop)",
            "INSEE",
            "https://www.insee.fr/fr/statistiques/5650720",
            ("base-ic-evol-struct-pop-*.xlsx", "base-ic-evol-struct-pop-*.csv", "pop_iris_*.xlsx"),
        ),
        SourceSpec(
            SourceName.GP_IRIS,
            "Médecins généralistes par IRIS (étude APL 06, Chaire PAAS)",
            "Chaire PAAS (tiers)",
            "",
            ("gp_iris_*.csv",),
            "non précisée",
        ),
        SourceSpec(
            SourceName.OD_TABLE,
            "Distancier IRIS/commune (minutes)",
            "INSEE Metric ou étude tierce",
            "https://www.insee.fr/fr/information/7635825",
            ("od_iris_*le30min*.csv", "od_iris_*.csv", "od_communes_*.csv", "distancier*.csv"),
        ),
        SourceSpec(
            SourceName.FILOSOFI_GRID,
            "Filosofi – population carroyée 200 m",
            "INSEE",
            "https://www.insee.fr/fr/statistiques/7655475",
            ("filosofi*200m*.csv", "Filosofi*200m*.csv", "carreaux_200m*.csv"),
        ),
        SourceSpec(
            SourceName.QPV,
            "Quartiers prioritaires de la politique de la ville (périmètres)",
            "ANCT",
            "https://www.data.gouv.fr/api/1/datasets/quartiers-prioritaires-de-la-politique-de-la-ville-qpv/",
            ("qpv*.geojson", "QP*.geojson", "qpv*.gpkg", "QP*.shp", "*_qpv*.geojson"),
        ),
        SourceSpec(
            SourceName.IRIS_CONTOURS,
            "Contours IRIS (IGN CONTOURS-IRIS ou IRIS GE)",
            "IGN / INSEE",
            "https://geoservices.ign.fr/contoursiris",
            (
                "CONTOURS-IRIS*.gpkg",
                "CONTOURS-IRIS*.shp",
                "iris_ge*.gpkg",
                "iris_ge*.geojson",
                "iris_ge*.shp",
            ),
        ),
        SourceSpec(
            SourceName.QUARTIERS,
            "Quartiers de la collectivité (polygones ou liste d'IRIS)",
            "collectivité",
            "",
            ("quartiers*.geojson", "quartiers*.gpkg", "quartiers*.csv", "se_quart_s.shp", "quartiers*.shp"),
            "non précisée",
        ),
        SourceSpec(
            SourceName.URBAN_UNITS,
            "Unités urbaines 2020 : composition communale (ou table d'appartenance géographique)",
            "INSEE",
            "https://www.insee.fr/fr/information/4802589",
            (
                "UU2020*.xlsx",
                "UU2020*.csv",
                "table-appartenance-geo-communes*.xlsx",
                "table-appartenance-geo-communes*.csv",
                "unites_urbaines*.xlsx",
                "unites_urbaines*.csv",
            ),
        ),
        SourceSpec(
            SourceName.OSM,
            "OpenStreetMap – extrait régional (.osm.pbf)",
            "OpenStreetMap (ODbL)",
            "https://download.geofabrik.de/europe/france.html",
            ("*.osm.pbf", "*.osm.bz2", "*.osm.gz", "*.osm"),
            "ODbL 1.0",
        ),
        SourceSpec(  # several producers: recognised by header (find_indicator_tables), no single address
            SourceName.LOCAL_INDICATORS,
            "Indicateurs locaux – Filosofi IRIS, recensement, CartoSanté, INSEE Statistiques locales",
            "INSEE / ARS (CartoSanté)",
            "",
            ("*filosofi*_iris*.csv", "*BASE_TD_FILO_DISP_IRIS*.csv"),
        ),
        SourceSpec(
            SourceName.ARS_ZONING,
            "Zonage de l'ARS – export CartoSanté par commune",
            "ARS (CartoSanté, Atlasanté)",
            "",
            ("*zonage*.csv",),
        ),
        SourceSpec(
            SourceName.COMMUNE_BASSINS,
            "Appartenance géographique des communes – bassins de vie 2022 (BV2022)",
            "INSEE",
            "",
            ("table-appartenance-geo-communes*.csv", "*appartenance*geo*.csv"),
        ),
    )
}


def locate(name: str, data_dir: Path, *, required: bool = True) -> list[Path]:
    """Files of source ``name`` found under ``data_dir``, in the patterns' order of preference."""
    if name not in CATALOG:
        raise UnknownChoiceError("Source", name, CATALOG)
    spec = CATALOG[name]
    files: list[Path] = []
    for pattern in spec.patterns:  # patterns in order of preference
        files.extend(p for p in sorted(data_dir.rglob(pattern)) if p.is_file() and p not in files)
    if not files and required:
        raise MissingSourceError(
            spec.label,
            searched=[data_dir / p for p in spec.patterns[:2]],
            hint=f"Téléchargez-le avec « accesoins fetch {name} » ou placez-le dans {data_dir}.",
        )
    return files


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(
    name: str,
    data_dir: Path,
    *,
    url: str | None = None,
    opener: Callable[[str], object] = urllib.request.urlopen,
) -> Path:
    """Download source ``name`` (or ``url``) into ``<data_dir>/raw/<name>/`` and record its checksum.

    The manifest ``manifest.json`` beside the file keeps the address, the
    date and the SHA-256, so a snapshot can always say what it was built from.
    """
    if name not in CATALOG:
        raise UnknownChoiceError("Source", name, CATALOG)
    address = url or CATALOG[name].url
    if not address:
        raise AccesoinsError(f"la source « {name} » n'a pas d'adresse publique : fournissez le fichier")
    target_dir = data_dir / "raw" / name
    target_dir.mkdir(parents=True, exist_ok=True)
    file_name = Path(address.split("?")[0].rstrip("/")).name or name
    target = target_dir / file_name
    partial = target.with_suffix(target.suffix + ".part")
    try:
        with opener(address) as response, partial.open("wb") as out:  # type: ignore[attr-defined]
            shutil.copyfileobj(response, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise AccesoinsError(f"téléchargement impossible de {address} : {exc}") from exc
    partial.replace(target)
    manifest_path = target_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest[file_name] = {
        "url": address,
        "sha256": sha256_of(target),
        "bytes": target.stat().st_size,
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    log.info("%s téléchargé dans %s", name, target)
    return target
