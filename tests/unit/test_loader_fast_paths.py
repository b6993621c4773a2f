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


def _seed_with(**changes: Any) -> str:
    data: dict[str, Any] = yaml.safe_load(SEED.read_text())
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return yaml.safe_dump(data, sort_keys=False)


BOOLEAN_SPOTS = [
    "spec__tier", "spec__injection__count", "spec__blastRadius__maxPodsAffected",
    "spec__blastRadius__dryRun", "spec__injection__parameters__extra", "metadata__labels__x",
    "spec__hypothesis__recoveryTimeout", "spec__injection__dangerLevel", "spec__unknown",
]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(BOOLEAN_SPOTS), st.booleans() | st.integers(0, 3)))
def test_the_parsers_boolean_list_finds_what_the_full_walk_finds(changes: dict[str, Any]) -> None:
    (document,) = yamlmap.parse(_seed_with(**changes), "t.yaml")
    assert document.booleans is not None
    walked = messages.booleans_for_integers(ChaosExperiment, document.data)
    listed = messages.booleans_for_integers(ChaosExperiment, document.data, document.booleans)
    assert listed == walked
    expected = {
        tuple(spot.split("__"))
        for spot, value in changes.items()
        if isinstance(value, bool)
        and spot in ("spec__tier", "spec__injection__count", "spec__blastRadius__maxPodsAffected")
    }
    assert set(listed) == expected


def test_the_parser_lists_booleans_reached_through_aliases_but_not_boolean_keys() -> None:
    text = "a: &yes true\nb: [1, *yes]\ntrue: x\nc: {d: false, e: 'true'}\n"
    (document,) = yamlmap.parse(text, "t.yaml")
    assert document.booleans == [("a",), ("b", 1), ("c", "d")]


def test_a_boolean_given_with_set_is_refused_like_one_in_the_file() -> None:
    with pytest.raises(LoadError) as caught:
        load_text(SEED.read_text(), Path("seed.yaml"), ["spec.injection.count=true"])
    (problem,) = [p for p in caught.value.problems if p.field == "spec.injection.count"]
    assert problem.message.startswith("must be an integer, got True")
    assert "--set" in problem.message


MERGES = [
    "base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  b: 3\n",
    "one: &o {a: 1}\ntwo: &t {c: 2}\nx:\n  <<: [*o, *t]\n  d: 4\n",
    "b: &b {a: 1}\nx: {? !!merge '<<' : *b, c: 2}\n",
    "%TAG !m! tag:yaml.org,2002:\n---\nb: &b {a: 1}\nx: {!m!merge x: *b, c: 2}\n",
    "x: {a: '<<', b: \"!\"}\n",
]


@pytest.mark.parametrize("text", MERGES)
def test_merge_keys_merge_as_pyyaml_merges_them(text: str) -> None:
    (document,) = yamlmap.parse(text, "t.yaml")
    assert document.data == yaml.safe_load(text)
    assert document.data["x"] != {}


def test_a_key_written_twice_is_still_a_duplicate_next_to_a_merge() -> None:
    text = "b: &b {a: 1}\nx:\n  <<: *b\n  c: 2\n  c: 3\n"
    with pytest.raises(LoadError) as caught:
        yamlmap.parse(text, "t.yaml")
    (problem,) = caught.value.problems
    assert (problem.field, problem.line) == ("x.c", 5)
    assert "duplicate key 'c'" in problem.message


def test_an_aliased_mapping_with_a_merge_is_the_same_everywhere() -> None:
    text = "b: &b {a: 1, c: 1}\nm: &m\n  <<: *b\n  c: 2\nx: *m\ny: *m\n"
    (document,) = yamlmap.parse(text, "t.yaml")
    assert document.data == yaml.safe_load(text)
    assert document.data["x"] == document.data["y"] == {"a": 1, "c": 2}


def test_the_tag_cache_keeps_nothing_of_a_large_text() -> None:
    small = "a: 1\nb: [x, y]\n"
    yamlmap.parse(small, "small.yaml")
    assert yamlmap._resolve.cache_info().currsize > 0
    large = "".join(f"k{i}: value number {i}\n" for i in range(400))
    assert len(large) > yamlmap._RESOLVE_CACHE_TEXT
    (document,) = yamlmap.parse(large, "large.yaml")
    assert document.data["k399"] == "value number 399"
    assert yamlmap._resolve.cache_info().currsize == 0
