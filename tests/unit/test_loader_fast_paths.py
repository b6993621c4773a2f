"""The loader's fast paths give the answers of the slow ones they replace.

``validate`` of many files memoizes scalar tag resolution and skips, in the boolean walk, the
parts of a document where no integer field can be; neither may change what a document means
or which ``count: true`` is refused.
"""

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from operator_chaos.api.v1alpha1 import ChaosExperiment
from operator_chaos.load import messages, yamlmap
from operator_chaos.load.errors import LoadError
from operator_chaos.load.experiments import load_text

SCALARS = [
    "yes", "No", "on", "OFF", "true", "False", "~", "null", "", "0", "-12", "0x1F", "0o17",
    "1_000", "1e3", "-.inf", ".NaN", "3.5", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
    "12:30:45", "plain text", "'quoted yes'", '"1"',
]  # fmt: skip


@pytest.mark.parametrize("text", SCALARS)
def test_memoized_tags_match_pyyaml(text: str) -> None:
    document = f"a: {text}\nb: [{text}]\nc: {{k: {text}}}\n"
    for _ in range(2):  # the second parse answers from the cache
        (parsed,) = yamlmap.parse(document, "t.yaml")
        assert parsed.data == yaml.safe_load(document)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=8))
def test_memoized_tags_match_pyyaml_for_any_plain_text(values: list[str]) -> None:
    document = yaml.safe_dump({f"k{i}": v for i, v in enumerate(values)})
    (parsed,) = yamlmap.parse(document, "t.yaml")
    assert parsed.data == yaml.safe_load(document)


def test_a_bad_key_is_located_at_that_key() -> None:
    text = "a: 1\nb: 2\n2001-13-45: x\n"
    with pytest.raises(LoadError) as caught:
        yamlmap.parse(text, "t.yaml")
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (3, 1)
    assert "invalid timestamp" in problem.message


SEED = Path(__file__).resolve().parents[2] / "experiments" / "training-operator" / "pod-kill.yaml"


def test_booleans_for_integers_are_found_wherever_they_are() -> None:
    data: dict[str, Any] = yaml.safe_load(SEED.read_text())
    data["spec"]["tier"] = True
    data["spec"]["injection"]["count"] = False
    data["spec"]["blastRadius"]["maxPodsAffected"] = True
    data["metadata"]["labels"] = {"x": "true"}  # strings that read like booleans: fine
    data["spec"]["blastRadius"]["dryRun"] = True  # a real boolean field: fine
    found = messages.booleans_for_integers(ChaosExperiment, data)
    assert sorted(found, key=str) == sorted(
        [
            ("spec", "tier"),
            ("spec", "injection", "count"),
            ("spec", "blastRadius", "maxPodsAffected"),
        ],
        key=str,
    )


def test_a_boolean_count_is_still_refused_with_its_line() -> None:
    text = SEED.read_text().replace("count: 1", "count: true")
    with pytest.raises(LoadError) as caught:
        load_text(text, Path("seed.yaml"))
    (problem,) = [p for p in caught.value.problems if p.field == "spec.injection.count"]
    assert problem.message == "must be an integer, got True"
    assert problem.line == text.splitlines().index("    count: true") + 1
