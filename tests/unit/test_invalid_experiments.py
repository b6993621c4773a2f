"""Each file under tests/data/invalid breaks one rule; the loader must name it precisely.

A file's sidecar ``.err`` holds the expected field path and a fragment of the message; the line
the problem must point at carries the comment ``# <-- error``.
"""

from pathlib import Path

import pytest

from operator_chaos.load.errors import LoadError, Problem
from operator_chaos.load.experiments import load_file

INVALID = Path(__file__).parents[1] / "data" / "invalid"
CASES = sorted(INVALID.glob("*.yaml"))
MARKER = "<-- error"


def expected(case: Path) -> tuple[str, str, int]:
    fields = {}
    for line in case.with_suffix(".err").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    lines = case.read_text().splitlines()
    marked = [number for number, text in enumerate(lines, start=1) if MARKER in text]
    assert len(marked) == 1, f"{case.name} must mark exactly one line with {MARKER!r}"
    return fields["field"], fields["message"], marked[0]


def problems_of(case: Path) -> tuple[Problem, ...]:
    with pytest.raises(LoadError) as caught:
        load_file(case)
    return caught.value.problems


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 30
    assert all(case.with_suffix(".err").is_file() for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.stem)
def test_invalid_file_is_rejected_with_located_problem(case: Path) -> None:
    field, fragment, line = expected(case)
    problems = problems_of(case)
    assert len(problems) == 1, "\n".join(str(p) for p in problems)
    problem = problems[0]
    assert problem.path == str(case)
    assert problem.field == field
    assert fragment in problem.message
    assert problem.line == line
    assert problem.column >= 1
    assert str(problem).startswith(f"{case}:{line}:{problem.column}: ")


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = (INVALID / "tier-out-of-range.yaml").read_text()
    text = text.replace("maxPodsAffected: 1", "maxPodsAffected: 0")
    text = text.replace("labelSelector: app=sample-controller", 'labelSelector: ""')
    text = text.replace("ttl: 300s", "ttl: forever")
    path = tmp_path / "many.yaml"
    path.write_text(text)
    fields = [p.field for p in problems_of(path)]
    assert fields == [
        "spec.tier",
        "spec.injection.parameters.labelSelector",
        "spec.injection.ttl",
        "spec.blastRadius.maxPodsAffected",
    ]
