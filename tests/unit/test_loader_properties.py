"""Whatever the input, the loader either returns experiments or raises LoadError: never a crash.

Property tests feed it arbitrary text, arbitrary YAML structures and mutations of a valid
experiment; the example-based tests cover the hostile inputs a fuzzer is unlikely to find.
"""

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from operator_chaos.load import yamlmap
from operator_chaos.load.errors import LoadError, Problem
from operator_chaos.load.experiments import load_file, load_text

VALID = Path(__file__).parents[1] / "data" / "valid" / "pod-kill.yaml"
VALID_DATA: dict[str, Any] = yaml.safe_load(VALID.read_text())
SOURCE = Path("fuzz.yaml")
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["PodKill", "high", "30s", "app=x", "v1", "ChaosExperiment", "", "null"]),
)
structures = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=12), st.sampled_from(sorted(_key for _key in VALID_DATA))),
            children,
            max_size=4,
        ),
    ),
    max_leaves=25,
)


def must_load_or_refuse(text: str) -> None:
    """Anything but a LoadError (or success) escapes and fails the property."""
    problems: tuple[Problem, ...] = ()
    try:
        loaded = load_text(text, SOURCE)
    except LoadError as exc:
        problems = exc.problems
        loaded = []
    assert bool(loaded) != bool(problems)
    assert all(str(p).startswith(f"{SOURCE}:") for p in problems)


@PROPERTY_SETTINGS
@given(st.text(max_size=400))
def test_arbitrary_text(text: str) -> None:
    must_load_or_refuse(text)


@PROPERTY_SETTINGS
@given(structures)
def test_arbitrary_yaml_structures(data: Any) -> None:
    must_load_or_refuse(yaml.safe_dump(data, allow_unicode=True))


def paths_of(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths_of(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += paths_of(value, (*prefix, index))
    return found


ALL_PATHS = [p for p in paths_of(VALID_DATA) if p]


@st.composite
def mutated_experiments(draw: st.DrawFn) -> Any:
    data = copy.deepcopy(VALID_DATA)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        path = draw(st.sampled_from(ALL_PATHS))
        parent: Any = data
        try:
            for part in path[:-1]:
                parent = parent[part]
            action = draw(st.sampled_from(["replace", "delete", "rename"]))
            if action == "replace":
                parent[path[-1]] = draw(structures)
            elif action == "delete":
                del parent[path[-1]]
            elif isinstance(parent, dict):
                parent[draw(st.text(max_size=10))] = parent.pop(path[-1])
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    return data


@PROPERTY_SETTINGS
@given(mutated_experiments())
def test_mutated_valid_experiments(data: Any) -> None:
    must_load_or_refuse(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


@PROPERTY_SETTINGS
@given(structures)
def test_arbitrary_parameter_values(value: Any) -> None:
    data = copy.deepcopy(VALID_DATA)
    data["spec"]["injection"]["parameters"] = {"labelSelector": value, "count": value}
    must_load_or_refuse(yaml.safe_dump(data, allow_unicode=True))


def test_valid_seed_loads() -> None:
    (loaded,) = load_file(VALID)
    assert loaded.experiment.metadata.name == "sample-pod-kill"
    assert loaded.text == VALID.read_text()
    assert loaded.document.position(("spec", "injection", "type"))[0] == 22


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "no ChaosExperiment document"),
        ("---\n---\n", "no ChaosExperiment document"),
        ("just a string", "got str"),
        ("42", "got int"),
        ("[1, 2]", "got list"),
        ("{a: [}", "invalid YAML"),
        ("a: &x [*x]", "deeper than"),
        ("!!python/object:os.system {}", "unsupported YAML tag"),
        ("!!python/name:os.system", "invalid YAML"),
        ("!!set {a, b}", "unsupported YAML tag"),
        ("\t- tab", "invalid YAML"),
    ],
)
def test_hostile_text_is_refused(text: str, fragment: str) -> None:
    with pytest.raises(LoadError) as caught:
        load_text(text, SOURCE)
    assert fragment in str(caught.value)


def test_alias_bomb_is_bounded() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(LoadError, match="nodes"):
        load_text("\n".join(lines), SOURCE)


def test_deep_nesting_is_bounded() -> None:
    with pytest.raises(LoadError, match=r"deeper|nesting"):
        load_text("[" * 5000 + "]" * 5000, SOURCE)


def test_binary_junk_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.yaml"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(LoadError, match="UTF-8"):
        load_file(path)


def test_huge_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    with pytest.raises(LoadError, match="larger than"):
        load_file(path)
    assert yamlmap.MAX_BYTES < 50 * 1024 * 1024


def test_missing_file_and_directory_are_load_errors(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="file not found"):
        load_file(tmp_path / "absent.yaml")
    with pytest.raises(LoadError, match="directory"):
        load_file(tmp_path)


def test_multi_document_file_returns_every_experiment(tmp_path: Path) -> None:
    second = VALID.read_text().replace("sample-pod-kill", "sample-pod-kill-2")
    path = tmp_path / "two.yaml"
    path.write_text(VALID.read_text() + "---\n" + second + "---\n")
    names = [item.experiment.metadata.name for item in load_file(path)]
    assert names == ["sample-pod-kill", "sample-pod-kill-2"]
