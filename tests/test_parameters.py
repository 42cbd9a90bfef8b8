"""The versioned DREES parameters equal the workbook's « Paramètres » sheet."""

from __future__ import annotations

from pathlib import Path

import pytest

from accesoins.errors import UnknownChoiceError
from accesoins.parameters import AGE_BANDS, apl_vintages, load_apl_parameters, load_crowfly_parameters
from accesoins.sources import read_apl_parameters_sheet

WORKBOOK = "apl_drees/apl_medecins_generalistes_2022_2023_drees.xlsx"


def test_parameter_files_match_the_drees_workbook(data_dir: Path) -> None:
    sheet = read_apl_parameters_sheet(data_dir / WORKBOOK)
    assert sorted(sheet["age_weights"]) == [2022, 2023] == apl_vintages()
    for vintage in (2022, 2023):
        params = load_apl_parameters(vintage)
        assert list(params.age_weights.values()) == pytest.approx(sheet["age_weights"][vintage], abs=1e-9)
        assert [*params.decay.weights, params.decay.beyond] == pytest.approx(sheet["decay"], abs=1e-6)
        assert params.activity.floor == sheet["activity"]["floor"] == 3600
        assert params.activity.ceiling == sheet["activity"]["ceiling"] == 6000
        assert params.activity.imputed_new == sheet["activity"]["imputed_new"] == 5400
    assert load_apl_parameters(2022).age_weights["0-4"] == 0.93
    assert load_apl_parameters(2023).age_weights["0-4"] == 1.12
    assert len(AGE_BANDS) == 19


def test_unknown_vintage_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownChoiceError, match=r"Millésime APL inconnu\(e\) : « 2019 ».*2022, 2023"):
        load_apl_parameters(2019)


def test_crowfly_parameters_are_consistent() -> None:
    p = load_crowfly_parameters()
    assert len(p.speeds_kph) == len(p.density_breaks_per_km2) + 1
    assert p.detour_factor == 1.3


def test_decay_object_carries_every_field_and_its_reach_is_the_cutoff() -> None:
    params = load_apl_parameters(2023)
    decay = params.decay
    assert decay.limits == (10.0, 15.0, 20.0) and decay.reach_min == 20.0
    assert decay([0.0, 9.99, 10.0, 19.99, 20.0]).round(6).tolist() == [1.0, 1.0, 0.666667, 0.333333, 0.0]
    # the YAML's ``beyond`` reaches the kernel: a non-zero tail weight and no finite reach
    tail = params.model_copy(update={"decay_steps": params.decay_steps.model_copy(update={"beyond": 0.1})})
    assert tail.decay([25.0]).tolist() == [0.1] and tail.decay.reach_min == float("inf")
