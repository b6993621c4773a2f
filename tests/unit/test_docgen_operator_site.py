"""The operator overview page, the index over operators and the whole site tree."""

import re
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


def test_coverage_matrix_has_a_row_per_type_and_a_column_per_component(tmp_path: Path) -> None:
    model = load_file(KNOWLEDGE).model
    markdown = operator_page.render(model, collect(_experiments(tmp_path)))
    section = _section(markdown, "## Coverage Matrix")
    assert section[0] == "4 experiments cover 2 of 20 injection types."
    matrix = _table(section)
    assert list(matrix) == [*sorted(t.value for t in InjectionType), "**Total**"]
    ghost = "ghost (not in knowledge)"
    assert list(matrix["PodKill"]) == ["Injection Type", "Recovery", ghost, COMPONENT, "Total"]
    assert (matrix["PodKill"]["Recovery"], matrix["RBACRevoke"]["Recovery"]) == (
        "repair",
        "condition",
    )
    assert (matrix["PodKill"][COMPONENT], matrix["PodKill"][ghost]) == ("2", "1")
    assert (matrix["PodKill"]["Total"], matrix["RBACRevoke"]["Total"]) == ("3", "1")
    assert matrix["ConfigDrift"][COMPONENT] == "—"
    total = matrix["**Total**"]
    assert (total[COMPONENT], total[ghost], total["Total"]) == ("3", "1", "4")


def test_coverage_matrix_of_one_component_has_no_total_column(tmp_path: Path) -> None:
    one = tmp_path / "one"
    one.mkdir()
    (one / "pod-kill.yaml").write_text((EXPERIMENTS / "pod-kill.yaml").read_text())
    markdown = operator_page.render(load_file(KNOWLEDGE).model, collect(one))
    section = _section(markdown, "## Coverage Matrix")
    assert section[0] == "1 experiment covers 1 of 20 injection types."
    matrix = _table(section)
    assert list(matrix["PodKill"]) == ["Injection Type", "Recovery", COMPONENT]
    assert (matrix["PodKill"][COMPONENT], matrix["**Total**"][COMPONENT]) == ("1", "1")


def _tables(markdown: str) -> dict[str, list[list[str]]]:
    """Section heading -> the pipe tables in it, each as its lines."""
    tables: dict[str, list[list[str]]] = {}
    heading = previous = ""
    for line in markdown.split("\n"):
        if line.startswith("## "):
            heading = line
        if line.startswith("|") and not previous.startswith("|"):
            tables.setdefault(heading, []).append([])
        if line.startswith("|"):
            tables[heading][-1].append(line)
        previous = line
    return tables


def _min_width(table: list[str]) -> int:
    """Characters the table needs when cells wrap only at spaces and after hyphens."""
    rows = [split_row(line) for i, line in enumerate(table) if i != 1]
    return sum(
        max(len(part) for row in rows for part in re.split(r"\s+|(?<=-)", row[column]))
        for column in range(len(rows[0]))
    )


SECOND_COMPONENT = """\
  - name: second
    controller: Other
    managedResources:
      - {apiVersion: v1, kind: ConfigMap, name: extra, namespace: opendatahub}
"""


@pytest.mark.parametrize("components", [1, 2])
def test_each_section_is_one_table_that_never_breaks_a_word(
    components: int, tmp_path: Path
) -> None:
    text = KNOWLEDGE.read_text()
    if components == 2:
        first = f"  - name: {COMPONENT}\n"
        text = text.replace(first, SECOND_COMPONENT + first, 1)
    (tmp_path / "k.yaml").write_text(text)
    markdown = operator_page.render(load_file(tmp_path / "k.yaml").model, collect(EXPERIMENTS))
    tables = _tables(markdown)
    assert {heading: len(found) for heading, found in tables.items()} == dict.fromkeys(tables, 1)
    resources = tables["## Managed Resources"][0]
    model = load_file(KNOWLEDGE).model
    managed = sum(len(c.managed_resources) for c in model.components)
    assert len(resources) == 2 + managed + (components - 1)
    for heading, (table,) in tables.items():
        # Material lets inline code break anywhere: cells are plain text, which wraps at
        # spaces and hyphens only, and the whole table fits a page at that width.
        assert not any("`" in line for line in table), heading
        assert _min_width(table) <= 100, (heading, _min_width(table))
    assert ("Component" in split_row(resources[0])) is (components == 2)
    assert (f"All resources belong to component {COMPONENT}." in markdown) is (components == 1)


def test_overview_sections_describe_the_knowledge() -> None:
    markdown = operator_page.render(load_file(KNOWLEDGE).model)
    assert markdown.startswith("# training-operator\n")
    assert "## Coverage Matrix" not in markdown
    resources = _table(_section(markdown, "## Managed Resources"))
    model = load_file(KNOWLEDGE).model
    assert list(resources) == sorted(
        f"{r.kind} ({r.api_version})" for c in model.components for r in c.managed_resources
    )
    deployment = resources["Deployment (apps/v1)"]
    assert deployment["Name"] == COMPONENT
    assert deployment["Expected State"] == (
        "labels app.kubernetes.io/name=training-operator, control-plane=controller-manager;"
        " spec replicas: 1"
    )
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
    steady = _table(_section(markdown, "## Steady State"))["conditionTrue"]
    assert steady["Object"] == f"Deployment opendatahub/{COMPONENT}"
    assert steady["Expectation"] == "condition Available is True"
    assert steady["Timeout"] == "1m0s"
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
    for name in SEEDS:  # the seed page's five: the figures below are about them
        (root / "training-operator" / name).write_text((EXPERIMENTS / name).read_text())
    return root, knowledge


SEEDS = (
    "finalizer-block.yaml",
    "network-partition.yaml",
    "pod-kill.yaml",
    "rbac-revoke.yaml",
    "webhook-disrupt.yaml",
)


def test_index_has_one_row_per_operator(tmp_path: Path) -> None:
    root, knowledge = _two_operators(tmp_path)
    markdown = site.render_index(site.gather(root, knowledge))
    assert markdown.split("\n")[2] == "2 operators, 5 experiments."
    one = site.render_index([o for o in site.gather(root, knowledge) if o.slug == "quiet"])
    assert one.split("\n")[2] == "1 operator, 0 experiments."
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
    seeds = [e for e in collect(EXPERIMENTS) if e.file in SEEDS]
    entries = [e for e in seeds if e.danger.value != "medium"]
    assert danger_mix(entries) == "2 low, 2 high"
    assert danger_mix([]) == ""


def test_docs_refuse_an_experiment_whose_hypothesis_is_a_placeholder(tmp_path: Path) -> None:
    root, knowledge = _two_operators(tmp_path)
    path = root / "training-operator" / "pod-kill.yaml"
    path.write_text(path.read_text().replace("      When the", "      TODO: When the", 1))
    with pytest.raises(
        LoadError,
        match=r"pod-kill\.yaml:\d+:\d+: spec\.hypothesis\.description: is still a placeholder",
    ):
        site.gather(root, knowledge)
