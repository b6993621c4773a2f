"""Knowledge files: the whole reference corpus loads, and each kind of mistake is located."""

from pathlib import Path

import pytest
from docs_pages import REPO, compat_dir

from operator_chaos.knowledge.loader import load_dir, load_file, load_text
from operator_chaos.knowledge.model import WebhookType
from operator_chaos.knowledge.packs import load_playbook
from operator_chaos.load.errors import LoadError


def _corpus_knowledge_files() -> list[Path]:
    root = compat_dir()
    files = sorted(root.glob("knowledge/**/*.yaml"))
    files += sorted(root.glob("profiles/*/knowledge/**/*.yaml"))
    return files


CORPUS = _corpus_knowledge_files()
needs_corpus = pytest.mark.skipif(
    not CORPUS, reason=f"compat corpus not found at {compat_dir()} (OPERATOR_CHAOS_COMPAT_DIR)"
)


def _is_playbook(path: Path) -> bool:
    return "kind: UpgradePlaybook" in path.read_text(encoding="utf-8")


@needs_corpus
def test_corpus_has_every_knowledge_file() -> None:
    assert len(CORPUS) == 95
    assert sum(_is_playbook(p) for p in CORPUS) == 1


@needs_corpus
@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(compat_dir())))
def test_corpus_file_loads(path: Path) -> None:
    if _is_playbook(path):
        assert load_playbook(path).model.kind == "UpgradePlaybook"
        return
    loaded = load_file(path)
    assert loaded.model.components
    assert loaded.model.recovery.max_reconcile_cycles >= 1


@needs_corpus
def test_corpus_directories_load_as_sets() -> None:
    dirs = sorted({p.parent for p in CORPUS if not _is_playbook(p)})
    assert sum(len(load_dir(d)) for d in dirs) == 94


def test_shipped_training_operator_knowledge() -> None:
    model = load_file(REPO / "knowledge" / "training-operator.yaml").model
    assert (model.operator.name, model.operator.namespace) == ("training-operator", "opendatahub")
    (comp,) = model.components
    assert comp.name == "training-operator-controller-manager"
    assert sorted(r.kind for r in comp.managed_resources) == [
        "Deployment",
        "Lease",
        "Service",
        "ServiceAccount",
    ]
    (deployment,) = comp.resources_of_kind("Deployment")
    assert deployment.labels == {
        "control-plane": "controller-manager",
        "app.kubernetes.io/name": "training-operator",
    }
    assert deployment.expected_spec == {"replicas": 1}
    assert [(w.name, w.type) for w in comp.webhooks] == [
        ("vpytorchjob.kubeflow.org", WebhookType.VALIDATING),
        ("mpytorchjob.kubeflow.org", WebhookType.MUTATING),
    ]
    assert comp.finalizers == ["training-operator.kubeflow.org/finalizer"]
    assert comp.steady_state.checks[0].condition_type == "Available"  # type: ignore[union-attr]
    assert model.recovery.reconcile_timeout.total_seconds() == 300
    assert model.recovery.max_reconcile_cycles == 10


# --- invalid files ----------------------------------------------------------------------------

BASE = """\
operator:
  name: demo
  namespace: demo-system
components:
  - name: api
    controller: Demo
    dependencies: [store]
    managedResources:
      - apiVersion: apps/v1
        kind: Deployment
        name: api
        namespace: demo-system
      - apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        name: api-binding
      - apiVersion: demo.example.com/v1
        kind: Widget
        name: w
  - name: store
    controller: Demo
    managedResources:
      - apiVersion: apps/v1
        kind: StatefulSet
        name: store
        namespace: demo-system
recovery:
  reconcileTimeout: 300s
  maxReconcileCycles: 10
"""


def _problems(text: str) -> list[tuple[str, int, str]]:
    with pytest.raises(LoadError) as info:
        load_text(text, Path("demo.yaml"))
    return [(p.field, p.line, p.message) for p in info.value.problems]


def _line(text: str, needle: str, occurrence: int) -> int:
    hits = [n for n, line in enumerate(text.split("\n"), start=1) if needle in line]
    return hits[occurrence - 1]


def test_base_is_valid() -> None:
    model = load_text(BASE, Path("demo.yaml")).model
    assert model.component_names == ["api", "store"]


@pytest.mark.parametrize(
    ("old", "new", "field", "needle", "words"),
    [
        pytest.param(
            "  - name: store\n",
            "  - name: api\n",
            "components[1].name",
            "  - name: api#2",
            "duplicate component name 'api'",
            id="duplicate-component",
        ),
        pytest.param(
            "kind: StatefulSet",
            "kind: Statefulset",
            "components[1].managedResources[0].kind",
            "kind: Statefulset",
            "did you mean 'StatefulSet'",
            id="unknown-builtin-kind",
        ),
        pytest.param(
            "kind: ClusterRoleBinding",
            "kind: Deployment",
            "components[0].managedResources[1].kind",
            "kind: Deployment#2",
            "rbac.authorization.k8s.io/v1 does not serve kind 'Deployment'",
            id="kind-from-another-group",
        ),
        pytest.param(
            "apiVersion: apps/v1\n        kind: StatefulSet",
            "apiVersion: apps/v1beta2\n        kind: StatefulSet",
            "components[1].managedResources[0].kind",
            "kind: StatefulSet",
            "does not serve apiVersion 'apps/v1beta2'",
            id="unserved-version",
        ),
        pytest.param(
            "kind: Widget",
            "kind: widget",
            "components[0].managedResources[2].kind",
            "kind: widget",
            "must be CamelCase",
            id="kind-not-camel-case",
        ),
        pytest.param(
            "        name: api-binding\n",
            "        name: api-binding\n        namespace: demo-system\n",
            "components[0].managedResources[1].namespace",
            "namespace: demo-system#3",
            "cluster-scoped",
            id="namespace-on-cluster-scoped",
        ),
        pytest.param(
            "    managedResources:\n      - apiVersion: apps/v1\n        kind: StatefulSet",
            "    dependencies: [api]\n    managedResources:\n"
            "      - apiVersion: apps/v1\n        kind: StatefulSet",
            "components[0].dependencies[0]",
            "dependencies: [store]",
            "dependency cycle: api -> store -> api",
            id="dependency-cycle",
        ),
        pytest.param(
            "dependencies: [store]",
            "dependencies: [api]",
            "components[0].dependencies[0]",
            "dependencies: [api]",
            "dependency cycle: api -> api",
            id="self-dependency",
        ),
        pytest.param(
            "dependencies: [store]",
            "dependencies: [stor]",
            "components[0].dependencies[0]",
            "dependencies: [stor]",
            "unknown dependency 'stor'",
            id="unknown-dependency",
        ),
        pytest.param(
            "reconcileTimeout: 300s",
            "reconcileTimeout: 5 minutes",
            "recovery.reconcileTimeout",
            "reconcileTimeout",
            "invalid duration",
            id="bad-duration",
        ),
        pytest.param(
            "reconcileTimeout: 300s",
            "reconcileTimeout: 0s",
            "recovery.reconcileTimeout",
            "reconcileTimeout",
            "greater than",
            id="zero-duration",
        ),
        pytest.param(
            "    controller: Demo\n    dependencies",
            "    controller: Demo\n    owner: me\n    dependencies",
            "components[0].owner",
            "owner: me",
            "unknown field 'owner'",
            id="unknown-field",
        ),
        pytest.param(
            "  namespace: demo-system\ncomponents",
            "  namespace: demo-system\n  version: 2.10\ncomponents",
            "operator.version",
            "version: 2.10",
            "quoted string",
            id="unquoted-version",
        ),
        pytest.param(
            "maxReconcileCycles: 10",
            "maxReconcileCycles: 0",
            "recovery.maxReconcileCycles",
            "maxReconcileCycles",
            "at least 1",
            id="zero-cycles",
        ),
        pytest.param(
            "        name: w\n",
            "        name: w\n      - apiVersion: demo.example.com/v1\n        kind: Widget\n"
            "        name: w\n",
            "components[0].managedResources[3]",
            "- apiVersion: demo.example.com/v1#2",
            "duplicate managed resource demo.example.com/v1 Widget w",
            id="duplicate-resource",
        ),
    ],
)
def test_invalid_knowledge_is_located(
    old: str, new: str, field: str, needle: str, words: str
) -> None:
    assert old in BASE
    text = BASE.replace(old, new, 1)
    needle, _, nth = needle.partition("#")
    occurrence = int(nth or 1)
    problems = _problems(text)
    assert (field, _line(text, needle, occurrence)) in [(f, line) for f, line, _ in problems]
    assert any(f == field and words in message for f, _, message in problems), problems


def test_every_problem_is_reported_at_once() -> None:
    text = (
        BASE.replace("kind: StatefulSet", "kind: Statefulset")
        .replace("dependencies: [store]", "dependencies: [nope]")
        .replace("reconcileTimeout: 300s", "reconcileTimeout: 300")
    )
    fields = [field for field, _, _ in _problems(text)]
    assert fields == [
        "components[0].dependencies[0]",
        "components[1].managedResources[0].kind",
        "recovery.reconcileTimeout",
    ]


def test_error_text_is_file_line_column_path_message() -> None:
    with pytest.raises(LoadError) as info:
        load_text(BASE.replace("kind: Widget", "kind: widget"), Path("demo.yaml"))
    assert str(info.value).startswith(
        "demo.yaml:17:9: components[0].managedResources[2].kind: kind 'widget' must be CamelCase"
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "file is empty"),
        (BASE + "---\n" + BASE, "expected one YAML document, found 2"),
        ("- a\n- b\n", "must be a mapping"),
        ("apiVersion: x\nkind: UpgradePlaybook\n", "this is an UpgradePlaybook"),
    ],
)
def test_wrong_shapes_are_refused(text: str, words: str) -> None:
    with pytest.raises(LoadError, match=words):
        load_text(text, Path("demo.yaml"))


OTHER = """\
operator:
  name: other
  namespace: other-system
components:
  - name: other-manager
    controller: OLM
    dependencies: [{dep}]
    managedResources:
      - apiVersion: apps/v1
        kind: Deployment
        name: other-manager
        namespace: other-system
recovery:
  reconcileTimeout: 60s
  maxReconcileCycles: 3
"""


def test_dependencies_resolve_across_files_of_a_directory(tmp_path: Path) -> None:
    (tmp_path / "demo.yaml").write_text(BASE.replace("[store]", "[store, other-manager]"))
    (tmp_path / "other.yaml").write_text(OTHER.format(dep=""))
    assert [k.model.operator.name for k in load_dir(tmp_path)] == ["demo", "other"]
    assert load_file(tmp_path / "demo.yaml").model.components[0].dependencies[1] == "other-manager"


def test_a_dependency_may_name_another_operator(tmp_path: Path) -> None:
    (tmp_path / "demo.yaml").write_text(BASE)
    (tmp_path / "other.yaml").write_text(OTHER.format(dep="demo"))
    assert load_file(tmp_path / "other.yaml").model.components[0].dependencies == ["demo"]
    (tmp_path / "demo.yaml").write_text(BASE.replace("[store]", "[other]"))
    with pytest.raises(LoadError, match="dependency cycle: api -> other-manager -> api"):
        load_file(tmp_path / "demo.yaml")


def test_cross_file_cycle_is_reported(tmp_path: Path) -> None:
    (tmp_path / "demo.yaml").write_text(BASE.replace("[store]", "[other-manager]"))
    (tmp_path / "other.yaml").write_text(OTHER.format(dep="api"))
    with pytest.raises(LoadError) as info:
        load_dir(tmp_path)
    messages = [p.message for p in info.value.problems]
    assert "dependency cycle: api -> other-manager -> api" in messages
    assert "dependency cycle: other-manager -> api -> other-manager" in messages


def test_a_file_alone_does_not_see_other_directories(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "demo.yaml").write_text(BASE.replace("[store]", "[other-manager]"))
    (tmp_path / "b" / "other.yaml").write_text(OTHER.format(dep="api"))
    with pytest.raises(LoadError, match="unknown dependency 'other-manager'"):
        load_file(tmp_path / "a" / "demo.yaml")


def test_missing_or_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="directory not found"):
        load_dir(tmp_path / "nope")
    with pytest.raises(LoadError, match="no knowledge files"):
        load_dir(tmp_path)
