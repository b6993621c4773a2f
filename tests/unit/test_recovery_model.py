"""Which recovery model a run uses: the experiment's explicit field, else the knowledge
model (an object the component manages must be repaired by it), else the type's own."""

from pathlib import Path

import pytest

from operator_chaos.api.v1alpha1 import RecoveryModel
from operator_chaos.injection import registry
from operator_chaos.injection.protocol import Plan
from operator_chaos.knowledge.loader import load_file as load_knowledge
from operator_chaos.kube.port import ResourceRef
from operator_chaos.load.experiments import load_text
from operator_chaos.orchestrator.lifecycle import choose_model
from operator_chaos.safety.policy import Footprint

REPO = Path(__file__).resolve().parents[2]
KNOWLEDGE = load_knowledge(REPO / "tests" / "data" / "demo-operator" / "knowledge.yaml").model

WEBHOOK = ResourceRef(
    "admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "demo-hooks"
)
BINDING = ResourceRef("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "demo-binding")
CONFIG = ResourceRef("v1", "ConfigMap", "demo-config", "demo")


def experiment(injection: str, tmp_path: Path) -> object:
    text = f"""
apiVersion: chaos.operatorchaos.io/v1alpha1
kind: ChaosExperiment
metadata: {{name: model-test}}
spec:
  target: {{operator: demo-operator, component: demo-operator}}
  steadyState:
    checks:
      - type: resourceExists
        apiVersion: v1
        kind: ConfigMap
        name: demo-config
        namespace: demo
  injection:
{injection}
  hypothesis: {{description: The operator copes with this fault., recoveryTimeout: 30s}}
  blastRadius: {{maxPodsAffected: 1, allowedNamespaces: [demo], allowDangerous: true}}
"""
    (loaded,) = load_text(text, tmp_path / "e.yaml")
    return loaded.experiment.spec


RBAC = """    type: RBACRevoke
    dangerLevel: high
    parameters: {bindingName: demo-binding, bindingType: ClusterRoleBinding}"""


def plan(*targets: ResourceRef) -> Plan:
    return Plan(footprint=Footprint(targets=targets), changes=(), state=None)


def test_the_type_decides_by_default(tmp_path: Path) -> None:
    spec = experiment(RBAC, tmp_path)
    model, why = choose_model(spec, registry.spec_for("RBACRevoke"), plan(BINDING), None)  # type: ignore[arg-type]
    assert model is RecoveryModel.CONDITION
    assert "RBACRevoke is a condition fault" in why


def test_a_managed_object_makes_a_condition_fault_a_repair_fault(tmp_path: Path) -> None:
    spec = experiment(RBAC, tmp_path)
    knowledge = KNOWLEDGE.model_copy(deep=True)
    component = knowledge.components[0]
    extra = component.managed_resources[0].model_copy(
        update={
            "api_version": BINDING.api_version,
            "kind": BINDING.kind,
            "name": BINDING.name,
            "namespace": None,
            "labels": {},
            "expected_spec": {},
        }
    )
    component.managed_resources.append(extra)
    model, why = choose_model(spec, registry.spec_for("RBACRevoke"), plan(BINDING), knowledge)  # type: ignore[arg-type]
    assert model is RecoveryModel.REPAIR
    assert "lists ClusterRoleBinding demo-binding as managed by demo-operator" in why
    # an object the component does not manage keeps the type's model
    model, _ = choose_model(spec, registry.spec_for("RBACRevoke"), plan(WEBHOOK), knowledge)  # type: ignore[arg-type]
    assert model is RecoveryModel.CONDITION


@pytest.mark.parametrize("explicit", ["repair", "condition"])
def test_the_experiment_field_wins(tmp_path: Path, explicit: str) -> None:
    spec = experiment(RBAC + f"\n    recoveryModel: {explicit}", tmp_path)
    model, why = choose_model(spec, registry.spec_for("RBACRevoke"), plan(BINDING), KNOWLEDGE)  # type: ignore[arg-type]
    assert model is RecoveryModel(explicit)
    assert why == "set by injection.recoveryModel"


def test_a_repair_type_stays_repair_whatever_the_knowledge(tmp_path: Path) -> None:
    spec = experiment(
        "    type: ConfigDrift\n    parameters: {name: demo-config, key: mode, value: x}",
        tmp_path,
    )
    model, _ = choose_model(spec, registry.spec_for("ConfigDrift"), plan(CONFIG), KNOWLEDGE)  # type: ignore[arg-type]
    assert model is RecoveryModel.REPAIR


def test_an_unknown_model_is_a_validation_error(tmp_path: Path) -> None:
    from operator_chaos.load.errors import LoadError

    with pytest.raises(LoadError, match="recoveryModel"):
        experiment(RBAC + "\n    recoveryModel: maybe", tmp_path)


def test_hold_never_outlives_the_ttl() -> None:
    from datetime import timedelta

    from operator_chaos.errors import UsageError
    from operator_chaos.orchestrator.lifecycle import check_hold

    check_hold(None, timedelta(minutes=5))
    check_hold(timedelta(minutes=5), timedelta(minutes=5))
    with pytest.raises(UsageError, match=r"--hold 999h0m0s is longer than .* \(5m0s\)"):
        check_hold(timedelta(hours=999), timedelta(minutes=5))
