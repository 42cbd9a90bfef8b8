"""Floating-catchment kernel and wrapper (``indicators/_fca.py``, ``_catchment.py``, ``_decay.py``).

Checked against hand arithmetic, against the plain-loop reference in
``tests/reference_fca.py``, against analytic properties, and against PySAL
``access`` (``enhanced_two_stage_fca``).

Orientation under test: origin = demand unit, destination = supply site, the
same directed cost in both steps.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

import reference_fca as ref
from accesoins.errors import ConfigurationError
from accesoins.indicators import CostPairs, catchment_access, parse_decay

DREES = "steps:10=1,15=0.6667,20=0.3333"
DREES_DICT = {10: 1, 15: 0.6667, 20: 0.3333}


def long_table(pairs: list[tuple[Hashable, Hashable, float]]) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=["origin_id", "destination_id", "travel_time_min"])


def reference_access(
    demand: pd.Series,
    supply: pd.Series,
    costs: pd.DataFrame,
    weight: ref.Weight,
    *,
    cutoff: float | None = None,
    scale: float = 1.0,
) -> tuple[pd.Series, pd.Series]:
    pairs = list(costs[["origin_id", "destination_id", "travel_time_min"]].itertuples(index=False, name=None))
    access, ratio = ref.e2sfca(demand.to_dict(), supply.to_dict(), pairs, weight, cutoff=cutoff, scale=scale)
    return pd.Series(access).reindex(demand.index), pd.Series(ratio).reindex(supply.index)


def random_case(
    rng: np.random.Generator, *, n_demand: int = 300, n_supply: int = 120, density: float = 0.3
) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """Asymmetric random case: distinct identifier sets, costs on a half-minute grid (step limits hit)."""
    demand = pd.Series(
        rng.lognormal(6.0, 1.2, n_demand).round(),
        index=[f"o{i:04d}" for i in range(n_demand)],
        name="population",
    )
    demand.iloc[rng.choice(n_demand, 5, replace=False)] = 0.0
    supply = pd.Series(
        rng.poisson(1.5, n_supply).astype(float), index=[f"s{i:04d}" for i in range(n_supply)], name="gp"
    )
    o, d = np.nonzero(rng.random((n_demand, n_supply)) < density)
    cost = rng.integers(0, 81, o.size) / 2.0  # 0 to 40 min by half minutes: zeros and limits included
    costs = long_table(list(zip(demand.index[o], supply.index[d], cost.tolist(), strict=True)))
    unknown = long_table([("o9999", supply.index[0], 1.0), (demand.index[0], "s9999", 1.0)])
    return demand, supply, pd.concat([costs, unknown], ignore_index=True)


# --- (a) hand-computed three communes, DREES steps ---------------------------------------------------------

HAND_DEMAND = pd.Series({"A": 1000.0, "B": 500.0, "C": 2000.0})
HAND_SUPPLY = pd.Series({"A": 2.0, "B": 0.0, "C": 1.0})
HAND_COSTS = long_table(
    [
        ("A", "A", 0.0),  # self-pair, cost 0: weight 1 (must stay a real pair)
        ("A", "C", 17.0),  # 15 <= 17 < 20: weight 0.3333
        ("B", "B", 0.0),  # weight 1, but B has no GP
        ("B", "A", 10.0),  # on the limit: 10 <= 10 < 15, weight 0.6667 (not 1)
        ("B", "C", 20.0),  # on the last limit: weight 0, although within the cutoff (20 <= 20)
        ("C", "C", 0.0),  # weight 1
        ("C", "A", 25.0),  # beyond the cutoff; the reverse pair A -> C is 17: asymmetric table
    ]
)


def test_hand_computed_three_communes() -> None:
    result = catchment_access(
        HAND_DEMAND, HAND_SUPPLY, HAND_COSTS, decay=parse_decay(DREES), cutoff=20.0, scale=1000.0
    )
    # Step 1, weighted demand around each site (origins reaching it):
    #   site A: A (w 1) 1000 + B (w 0.6667) 500 = 1000 + 333.35       = 1333.35
    #   site B: B (w 1) 500                                              =  500
    #   site C: A (w 0.3333) 1000 + C (w 1) 2000 = 333.3 + 2000         = 2333.3
    #   (B -> C weighs 0, C -> A is beyond the cutoff)
    # ratios per 1000 inhabitants: A 2000 / 1333.35 = 1.499981251...; B 0 / 500 = 0; C 1000 / 2333.3
    catchment = {"A": 1333.35, "B": 500.0, "C": 2333.3}
    ratio = {"A": 2000 / 1333.35, "B": 0.0, "C": 1000 / 2333.3}
    # Step 2, access per 1000 inhabitants:
    #   A: 1 * R_A + 0.3333 * R_C = 1.499981251 + 0.142845755 = 1.642827006...
    #   B: 0.6667 * R_A + 1 * R_B = 1333.4 / 1333.35           = 1.000037499...
    #   C: 1 * R_C                = 1000 / 2333.3              = 0.428577551...
    access = {"A": 2000 / 1333.35 + 333.3 / 2333.3, "B": 1333.4 / 1333.35, "C": 1000 / 2333.3}
    for key, value in catchment.items():
        assert result.catchment_demand[key] == pytest.approx(value, abs=1e-12)
    for key, value in ratio.items():
        assert result.ratio[key] == pytest.approx(value, abs=1e-12)
    for key, value in access.items():
        assert result.access[key] == pytest.approx(value, abs=1e-12)
    assert list(result.unreached_supply) == []
    # every GP is shared out: sum of access * population / 1000 = 2 + 0 + 1
    assert (result.access * HAND_DEMAND).sum() / 1000 == pytest.approx(3.0, abs=1e-12)


def test_zero_cost_self_pair_is_a_real_pair() -> None:
    pairs = CostPairs(
        origin=np.array([0, 1], dtype=np.int64),
        destination=np.array([0, 0], dtype=np.int64),
        cost=np.array([0.0, 30.0]),
        n_origins=2,
        n_destinations=1,
    )
    for spec in (DREES, "exp:0.1", "gaussian:5", "gravity:2", "uniform"):
        weights = pairs.weights(parse_decay(spec), cutoff=20.0)
        assert weights.nnz == 1
        assert weights.to_csr()[0, 0] == 1.0
    # a commune alone with its own GP, at cost 0: 1 GP for 250 inhabitants
    alone = long_table([("X", "X", 0.0)])
    result = catchment_access(
        pd.Series({"X": 250.0}),
        pd.Series({"X": 1.0}),
        alone,
        decay=parse_decay(DREES),
        cutoff=20.0,
        scale=1000.0,
    )
    assert result.access["X"] == pytest.approx(4.0, abs=1e-12)


# --- (b) orientation, on an asymmetric table ---------------------------------------------------------------


def test_asymmetric_two_communes_uses_origin_to_destination() -> None:
    demand = pd.Series({"A": 100.0, "B": 100.0})
    supply = pd.Series({"A": 0.0, "B": 1.0})
    costs = long_table([("A", "A", 0.0), ("B", "B", 0.0), ("A", "B", 5.0), ("B", "A", 30.0)])
    result = catchment_access(demand, supply, costs, decay=parse_decay(DREES), cutoff=20.0)
    # residents of A reach the GP of B in 5 min (A -> B); the way back (B -> A, 30 min) is irrelevant.
    # catchment of B = 100 (A) + 100 (B) = 200, so both communes get 1 / 200.
    assert result.access.to_dict() == pytest.approx({"A": 1 / 200, "B": 1 / 200}, abs=1e-15)
    # with the table transposed, A would be out of reach (30 min) and B alone would share the GP
    transposed = costs.rename(columns={"origin_id": "destination_id", "destination_id": "origin_id"})
    flipped = catchment_access(demand, supply, transposed, decay=parse_decay(DREES), cutoff=20.0)
    assert flipped.access.to_dict() == pytest.approx({"A": 0.0, "B": 1 / 100}, abs=1e-15)


def test_asymmetric_random_table_matches_reference_orientation() -> None:
    rng = np.random.default_rng(18)
    demand, supply, _ = random_case(rng, n_demand=80, n_supply=80, density=0.0)
    supply.index = demand.index  # same communes on both sides, so a transposed table is meaningful
    o, d = np.nonzero(rng.random((80, 80)) < 0.25)
    cost = rng.uniform(0, 30, o.size).tolist()
    costs = long_table(list(zip(demand.index[o], supply.index[d], cost, strict=True)))
    decay = parse_decay(DREES)
    result = catchment_access(demand, supply, costs, decay=decay, cutoff=20.0, scale=1000.0)
    expected, expected_ratio = reference_access(
        demand, supply, costs, ref.drees_steps, cutoff=20.0, scale=1000.0
    )
    np.testing.assert_allclose(result.access, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(result.ratio, expected_ratio, rtol=1e-12, atol=1e-12)
    transposed = costs.rename(columns={"origin_id": "destination_id", "destination_id": "origin_id"})
    wrong, _ = reference_access(demand, supply, transposed, ref.drees_steps, cutoff=20.0, scale=1000.0)
    assert np.abs(wrong - expected).max() > 0.1 * expected.max()  # the test can tell the two apart


# --- (c) random cases against the plain reference ----------------------------------------------------------

DECAYS = [
    (DREES, ref.drees_steps),
    ("exp:0.12", ref.exponential(0.12)),
    ("gaussian:8", ref.gaussian(8.0)),
    ("gravity:1.5", ref.gravity(1.5)),
    ("uniform", ref.uniform),
]


@pytest.mark.parametrize("cutoff", [None, 15.0, 30.0])
@pytest.mark.parametrize(("spec", "weight"), DECAYS, ids=[spec for spec, _ in DECAYS])
def test_random_cases_match_reference(spec: str, weight: ref.Weight, cutoff: float | None) -> None:
    rng = np.random.default_rng(2026)
    demand, supply, costs = random_case(rng)
    result = catchment_access(demand, supply, costs, decay=parse_decay(spec), cutoff=cutoff, scale=1000.0)
    access, ratio = reference_access(demand, supply, costs, weight, cutoff=cutoff, scale=1000.0)
    np.testing.assert_allclose(result.access, access, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(result.ratio, ratio, rtol=1e-9, atol=1e-9)
    assert result.access.index.equals(demand.index)
    assert result.ratio.index.equals(supply.index)


# --- (d) properties ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [DREES, "exp:0.12", "gravity:1.5"])
def test_adding_supply_never_lowers_access(spec: str) -> None:
    rng = np.random.default_rng(7)
    demand, supply, costs = random_case(rng)
    decay = parse_decay(spec)
    before = catchment_access(demand, supply, costs, decay=decay, cutoff=30.0).access
    for _ in range(5):
        more = supply.copy()
        chosen = rng.choice(len(more), 10, replace=False)
        more.iloc[chosen] += rng.uniform(0.5, 3.0, 10)
        after = catchment_access(demand, more, costs, decay=decay, cutoff=30.0).access
        assert (after >= before - 1e-15).all()
        assert (after > before).any()
        before, supply = after, more


@pytest.mark.parametrize("spec", [*(spec for spec, _ in DECAYS)])
def test_supply_is_conserved(spec: str) -> None:
    rng = np.random.default_rng(11)
    demand, supply, costs = random_case(rng)
    # every site reaches some demand: give each one a populated origin at cost 1
    populated = demand.index[demand > 0]
    anchor = long_table([(populated[i % len(populated)], s, 1.0) for i, s in enumerate(supply.index)])
    costs = pd.concat([costs, anchor], ignore_index=True).drop_duplicates(["origin_id", "destination_id"])
    result = catchment_access(demand, supply, costs, decay=parse_decay(spec), scale=1.0)
    assert list(result.unreached_supply) == []
    assert (result.access * demand).sum() == pytest.approx(supply.sum(), rel=1e-12)


def test_unreached_supply_is_reported_and_lost() -> None:
    demand = pd.Series({"A": 100.0, "B": 50.0})
    supply = pd.Series({"A": 2.0, "Z": 3.0})
    costs = long_table([("A", "A", 0.0), ("B", "A", 4.0), ("B", "Z", 25.0)])
    result = catchment_access(demand, supply, costs, decay=parse_decay(DREES), cutoff=20.0)
    assert list(result.unreached_supply) == ["Z"]
    assert result.ratio["Z"] == 0.0
    assert (result.access * demand).sum() == pytest.approx(2.0, rel=1e-12)


# --- (e) errors --------------------------------------------------------------------------------------------


def test_duplicate_pair_is_refused() -> None:
    costs = pd.concat([HAND_COSTS, long_table([("B", "A", 11.0)])], ignore_index=True)
    with pytest.raises(ConfigurationError, match=r"couple en double.*origine « B », destination « A »"):
        catchment_access(HAND_DEMAND, HAND_SUPPLY, costs, decay=parse_decay(DREES))


@pytest.mark.parametrize("bad", [-1.0, np.nan])
def test_negative_or_missing_cost_is_refused(bad: float) -> None:
    costs = HAND_COSTS.copy()
    costs.loc[3, "travel_time_min"] = bad
    with pytest.raises(ConfigurationError, match="valeurs manquantes ou négatives"):
        catchment_access(HAND_DEMAND, HAND_SUPPLY, costs, decay=parse_decay(DREES))


@pytest.mark.parametrize("side", ["demande", "offre"])
def test_duplicated_identifier_is_refused(side: str) -> None:
    twice = pd.Series([1000.0, 500.0, 2000.0, 7.0], index=["A", "B", "C", "B"])
    demand, supply = (twice, HAND_SUPPLY) if side == "demande" else (HAND_DEMAND, twice)
    with pytest.raises(ConfigurationError, match=f"identifiant en double dans la {side} : « B »"):
        catchment_access(demand, supply, HAND_COSTS, decay=parse_decay(DREES))


@pytest.mark.parametrize("side", ["demande", "offre"])
def test_negative_demand_or_supply_is_refused(side: str) -> None:
    negative = pd.Series({"A": 1000.0, "B": -1.0, "C": 2000.0})
    demand, supply = (negative, HAND_SUPPLY) if side == "demande" else (HAND_DEMAND, negative)
    with pytest.raises(ConfigurationError, match=f"valeurs manquantes ou négatives dans la {side}"):
        catchment_access(demand, supply, HAND_COSTS, decay=parse_decay(DREES))


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "steps:",
        "steps:10",
        "steps:10=1=2",
        "steps:15=1,10=0.5",  # limits not increasing
        "steps:10=1.5",  # weight above 1
        "steps:10=-0.1",
        "steps:nan=1",
        "exp:",
        "exp:-0.1",
        "exp:abc",
        "exp:nan",
        "exp:inf",
        "gaussian:0",
        "gaussian:-3",
        "gaussian:nan",
        "gravity:",
        "gravity:inf",
        "uniform:3",
        "cubic:2",
    ],
)
def test_invalid_decay_lists_accepted_forms(spec: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        parse_decay(spec)
    message = str(error.value)
    assert message.startswith(f"fonction de décroissance invalide : « {spec} »")
    for form in ("steps:10=1,15=0.6667,20=0.3333", "exp:BETA", "gaussian:D0", "gravity:BETA", "uniform"):
        assert form in message


# --- (f) PySAL access --------------------------------------------------------------------------------------
#
# Read in access 1.1.10 (access/fca.py, weights.py):
# * orientation: ``two_stage_fca`` merges demand on ``cost_origin`` and sums it per ``cost_dest``
#   (step 1), then merges the ratio on ``cost_dest`` and sums it per ``cost_origin`` (step 2): origin =
#   demand, destination = supply, the same directed cost in both steps, as in accesoins;
# * ``max_cost`` keeps ``cost <= max_cost``, as our ``cutoff``;
# * ``step_fn({10: 1, 15: 0.6667, 20: 0.3333})`` gives 1 for ``c <= 10``, 0.6667 for ``10 < c <= 15``,
#   0.3333 for ``15 < c <= 20``; accesoins (DREES) gives 1 for ``c < 10``, 0.6667 for ``10 <= c < 15``,
#   0.3333 for ``15 <= c < 20``: the two differ only on costs exactly equal to a limit;
# * an origin without any pair gets NaN (accesoins: 0); a site whose catchment holds no demand gets an
#   infinite ratio (accesoins: 0, and listed in ``unreached_supply``).


@pytest.fixture
def pysal() -> ModuleType:
    module: ModuleType = pytest.importorskip(
        "access", reason="PySAL access is a dev dependency: pip install -e '.[dev]'"
    )
    return module


def pysal_e2sfca(
    access: ModuleType,
    demand: pd.Series,
    supply: pd.Series,
    costs: pd.DataFrame,
    weight_fn: ref.Weight,
    *,
    max_cost: float | None,
) -> pd.Series:
    model = access.Access(
        demand_df=demand.rename("population").rename_axis("geoid").reset_index(),
        demand_index="geoid",
        demand_value="population",
        supply_df=supply.rename("gp").rename_axis("geoid").reset_index(),
        supply_index="geoid",
        supply_value="gp",
        cost_df=costs,
        cost_origin="origin_id",
        cost_dest="destination_id",
        cost_name="travel_time_min",
    )
    out = model.enhanced_two_stage_fca(
        name="e2sfca", cost="travel_time_min", max_cost=max_cost, weight_fn=weight_fn, normalize=False
    )
    result: pd.Series = out["e2sfca_gp"].reindex(demand.index)
    return result


def pysal_case() -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """Asymmetric continuous costs (never on a step limit); every commune reaches its own site at 0."""
    rng = np.random.default_rng(44)
    n = 60
    ids = pd.Index([f"{75000 + i}" for i in range(n)])
    demand = pd.Series(rng.lognormal(7.0, 1.0, n).round() + 1, index=ids)
    supply = pd.Series(rng.poisson(2.0, n).astype(float), index=ids)
    o, d = np.nonzero((rng.random((n, n)) < 0.3) & ~np.eye(n, dtype=bool))
    cost = rng.uniform(0.1, 28.0, o.size)
    costs = long_table(list(zip(ids[o], ids[d], cost.tolist(), strict=True)) + [(i, i, 0.0) for i in ids])
    return demand, supply, costs


def test_pysal_enhanced_two_stage_fca_equal(pysal: ModuleType) -> None:
    demand, supply, costs = pysal_case()
    ours = catchment_access(demand, supply, costs, decay=parse_decay(DREES), cutoff=20.0).access
    theirs = pysal_e2sfca(pysal, demand, supply, costs, pysal.weights.step_fn(DREES_DICT), max_cost=20.0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    assert ours.max() > 0


def test_pysal_on_step_limits_differs_only_by_boundary_convention(pysal: ModuleType) -> None:
    demand, supply, costs = pysal_case()
    costs["travel_time_min"] = np.floor(costs["travel_time_min"] / 5) * 5  # 0, 5, 10, 15, 20, 25
    decay = parse_decay(DREES)
    ours = catchment_access(demand, supply, costs, decay=decay, cutoff=20.0).access
    with_step_fn = pysal_e2sfca(
        pysal, demand, supply, costs, pysal.weights.step_fn(DREES_DICT), max_cost=20.0
    )
    assert np.abs(ours - with_step_fn).max() > 1e-6  # PySAL: c <= limit; accesoins: c < limit
    with_our_steps = pysal_e2sfca(pysal, demand, supply, costs, lambda c: float(decay(c)), max_cost=20.0)
    np.testing.assert_allclose(ours, with_our_steps, rtol=1e-12, atol=1e-15)


def test_pysal_gives_nan_where_accesoins_gives_zero(pysal: ModuleType) -> None:
    demand = pd.Series({"A": 100.0, "B": 50.0})
    supply = pd.Series({"A": 1.0, "B": 0.0})
    costs = long_table([("A", "A", 0.0), ("A", "B", 3.0), ("B", "B", 0.0)])
    costs = costs[costs["origin_id"] == "A"]  # B has no pair at all
    ours = catchment_access(demand, supply, costs, decay=parse_decay(DREES), cutoff=20.0).access
    theirs = pysal_e2sfca(pysal, demand, supply, costs, pysal.weights.step_fn(DREES_DICT), max_cost=20.0)
    assert ours["A"] == pytest.approx(theirs["A"], abs=1e-15)
    assert ours["B"] == 0.0
    assert np.isnan(theirs["B"])


@pytest.mark.slow  # reads the national DREES workbook
def test_compare_apl_rho_is_spearman_with_ties(data_dir: Path) -> None:
    """ρ without scipy.stats: Pearson of average ranks, as spearmanr, on the real DREES APL (many ties)."""
    from scipy.stats import spearmanr

    from accesoins.indicators import compare_apl
    from accesoins.sources import read_apl_drees

    book = data_dir / "apl_drees" / "apl_medecins_generalistes_2022_2023_drees.xlsx"
    reference = read_apl_drees(book, 2023).set_index("commune_code")["apl"]
    ours = reference.round(0)  # rounding to whole consultations makes many ties
    comparison = compare_apl(ours, reference)
    both = pd.concat([ours.rename("a"), reference.rename("b")], axis=1).dropna()
    assert comparison.n_units == len(both) > 34_000
    assert comparison.rho == pytest.approx(spearmanr(both["a"], both["b"]).statistic, abs=1e-12)
    assert 0.9 < comparison.rho < 1.0
