"""The operator overview page: what the knowledge file says, and which faults have been tried.

Sections: a summary, components, managed resources grouped by kind, webhooks, finalizers,
dependencies, steady state, recovery expectations and, when experiments are given, a coverage
matrix (one row per component, one column per injection type the catalog has, cells counting
experiments). Listing every injection type, not only the ones used, is the point of the
matrix: the gaps are what a reader is looking for.
"""

import json
from collections import Counter
from collections.abc import Sequence

from operator_chaos.api.v1alpha1 import (
    ConditionTrueCheck,
    FieldEqualsCheck,
    InjectionType,
    ReplicaCountCheck,
    SteadyStateCheck,
    format_duration,
)
from operator_chaos.docgen import markdown as md
from operator_chaos.docgen.sources import ExperimentEntry
from operator_chaos.knowledge.model import Component, ManagedResource, OperatorKnowledge

NOT_IN_KNOWLEDGE = " (not in knowledge)"


def render(knowledge: OperatorKnowledge, entries: Sequence[ExperimentEntry] | None = None) -> str:
    """The overview page; the coverage matrix appears only when ``entries`` is given."""
    blocks: list[list[str]] = [[f"# {md.inline(knowledge.operator.name)}"], _summary(knowledge)]
    blocks += _components(knowledge)
    blocks += _resources(knowledge)
    blocks += _webhooks(knowledge)
    blocks += _finalizers(knowledge)
    blocks += _dependencies(knowledge)
    blocks += _steady_state(knowledge)
    blocks += _recovery(knowledge)
    if entries is not None:
        blocks += coverage_matrix(knowledge, entries)
    return md.page(blocks)


def _summary(knowledge: OperatorKnowledge) -> list[str]:
    meta = knowledge.operator
    lines = [f"- **Namespace:** {md.code(meta.namespace)}"]
    if meta.repository:
        lines.append(f"- **Repository:** [{md.inline(meta.repository)}]({meta.repository})")
    for label, value in (
        ("Version", meta.version),
        ("Platform", meta.platform),
        ("OLM channel", meta.olm_channel),
    ):
        if value:
            lines.append(f"- **{label}:** {md.inline(value)}")
    lines.append(f"- **Components:** {len(knowledge.components)}")
    return lines


def _components(knowledge: OperatorKnowledge) -> list[list[str]]:
    rows = [
        [
            md.cell(c.name),
            md.cell(c.controller),
            str(len(c.managed_resources)),
            str(len(c.webhooks)),
            str(len(c.finalizers)),
            md.cell(", ".join(c.dependencies)),
        ]
        for c in _sorted(knowledge.components)
    ]
    header = ("Component", "Controller", "Resources", "Webhooks", "Finalizers", "Depends On")
    return [["## Components"], md.table(header, rows)]


def _sorted(components: Sequence[Component]) -> list[Component]:
    return sorted(components, key=lambda c: c.name)


def _resources(knowledge: OperatorKnowledge) -> list[list[str]]:
    by_kind: dict[str, list[tuple[ManagedResource, str]]] = {}
    for comp in knowledge.components:
        for res in comp.managed_resources:
            by_kind.setdefault(res.kind, []).append((res, comp.name))
    blocks = [["## Managed Resources"]]
    header = ("Name", "Namespace", "API Version", "Component", "Labels", "Expected Spec")
    for kind in sorted(by_kind):
        items = sorted(by_kind[kind], key=lambda rc: (rc[0].namespace or "", rc[0].name, rc[1]))
        rows = [
            [
                md.code_cell(res.name),
                md.code_cell(res.namespace or ""),
                md.cell(res.api_version),
                md.cell(component),
                ", ".join(md.code_cell(f"{k}={v}") for k, v in sorted(res.labels.items()))
                or md.DASH,
                ", ".join(
                    md.code_cell(f"{k}: {json.dumps(v, sort_keys=True)}")
                    for k, v in sorted(res.expected_spec.items())
                )
                or md.DASH,
            ]
            for res, component in items
        ]
        blocks += [[f"### {md.inline(kind)}"], md.table(header, rows)]
    return blocks


def _webhooks(knowledge: OperatorKnowledge) -> list[list[str]]:
    rows = sorted(
        [md.code_cell(w.name), md.cell(w.type.value), md.code_cell(w.path), md.cell(c.name)]
        for c in knowledge.components
        for w in c.webhooks
    )
    body = md.table(("Name", "Type", "Path", "Component"), rows) if rows else ["No webhooks."]
    return [["## Webhooks"], body]


def _finalizers(knowledge: OperatorKnowledge) -> list[list[str]]:
    rows = sorted(
        [md.code_cell(f), md.cell(c.name)] for c in knowledge.components for f in c.finalizers
    )
    body = md.table(("Finalizer", "Component"), rows) if rows else ["No finalizers."]
    return [["## Finalizers"], body]


def _dependencies(knowledge: OperatorKnowledge) -> list[list[str]]:
    local = set(knowledge.component_names)
    rows = [
        [
            md.cell(c.name),
            ", ".join(
                md.inline(d) + ("" if d in local else " (other operator)")
                for d in sorted(c.dependencies)
            ),
        ]
        for c in _sorted(knowledge.components)
        if c.dependencies
    ]
    if not rows:
        return [["## Dependencies"], ["No component depends on another."]]
    return [["## Dependencies"], md.table(("Component", "Depends On"), rows)]


def _expectation(check: SteadyStateCheck) -> str:
    if isinstance(check, ConditionTrueCheck):
        return f"condition {md.code(check.condition_type)} is True"
    if isinstance(check, FieldEqualsCheck):
        return f"{md.code(check.field_path)} = {md.code(json.dumps(check.expected_value))}"
    if isinstance(check, ReplicaCountCheck):
        want = check.expected_replicas
        return f"{want} ready replicas" if want is not None else "ready replicas = spec.replicas"
    return "exists"


def _steady_state(knowledge: OperatorKnowledge) -> list[list[str]]:
    rows = [
        [
            md.cell(c.name),
            md.cell(check.type.value),
            md.cell(f"{check.kind} {check.api_version}"),
            md.code_cell(f"{check.namespace}/{check.name}" if check.namespace else check.name),
            _expectation(check).replace("|", "\\|"),
            format_duration(c.steady_state.timeout),
        ]
        for c in _sorted(knowledge.components)
        for check in c.steady_state.checks
    ]
    header = ("Component", "Check", "Kind", "Object", "Expectation", "Timeout")
    body = md.table(header, rows) if rows else ["No steady-state checks."]
    return [["## Steady State"], body]


def _recovery(knowledge: OperatorKnowledge) -> list[list[str]]:
    rec = knowledge.recovery
    return [
        ["## Recovery Expectations"],
        [
            f"- **Reconcile timeout:** {format_duration(rec.reconcile_timeout)}",
            f"- **Max reconcile cycles:** {rec.max_reconcile_cycles}",
        ],
    ]


def coverage_counts(
    knowledge: OperatorKnowledge, entries: Sequence[ExperimentEntry]
) -> dict[str, Counter[str]]:
    """component -> injection type -> number of experiments (components the knowledge lacks are
    suffixed with :data:`NOT_IN_KNOWLEDGE`)."""
    known = set(knowledge.component_names)
    counts: dict[str, Counter[str]] = {name: Counter() for name in known}
    for entry in entries:
        row = entry.component if entry.component in known else entry.component + NOT_IN_KNOWLEDGE
        counts.setdefault(row, Counter())[entry.injection_type] += 1
    return counts


def coverage_matrix(
    knowledge: OperatorKnowledge, entries: Sequence[ExperimentEntry]
) -> list[list[str]]:
    """``## Coverage Matrix``: components x every injection type, plus totals."""
    types = sorted(t.value for t in InjectionType)
    counts = coverage_counts(knowledge, entries)
    rows = []
    for component in sorted(counts):
        cells = [str(counts[component][t]) if counts[component][t] else md.DASH for t in types]
        rows.append([md.cell(component), *cells, str(sum(counts[component].values()))])
    per_type = Counter(entry.injection_type for entry in entries)
    totals = [str(per_type[t]) if per_type[t] else md.DASH for t in types]
    rows.append(["**Total**", *totals, str(len(entries))])
    covered = sum(1 for t in types if per_type[t])
    summary = f"{len(entries)} experiments cover {covered} of {len(types)} injection types."
    return [["## Coverage Matrix"], [summary], md.table(("Component", *types, "Total"), rows)]
