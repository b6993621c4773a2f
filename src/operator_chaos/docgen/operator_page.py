"""The operator overview page: what the knowledge file says, and which faults have been tried.

Sections: a summary, components, managed resources, webhooks, finalizers, dependencies, steady
state, recovery expectations and, when experiments are given, a coverage matrix (one row per
injection type the catalog has, one column per component, cells counting experiments). Listing
every injection type, not only the ones used, is the point of the matrix: the gaps are what a
reader is looking for.

Layout rules, because MkDocs Material squeezes wide tables until inline code breaks inside a
word: each section is one table with a row per item; table cells hold plain text (it wraps only
at spaces and hyphens), never inline code; and a column that would repeat the same value in
every row (the component, when the operator has only one) is left out and named once above.
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


def _single(knowledge: OperatorKnowledge) -> str | None:
    """The only component's name, when there is just one (its column would repeat it)."""
    names = knowledge.component_names
    return names[0] if len(names) == 1 else None


def _owned_by(knowledge: OperatorKnowledge, what: str) -> list[str]:
    """The line naming the single component, placed where its column was left out."""
    only = _single(knowledge)
    return [f"All {what} belong to component {md.inline(only)}."] if only else []


def _expected_state(res: ManagedResource) -> str:
    labels = ", ".join(f"{k}={v}" for k, v in sorted(res.labels.items()))
    spec = ", ".join(
        f"{k}: {json.dumps(v, sort_keys=True)}" for k, v in sorted(res.expected_spec.items())
    )
    parts = [f"labels {labels}" if labels else "", f"spec {spec}" if spec else ""]
    return md.cell("; ".join(part for part in parts if part))


def _resources(knowledge: OperatorKnowledge) -> list[list[str]]:
    single = _single(knowledge) is not None
    items = sorted(
        ((res, comp.name) for comp in knowledge.components for res in comp.managed_resources),
        key=lambda rc: (rc[0].kind, rc[0].namespace or "", rc[0].name, rc[1]),
    )
    if not items:
        return [["## Managed Resources"], ["No managed resources."]]
    header = ["Kind", "Name", "Namespace", "Component", "Expected State"]
    rows = [
        [
            md.cell(f"{res.kind} ({res.api_version})"),
            md.cell(res.name),
            md.cell(res.namespace or ""),
            md.cell(component),
            _expected_state(res),
        ]
        for res, component in items
    ]
    return [
        ["## Managed Resources"],
        _owned_by(knowledge, "resources"),
        _drop_component(header, rows, single),
    ]


def _drop_component(header: list[str], rows: list[list[str]], single: bool) -> list[str]:
    """The table, without its Component column when there is only one component."""
    if not single:
        return md.table(header, rows)
    index = header.index("Component")
    keep = [i for i in range(len(header)) if i != index]
    return md.table([header[i] for i in keep], [[row[i] for i in keep] for row in rows])


def _webhooks(knowledge: OperatorKnowledge) -> list[list[str]]:
    rows = sorted(
        [md.cell(w.name), md.cell(w.type.value), md.cell(w.path), md.cell(c.name)]
        for c in knowledge.components
        for w in c.webhooks
    )
    if not rows:
        return [["## Webhooks"], ["No webhooks."]]
    header = ["Name", "Type", "Path", "Component"]
    single = _single(knowledge) is not None
    return [
        ["## Webhooks"],
        _owned_by(knowledge, "webhooks"),
        _drop_component(header, rows, single),
    ]


def _finalizers(knowledge: OperatorKnowledge) -> list[list[str]]:
    rows = sorted([md.cell(f), md.cell(c.name)] for c in knowledge.components for f in c.finalizers)
    if not rows:
        return [["## Finalizers"], ["No finalizers."]]
    single = _single(knowledge) is not None
    return [
        ["## Finalizers"],
        _owned_by(knowledge, "finalizers"),
        _drop_component(["Finalizer", "Component"], rows, single),
    ]


def _dependencies(knowledge: OperatorKnowledge) -> list[list[str]]:
    local = set(knowledge.component_names)
    rows = [
        [
            md.cell(c.name),
            md.cell(
                ", ".join(
                    d + ("" if d in local else " (other operator)") for d in sorted(c.dependencies)
                )
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
        return f"condition {check.condition_type} is True"
    if isinstance(check, FieldEqualsCheck):
        return f"{check.field_path} = {json.dumps(check.expected_value)}"
    if isinstance(check, ReplicaCountCheck):
        want = check.expected_replicas
        return f"{want} ready replicas" if want is not None else "ready replicas = spec.replicas"
    return "exists"


def _steady_state(knowledge: OperatorKnowledge) -> list[list[str]]:
    rows = [
        [
            md.cell(c.name),
            md.cell(check.type.value),
            md.cell(
                f"{check.kind} {check.namespace}/{check.name}"
                if check.namespace
                else f"{check.kind} {check.name}"
            ),
            md.cell(_expectation(check)),
            format_duration(c.steady_state.timeout),
        ]
        for c in _sorted(knowledge.components)
        for check in c.steady_state.checks
    ]
    if not rows:
        return [["## Steady State"], ["No steady-state checks."]]
    header = ["Component", "Check", "Object", "Expectation", "Timeout"]
    single = _single(knowledge) is not None
    return [
        ["## Steady State"],
        _owned_by(knowledge, "checks"),
        _drop_component(header, rows, single),
    ]


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
    """``## Coverage Matrix``: one row per injection type with its recovery model (who must undo
    the fault: the operator repairs, or the tool lifts a condition), one column per component
    (plus a Total column when there are several), and a Total row."""
    from operator_chaos.injection.registry import spec_for

    types = sorted(t.value for t in InjectionType)
    counts = coverage_counts(knowledge, entries)
    components = sorted(counts)
    per_type = Counter(entry.injection_type for entry in entries)
    with_total = len(components) > 1

    def count(n: int) -> str:
        return str(n) if n else md.DASH

    rows = []
    for t in types:
        cells = [count(counts[c][t]) for c in components]
        model = spec_for(t).recovery_model.value
        rows.append([md.cell(t), model, *cells, *([count(per_type[t])] if with_total else [])])
    totals = [str(sum(counts[c].values())) for c in components]
    rows.append(["**Total**", "", *totals, *([str(len(entries))] if with_total else [])])
    covered = sum(1 for t in types if per_type[t])
    summary = (
        f"{md.plural(len(entries), 'experiment')} {'covers' if len(entries) == 1 else 'cover'}"
        f" {covered} of {len(types)} injection types."
    )
    header = ["Injection Type", "Recovery", *(md.cell(c) for c in components)]
    if with_total:
        header.append("Total")
    return [["## Coverage Matrix"], [summary], md.table(header, rows)]
