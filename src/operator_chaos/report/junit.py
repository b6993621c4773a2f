"""JUnit XML, so CI systems (GitLab, Jenkins, GitHub test reporters) show one test per run.

Mapping of outcomes to JUnit elements:

* Resilient: a passing ``<testcase>``.
* Degraded / Failed: ``<failure type="<Verdict>">``, the operator did not cope as hypothesised.
* Inconclusive: ``<error type="Inconclusive">``. JUnit's ``error`` means "the test could not
  reach a pass/fail decision"; ``skipped`` would let CI dashboards show an unverified run as
  green, hiding e.g. a cluster that was unhealthy before the fault.
* No verdict (the run aborted or never finished): ``<error type="NoVerdict">`` for the same
  reason.
* Dry run: ``<skipped message="dry run">``, nothing was injected, so nothing was tested.
* Skipped (e.g. above ``--max-tier``): ``<skipped message="...">`` with the reason.
* Refused (safety gate, lock, type not runnable yet): ``<error type="Refused">``: nothing was
  tested, and the experiment as written cannot be, which CI must not show as green.

One ``<testsuite>`` per operator (in order of first appearance) so CI groups runs by operator;
an empty suite still yields one empty ``<testsuite name="operator-chaos">`` because some CI
parsers reject a ``<testsuites>`` without children. Text goes through ElementTree, which
escapes markup; characters XML cannot represent at all are replaced first (``_common.clean``).
"""

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from operator_chaos.api.v1alpha1.result import ExperimentResult, SuiteResult
from operator_chaos.api.v1alpha1.status import Verdict
from operator_chaos.report._common import (
    DRY_RUN,
    NO_VERDICT,
    REFUSED,
    SKIPPED,
    clean,
    elapsed_ms,
    event_line,
    format_time,
    outcome,
)

SUITE_NAME = "operator-chaos"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def render(suite: SuiteResult) -> str:
    """The whole suite as a JUnit XML document (UTF-8 declaration, indented, newline-ended)."""
    root = ET.Element("testsuites", name=SUITE_NAME)
    groups = _by_operator(suite.results) or {SUITE_NAME: []}
    for operator, results in groups.items():
        root.append(_testsuite(suite, operator, results))
    _set_counts(root, suite.results, _suite_seconds(suite))
    ET.indent(root)
    return XML_DECLARATION + ET.tostring(root, encoding="unicode") + "\n"


def _by_operator(results: Sequence[ExperimentResult]) -> dict[str, list[ExperimentResult]]:
    groups: dict[str, list[ExperimentResult]] = {}
    for result in results:
        groups.setdefault(result.operator, []).append(result)
    return groups


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.3f}"


def _suite_seconds(suite: SuiteResult) -> str:
    """Wall-clock time of the suite when known, else the sum of the runs."""
    wall = elapsed_ms(suite.started_at, suite.ended_at)
    return _seconds(wall if wall is not None else sum(r.duration_ms for r in suite.results))


def _set_counts(element: ET.Element, results: Sequence[ExperimentResult], seconds: str) -> None:
    labels = [outcome(result) for result in results]
    failures = sum(label in (Verdict.DEGRADED, Verdict.FAILED) for label in labels)
    errors = sum(label in (Verdict.INCONCLUSIVE, NO_VERDICT, REFUSED) for label in labels)
    element.set("tests", str(len(results)))
    element.set("failures", str(failures))
    element.set("errors", str(errors))
    element.set("skipped", str(labels.count(DRY_RUN) + labels.count(SKIPPED)))
    element.set("time", seconds)


def _testsuite(suite: SuiteResult, operator: str, results: list[ExperimentResult]) -> ET.Element:
    element = ET.Element("testsuite", name=clean(operator))
    duration = sum(result.duration_ms for result in results)
    _set_counts(element, results, _seconds(duration))
    starts = [result.started_at for result in results]
    element.set("timestamp", format_time(min(starts) if starts else suite.started_at))
    properties = ET.SubElement(element, "properties")
    _property(properties, "schemaVersion", suite.schema_version)
    if suite.cluster:
        _property(properties, "cluster", suite.cluster)
    for result in results:
        element.append(_testcase(result))
    return element


def _property(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, "property", name=name, value=clean(value))


def _testcase(result: ExperimentResult) -> ET.Element:
    case = ET.Element(
        "testcase",
        classname=clean(f"{result.operator}.{result.component}"),
        name=clean(result.experiment),
        time=_seconds(result.duration_ms),
    )
    if result.file:
        case.set("file", clean(result.file))
    label = outcome(result)
    if label == DRY_RUN:
        ET.SubElement(case, "skipped", message="dry run")
    elif label == SKIPPED:
        ET.SubElement(case, "skipped", message=clean(result.message or "skipped"))
    elif label in (Verdict.DEGRADED, Verdict.FAILED):
        _problem(case, "failure", result, label)
    elif label in (Verdict.INCONCLUSIVE, NO_VERDICT, REFUSED):
        _problem(case, "error", result, label)
    log = _system_out(result)
    if log:
        ET.SubElement(case, "system-out").text = clean(log)
    return case


def _problem(case: ET.Element, tag: str, result: ExperimentResult, label: str) -> None:
    """Add ``<failure>``/``<error>``: one-line message attribute, full explanation as text."""
    if label == NO_VERDICT:
        message, kind = f"No verdict (phase {result.phase})", "NoVerdict"
    elif label == REFUSED:
        message, kind = "Refused", "Refused"
    else:
        message, kind = f"Verdict: {label}", label
    if result.message:
        message += f" — {result.message}"
    element = ET.SubElement(case, tag, message=clean(" ".join(message.split())), type=kind)
    element.text = clean("\n".join(_explanation(result)))


def _explanation(result: ExperimentResult) -> list[str]:
    lines = [f"Phase: {result.phase}"]
    if result.message:
        lines.append(f"Message: {result.message}")
    if result.hypothesis:
        lines.append(f"Hypothesis: {result.hypothesis}")
    if result.recovery is not None:
        recovery = result.recovery
        state = "recovered" if recovery.recovered else "did not recover"
        if recovery.recovery_time_ms is not None:
            state += f" in {recovery.recovery_time_ms} ms"
        lines.append(
            f"Recovery: {state} (timeout {recovery.timeout_ms} ms,"
            f" {recovery.reconcile_cycles} reconcile cycles)"
        )
    if result.revert is not None and result.revert.error:
        lines.append(f"Revert error: {result.revert.error}")
    for title, items in (("Deviations", result.deviations), ("Collateral", result.collateral)):
        if items:
            lines.append(f"{title}:")
            lines.extend(f"  - {item}" for item in items)
    failed = [
        f"  - {check.check}: {check.error or check.value or 'failed'}"
        for round_ in (result.steady_state_pre, result.steady_state_post)
        if round_ is not None
        for check in round_.checks
        if not check.passed
    ]
    if failed:
        lines.append("Failed checks:")
        lines.extend(failed)
    return lines


def _system_out(result: ExperimentResult) -> str:
    """The run id and outcome, then the event log one line per event (shown by CI on click)."""
    lines = [f"run {result.run_id}: {outcome(result)}"]
    lines.extend(event_line(event) for event in result.events)
    return "\n".join(lines)
