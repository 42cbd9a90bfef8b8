"""Read and validate the official source files.

One loader per source format; each reads a file from a directory (nothing is
downloaded while parsing) and raises :class:`~accesoins.errors.DataFileError`
with the file, line and column of the first problem. :func:`fetch` downloads
the official files for users with internet; :func:`locate` finds them in a
data directory.
"""

from accesoins.sources._annuaire import ACTIVITY_COLUMNS, MODES, read_annuaire_sante, read_rpps_2017
from accesoins.sources._catalog import CATALOG, SourceSpec, fetch, locate, sha256_of
from accesoins.sources._codes import Profession, SourceName
from accesoins.sources._communes import POPULATION_YEAR, commune_code_history, read_communes
from accesoins.sources._detect import (
    ESTABLISHMENTS,
    PROFESSIONALS,
    FileFormat,
    detect_format,
    find_by_header,
    read_establishments,
    read_professionals,
)
from accesoins.sources._drees import apl_vintages_in, read_apl_drees, read_apl_parameters_sheet
from accesoins.sources._enrichment import departures_table, practitioner_key, read_enrichment, retiring_by
from accesoins.sources._finess import (
    FINESS_COLUMNS,
    classify_site_names,
    read_finess_extraction,
    read_finess_geoloc_wgs84,
    read_finess_stock,
)
from accesoins.sources._gp_iris import read_gp_iris
from accesoins.sources._grid import read_filosofi_grid
from accesoins.sources._insee import IRIS_AGE_COLUMNS, read_iris_population, read_population_single_age
from accesoins.sources._local_indicators import (
    INDICATOR_LEVELS,
    IndicatorTable,
    check_indicator_codes,
    find_indicator_tables,
    is_commune_bassins,
    is_indicator_table,
    read_commune_bassins,
    read_indicator_table,
)
from accesoins.sources._od import read_od_table
from accesoins.sources._professions import classify_professions, load_professions
from accesoins.sources._urban_units import RURAL_SUFFIX, read_urban_units
from accesoins.sources._validate import in_france
from accesoins.sources._zones import ZONE_COLUMNS, read_iris_contours, read_qpv, read_quartiers
from accesoins.sources._zoning import (
    ZoningClass,
    find_zonings,
    is_ars_zoning,
    parse_zoning_class,
    read_ars_zoning,
)

__all__ = [
    "ACTIVITY_COLUMNS",
    "CATALOG",
    "ESTABLISHMENTS",
    "FINESS_COLUMNS",
    "INDICATOR_LEVELS",
    "IRIS_AGE_COLUMNS",
    "MODES",
    "POPULATION_YEAR",
    "PROFESSIONALS",
    "RURAL_SUFFIX",
    "ZONE_COLUMNS",
    "FileFormat",
    "IndicatorTable",
    "Profession",
    "SourceName",
    "SourceSpec",
    "ZoningClass",
    "apl_vintages_in",
    "check_indicator_codes",
    "classify_professions",
    "classify_site_names",
    "commune_code_history",
    "departures_table",
    "detect_format",
    "fetch",
    "find_by_header",
    "find_indicator_tables",
    "find_zonings",
    "in_france",
    "is_ars_zoning",
    "is_commune_bassins",
    "is_indicator_table",
    "load_professions",
    "locate",
    "parse_zoning_class",
    "practitioner_key",
    "read_annuaire_sante",
    "read_apl_drees",
    "read_apl_parameters_sheet",
    "read_ars_zoning",
    "read_commune_bassins",
    "read_communes",
    "read_enrichment",
    "read_establishments",
    "read_filosofi_grid",
    "read_finess_extraction",
    "read_finess_geoloc_wgs84",
    "read_finess_stock",
    "read_gp_iris",
    "read_indicator_table",
    "read_iris_contours",
    "read_iris_population",
    "read_od_table",
    "read_population_single_age",
    "read_professionals",
    "read_qpv",
    "read_quartiers",
    "read_rpps_2017",
    "read_urban_units",
    "retiring_by",
    "sha256_of",
]
