"""Command line of accesoins (French): ``accesoins --help``.

Each command calls the public interfaces of the stages; errors meant for the
user (:class:`~accesoins.errors.AccesoinsError`) are printed in French and end
the command with exit code 2, never with a traceback.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import typer
from rich.console import Console

from accesoins import __version__, _cli_texts
from accesoins.errors import AccesoinsError, ConfigurationError, DataFileError
from accesoins.french import format_number

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from accesoins.observatory import BuildOptions
    from accesoins.store import Store

# Heavy libraries and the stages are imported inside the commands that use them, so that
# `accesoins --help` and a mistyped command answer at once.

_cli_texts.install()  # Click's and Typer's own texts (help, usage, errors) in French
app = typer.Typer(
    help="accesoins — observatoire de l'accès aux soins de premier recours (APL, densités, temps d'accès).",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Répertoire des fichiers sources (défaut : variable ACCESOINS_DATA, sinon ./data)."
    ),
]
StorePath = Annotated[
    Path | None,
    typer.Option(
        "--store", help="Fichier de l'entrepôt DuckDB (défaut : ACCESOINS_STORE, sinon var/accesoins.duckdb)."
    ),
]
SnapshotOpt = Annotated[str | None, typer.Option("--snapshot", help="Instantané (défaut : le dernier).")]

FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        help="csv (virgule, point décimal), csv-excel (tableur : « ; », virgule décimale, en-têtes "
        "français), gpkg ou parquet.",
    ),
]


def _friendly(func: F) -> F:
    """Print user errors in French and exit with code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AccesoinsError as exc:
            console.print(f"[bold red]Erreur :[/] {exc}", highlight=False)
            raise typer.Exit(2) from exc
        except KeyboardInterrupt:
            console.print("[yellow]Interrompu : rien n'a été écrit dans l'entrepôt.[/]")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _check_output_file(path: Path) -> None:
    """Refuse an output path that is a directory (writing would otherwise fail late, with a traceback)."""
    if path.is_dir():
        raise ConfigurationError(
            f"--out {path} est un répertoire : donnez le nom du fichier à écrire (ex. {path / 'acces.csv'})."
        )


def _print_version(value: bool) -> None:
    """``--version``: eager, so it answers before Click asks for a command."""
    if value:
        out.print(f"accesoins {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Affiche le détail des étapes.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Affiche la version et quitte.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Options communes à toutes les commandes."""
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, show_time=False)],
    )


PREVIOUS = ("precedent", "précédent", "previous")


def _fr(value: Any, digits: int, *, signed: bool = False) -> str:
    """A number for the terminal, the French way (« 3,24 »); « — » when missing."""
    try:
        number = float(value)
    except (TypeError, ValueError):  # None, pd.NA
        return "—"
    if math.isnan(number):
        return "—"
    text = format_number(number, digits)
    return f"+{text}" if signed and float(value) > 0 else text


def _sep(path: Path) -> str:
    """« ; » when the header line uses it (a French spreadsheet's CSV), else « , »."""
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as f:
            header = f.readline()
    except OSError:
        return ","  # read_table reports the missing file in French
    return ";" if header.count(";") > header.count(",") else ","


def _data_dir(value: Path | None) -> Path:
    """``--data-dir``, else ACCESOINS_DATA / ./data, else the embedded demo territory (Bordeaux Métropole)."""
    from accesoins import demo
    from accesoins.settings import get_settings

    if value is not None:
        return value
    folder = get_settings().data
    if folder.is_dir():
        return folder
    console.print(
        f"Répertoire de données « {folder} » absent : données de démonstration embarquées "
        f"(Bordeaux Métropole, --territory {demo.DEMO_TERRITORY}, voir accesoins/demo/PROVENANCE.md).",
        highlight=False,
    )
    return demo.data_dir()


def _store(value: Path | None) -> Path:
    from accesoins.settings import get_settings

    return value if value is not None else get_settings().store


class _Bar:
    """The build's progress: ``bar(label)`` starts the next step, ``bar.tiles(done, total)`` follows tiles."""

    def __init__(self, bar: Progress, total: int) -> None:
        self.bar, self.total = bar, total
        self.task = bar.add_task("Préparation", total=total)
        self.tile_task: TaskID | None = None
        self.shown = -1  # last tile count printed when the console is not a terminal

    def __call__(self, label: str) -> None:
        self.bar.update(self.task, advance=1, description=label)
        if not console.is_terminal:
            console.print(f"  • {label}", highlight=False)

    def tiles(self, done: int, total: int) -> None:
        """A second bar under the step, one tick per finished tile (a line per tenth without a terminal)."""
        if self.tile_task is None:
            self.tile_task = self.bar.add_task("  tuiles du carroyage", total=total)
        self.bar.update(self.tile_task, completed=done, total=total)
        tenth = 10 * done // max(total, 1)
        if not console.is_terminal and tenth > self.shown:
            self.shown = tenth
            console.print(f"    tuiles : {done}/{total}", highlight=False)


@contextmanager
def _progress(total: int) -> Iterator[_Bar]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal,
    ) as bar:
        step = _Bar(bar, total)
        yield step
        bar.update(step.task, completed=total, description="Terminé")


def _options(
    territory: str,
    data_dir: Path | None,
    store: Path | None,
    vintage: int,
    cost: str,
    demand: str,
    activity: str,
    dask: str | None = None,
    partial: bool = False,
) -> BuildOptions:
    from accesoins import geo
    from accesoins.observatory import BuildOptions, CostMode, DemandMode

    cost = {"road": "route", "crowfly": "vol_oiseau"}.get(cost, cost)
    if cost not in ("auto", "table", "vol_oiseau", "route"):
        raise ConfigurationError(f"source de temps « {cost} » inconnue : auto, table, vol_oiseau ou route")
    if demand not in ("auto", "insee", "drees", "population"):
        raise ConfigurationError(f"demande « {demand} » inconnue : auto, insee, drees ou population")
    return BuildOptions(
        territory=geo.parse_territory(territory),
        data_dir=_data_dir(data_dir),
        store_path=_store(store),
        vintage=vintage,
        cost=cast(CostMode, cost),
        demand=cast(DemandMode, demand),
        activity=activity,
        dask=dask,
        partial=partial,
    )


Territory = Annotated[
    str,
    typer.Option(
        "--territory", "-t", help="France, région (R75), département (33), SIREN d'EPCI ou codes commune."
    ),
]
Vintage = Annotated[
    int, typer.Option("--vintage", help="Millésime des paramètres APL de la DREES (2022, 2023).")
]
Cost = Annotated[
    str, typer.Option("--cost", help="Temps de trajet : auto, table (distancier), vol_oiseau, route.")
]
Demand = Annotated[
    str, typer.Option("--demand", help="Demande : auto, insee (âges), drees (ratio), population.")
]
Activity = Annotated[
    str,
    typer.Option(
        "--activite",
        help="Activité par médecin : uniforme (5 400), calibre, ou un nombre de consultations par an.",
    ),
]
Dask = Annotated[
    str | None,
    typer.Option(
        "--dask",
        help="Ordonnanceur Dask distribué (tcp://hôte:8786) qui calcule les tuiles d'un grand carroyage "
        "(défaut : variable ACCESOINS_DASK, sinon cette machine).",
    ),
]

Partial = Annotated[
    bool,
    typer.Option(
        "--partiel",
        help="Région, France : construit les départements couverts par un fichier de professionnels "
        "et nomme les autres (sans cette option, ils sont refusés).",
    ),
]


def _reachable(dask: str | None) -> None:
    """Check the Dask scheduler before reading anything, so a wrong address fails in seconds."""
    from accesoins import indicators

    indicators.check_scheduler(indicators.scheduler_address(dask))


@app.command()
@_friendly
def build(
    territory: Territory,
    data_dir: DataDir = None,
    store: StorePath = None,
    vintage: Vintage = 2023,
    cost: Cost = "auto",
    demand: Demand = "auto",
    activite: Activity = "uniforme",
    dask: Dask = None,
    partiel: Partial = False,
    unites_urbaines: Annotated[
        Path | None,
        typer.Option(
            "--unites-urbaines",
            help="Table INSEE commune → unité urbaine (composition des unités urbaines 2020 ou table "
            "d'appartenance géographique, xlsx ou CSV) ; sinon cherchée dans le répertoire de données.",
        ),
    ] = None,
    indicateurs: Annotated[
        list[Path] | None,
        typer.Option(
            "--indicateurs",
            help="Table d'indicateurs locaux (Filosofi IRIS, export CartoSanté ou INSEE, table décrite "
            "par un YAML à côté), répétable. Par défaut : celles du répertoire de données qui concernent "
            "le territoire.",
        ),
    ] = None,
    zonage: Annotated[
        list[Path] | None,
        typer.Option(
            "--zonage",
            help="Zonage de l'ARS (export CartoSanté par commune), répétable. Par défaut : ceux du "
            "répertoire de données.",
        ),
    ] = None,
    departs: Annotated[
        Path | None,
        typer.Option(
            "--departs",
            help="Fichier local des années de naissance ou des dates de départ en retraite des praticiens "
            "(données personnelles : seuls des effectifs en sortent).",
        ),
    ] = None,
) -> None:
    """Construit l'observatoire d'un territoire et l'enregistre comme nouvel instantané."""
    import dataclasses

    from accesoins import geo, indicators, network
    from accesoins.labels import label_of
    from accesoins.observatory import BUILD_STEPS, build_observatory
    from accesoins.store import Store

    options = _options(territory, data_dir, store, vintage, cost, demand, activite, dask, partiel)
    _reachable(dask)
    options = dataclasses.replace(
        options,
        urban_units=unites_urbaines,
        indicators=tuple(indicateurs or ()),
        zonings=tuple(zonage or ()),
        departures=departs,
    )
    with _progress(BUILD_STEPS) as step:
        snapshot_id = build_observatory(options, step, step.tiles)
    with Store(options.store_path, read_only=True) as s:
        meta = s.metadata(snapshot_id)
    precision = ", ".join(f"{label_of(geo.Precision, k)} : {v}" for k, v in meta.get("precision", {}).items())
    out.print(f"Instantané [bold]{snapshot_id}[/] enregistré dans {options.store_path}")
    units = ", ".join(f"{label_of(geo.Level, k)} : {v}" for k, v in (meta.get("units") or {}).items())
    out.print(f"  activités : {meta.get('activities')} (précision : {precision})")
    out.print(
        f"  unités : {units} ; temps : {label_of(network.CostSourceCode, meta.get('cost_source'))} ; "
        f"demande : {label_of(indicators.DemandMethod, meta.get('demand_method'))}"
    )
    if meta.get("missing_departments"):
        missing = meta["missing_departments"]
        out.print(
            "  [yellow]départements sans médecin généraliste dans les fichiers, "
            f"laissés de côté ({len(missing)}) :[/] {', '.join(missing)}",
            highlight=False,
        )
    for key, what in (("local_indicators", "indicateurs locaux"), ("official_zoning", "zonages de l'ARS")):
        attached = meta.get(key) or {}
        listed = ", ".join(f"{name} ({rows} lignes du territoire)" for name, rows in attached.items())
        out.print(f"  {what} : {listed or 'aucun'}", highlight=False)
    if departs is not None:
        out.print(
            f"  départs ({departs.name}) : {meta.get('departures_matched', 0)} praticien(s) du territoire "
            f"ou de ses environs retrouvé(s), {meta.get('departures_unknown', 0)} identifiant(s) inconnu(s) "
            "ignoré(s)"
        )


@app.command("validate-apl")
@_friendly
def validate_apl_command(
    territory: Territory,
    data_dir: DataDir = None,
    vintage: Vintage = 2023,
    cost: Cost = "auto",
    demand: Demand = "auto",
    activite: Activity = "uniforme",
    dask: Dask = None,
    partiel: Partial = False,
) -> None:
    """Compare l'APL communale calculée à celle publiée par la DREES (ρ de Spearman, erreur, biais)."""
    from accesoins import indicators, network
    from accesoins.labels import label_of
    from accesoins.observatory import BUILD_STEPS, validate_apl

    options = _options(territory, data_dir, None, vintage, cost, demand, activite, dask, partiel)
    _reachable(dask)
    with _progress(BUILD_STEPS - 1) as step:
        comparison, results = validate_apl(options, step, step.tiles)
    out.print(
        f"APL {vintage}, territoire {territory} — "
        f"temps : {label_of(network.CostSourceCode, results.summary['cost_source'])}, "
        f"demande : {label_of(indicators.DemandMethod, results.summary['demand_method'])}, "
        f"activité : {_fr(results.summary['consultations_per_gp'], 0)} consultations/médecin/an"
    )
    for line in comparison.lines():
        out.print(line, highlight=False)


@app.command("indicators")
@_friendly
def indicators_command(
    level: Annotated[str, typer.Option("--level", help="Niveau : commune, iris, carreau.")] = "commune",
    profession: Annotated[
        str | None, typer.Option("--profession", help="Profession (generaliste, …).")
    ] = None,
    fmt: FormatOpt = "csv",
    out_path: Annotated[Path, typer.Option("--out", help="Fichier à écrire.")] = Path("indicateurs.csv"),
    snapshot: SnapshotOpt = None,
    store: StorePath = None,
) -> None:
    """Exporte les indicateurs d'un niveau (effectifs, ETP, densités, APL, précision de localisation), avec
    les indicateurs locaux de l'instantané (Filosofi, ALD…) et la classe de priorité accès × besoin.

    Secret statistique (seuil k de l'instantané) : les unités de moins de k habitants sont regroupées
    dans un groupe fixe (carreau de 1 km, 2 km… ; IRIS de leur commune) ou masquées.
    """
    from accesoins import outputs
    from accesoins.store import Store, indicator_layer

    with Store(_store(store), read_only=True) as s:
        sid = s.resolve(snapshot)
        gate = outputs.snapshot_gate(s, sid)
        raw = indicator_layer(s, sid, level=level, profession=profession)
        layer = outputs.public_layer(raw, level, gate)
        gps = raw[raw["profession"] == "generaliste"]
        if len(gps):  # local indicators and priority class (read beside the GPs' APL) on every row of a unit
            needs = outputs.with_local_indicators(
                outputs.public_layer(gps, level, gate), gps, outputs.local_data(s, sid), level, gate
            )
            added = ["unit_id", *(c for c in needs.columns if c not in layer.columns)]
            layer = layer.merge(needs[added].drop_duplicates("unit_id"), on="unit_id", how="left")
    outputs.export_table(layer, out_path, fmt=fmt)
    merged = int((layer["secret"] != "").sum()) if "secret" in layer.columns else 0
    out.print(
        f"{len(layer)} lignes ({level}, instantané {sid}) écrites dans {out_path} "
        f"({merged} regroupée(s) ou masquée(s) pour le secret statistique)"
    )


@app.command("zones")
@_friendly
def zones_command(
    profession: Annotated[
        str, typer.Option("--profession", help="Profession (generaliste, …).")
    ] = "generaliste",
    commune: Annotated[
        str | None, typer.Option("--commune", help="Code commune : seulement ses QPV et quartiers.")
    ] = None,
    snapshot: SnapshotOpt = None,
    store: StorePath = None,
) -> None:
    """Compare chaque QPV et quartier au reste de sa commune et de son unité urbaine : densité, IC 95 %, APL.

    Rapport des densités (ETP pour 100 000 habitants) dans la zone et dans le reste de sa commune,
    avec son intervalle de confiance exact ; rapport des APL ; même rapport au reste de l'unité
    urbaine (table INSEE donnée à la construction) ; part de l'offre de la commune dont le lieu
    d'exercice infra-communal est inconnu (placée à la mairie).
    """
    import numpy as np
    import pandas as pd
    from rich.table import Table

    from accesoins import outputs, sources
    from accesoins.labels import label_of
    from accesoins.store import Store

    with Store(_store(store), read_only=True) as s:  # through the snapshot's disclosure gate, like any output
        sid = s.resolve(snapshot)
        layers = outputs.public_zone_comparison(s, sid, outputs.snapshot_gate(s, sid))
    frames = [pd.DataFrame(layer.drop(columns="geometry")) for layer in layers.values()]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["profession"])
    table = table[table["profession"] == profession]
    if commune:
        table = table[table["parent_id"] == commune]
    if table.empty:
        raise ConfigurationError(
            f"aucune comparaison de zones pour « {profession} » dans l'instantané {sid} : "
            "placez des périmètres QPV ou des quartiers dans le répertoire de données et reconstruisez"
        )
    who = label_of(sources.Profession, profession)
    grid = Table(
        title=f"Zones contre le reste de leur commune et de leur unité urbaine — {who} (instantané {sid})"
    )
    for col in (
        "zone",
        "commune",
        "habitants",
        "densité dans / reste",
        "rapport [IC 95 %]",
        "APL dans / reste",
        "rapport au reste de l'UU [IC 95 %]",
        "offre non localisée",
    ):
        grid.add_column(col)

    def ratio_text(ratio: float, low: float, high: float) -> str:
        if pd.isna(ratio):
            return "—"
        top = format_number(high, 2) if np.isfinite(high) else "∞"
        return f"{format_number(ratio, 2)} [{format_number(low, 2)} ; {top}]"

    for row in table.sort_values(["parent_id", "name"]).itertuples():
        if row.secret == "masque":
            grid.add_row(str(row.name), str(row.parent_id), "secret", "secret", "", "", "", "")
            continue
        ratio = ratio_text(row.density_ratio, row.ratio_low, row.ratio_high)
        apl = (
            "—"
            if pd.isna(row.apl_in)
            else f"{format_number(row.apl_in, 2)} / {format_number(row.apl_rest, 2)}"
        )
        grid.add_row(
            str(row.name),
            str(row.parent_id),
            format_number(row.population_in),
            f"{format_number(row.density_in, 1)} / {format_number(row.density_rest, 1)}",
            ratio,
            apl,
            ratio_text(row.density_ratio_uu, row.ratio_low_uu, row.ratio_high_uu),
            f"{format_number(100 * row.unlocated_share, 0)} %",
        )
    out.print(grid)
    for note in table["uu_note"].drop_duplicates():
        out.print(f"{note}.")


@app.command("priorites")
@_friendly
def priorities_command(
    need_path: Annotated[
        Path | None,
        typer.Option(
            "--besoin",
            help="Table d'indicateurs de besoin (Filosofi IRIS, export CartoSanté ou INSEE, table décrite "
            "par un YAML à côté). Par défaut : les indicateurs locaux gardés dans l'instantané.",
        ),
    ] = None,
    indicator: Annotated[
        str, typer.Option("--indicateur", help="Indicateur de besoin (ex. taux_pauvrete).")
    ] = "taux_pauvrete",
    level: Annotated[str, typer.Option("--level", help="Niveau : iris ou commune.")] = "iris",
    number: Annotated[int, typer.Option("--nombre", min=1, help="Unités prioritaires affichées.")] = 10,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="CSV de toutes les unités avec leur classe.")
    ] = None,
    snapshot: SnapshotOpt = None,
    store: StorePath = None,
) -> None:
    """Croise l'accès (APL des médecins généralistes) et un besoin (pauvreté, ALD…) : unités prioritaires.

    Classes 3 × 3 : terciles des unités du territoire pour l'APL (A1 : la plus faible) et pour le besoin
    (B3 : le plus fort) ; les unités A1-B3 sont classées de la plus prioritaire à la moins prioritaire
    (docs/besoins.md). Lecture relative au territoire, indicative.
    """
    from rich.table import Table

    from accesoins import indicators, outputs, sources
    from accesoins.errors import UnknownChoiceError
    from accesoins.store import Store, indicator_layer

    with Store(_store(store), read_only=True) as s:
        sid = s.resolve(snapshot)
        layer = indicator_layer(s, sid, level=level, profession="generaliste")
        public = outputs.public_layer(layer, level, outputs.snapshot_gate(s, sid)).set_index("unit_id")
        local = outputs.local_data(s, sid)
    if need_path is not None:
        table = sources.read_indicator_table(need_path)
        if table.level != level:
            raise ConfigurationError(
                f"la table {need_path.name} est au niveau « {table.level} », pas « {level} » : "
                f"ajoutez --level {table.level}"
            )
        meta = table.meta.set_index("indicator_id")
        if indicator not in meta.index:
            raise UnknownChoiceError("Indicateur de besoin", indicator, list(meta.index))
        table = sources.check_indicator_codes(table, set(layer["unit_id"]))
        need = table.values.set_index("unit_id")[indicator]
    else:
        meta = local.indicators_of(level)
        if meta.empty:
            raise ConfigurationError(
                f"l'instantané {sid} n'a pas d'indicateur local au niveau « {level} » : donnez --besoin "
                "ou reconstruisez avec --indicateurs"
            )
        if indicator not in meta.index:
            raise UnknownChoiceError("Indicateur de besoin", indicator, list(meta.index))
        if bool(meta.at[indicator, "is_count"]):
            raise ConfigurationError(
                f"« {indicator} » est un effectif de personnes : choisissez une part ou un taux"
            )
        need = local.wide(level)[indicator]
        need = need[public.index.intersection(need.index)]  # units the gate left whole
        need = need[public.loc[need.index, "secret"].fillna("").eq("")]
    ranked = indicators.priority_classes(public["apl"].astype(float), need)
    spec = meta.loc[indicator]
    out.print(
        f"Accès : APL de l'instantané {sid} ; besoin : {spec['label']} ({spec['unit']}, {spec['year']}, "
        f"{spec['source']}). {len(ranked)} unités ont les deux valeurs ; classes : terciles du territoire.",
        highlight=False,
    )
    grid = Table("rang", "unité", "nom", "commune", "APL", "besoin", "classe")
    priority = ranked[ranked["priority"]]
    for unit_id, row in priority.head(number).iterrows():
        grid.add_row(
            str(row["priority_rank"]),
            str(unit_id),
            str(public.at[unit_id, "name"]),
            str(public.at[unit_id, "parent_id"]),
            format_number(row["apl"], 2),
            format_number(row["need"], 1),
            str(row["bivariate"]),
        )
    out.print(grid)
    out.print(f"{len(priority)} unité(s) prioritaire(s) (accès le plus faible et besoin le plus fort).")
    if out_path is not None:
        frame = ranked.join(public[["name", "parent_id"]]).rename_axis("unit_id").reset_index()
        path = outputs.export_table(frame, out_path, fmt="csv", layer="priorites")
        out.print(f"Classes de toutes les unités écrites dans {path}.")


@app.command()
@_friendly
def fca(
    demand: Annotated[Path, typer.Option("--demand", help="CSV id,value : demande par unité (population…).")],
    supply: Annotated[Path, typer.Option("--supply", help="CSV id,value : offre par site (médecins, ETP…).")],
    costs: Annotated[
        Path,
        typer.Option(
            "--costs",
            help="CSV origin,destination,cost : origine = unité de demande, destination = site d'offre.",
        ),
    ],
    out_path: Annotated[Path, typer.Option("--out", help="CSV de sortie id,access.")],
    decay: Annotated[
        str,
        typer.Option(
            "--decay", help="steps:10=1,15=0.6667,20=0.3333 | exp:BETA | gaussian:D0 | gravity:BETA | uniform"
        ),
    ] = "steps:10=1,15=0.6667,20=0.3333",
    cutoff: Annotated[
        float | None, typer.Option("--cutoff", help="Coût maximal retenu (coût ≤ seuil).")
    ] = None,
    scale: Annotated[float, typer.Option("--scale", help="Multiplicateur du résultat (ex. 100000).")] = 1.0,
) -> None:
    """Méthode à deux étapes (E2SFCA) sur vos propres fichiers — le même moteur que l'APL.

    La table de coûts est lue dans son orientation (origine = demande, destination = offre) aux deux
    étapes : elle n'est jamais transposée, une table asymétrique reste donc correcte.
    """
    if not math.isfinite(scale) or scale <= 0:
        raise ConfigurationError(f"--scale doit être un nombre fini strictement positif (reçu : {scale}).")
    if cutoff is not None and (not math.isfinite(cutoff) or cutoff <= 0):
        raise ConfigurationError(
            f"--cutoff doit être un coût fini strictement positif (reçu : {cutoff}) ; "
            "omettez-le pour tout garder"
        )
    _check_output_file(out_path)
    import pandas as pd

    from accesoins import indicators, outputs
    from accesoins.sources._table import Column, read_table

    decay_fn = indicators.parse_decay(decay)
    values = [Column("id", nullable=False), Column("value", "float", nullable=False, minimum=0)]
    d = read_table(demand, values, sep=_sep(demand))
    s = read_table(supply, values, sep=_sep(supply))
    c = read_table(
        costs,
        [
            Column("origin", nullable=False),
            Column("destination", nullable=False),
            Column("cost", "float", nullable=False, minimum=0),
        ],
        sep=_sep(costs),
    )
    result = indicators.catchment_access(
        pd.Series(d["value"].to_numpy(), index=d["id"]),
        pd.Series(s["value"].to_numpy(), index=s["id"]),
        c,
        decay=decay_fn,
        cutoff=cutoff,
        scale=scale,
        origin="origin",
        destination="destination",
        cost="cost",
    )
    table = result.access.rename_axis("id").reset_index()
    outputs.export_table(table, out_path, fmt="csv")
    out.print(
        f"{len(table)} unités écrites dans {out_path} ; {len(result.unreached_supply)} site(s) sans demande "
        "dans leur zone."
    )


@app.command()
@_friendly
def diff(
    before: Annotated[str, typer.Argument(help="Instantané de départ (identifiant ou « precedent »).")],
    after: Annotated[str, typer.Argument(help="Instantané d'arrivée (identifiant ou « dernier »).")],
    level: Annotated[str, typer.Option("--level", help="Niveau des indicateurs comparés.")] = "commune",
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Répertoire où écrire les CSV détaillés.")
    ] = None,
    store: StorePath = None,
) -> None:
    """Liste les praticiens arrivés ou partis et les évolutions d'indicateurs entre deux instantanés."""
    from rich.table import Table

    from accesoins import outputs, sources
    from accesoins.labels import label_of
    from accesoins.store import Store, diff_snapshots, previous_snapshot, territory_of

    with Store(_store(store), read_only=True) as s:
        after_id = s.resolve(after)
        before_id = previous_snapshot(s, after_id) if before in PREVIOUS else s.resolve(before)
        result = diff_snapshots(s, before_id, after_id, level=level)
        territory = territory_of(s, after_id)
    out.print(
        f"Territoire « {territory} », de {result.before} à {result.after} : "
        f"{len(result.arrivals)} arrivée(s), {len(result.departures)} départ(s), "
        f"{len(result.changes)} indicateur(s) modifié(s) ; les plus fortes baisses d'abord."
    )
    table = Table("unité", "nom", "profession", "effectif", "APL")
    for row in result.changes.head(15).itertuples():
        apl = ""
        if "apl_delta" in result.changes.columns:
            apl = f"{_fr(row.apl_before, 2)} → {_fr(row.apl_after, 2)} ({_fr(row.apl_delta, 2, signed=True)})"
        table.add_row(
            str(row.unit_id),
            str(row.name),
            label_of(sources.Profession, row.profession),
            f"{_fr(row.headcount_before, 0)} → {_fr(row.headcount_after, 0)}",
            apl,
        )
    out.print(table)
    if out_dir is not None:
        for name in ("arrivals", "departures", "changes"):
            outputs.export_table(getattr(result, name), out_dir / f"{name}.csv", fmt="csv")
        out.print(f"Détails écrits dans {out_dir}")


@app.command()
@_friendly
def snapshots(store: StorePath = None) -> None:
    """Liste les instantanés de l'entrepôt."""
    from rich.table import Table

    from accesoins.store import Store

    with Store(_store(store), read_only=True) as s:
        snaps = s.snapshots()
    table = Table("instantané", "territoire", "créé le (UTC)")
    for row in snaps.itertuples():
        table.add_row(str(row.snapshot_id), str(row.territory), str(row.created_at))
    out.print(table)


@app.command()
@_friendly
def fetch(
    source: Annotated[str, typer.Argument(help="Source du catalogue (liste : accesoins sources).")],
    data_dir: DataDir = None,
    url: Annotated[
        str | None, typer.Option("--url", help="Adresse à utiliser à la place de l'adresse officielle.")
    ] = None,
) -> None:
    """Télécharge un fichier officiel dans DATA_DIR/raw/SOURCE/ avec son empreinte SHA-256."""
    from accesoins import sources

    path = sources.fetch(source, _data_dir(data_dir), url=url)
    out.print(f"{source} : {path} ({sources.sha256_of(path)[:16]}…)")


scenario_app = typer.Typer(
    help="Scénarios : départs, nouveaux sites, nouveaux habitants, choix d'un local.", no_args_is_help=True
)
app.add_typer(scenario_app, name="scenario")


@scenario_app.command("run")
@_friendly
def scenario_run(
    file: Annotated[Path, typer.Argument(help="Fichier YAML du scénario (voir docs/scenarios.md).")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="Répertoire des résultats par unité.")] = None,
    fmt: FormatOpt = "csv",
    save: Annotated[
        bool, typer.Option("--save/--no-save", help="Garder le scénario dans l'entrepôt.")
    ] = True,
    store: StorePath = None,
) -> None:
    """Applique un scénario au dernier instantané (ou à celui qu'il nomme) et affiche les écarts d'APL."""
    from rich.table import Table

    from accesoins import geo, outputs, scenarios
    from accesoins.labels import label_of
    from accesoins.store import Store, save_scenario

    definition = scenarios.read_scenario(file)
    with Store(_store(store), read_only=True) as s:
        if definition.territoire is not None and definition.instantane in ("dernier", "latest"):
            sid = s.latest(territory=definition.territoire)
        else:
            sid = s.resolve(definition.instantane)
        engine = scenarios.ScenarioEngine.from_store(s, sid)
    result = engine.run(definition)
    out.print(f"Scénario « {definition.nom} » sur l'instantané {sid} :")
    for line in result.summary():
        out.print(f"  {line}", highlight=False)
    table = Table("niveau", "unité", "nom", "APL avant", "APL après", "écart")
    top = result.table.reindex(result.table["delta"].abs().sort_values(ascending=False).index).head(10)
    for row in top.itertuples():
        table.add_row(
            label_of(geo.Level, row.level),
            str(row.unit_id),
            str(row.name),
            _fr(row.apl_before, 2),
            _fr(row.apl_after, 2),
            _fr(row.delta, 2, signed=True),
        )
    out.print(table)
    if out_dir is not None:
        suffix = "csv" if fmt.startswith("csv") else fmt  # csv-excel is a .csv too
        path = outputs.export_table(result.table, out_dir / f"scenario.{suffix}", fmt=fmt)
        out.print(f"Écarts par unité écrits dans {path}")
    if save:
        with Store(_store(store)) as s:
            scenario_id = save_scenario(
                s, sid, definition.nom, file.read_text(encoding="utf-8"), result.table
            )
        out.print(f"Scénario enregistré : {scenario_id}")


@scenario_app.command("sites")
@_friendly
def scenario_sites(
    candidates: Annotated[
        Path, typer.Option("--candidates", help="Locaux candidats : CSV nom,lon,lat ou GeoJSON.")
    ],
    k: Annotated[int, typer.Option("--k", help="Nombre de locaux à retenir.")] = 1,
    radius: Annotated[
        float, typer.Option("--radius", help="Temps d'accès visé, en minutes (10 ou 15).")
    ] = 10.0,
    model: Annotated[str, typer.Option("--model", help="mclp (couverture maximale) ou pmedian.")] = "mclp",
    snapshot: SnapshotOpt = None,
    store: StorePath = None,
) -> None:
    """Classe des locaux candidats et choisit les k meilleurs pour les habitants sous-dotés."""
    from rich.table import Table

    from accesoins import scenarios
    from accesoins.store import Store

    places = scenarios.read_candidates(candidates)
    with Store(_store(store), read_only=True) as s:
        engine = scenarios.ScenarioEngine.from_store(s, s.resolve(snapshot))
    choice = scenarios.choose_sites(engine, places, k=k, radius_min=radius, model=model)  # type: ignore[arg-type]
    table = Table("local", f"habitants sous-dotés à moins de {radius:g} min (seul)", "temps moyen (min)")
    for row in choice.ranking.itertuples():
        table.add_row(
            str(row.candidate),
            format_number(row.covered_residents),
            _fr(row.mean_time_min, 1),
        )
    out.print(table)
    out.print(choice.explanation, highlight=False)


@app.command()
@_friendly
def isochrones(
    osm: Annotated[
        Path, typer.Option("--osm", help="Extrait OpenStreetMap (.osm.pbf, .osm, .osm.bz2, .osm.gz).")
    ],
    lon: Annotated[float, typer.Option("--lon", help="Longitude du lieu (WGS84).")],
    lat: Annotated[float, typer.Option("--lat", help="Latitude du lieu (WGS84).")],
    out_path: Annotated[Path, typer.Option("--out", help="Fichier .geojson ou .gpkg à écrire.")],
    minutes: Annotated[
        str, typer.Option("--minutes", help="Durées, séparées par des virgules.")
    ] = "5,10,15,20",
    mode: Annotated[str, typer.Option("--mode", help="car (voiture) ou walk (marche).")] = "car",
    store: StorePath = None,
) -> None:
    """Dessine les zones atteignables en 5, 10, 15, 20 minutes autour d'un lieu (voiture ou marche)."""
    import geopandas as gpd
    import shapely

    from accesoins import network

    try:
        budgets = [float(m) for m in minutes.split(",") if m.strip()]
    except ValueError as exc:
        raise ConfigurationError(
            f"durées « {minutes} » invalides : des minutes séparées par des virgules"
        ) from exc
    graph = network.load_or_build(osm, mode, _store(store).parent / "cache")
    site = gpd.GeoDataFrame({"id": ["lieu"]}, geometry=[shapely.Point(lon, lat)], crs="EPSG:4326")
    polygons = network.isochrones(graph, site, times_min=budgets)
    if polygons.empty:
        raise ConfigurationError(f"le lieu ({lon}, {lat}) est à plus de 500 m du réseau de {osm.name}")
    network.export_isochrones(polygons, out_path)
    areas = polygons.to_crs("EPSG:2154").area / 1e6
    for t, a in zip(polygons["time_min"], areas, strict=True):
        out.print(f"  {_fr(t, 0 if float(t).is_integer() else 1)} min : {_fr(a, 2)} km²")
    out.print(f"Isochrones écrites dans {out_path}")


@app.command("sources")
def list_sources() -> None:
    """Liste les sources connues, leur producteur et leur adresse officielle."""
    from rich.table import Table

    from accesoins import sources

    table = Table("source", "contenu", "producteur", "adresse")
    for spec in sources.CATALOG.values():
        table.add_row(spec.name, spec.label, spec.publisher, spec.url or "—")
    out.print(table)


# -- Partage sécurisé (#6) : secret statistique, export SIG, fiches et brochure ------------------------------


@app.command("check-disclosure")
@_friendly
def check_disclosure_command(
    path: Annotated[Path, typer.Argument(help="Export à vérifier : CSV, GeoPackage ou GeoParquet.")],
    k: Annotated[
        int | None,
        typer.Option(
            "--k", help="Seuil du secret : aucun compte de 1 à k-1 (défaut : réglage ACCESOINS_DISCLOSURE_K)."
        ),
    ] = None,
) -> None:
    """Vérifie qu'un export respecte le secret statistique avant de le publier (code 1 sinon)."""
    from accesoins import outputs
    from accesoins.settings import get_settings

    k = get_settings().disclosure_k if k is None else k
    found = outputs.check_disclosure(path, k=k)
    if not found:
        out.print(f"{path} : aucune violation du secret statistique (seuil k = {k}).")
        return
    console.print(
        f"[bold red]{path} : {len(found)} violation(s) du secret statistique — ne pas publier.[/]",
        highlight=False,
    )
    for violation in found:
        console.print(f"  • {violation}", highlight=False)
    console.print(
        "Refaites l'export avec « accesoins export », qui fusionne les petites unités.", highlight=False
    )
    raise typer.Exit(1)


@app.command("export")
@_friendly
def export_command(
    out_dir: Annotated[Path, typer.Option("--out", help="Répertoire des fichiers.")] = Path("export"),
    formats: Annotated[
        str, typer.Option("--formats", help="Formats, séparés par des virgules.")
    ] = "gpkg,parquet,csv",
    snapshot: SnapshotOpt = None,
    store: StorePath = None,
) -> None:
    """Exporte tout l'instantané pour les SIG : GeoPackage stylé pour QGIS, GeoParquet et CSV."""
    from accesoins import outputs
    from accesoins.store import Store

    wanted = [f.strip() for f in formats.split(",") if f.strip()]
    with Store(_store(store), read_only=True) as s:
        sid = s.resolve(snapshot)
        files = outputs.export_observatory(s, sid, out_dir, formats=wanted)
        k = outputs.disclosure_k(s.metadata(sid))
    out.print(
        f"Instantané {sid} : {len(files)} fichier(s) écrit(s) dans {out_dir} (secret statistique k = {k})."
    )


@app.command()
@_friendly
def serve(
    store: StorePath = None,
    host: Annotated[
        str, typer.Option("--host", help="Adresse d'écoute (127.0.0.1 : cette machine seulement).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port HTTP.")] = 8000,
) -> None:
    """Lance l'observatoire web (carte, fiches, comparaisons, API JSON sous /api) avec uvicorn."""
    import uvicorn

    from accesoins.app import create_app
    from accesoins.store import Store

    path = _store(store)
    with Store(path, read_only=True) as s:
        s.latest()  # fails early, in French, when the store is missing or empty
    out.print(
        f"Observatoire web sur http://{host}:{port}/ (API : http://{host}:{port}/api/docs) — "
        "Ctrl-C pour arrêter"
    )
    uvicorn.run(create_app(path), host=host, port=port, log_level="warning")


@app.command("report")
@_friendly
def report_command(
    unit: Annotated[str | None, typer.Option("--unit", help="Code commune (33063) ou code IRIS.")] = None,
    out_path: Annotated[Path, typer.Option("--out", help="PDF à écrire ; avec --all, un répertoire.")] = Path(
        "fiche.pdf"
    ),
    all_units: Annotated[bool, typer.Option("--all", help="Une fiche par commune du territoire.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", help="Avec --all : au plus N fiches.")] = None,
    level: Annotated[
        str,
        typer.Option(
            "--level",
            help="commune ou iris : avec --all, le niveau des fiches ; avec --unit iris, le code doit être "
            "celui d'un IRIS (fiche avec la carte des IRIS de sa commune).",
        ),
    ] = "commune",
    territory: Annotated[
        str | None,
        typer.Option(
            "--territory",
            "-t",
            help="Avec --diagnostic : SIREN d'EPCI, département ou codes commune, comme « accesoins build ».",
        ),
    ] = None,
    diagnostic: Annotated[
        bool,
        typer.Option(
            "--diagnostic",
            help="Diagnostic du territoire (contrat local de santé, EPCI) : PDF de plusieurs pages et le "
            "même contenu en DOCX modifiable, écrit à côté (--out diagnostic.pdf → diagnostic.docx).",
        ),
    ] = False,
    snapshot: SnapshotOpt = None,
    store: StorePath = None,
) -> None:
    """Fiche PDF d'une commune ou d'un IRIS (carte, APL, chiffres clés face au département ou à la commune,
    évolution, sources) ou, avec --diagnostic, diagnostic d'un territoire en PDF et DOCX."""
    from accesoins import outputs
    from accesoins.store import Store

    if diagnostic:
        if not territory:
            raise ConfigurationError("indiquez --territory (ex. --territory 243300316) avec --diagnostic")
        target = out_path if out_path != Path("fiche.pdf") else Path("diagnostic.pdf")
        _check_output_file(target)
        with Store(_store(store), read_only=True) as s:
            content = outputs.build_diagnostic(s, territory, snapshot=snapshot)
        pdf, docx = outputs.write_diagnostic(content, target)
        out.print(f"Diagnostic écrit dans {pdf} et {docx} (instantané {content.snapshot_id}).")
        return
    if not all_units and not unit:
        raise ConfigurationError("indiquez --unit CODE (ex. --unit 33063) ou --all pour tout le territoire")
    with Store(_store(store), read_only=True) as s:
        one = snapshot is None and unit and not all_units
        sid = _snapshot_holding(s, str(unit)) if one else s.resolve(snapshot)
        builder = outputs.ReportBuilder(s, sid)
        if level not in ("commune", "iris"):
            raise ConfigurationError(f"niveau « {level} » non pris en charge : commune ou iris")
        if not all_units and level == "iris" and builder.find(str(unit)).level != "iris":
            codes = [c for c in builder.unit_ids(level="iris") if c.startswith(str(unit).strip())]
            some = f" : IRIS de cette commune : {', '.join(codes[:5])}" + (" …" if len(codes) > 5 else "")
            raise ConfigurationError(
                f"« {unit} » n'est pas un code IRIS de l'instantané {sid}" + (some if codes else "")
            )
        if not all_units:
            path = builder.render(str(unit), out_path)
            out.print(f"Fiche écrite dans {path} (instantané {sid}).")
            return
        codes = builder.unit_ids(level=level)[: limit if limit is not None else None]
        if not codes:
            raise ConfigurationError(f"aucune unité de niveau « {level} » dans l'instantané {sid}")
        out_dir = out_path.with_suffix("") if out_path.suffix.lower() == ".pdf" else out_path
        with _progress(len(codes)) as step:
            files = builder.render_many(codes, out_dir, step=step)
    out.print(f"{len(files)} fiche(s) écrite(s) dans {out_dir} (instantané {sid}).")


def _snapshot_holding(store: Store, unit: str) -> str:
    """The latest snapshot that holds ``unit`` (``report --unit 06088`` without ``--snapshot``)."""
    ids = list(store.snapshots()["snapshot_id"])
    for sid in reversed(ids):
        if not store.table("units", sid, where="unit_id = ?", args=[unit]).empty:
            return str(sid)
    raise ConfigurationError(
        f"aucun instantané ne contient l'unité « {unit} » (instantanés : {', '.join(ids[-5:]) or 'aucun'}) : "
        "vérifiez le code, ou construisez le territoire qui la contient (accesoins build)"
    )


@app.command("brochure")
@_friendly
def brochure_command(
    territory: Territory,
    contacts: Annotated[Path, typer.Option("--contacts", help="YAML des contacts (docs/partage.md).")],
    out_path: Annotated[Path, typer.Option("--out", help="PDF à écrire.")] = Path("brochure.pdf"),
    snapshot: SnapshotOpt = None,
    store: StorePath = None,
) -> None:
    """Brochure PDF pour les professionnels qui envisagent de s'installer : besoins, écosystème, contacts."""
    from accesoins import outputs
    from accesoins.store import Store

    config = outputs.load_brochure_config(contacts)
    with Store(_store(store), read_only=True) as s:
        path = outputs.build_brochure(
            s,
            territory,
            out_path,
            config=config,
            snapshot=snapshot,
        )
    out.print(f"Brochure écrite dans {path}.")


# --- registres locaux (#7) : sous-commandes « accesoins registers … » ---------------------------------
registers_app = typer.Typer(
    help="Registres locaux : base (SQLite ou PostgreSQL), comptes, imports/exports CSV, RGPD.",
    no_args_is_help=True,
)
app.add_typer(registers_app, name="registers")
RegistersDb = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Base des registres (défaut : ACCESOINS_REGISTERS_URL, sinon sqlite:///var/registres.sqlite ; "
        "PostgreSQL : postgresql://utilisateur@hôte/base).",
    ),
]
RegisterName = Annotated[str, typer.Argument(help="Registre : demandes, locaux, projets ou annuaire.")]


def _registers(db: str | None, *, store: Path | None = None) -> Any:
    from accesoins import registers

    url = db or registers.RegistersSettings().url or registers.DEFAULT_URL
    return registers.open_registers(url, store_path=_store(store))  # APL for the matches, when a store exists


@registers_app.command("migrate")
@_friendly
def registers_migrate(db: RegistersDb = None) -> None:
    """Crée ou met à jour les tables des registres (migrations Alembic)."""
    from accesoins import registers

    url = db or registers.RegistersSettings().url or registers.DEFAULT_URL
    revision = registers.migrate(registers.make_engine(url))
    out.print(f"Registres à jour (révision {revision}).")


@registers_app.command("create-user")
@_friendly
def registers_create_user(
    email: Annotated[str, typer.Argument(help="Adresse électronique (identifiant de connexion).")],
    role: Annotated[str, typer.Option("--role", help="public, agent, administrateur ou partenaire.")],
    name: Annotated[str, typer.Option("--name", help="Nom affiché.")] = "",
    password: Annotated[
        str | None,
        typer.Option("--password", help="Mot de passe (12 caractères au moins) ; demandé sinon."),
    ] = None,
    db: RegistersDb = None,
) -> None:
    """Crée un compte (mot de passe haché avec argon2)."""
    if password is None:
        password = typer.prompt("Mot de passe", hide_input=True, confirmation_prompt=True)
    user = _registers(db).create_user(email, password, role=role, name=name)
    out.print(f"Compte {user.email} créé (rôle {user.role}).")


@registers_app.command("set-password")
@_friendly
def registers_set_password(
    email: Annotated[str, typer.Argument(help="Adresse électronique du compte.")],
    password: Annotated[
        str | None,
        typer.Option("--password", help="Nouveau mot de passe (12 caractères au moins) ; demandé sinon."),
    ] = None,
    db: RegistersDb = None,
) -> None:
    """Change le mot de passe d'un compte et ferme toutes ses sessions ouvertes."""
    from accesoins import registers

    if password is None:
        password = typer.prompt("Nouveau mot de passe", hide_input=True, confirmation_prompt=True)
    _registers(db).set_password(registers.SYSTEM, email, password)
    out.print(f"Mot de passe de {email} changé ; ses sessions ouvertes sont fermées.")


@registers_app.command("import")
@_friendly
def registers_import(
    register: RegisterName,
    csv_path: Annotated[Path, typer.Argument(help="Fichier CSV (séparateur ; ou ,), en-tête : champs.")],
    db: RegistersDb = None,
    store: StorePath = None,
) -> None:
    """Importe un CSV dans un registre, tout ou rien : ligne fautive ou interruption, rien n'est importé."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from accesoins import registers

    if csv_path.is_dir():
        raise DataFileError("c'est un répertoire : donnez le chemin du fichier CSV à importer", path=csv_path)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} ligne(s)"),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("Ouverture des registres", total=None)
        regs = _registers(db, store=store)
        bar.update(task, description=f"Import dans « {register} »")

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            count = registers.import_csv(regs, register, csv_path, actor=registers.SYSTEM, progress=advance)
        except KeyboardInterrupt:
            bar.stop()
            console.print(
                "[yellow]Interrompu : import annulé, aucune ligne n'a été ajoutée "
                f"au registre « {register} ».[/]"
            )
            raise typer.Exit(130) from None
    out.print(f"{count} ligne(s) importée(s) dans le registre « {register} ».")


@registers_app.command("export")
@_friendly
def registers_export(
    register: RegisterName,
    csv_path: Annotated[Path, typer.Argument(help="Fichier CSV à écrire (séparateur ;).")],
    db: RegistersDb = None,
) -> None:
    """Exporte un registre en CSV (l'export de données personnelles est inscrit au journal)."""
    from accesoins import registers

    count = registers.export_csv(_registers(db), register, csv_path, actor=registers.SYSTEM)
    out.print(f"{count} ligne(s) du registre « {register} » écrite(s) dans {csv_path}.")


@registers_app.command("anonymise")
@_friendly
def registers_anonymise(
    months: Annotated[
        int | None, typer.Option("--months", help="Durée de conservation (défaut : réglage, 24 mois).")
    ] = None,
    db: RegistersDb = None,
) -> None:
    """Anonymise les demandes closes depuis plus de N mois (règle de conservation RGPD)."""
    from accesoins import registers

    keep = months if months is not None else registers.RegistersSettings().retention_months
    ids = _registers(db).anonymise_closed(registers.SYSTEM, months=keep)
    out.print(f"{len(ids)} demande(s) anonymisée(s) (closes depuis plus de {keep} mois).")


@registers_app.command("export-person")
@_friendly
def registers_export_person(
    email: Annotated[str, typer.Argument(help="Adresse électronique de la personne.")],
    out_path: Annotated[Path, typer.Option("--out", help="Fichier JSON à écrire.")] = Path("rgpd.json"),
    db: RegistersDb = None,
) -> None:
    """Export RGPD (droit d'accès) de toutes les données d'une personne, en JSON."""
    import json

    from accesoins import registers

    data = _registers(db).export_person(registers.SYSTEM, email)
    out_path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    out.print(f"Données de {email} écrites dans {out_path}.")
