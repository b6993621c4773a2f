"""JUnit XML: parseable, counts that CI trusts, and each outcome on the right element."""

import xml.etree.ElementTree as ET

import pytest

from operator_chaos.api.v1alpha1 import Verdict
from operator_chaos.report.junit import render
from report.factory import NASTY, make_result, make_suite, mixed_suite


def _parse(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode("utf-8"))


def _case(root: ET.Element, name: str) -> ET.Element:
    cases = [case for case in root.iter("testcase") if case.get("name") == name]
    assert len(cases) == 1
    return cases[0]


def _counts(element: ET.Element) -> dict[str, str | None]:
    return {key: element.get(key) for key in ("tests", "failures", "errors", "skipped")}


def test_totals_count_every_outcome() -> None:
    root = _parse(render(mixed_suite()))
    assert root.tag == "testsuites"
    assert _counts(root) == {"tests": "6", "failures": "2", "errors": "2", "skipped": "1"}
    assert root.get("time") == "120.000"


def test_one_testsuite_per_operator_with_its_own_counts() -> None:
    root = _parse(render(mixed_suite()))
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert list(suites) == ["training-operator", "kserve"]
    assert _counts(suites["training-operator"]) == {
        "tests": "5",
        "failures": "1",
        "errors": "2",
        "skipped": "1",
    }
    assert _counts(suites["kserve"]) == {
        "tests": "1",
        "failures": "1",
        "errors": "0",
        "skipped": "0",
    }
    assert sum(len(suite.findall("testcase")) for suite in suites.values()) == 6


def test_resilient_is_a_plain_pass_with_classname_and_time() -> None:
    case = _case(_parse(render(mixed_suite())), "pod-kill")
    assert case.get("classname") == "training-operator.controller"
    assert case.get("time") == "45.500"
    assert [child.tag for child in case] == ["system-out"]


@pytest.mark.parametrize(
    ("name", "verdict"), [("network-partition", "Degraded"), ("rbac-revoke", "Failed")]
)
def test_degraded_and_failed_are_failures(name: str, verdict: str) -> None:
    failure = _case(_parse(render(mixed_suite())), name).find("failure")
    assert failure is not None
    assert failure.get("type") == verdict
    assert failure.get("message", "").startswith(f"Verdict: {verdict}")


def test_failure_body_explains_deviations_and_recovery() -> None:
    root = _parse(render(mixed_suite()))
    body = _case(root, "network-partition").findtext("failure") or ""
    assert "recovery took 48000 ms (budget 30000 ms)" in body
    assert "recovered in 48000 ms" in body
    assert "7 reconcile cycles" in body
    assert "slow recovery" in body
    failed = _case(root, "rbac-revoke").findtext("failure") or ""
    assert "did not recover" in failed


def test_inconclusive_is_an_error_not_a_skip_or_pass() -> None:
    case = _case(_parse(render(mixed_suite())), "webhook-disrupt")
    error = case.find("error")
    assert error is not None
    assert error.get("type") == "Inconclusive"
    assert case.find("skipped") is None
    assert case.find("failure") is None


def test_run_without_verdict_is_an_error() -> None:
    error = _case(_parse(render(mixed_suite())), "config-drift").find("error")
    assert error is not None
    assert error.get("type") == "NoVerdict"
    assert "Aborted" in error.get("message", "")


def test_dry_run_is_skipped_even_with_a_verdict() -> None:
    suite = make_suite(make_result(dry_run=True, verdict=Verdict.FAILED))
    case = _case(_parse(render(suite)), "pod-kill")
    skipped = case.find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "dry run"
    assert case.find("failure") is None


def test_system_out_holds_the_event_log() -> None:
    out = _case(_parse(render(mixed_suite())), "pod-kill").findtext("system-out") or ""
    assert "[Injecting] delete pod/training-operator-7d9f: deleted pod (grace=0, uid=1234)" in out
    assert "2024-05-01T12:00:20.000Z [Observing] observed" in out


def test_special_characters_survive_escaping() -> None:
    suite = make_suite(
        make_result(experiment=NASTY, verdict=Verdict.FAILED, message=NASTY, deviations=[NASTY])
    )
    text = render(suite)
    assert "<b>" not in text
    case = _case(_parse(text), NASTY)
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == f"Verdict: Failed — {NASTY}"
    assert f"  - {NASTY}" in (failure.text or "")


def test_characters_xml_cannot_hold_are_replaced_not_emitted() -> None:
    suite = make_suite(make_result(verdict=Verdict.FAILED, message="bell\x07 nul\x00 esc\x1b[0m"))
    failure = _case(_parse(render(suite)), "pod-kill").find("failure")
    assert failure is not None
    assert "bell\\u0007 nul\\u0000 esc\\u001b[0m" in failure.get("message", "")


def test_empty_suite_still_has_one_testsuite() -> None:
    root = _parse(render(make_suite()))
    suites = root.findall("testsuite")
    assert [suite.get("name") for suite in suites] == ["operator-chaos"]
    assert _counts(suites[0]) == {"tests": "0", "failures": "0", "errors": "0", "skipped": "0"}


def test_output_is_deterministic() -> None:
    assert render(mixed_suite()) == render(mixed_suite())
