"""Profiles and the upgrade playbook of the reference corpus resolve; broken ones are located."""

from pathlib import Path

import pytest
from docs_pages import REPO, compat_dir

from operator_chaos.knowledge.packs import (
    load_playbook,
    load_profile,
    resolve_playbook,
    resolve_profile,
)
from operator_chaos.knowledge.profile import ChaosStep, KubectlStep, ManualStep, Platform
from operator_chaos.load.errors import LoadError

PROFILES = sorted(compat_dir().glob("profiles/*/profile.yaml"))
PLAYBOOK = compat_dir() / "profiles/rhoai/knowledge/upgrades/v2.10-to-v3.3.yaml"
needs_corpus = pytest.mark.skipif(
    not PROFILES, reason=f"compat corpus not found at {compat_dir()} (OPERATOR_CHAOS_COMPAT_DIR)"
)

# profile -> (knowledge files, experiments) found by the pack/built-in lookup
EXPECTED = {
    "cert-manager": (1, 3),
    "knative-serving": (1, 39),
    "odh": (16, 81),
    "rh-kueue": (1, 0),
    "rhoai": (12, 95),
}


@needs_corpus
def test_corpus_has_five_profiles() -> None:
    assert sorted(p.parent.name for p in PROFILES) == sorted(EXPECTED)


@needs_corpus
@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.parent.name)
def test_profile_resolves(path: Path) -> None:
    resolved = resolve_profile(load_profile(path))
    profile = resolved.profile.model
    assert profile.name == path.parent.name
    assert (len(resolved.knowledge), len(resolved.experiments)) == EXPECTED[profile.name]
    deployments = {
        r.name
        for k in resolved.knowledge
        for c in k.model.components
        for r in c.resources_of_kind("Deployment")
    }
    for comp in profile.components.values():
        assert comp.deployment is None or comp.deployment in deployments


@needs_corpus
def test_profile_variables() -> None:
    profile = load_profile(compat_dir() / "profiles/cert-manager/profile.yaml").model
    assert profile.platform is Platform.KUBERNETES
    assert profile.variables("controller") == {
        "OPERATOR": "cert-manager",
        "COMPONENT": "controller",
        "COMPONENT_NAME": "cert-manager-controller",
        "NAMESPACE": "cert-manager",
        "DEPLOYMENT": "cert-manager",
        "LABEL_SELECTOR": "app.kubernetes.io/name=cert-manager",
        "CLUSTER_ROLE_BINDING": "cert-manager-controller-issuers",
        "LEASE_NAME": "cert-manager-controller",
    }


@needs_corpus
def test_playbook_is_typed() -> None:
    playbook = load_playbook(PLAYBOOK).model
    assert playbook.metadata.name == "rhoai-2.10-to-3.3"
    assert [h.channel for h in playbook.upgrade.path.hops] == [
        "stable-2.16",
        "stable-3.0",
        "stable-3.3",
    ]
    assert [h.max_wait.total_seconds() for h in playbook.upgrade.path.hops] == [900, 1200, 1200]
    kinds = [type(step) for step in playbook.upgrade.steps]
    assert {KubectlStep, ManualStep, ChaosStep} <= set(kinds)
    assert len(playbook.upgrade.steps) == 6


@needs_corpus
def test_playbook_references_resolve_except_the_missing_source() -> None:
    """The corpus ships v3.3 knowledge for RHOAI but not v2.10: that one link must dangle."""
    with pytest.raises(LoadError) as info:
        resolve_playbook(load_playbook(PLAYBOOK))
    (problem,) = info.value.problems
    assert (problem.field, problem.line) == ("upgrade.source.knowledgeDir", 10)
    assert "knowledge/rhoai/v2.10/" in problem.message


def test_playbook_resolves_target_and_experiments(tmp_path: Path) -> None:
    pack = tmp_path / "profiles" / "demo"
    (pack / "knowledge" / "v1").mkdir(parents=True)
    (pack / "knowledge" / "v2").mkdir()
    (pack / "knowledge" / "upgrades").mkdir()
    knowledge = (REPO / "knowledge" / "training-operator.yaml").read_text()
    (pack / "knowledge" / "v1" / "to.yaml").write_text(knowledge)
    (pack / "knowledge" / "v2" / "to.yaml").write_text(knowledge)
    (tmp_path / "experiments").mkdir()
    pod_kill = (REPO / "experiments" / "training-operator" / "pod-kill.yaml").read_text()
    (tmp_path / "experiments" / "pod-kill.yaml").write_text(pod_kill)
    playbook = pack / "knowledge" / "upgrades" / "up.yaml"
    playbook.write_text(
        "apiVersion: chaos.operatorchaos.io/v1alpha1\n"
        "kind: UpgradePlaybook\n"
        "metadata: {name: demo-up}\n"
        "upgrade:\n"
        "  source: {knowledgeDir: knowledge/demo/v1/, version: '1'}\n"
        "  target: {knowledgeDir: knowledge/demo/v2/, version: '2'}\n"
        "  path: {operator: demo, namespace: demo, hops: [{channel: stable}]}\n"
        "  steps:\n"
        "    - {name: check, type: validate-version}\n"
        "    - {name: chaos, type: chaos, experiments: [experiments/pod-kill.yaml, nope.yaml]}\n"
    )
    with pytest.raises(LoadError) as info:
        resolve_playbook(load_playbook(playbook))
    assert [(p.field, p.line) for p in info.value.problems] == [
        ("upgrade.steps[1].experiments[1]", 10)
    ]
    playbook.write_text(playbook.read_text().replace(", nope.yaml", ""))
    resolved = resolve_playbook(load_playbook(playbook))
    assert len(resolved.source) == len(resolved.target) == len(resolved.experiments) == 1


def _pack(tmp_path: Path, profile: str) -> Path:
    pack = tmp_path / "profiles" / "demo"
    (pack / "knowledge").mkdir(parents=True)
    knowledge = (REPO / "knowledge" / "training-operator.yaml").read_text()
    (pack / "knowledge" / "training-operator.yaml").write_text(knowledge)
    (pack / "profile.yaml").write_text(profile)
    return pack / "profile.yaml"


GOOD = """\
name: demo
platform: kubernetes
components:
  trainer:
    namespace: opendatahub
    deployment: training-operator-controller-manager
    webhook_name: vpytorchjob.kubeflow.org
    webhook_type: validating
    webhook_resource_kind: ValidatingWebhookConfiguration
"""


def test_small_pack_resolves(tmp_path: Path) -> None:
    resolved = resolve_profile(load_profile(_pack(tmp_path, GOOD)))
    assert [k.model.operator.name for k in resolved.knowledge] == ["training-operator"]
    assert resolved.experiments == []
    assert resolved.warnings == []


@pytest.mark.parametrize(
    ("old", "new", "field", "line", "words"),
    [
        (
            "deployment: training",
            "deployment: x-training",
            "components.trainer.deployment",
            6,
            "is not managed",
        ),
        ("name: demo", "name: other", "name", 1, "does not match its directory"),
        (
            "webhook_type: validating",
            "webhook_type: mutating",
            "components.trainer",
            4,
            "use MutatingWebhookConfiguration",
        ),
        ("platform: kubernetes", "platform: k8s", "platform", 2, "not allowed"),
        (
            "    namespace:",
            "    labels: x\n    namespace:",
            "components.trainer.labels",
            5,
            "unknown field 'labels'",
        ),
    ],
)
def test_broken_profile_is_located(
    tmp_path: Path, old: str, new: str, field: str, line: int, words: str
) -> None:
    path = _pack(tmp_path, GOOD.replace(old, new))
    with pytest.raises(LoadError) as info:
        resolve_profile(load_profile(path))
    found = [(p.field, p.line, p.message) for p in info.value.problems]
    assert any(f == field and n == line and words in m for f, n, m in found), found


def test_profile_without_knowledge(tmp_path: Path) -> None:
    path = tmp_path / "profiles" / "demo" / "profile.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(GOOD)
    with pytest.raises(LoadError, match="no knowledge found"):
        resolve_profile(load_profile(path))


def test_playbook_step_names_are_unique(tmp_path: Path) -> None:
    path = tmp_path / "up.yaml"
    path.write_text(
        "apiVersion: chaos.operatorchaos.io/v1alpha1\n"
        "kind: UpgradePlaybook\n"
        "metadata: {name: up}\n"
        "upgrade:\n"
        "  source: {knowledgeDir: a, version: '1'}\n"
        "  target: {knowledgeDir: b, version: '2'}\n"
        "  path: {operator: demo, namespace: demo, hops: [{channel: stable, maxWait: 5}]}\n"
        "  steps:\n"
        "    - {name: check, type: validate-version}\n"
        "    - {name: check, type: olm}\n"
    )
    with pytest.raises(LoadError) as info:
        load_playbook(path)
    assert [(p.field, p.line) for p in info.value.problems] == [("upgrade.path.hops[0].maxWait", 7)]
    path.write_text(path.read_text().replace("maxWait: 5", "maxWait: 5m"))
    with pytest.raises(LoadError, match="duplicate step name 'check'") as info:
        load_playbook(path)
    assert [(p.field, p.line) for p in info.value.problems] == [("upgrade.steps[1].name", 10)]
