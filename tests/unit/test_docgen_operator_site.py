"""The operator overview page, the index over operators and the whole site tree."""

from pathlib import Path

import pytest
import yaml
from docs_pages import REPO, split_row

from operator_chaos.api.v1alpha1 import InjectionType
from operator_chaos.docgen import operator_page, site
from operator_chaos.docgen.sources import collect, danger_mix
from operator_chaos.knowledge.loader import load_file
from operator_chaos.load.errors import LoadError

KNOWLEDGE = REPO / "knowledge" / "training-operator.yaml"
EXPERIMENTS = REPO / "experiments" / "training-operator"
COMPONENT = "training-operator-controller-manager"


def _experiments(tmp_path: Path) -> Path:
    """2 PodKill + 1 RBACRevoke on the known component, 1 PodKill on an unknown one."""
    out = tmp_path / "exp"
    (out / "nested").mkdir(parents=True)
    pod_kill = (EXPERIMENTS / "pod-kill.yaml").read_text()
    (out / "pod-kill.yaml").write_text(pod_kill)
    (out / "nested" / "pod-kill.yaml").write_text(pod_kill.replace("-pod-kill", "-pod-kill-2"))
    (out / "rbac.yaml").write_text((EXPERIMENTS / "rbac-revoke.yaml").read_text())
    (out / "ghost.yaml").write_text(
        pod_kill.replace("-pod-kill", "-ghost").replace(
            f"component: {COMPONENT}", "component: ghost"
        )
    )
    return out


def _section(markdown: str, heading: str) -> list[str]:
    lines = markdown.split("\n")
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return [line for line in lines[start:end] if line]


def _table(lines: list[str]) -> dict[str, dict[str, str]]:
    """Rows keyed by first cell, as rendered text (inline-code backticks dropped)."""
    rows = [
        tuple(cell.replace("`", "") for cell in split_row(line))
        for line in lines
        if line.startswith("| ")
    ]
    header, body = rows[0], rows[2:]
    return {row[0]: dict(zip(header, row, strict=True)) for row in body}


def test_coverage_matrix_counts(tmp_path: Path) -> None:
    model = load_file(KNOWLEDGE).model
    markdown = operator_page.render(model, collect(_experiments(tmp_path)))
    section = _section(markdown, "## Coverage Matrix")
    assert section[0] == "4 experiments cover 2 of 20 injection types."
    matrix = _table(section)
    assert list(next(iter(matrix.values())))[1:-1] == sorted(t.value for t in InjectionType)
    row = matrix[COMPONENT]
    assert (row["PodKill"], row["RBACRevoke"], row["Total"]) == ("2", "1", "3")
    assert row["ConfigDrift"] == "—"
    ghost = matrix["ghost (not in knowledge)"]
    assert (ghost["PodKill"], ghost["Total"]) == ("1", "1")
    total = matrix["**Total**"]
    assert (total["PodKill"], total["RBACRevoke"], total["Total"]) == ("3", "1", "4")


def test_overview_sections_describe_the_knowledge() -> None:
    markdown = operator_page.render(load_file(KNOWLEDGE).model)
    assert markdown.startswith("# training-operator\n")
    assert "## Coverage Matrix" not in markdown
    resources = _section(markdown, "## Managed Resources")
    kinds = [line for line in resources if line.startswith("### ")]
    assert kinds == [
        "### ClusterRoleBinding",
        "### Deployment",
        "### Lease",
        "### Service",
        "### ServiceAccount",
    ]
    deployment = next(
        line
        for line in resources
        if "`training-operator-controller-manager`" in line and "apps/v1" in line
    )
    assert "`app.kubernetes.io/name=training-operator`, `control-plane=controller-manager`" in (
        deployment
    )
    assert "`replicas: 1`" in deployment
    webhooks = _table(_section(markdown, "## Webhooks"))
    assert webhooks["mpytorchjob.kubeflow.org"]["Type"] == "mutating"
    assert webhooks["vpytorchjob.kubeflow.org"]["Path"] == "/validate-kubeflow-org-v1-pytorchjob"
    finalizers = _table(_section(markdown, "## Finalizers"))
    assert list(finalizers) == ["training-operator.kubeflow.org/finalizer"]
    assert _section(markdown, "## Dependencies") == ["No component depends on another."]
    assert _section(markdown, "## Recovery Expectations") == [
        "- **Reconcile timeout:** 5m0s",
        "- **Max reconcile cycles:** 10",
    ]
    steady = _table(_section(markdown, "## Steady State"))
    assert steady[COMPONENT]["Expectation"] == "condition Available is True"
    assert steady[COMPONENT]["Timeout"] == "1m0s"
    assert markdown.endswith("\n")
    assert not markdown.endswith("\n\n")


def test_dependencies_on_other_operators_are_marked(tmp_path: Path) -> None:
    text = KNOWLEDGE.read_text().replace(
        "    controller: DataScienceCluster\n",
        "    controller: DataScienceCluster\n    dependencies: [other]\n",
    )
    (tmp_path / "training-operator.yaml").write_text(text)
    (tmp_path / "other.yaml").write_text(
        KNOWLEDGE.read_text()
        .replace("name: training-operator\n", "name: other\n", 1)
        .replace("  - name: training-operator-controller-manager", "  - name: other-manager")
    )
    markdown = operator_page.render(load_file(tmp_path / "training-operator.yaml").model)
    deps = _table(_section(markdown, "## Dependencies"))
    assert deps[COMPONENT]["Depends On"] == "other (other operator)"


def _two_operators(tmp_path: Path) -> tuple[Path, Path]:
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "training-operator.yaml").write_text(KNOWLEDGE.read_text())
    (knowledge / "quiet.yaml").write_text(
        KNOWLEDGE.read_text().replace("name: training-operator\n", "name: quiet\n", 1)
    )
    root = tmp_path / "experiments"
    (root / "training-operator").mkdir(parents=True)
    for path in EXPERIMENTS.iterdir():
        (root / "training-operator" / path.name).write_text(path.read_text())
    return root, knowledge


def test_index_has_one_row_per_operator(tmp_path: Path) -> None:
    root, knowledge = _two_operators(tmp_path)
    markdown = site.render_index(site.gather(root, knowledge))
    assert markdown.split("\n")[2] == "2 operators, 5 experiments."
    rows = _table([line for line in markdown.split("\n") if line.startswith("| ")])
    assert list(rows) == ["quiet", "training-operator"]
    busy = rows["training-operator"]
    assert busy["Experiments"] == "5"
    assert busy["Injection Types"] == (
        "FinalizerBlock, NetworkPartition, PodKill, RBACRevoke, WebhookDisrupt"
    )
    assert busy["Danger Mix"] == "2 low, 1 medium, 2 high"
    assert busy["Pages"] == (
        "[Overview](training-operator/index.md) · "
        "[Failure Modes](training-operator/failure-modes.md)"
    )
    quiet = rows["quiet"]
    assert (quiet["Experiments"], quiet["Injection Types"], quiet["Danger Mix"]) == ("0", "—", "—")


def test_site_tree_and_nav(tmp_path: Path) -> None:
    root, knowledge = _two_operators(tmp_path)
    files = site.render_site(site.gather(root, knowledge), "operators")
    assert list(files) == [
        "index.md",
        "mkdocs-nav.yml",
        "quiet/failure-modes.md",
        "quiet/index.md",
        "training-operator/failure-modes.md",
        "training-operator/index.md",
    ]
    nav = yaml.safe_load(files["mkdocs-nav.yml"])
    assert nav == [
        {
            "Operators": [
                {"Overview": "operators/index.md"},
                {
                    "quiet": [
                        {"Overview": "operators/quiet/index.md"},
                        {"Failure Modes": "operators/quiet/failure-modes.md"},
                    ]
                },
                {
                    "training-operator": [
                        {"Overview": "operators/training-operator/index.md"},
                        {"Failure Modes": "operators/training-operator/failure-modes.md"},
                    ]
                },
            ]
        }
    ]
    assert "No experiments yet." in files["quiet/failure-modes.md"]
    assert all(text.endswith("\n") and not text.endswith("\n\n") for text in files.values())


def test_index_reports_every_broken_experiment(tmp_path: Path) -> None:
    root, knowledge = _two_operators(tmp_path)
    (root / "training-operator" / "pod-kill.yaml").write_text("kind: ChaosExperiment\n")
    with pytest.raises(LoadError, match=r"pod-kill\.yaml"):
        site.gather(root, knowledge)


def test_danger_mix_leaves_out_absent_levels() -> None:
    entries = [e for e in collect(EXPERIMENTS) if e.danger.value != "medium"]
    assert danger_mix(entries) == "2 low, 2 high"
    assert danger_mix([]) == ""
