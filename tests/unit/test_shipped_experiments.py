"""Every experiment shipped in the repository's ``experiments/`` directory validates."""

from pathlib import Path

import pytest

from operator_chaos.injection.registry import effective_danger
from operator_chaos.load.experiments import load_file
from operator_chaos.load.sources import expand

EXPERIMENTS = Path(__file__).parents[2] / "experiments"
FILES = expand([EXPERIMENTS]) if EXPERIMENTS.is_dir() else []


def test_experiments_are_shipped() -> None:
    assert FILES, f"no experiment files under {EXPERIMENTS}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(EXPERIMENTS)))
def test_shipped_experiment_validates(path: Path) -> None:
    loaded = load_file(path)
    assert loaded
    for item in loaded:
        spec = item.experiment.spec
        if effective_danger(spec).value == "high":
            assert spec.blast_radius.allow_dangerous
