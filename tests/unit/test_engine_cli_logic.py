"""Pure helpers the engine relies on: ``--set`` overrides, exit-code severity, and selector
strings turned into LabelSelector objects (NetworkPartition's podSelector)."""

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from operator_chaos.api.v1alpha1 import ExperimentResult, Verdict
from operator_chaos.cli.common import exit_status
from operator_chaos.errors import (
    OperatorChaosError,
    RevertFailed,
    SafetyViolation,
    TargetLocked,
    UsageError,
)
from operator_chaos.exitcodes import ExitStatus
from operator_chaos.injection.labels import Operator, parse_selector
from operator_chaos.injection.targets import InjectionRefused, to_label_selector
from operator_chaos.kube import errors as kube_errors
from operator_chaos.load.overrides import apply
from operator_chaos.orchestrator.lifecycle import RunOutcome

DOC = """\
apiVersion: chaos.operatorchaos.io/v1alpha1
kind: ChaosExperiment
metadata:
  name: x
spec:
  steadyState:
    checks:
      - type: resourceExists
        name: a
      - type: resourceExists
        name: b
  injection:
    type: PodKill
    ttl: 300s
  blastRadius:
    maxPodsAffected: 1
"""


# -- overrides.apply -------------------------------------------------------------------------


def set_(*overrides: str) -> Any:
    return yaml.safe_load(apply(DOC, list(overrides), "x.yaml"))


def test_no_override_returns_the_text_untouched() -> None:
    assert apply(DOC, [], "x.yaml") is DOC


@pytest.mark.parametrize(
    ("override", "path", "value"),
    [
        ("spec.injection.ttl=30s", ("spec", "injection", "ttl"), "30s"),
        ("spec.blastRadius.maxPodsAffected=3", ("spec", "blastRadius", "maxPodsAffected"), 3),
        ("spec.blastRadius.allowDangerous=false", ("spec", "blastRadius", "allowDangerous"), False),
        (
            "spec.blastRadius.allowedNamespaces=[a, b]",
            ("spec", "blastRadius", "allowedNamespaces"),
            ["a", "b"],
        ),
        ("spec.injection.parameters={k: v}", ("spec", "injection", "parameters"), {"k": "v"}),
        ("metadata.name=", ("metadata", "name"), ""),
        ("metadata.name=a=b", ("metadata", "name"), "a=b"),  # only the first '=' splits
        ("metadata.name=[unclosed", ("metadata", "name"), "[unclosed"),  # not YAML: raw text
        (" metadata.name =y", ("metadata", "name"), "y"),
        ("spec.steadyState.checks.1.name=z", ("spec", "steadyState", "checks", 1, "name"), "z"),
        ("spec.steadyState.checks.0=gone", ("spec", "steadyState", "checks", 0), "gone"),
        # Missing mappings on the way are created.
        ("spec.hypothesis.recoveryTimeout=3s", ("spec", "hypothesis", "recoveryTimeout"), "3s"),
        (
            "spec.injection.parameters.labelSelector=app=x,tier=y",
            ("spec", "injection", "parameters", "labelSelector"),
            "app=x,tier=y",
        ),
    ],
)
def test_override_sets_one_value(override: str, path: tuple[Any, ...], value: Any) -> None:
    node = set_(override)
    for part in path:
        node = node[part]
    assert node == value


def test_overrides_apply_in_order_and_leave_the_rest_alone() -> None:
    data = set_("spec.injection.ttl=1s", "spec.injection.ttl=2s")
    original = yaml.safe_load(DOC)
    assert data["spec"]["injection"].pop("ttl") == "2s"
    original["spec"]["injection"].pop("ttl")
    assert data == original


def test_key_order_is_preserved() -> None:
    assert list(set_("spec.injection.ttl=1s")) == ["apiVersion", "kind", "metadata", "spec"]


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("spec.injection.ttl", "use dotted.path=value"),
        ("=value", "use dotted.path=value"),
        ("spec.steadyState.checks.5.name=x", "'5' is not an index of a 2-item list"),
        ("spec.steadyState.checks.first.name=x", "'first' is not an index"),
        ("spec.injection.ttl.seconds=1", "cannot set 'seconds' on a scalar"),
        ("spec.injection.ttl.a.b=1", "'a' is not inside a mapping"),
        ("metadata.name.x=1", "cannot set 'x' on a scalar"),
    ],
)
def test_bad_overrides_are_usage_errors(override: str, fragment: str) -> None:
    with pytest.raises(UsageError) as caught:
        apply(DOC, [override], "x.yaml")
    assert fragment in str(caught.value)


def test_override_needs_a_mapping_document() -> None:
    with pytest.raises(UsageError, match="single YAML mapping"):
        apply("- a\n- b\n", ["x=1"], "list.yaml")


# -- exit_status -----------------------------------------------------------------------------


def outcome(
    verdict: Verdict | None = None,
    error: OperatorChaosError | None = None,
    interrupted: bool = False,
) -> RunOutcome:
    result = ExperimentResult(
        run_id="r",
        experiment="e",
        operator="o",
        component="c",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        verdict=verdict,
    )
    return RunOutcome(result, error, interrupted)


@pytest.mark.parametrize(
    ("verdict", "status"),
    [
        (Verdict.RESILIENT, ExitStatus.OK),
        (Verdict.DEGRADED, ExitStatus.DEGRADED),
        (Verdict.FAILED, ExitStatus.FAILED),
        (Verdict.INCONCLUSIVE, ExitStatus.INCONCLUSIVE),
        (None, ExitStatus.ERROR),  # a run that ended with no verdict and no error is a bug
    ],
)
def test_each_verdict_has_its_exit_code(verdict: Verdict | None, status: ExitStatus) -> None:
    assert exit_status([outcome(verdict)], dry_run=False) is status


def test_no_outcome_is_ok() -> None:
    assert exit_status([], dry_run=False) is ExitStatus.OK


def test_dry_run_without_errors_is_ok() -> None:
    assert exit_status([outcome(None), outcome(None)], dry_run=True) is ExitStatus.OK


def test_errors_use_their_own_code_even_in_dry_run() -> None:
    refused = outcome(Verdict.INCONCLUSIVE, SafetyViolation("no"))
    assert exit_status([refused], dry_run=True) is ExitStatus.UNSAFE
    assert exit_status([refused], dry_run=False) is ExitStatus.UNSAFE


def test_interrupted_wins_over_its_own_error() -> None:
    assert exit_status([outcome(None, RevertFailed("x"), True)], dry_run=False) is (
        ExitStatus.INTERRUPTED
    )


# Most severe first: what a CI job must see when several experiments ran.
SEVERITY = [
    outcome(None, RevertFailed("revert")),  # 7
    outcome(None, None, interrupted=True),  # 130
    outcome(None, kube_errors.Unreachable("down")),  # 6
    outcome(Verdict.INCONCLUSIVE, TargetLocked("locked")),  # 5
    outcome(None, SafetyViolation("unsafe")),  # 4
    outcome(Verdict.INCONCLUSIVE, OperatorChaosError("boom")),  # 1
    outcome(Verdict.FAILED),  # 11
    outcome(Verdict.INCONCLUSIVE),  # 12
    outcome(Verdict.DEGRADED),  # 10
    outcome(Verdict.RESILIENT),  # 0
]
EXPECTED = [
    ExitStatus.REVERT_FAILED,
    ExitStatus.INTERRUPTED,
    ExitStatus.UNREACHABLE,
    ExitStatus.LOCKED,
    ExitStatus.UNSAFE,
    ExitStatus.ERROR,
    ExitStatus.FAILED,
    ExitStatus.INCONCLUSIVE,
    ExitStatus.DEGRADED,
    ExitStatus.OK,
]


@pytest.mark.parametrize("i", range(len(SEVERITY)))
def test_most_severe_status_wins(i: int) -> None:
    rest = SEVERITY[i:]
    assert exit_status(rest, dry_run=False) is EXPECTED[i]
    assert exit_status(list(reversed(rest)), dry_run=False) is EXPECTED[i]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, len(SEVERITY) - 1), min_size=1, max_size=8))
def test_severity_is_order_independent(picks: list[int]) -> None:
    chosen = [SEVERITY[i] for i in picks]
    assert exit_status(chosen, dry_run=False) is EXPECTED[min(picks)]


# -- to_label_selector -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "selector"),
    [
        ("app=x", {"matchLabels": {"app": "x"}}),
        ("app==x", {"matchLabels": {"app": "x"}}),
        ("app=", {"matchLabels": {"app": ""}}),
        ("app!=x", {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["x"]}]}),
        (
            "tier in (a,b)",
            {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]},
        ),
        (
            "tier notin (a)",
            {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["a"]}]},
        ),
        ("app", {"matchExpressions": [{"key": "app", "operator": "Exists"}]}),
        ("!app", {"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}),
        (
            "control-plane=controller-manager,app.kubernetes.io/name=training-operator",
            {
                "matchLabels": {
                    "control-plane": "controller-manager",
                    "app.kubernetes.io/name": "training-operator",
                }
            },
        ),
        (
            "app=x,tier!=db,!canary",
            {
                "matchLabels": {"app": "x"},
                "matchExpressions": [
                    {"key": "tier", "operator": "NotIn", "values": ["db"]},
                    {"key": "canary", "operator": "DoesNotExist"},
                ],
            },
        ),
    ],
)
def test_to_label_selector(text: str, selector: dict[str, Any]) -> None:
    assert to_label_selector(text) == selector


@pytest.mark.parametrize("text", ["gen>3", "gen<3", "app=x,gen>1"])
def test_numeric_comparisons_cannot_be_a_policy_selector(text: str) -> None:
    with pytest.raises(InjectionRefused, match="cannot be expressed in a policy"):
        to_label_selector(text)


def matches_text(text: str, labels: dict[str, str]) -> bool:
    """What the API server selects for a selector string (the reference semantics)."""
    for req in parse_selector(text):
        has, value = req.key in labels, labels.get(req.key)
        op = req.operator
        if op in (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.IN):
            ok = has and value in req.values
        elif op in (Operator.NOT_EQUALS, Operator.NOT_IN):
            ok = not has or value not in req.values
        elif op is Operator.EXISTS:
            ok = has
        else:
            ok = not has
        if not ok:
            return False
    return True


def matches_object(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """What a LabelSelector object selects (Kubernetes semantics)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        has = key in labels
        if op == "In" and not (has and labels[key] in values):
            return False
        if op == "NotIn" and has and labels[key] in values:
            return False
        if op == "Exists" and not has:
            return False
        if op == "DoesNotExist" and has:
            return False
    return True


KEYS = st.sampled_from(["app", "tier", "example.com/role"])
VALUES = st.sampled_from(["a", "b", ""])
REQUIREMENT = st.one_of(
    st.builds(lambda k, v: f"{k}={v}", KEYS, VALUES),
    st.builds(lambda k, v: f"{k}=={v}", KEYS, VALUES),
    st.builds(lambda k, v: f"{k}!={v}", KEYS, VALUES),
    st.builds(
        lambda k, vs: f"{k} in ({','.join(vs)})", KEYS, st.lists(VALUES, min_size=1, max_size=3)
    ),
    st.builds(
        lambda k, vs: f"{k} notin ({','.join(vs)})", KEYS, st.lists(VALUES, min_size=1, max_size=3)
    ),
    KEYS,
    st.builds(lambda k: f"!{k}", KEYS),
)
LABELS = st.dictionaries(KEYS, VALUES, max_size=3)


@settings(max_examples=400, deadline=None)
@given(st.lists(REQUIREMENT, min_size=1, max_size=4), LABELS)
def test_policy_selects_exactly_what_the_string_selects(
    reqs: list[str], labels: dict[str, str]
) -> None:
    """The NetworkPolicy must isolate exactly the pods the experiment's selector (as counted
    by the safety gate through the API server) selects — no more, no fewer."""
    text = ",".join(reqs)
    assert matches_object(to_label_selector(text), labels) == matches_text(text, labels)


def test_repeated_key_with_different_values_selects_nothing() -> None:
    selector = to_label_selector("app=a,app=b")
    assert not matches_object(selector, {"app": "a"})
    assert not matches_object(selector, {"app": "b"})


def test_every_exit_status_has_a_severity() -> None:
    from operator_chaos.cli import common
    from operator_chaos.exitcodes import ExitStatus

    assert set(common._SEVERITY) == set(ExitStatus)
