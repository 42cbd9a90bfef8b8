"""A seeded sample of the fuzzing campaign (the full one: ``python bench/fuzz.py``).

Each source type's real seed loads cleanly; a few seeded mutants of each end
in a French error or a sane result, never in a traceback or an impossible value.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fuzz_support import OUTCOMES, SOURCE_TYPES, Seed, mutants, run_mutant

SAMPLE_PER_SOURCE = 2
SAMPLE_SEED = 2026


@pytest.fixture(scope="module")
def seeds(data_dir: Path) -> dict[str, Seed]:
    return {name: source.seed(data_dir) for name, source in SOURCE_TYPES.items()}


@pytest.mark.parametrize("name", list(SOURCE_TYPES))
def test_seed_loads_cleanly(name: str, seeds: dict[str, Seed], tmp_path: Path) -> None:
    """The unmutated seed is accepted with no impossible value (else every mutant would be noise)."""
    seed = seeds[name]
    source = SOURCE_TYPES[name]
    path = tmp_path / f"seed{seed.suffix}"
    path.write_bytes(seed.raw)
    assert source.impossible(source.load(path)) == []


@pytest.mark.parametrize("name", list(SOURCE_TYPES))
def test_sample_of_mutants(name: str, seeds: dict[str, Seed], tmp_path: Path) -> None:
    outcomes = [
        run_mutant(SOURCE_TYPES[name], mutant, tmp_path)
        for mutant in mutants(name, seeds[name], count=SAMPLE_PER_SOURCE, rng_seed=SAMPLE_SEED, shuffle=True)
    ]
    bad = [(o.mutant.name, o.outcome, o.detail) for o in outcomes if o.outcome in (OUTCOMES[2], OUTCOMES[4])]
    assert bad == []
    assert len(outcomes) == SAMPLE_PER_SOURCE


def test_impossible_values_are_seen() -> None:
    """The check on accepted results does flag what the loaders must refuse."""
    finess = pd.DataFrame(
        {"finess": ["330000217", "330000217"], "lon": [-0.57, 44.83], "lat": [44.83, -0.57]}
    )
    assert SOURCE_TYPES["finess_wgs84"].impossible(finess) == ["clé finess en double", "point hors de France"]
    od = pd.DataFrame({"origin_id": ["a"], "destination_id": ["b"], "travel_time_min": [np.inf]})
    assert SOURCE_TYPES["od_iris"].impossible(od) == ["travel_time_min non fini ou négatif"]
