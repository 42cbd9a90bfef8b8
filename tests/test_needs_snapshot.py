"""Local indicators, priorities and official zoning attached to a build, kept in its snapshot and shown.

The session builds of the Alpes-Maritimes and the Gironde attach the real files of the
data folder by default (Filosofi 2018 by IRIS of each département, people living alone
in Nice and Bordeaux, CartoSanté / INSEE bassins de vie, the nurses' zoning, the
ZIP/ZAC of each QPV 2024 of the 06).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from accesoins.cli import app
from accesoins.errors import DataFileError
from accesoins.geo import parse_territory
from accesoins.observatory import BuildOptions, build_observatory
from accesoins.outputs import (
    LocalData,
    indicator_rows,
    local_data,
    public_layer,
    public_layers,
    snapshot_gate,
    with_local_indicators,
)
from accesoins.outputs.web import create_app
from accesoins.sources import is_commune_bassins, read_ars_zoning, read_commune_bassins
from accesoins.store import Store, indicator_layer
from test_reports import pdf_text

with warnings.catch_warnings():  # starlette's TestClient announces its move to httpx2 when imported
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[1]
TOP_06 = [  # the ten priority IRIS of the 06: weakest road-time APL tercile × highest poverty tercile
    ("060880702", "Bon Voyage", 45.4),
    ("060883301", "Lingostière-Saint-Isidore", 30.0),
    ("060880905", "Ariane-Saramito", 45.0),
    ("060330103", "060330103", 26.5),
    ("060880102", "Vieux Nice-Sainte-Réparate", 31.4),
    ("060880801", "Vinaigrier", 26.6),
    ("060330102", "060330102", 23.1),
    ("060880103", "Vieux Nice-Visitation", 27.2),
    ("060040115", "060040115", 27.4),
    ("060290131", "060290131", 25.6),
]


@pytest.fixture(scope="module")
def client(store_path: Path, gironde: str, alpes_maritimes: str) -> Iterator[TestClient]:
    with TestClient(create_app(store_path, warm=False)) as c:
        yield c


@pytest.mark.slow
def test_build_keeps_the_local_tables_and_zoning_with_checksums(
    store_path: Path, alpes_maritimes: str
) -> None:
    with Store(store_path, read_only=True) as store:
        local = local_data(store, alpes_maritimes)
        sources = store.sources(alpes_maritimes).set_index("file")
        meta = store.metadata(alpes_maritimes)
    catalogue = local.catalogue.set_index(["level", "indicator"])
    poverty = catalogue.loc[("iris", "taux_pauvrete")]
    assert (poverty["year"], poverty["unit"], poverty["file_name"]) == (
        2018,
        "%",
        "filosofi2018_disp_iris_dep06.csv",
    )
    assert not poverty["is_count"] and catalogue.loc[("iris", "seuls_55_plus"), "is_count"]
    assert catalogue.loc[("bassin_vie", "part_ald"), "year"] == 2024
    # the file is recorded with its checksum, and the catalogue says which one
    assert sources.loc["filosofi2018_disp_iris_dep06.csv", "sha256"] == poverty["sha256"]
    assert "cartosante_zonage_infirmiers_communes.csv" in sources.index
    # Nice's own extract repeats the département's table: the département's (more IRIS) is kept
    assert "filosofi2018_disp_iris_nice_06088.csv" not in set(local.catalogue["file_name"])
    assert meta["local_indicators"]["filosofi2018_disp_iris_dep06.csv"] == 334
    values = local.values.set_index(["level", "unit_id", "indicator"])["value"]
    assert values[("iris", "060880702", "taux_pauvrete")] == 45.4
    assert pd.isna(values[("iris", "060040102", "taux_pauvrete")])  # INSEE suppression, kept as missing
    assert values[("bassin_vie", "06088", "part_ald")] == 19.6
    assert not (local.values["level"].eq("bassin_vie") & ~local.values["unit_id"].str.startswith("06")).any()
    zoning = local.zoning.set_index(["level", "unit_id", "profession"])
    assert zoning.loc[("commune", "06088", "infirmier"), "zone"] == "sur_dotee"
    assert len(zoning.xs("commune", level="level")) == 163
    qpv = zoning.xs("qpv", level="level")["zone"].droplevel("profession")
    assert qpv["QN00612M"] == "zac" and qpv["QN00602M"] == "zip" and len(qpv) == 14


@pytest.mark.slow
def test_ten_priority_iris_of_the_alpes_maritimes(store_path: Path, alpes_maritimes: str) -> None:
    with Store(store_path, read_only=True) as store:
        gate = snapshot_gate(store, alpes_maritimes)
        raw = indicator_layer(store, alpes_maritimes, level="iris", profession="generaliste")
        local = local_data(store, alpes_maritimes)
    iris = with_local_indicators(public_layer(raw, "iris", gate), raw, local, "iris", gate)
    assert iris["taux_pauvrete"].notna().sum() == 299
    assert iris["priority_class"].value_counts()["A1-B3"] == 24
    top = iris[iris["priority_rank"].notna()].sort_values("priority_rank").head(10)
    assert list(zip(top["unit_id"], top["name"], top["taux_pauvrete"], strict=True)) == TOP_06
    assert (top["apl"] < iris["apl"].quantile(1 / 3)).all()
    # a count of people goes through the gate: its total equals the sum of the public units
    assert iris["seuls_55_plus"].sum() == pytest.approx(46708.2, abs=0.1)


@pytest.mark.slow
def test_bordeaux_iris_carry_poverty(store_path: Path, gironde: str) -> None:
    with Store(store_path, read_only=True) as store:
        local = local_data(store, gironde)
        gate = snapshot_gate(store, gironde)
        raw = indicator_layer(store, gironde, level="iris", profession="generaliste")
    poverty = local.values.query("level == 'iris' and indicator == 'taux_pauvrete'").set_index("unit_id")[
        "value"
    ]
    assert len(poverty) == 88 and poverty.index.str.startswith("33063").all()
    assert poverty.notna().sum() == 72 and poverty["330630101"] == 18.6
    files = set(local.catalogue.loc[local.catalogue["level"] == "iris", "file_name"])
    assert "filosofi2018_disp_iris_dep33.csv" in files  # the département's table, not Bordeaux's extract
    public = with_local_indicators(public_layer(raw, "iris", gate), raw, local, "iris", gate)
    rows = indicator_rows(local, "iris", "330630101", public, gate.k)
    first = next(r for r in rows if r["indicator"] == "taux_pauvrete")
    assert first["value"] == poverty["330630101"] and first["reference_label"].startswith("médiane des")
    assert local.zoning.set_index("unit_id").loc["33063", "zone"] == "sur_dotee"


@pytest.mark.slow
@pytest.mark.parametrize("unit", ["06088", "33063"])
def test_web_fiche_shows_the_nurses_zoning(client: TestClient, store_path: Path, unit: str) -> None:
    with Store(store_path, read_only=True) as store:
        snapshot = store.latest(territory=unit[:2])
    fiche = client.get(f"/api/units/commune/{unit}", params={"snapshot": snapshot}).json()
    nurses = next(z for z in fiche["official_zoning"] if z["profession"] == "infirmier")
    assert nurses["label"] == "zone sur-dotée (zonage de l'ARS)" and nurses["aid"] == ""
    assert "cartosante_zonage_infirmiers_communes.csv" in nurses["source"]
    assert "remplacement d'un départ" in nurses["rule"]
    # the bassin de vie of which the commune is the centre, labelled as such
    ald = next(r for r in fiche["local_indicators"] if r["indicator"] == "part_ald")
    assert ald["level"] == "bassin_vie" and ald["note"] == f"valeur du bassin de vie {unit}"
    assert ald["value"] == {"06088": 19.6, "33063": 15.7}[unit]


@pytest.mark.slow
def test_web_priority_map_and_qpv_zoning(client: TestClient, store_path: Path, alpes_maritimes: str) -> None:
    params = {"snapshot": alpes_maritimes}
    catalog = client.get("/api/catalog", params=params).json()
    poverty = next(
        i for i in catalog["local_indicators"] if i["id"] == "taux_pauvrete" and i["level"] == "iris"
    )
    assert poverty["year"] == 2018 and poverty["unit"] == "%" and "Filosofi 2018" in poverty["source"]
    assert {"taux_pauvrete", "priorite"} <= {m["id"] for m in catalog["measures"] if m["levels"] == ["iris"]}
    layer = client.get("/api/layers/iris", params={**params, "measure": "priorite"}).json()
    legend = layer["legend"]
    assert (
        legend["bivariate"]["rows"][2][2] == "A1-B3"
        and "pas le zonage de l'ARS" in legend["bivariate"]["note"]
    )
    counts = {c["label"][:5]: c["count"] for c in legend["classes"]}
    assert counts["A1-B3"] == 24 and sum(counts.values()) == 299
    bon_voyage = next(f for f in layer["features"] if f["properties"]["unit_id"] == "060880702")
    assert bon_voyage["properties"]["color"] == "#574249"
    poverty_map = client.get("/api/layers/iris", params={**params, "measure": "taux_pauvrete"}).json()
    assert poverty_map["legend"]["label"] == "Taux de pauvreté (seuil à 60 %) (2018)"
    fiche = client.get("/api/units/iris/060880702", params=params).json()
    assert fiche["priority"]["bivariate"] == "A1-B3" and fiche["priority"]["rank"] == 1
    qpv = client.get("/api/units/qpv/QN00612M", params=params).json()
    doctors = next(z for z in qpv["official_zoning"] if z["profession"] == "generaliste")
    assert doctors["zone"] == "zac" and "ZAC" in doctors["label"] and "réservés aux ZIP" in doctors["aid"]
    assert client.get("/api/layers/iris", params={**params, "measure": "bonheur"}).status_code == 404


@pytest.mark.slow
@pytest.mark.parametrize(("territory", "unit"), [("06", "06088"), ("33", "33063")])
def test_pdf_fiche_and_brochure_show_the_official_zoning(
    store_path: Path, gironde: str, alpes_maritimes: str, tmp_path: Path, territory: str, unit: str
) -> None:
    snapshot = {"06": alpes_maritimes, "33": gironde}[territory]
    common = ["--store", str(store_path), "--snapshot", snapshot]
    fiche, brochure = tmp_path / "fiche.pdf", tmp_path / "brochure.pdf"
    runner = CliRunner()
    done = runner.invoke(app, ["report", "--unit", unit, "--out", str(fiche), *common])
    assert done.exit_code == 0, done.output
    text = " ".join(pdf_text(fiche).split())
    assert "Zonage officiel de l'ARS" in text and "zone sur-dotée (zonage de l'ARS)" in text
    assert "valeur du bassin de vie" in text
    contacts = str(REPO / "docs" / "brochure_contacts.yaml")
    done = runner.invoke(
        app, ["brochure", "-t", unit, "--contacts", contacts, "--out", str(brochure), *common]
    )
    assert done.exit_code == 0, done.output
    text = " ".join(pdf_text(brochure).split())
    assert "zone sur-dotée" in text and "aucune aide liée au zonage" in text
    if territory == "06":  # the doctors' ZAC of Nice's QPV, and what it opens
        assert "zone d'action complémentaire" in text and "Ariane - Le Manoir - Gares" in text


@pytest.mark.slow
def test_pdf_fiche_of_a_priority_iris(store_path: Path, alpes_maritimes: str, tmp_path: Path) -> None:
    out = tmp_path / "fiche.pdf"
    args = ["report", "--unit", "060880702", "--out", str(out), "--store", str(store_path),
            "--snapshot", alpes_maritimes]  # fmt: skip
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    text = " ".join(pdf_text(out).split())
    assert "Taux de pauvreté (seuil à 60 %)" in text and "45,4" in text and "16,5" in text
    assert (
        "A1-B3 (rang 1 des unités prioritaires A1-B3)" in text and "ce n'est pas le zonage de l'ARS" in text
    )


@pytest.mark.slow
def test_exports_carry_indicators_and_priority(store_path: Path, alpes_maritimes: str) -> None:
    with Store(store_path, read_only=True) as store:
        layers = public_layers(store, alpes_maritimes)
    iris = layers["iris_generaliste"].set_index("unit_id")
    assert iris.at["060880702", "taux_pauvrete"] == 45.4 and iris.at["060880702", "priority_class"] == "A1-B3"
    assert "priority_class" not in layers.get("iris_infirmier", pd.DataFrame()).columns


@pytest.mark.slow
def test_priorites_reads_the_need_from_the_snapshot(store_path: Path, alpes_maritimes: str) -> None:
    args = ["priorites", "--nombre", "3", "--snapshot", alpes_maritimes, "--store", str(store_path)]
    done = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert "Bon Voyage" in done.stdout and "24 unité(s) prioritaire(s)" in done.stdout
    count = CliRunner().invoke(app, [*args, "--indicateur", "seuls_55_plus"])
    assert count.exit_code == 2 and "effectif de personnes" in count.output


@pytest.mark.slow
def test_unknown_codes_of_the_territory_stop_the_build(tmp_path: Path, data_dir: Path) -> None:
    table = tmp_path / "pauvrete.csv"
    table.write_text("IRIS;taux\n060880101;12.5\n060889999;30.1\n", encoding="utf-8")
    (tmp_path / "pauvrete.csv.yaml").write_text(
        "level: iris\ncode_column: IRIS\nyear: 2020\nsource: ORS\n"
        "columns:\n  taux: {id: taux_pauvrete, label: Taux de pauvreté, unit: '%', share: true}\n",
        encoding="utf-8",
    )
    store = tmp_path / "store.duckdb"
    options = BuildOptions(parse_territory("06088"), data_dir, store, vintage=2022, indicators=(table,))
    with pytest.raises(DataFileError, match=r"1 code\(s\) IRIS inconnu\(s\).*060889999") as caught:
        build_observatory(options)
    assert caught.value.path == str(table)
    if store.exists():  # nothing stored
        with Store(store, read_only=True) as opened:
            assert opened.snapshots().empty
    other = tmp_path / "ailleurs.csv"
    other.write_text("IRIS;taux\n330630101;12.5\n", encoding="utf-8")
    (tmp_path / "ailleurs.csv.yaml").write_text(
        (tmp_path / "pauvrete.csv.yaml").read_text(), encoding="utf-8"
    )
    options = BuildOptions(parse_territory("06088"), data_dir, store, vintage=2022, indicators=(other,))
    with pytest.raises(DataFileError, match="aucun code du niveau iris"):
        build_observatory(options)


def test_commune_to_bassin_table(tmp_path: Path) -> None:
    """INSEE « appartenance géographique des communes » (BV2022) on a small synthetic extract."""
    path = tmp_path / "table-appartenance-geo-communes-2024.csv"
    path.write_text(
        "Table d'appartenance géographique des communes au 1er janvier 2024\n\n"
        "CODGEO;LIBGEO;DEP;REG;BV2022;UU2020\n06088;Nice;06;93;06088;06701\n06123;Saint-Laurent-du-Var;06;93;06088;"
        "06701\n06033;Carros;06;93;06033;06701\n",
        encoding="utf-8",
    )
    assert is_commune_bassins(path)
    table = read_commune_bassins(path).set_index("commune_code")["bassin_code"]
    assert table.to_dict() == {"06088": "06088", "06123": "06088", "06033": "06033"}
    local = LocalData(
        catalogue=pd.DataFrame(
            [
                {
                    "indicator": "part_ald",
                    "label": "Part en ALD",
                    "unit": "%",
                    "year": 2024,
                    "source": "CartoSanté",
                    "level": "bassin_vie",
                    "is_count": False,
                    "file_name": "x.csv",
                    "sha256": "",
                }
            ]
        ),
        values=pd.DataFrame(
            {
                "level": "bassin_vie",
                "unit_id": ["06088", "06033"],
                "indicator": "part_ald",
                "value": [19.6, 17.0],
            }
        ),
        zoning=pd.DataFrame(),
        bassins=read_commune_bassins(path),
    )
    public = pd.DataFrame({"unit_id": ["06123"], "population": [30000.0]})
    (row,) = indicator_rows(local, "commune", "06123", public, 11)
    assert row["value"] == 19.6 and row["note"] == "valeur du bassin de vie 06088"
    bad = tmp_path / "mauvais.csv"
    bad.write_text("CODGEO;BV2022\n06088;06088\n6123;06088\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="invalide") as caught:
        read_commune_bassins(bad)
    assert (caught.value.line, caught.value.column) == (3, "CODGEO")


def test_a_file_that_is_no_zoning_export_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "zonage.csv"
    path.write_text("Code;Libellé;Zonage infirmiers\n06088;Nice;5_Sur_dotee\n", encoding="utf-8")  # no banner
    with pytest.raises(DataFileError, match="pas un export de zonage CartoSanté") as caught:
        read_ars_zoning(path)
    assert caught.value.line == 1
