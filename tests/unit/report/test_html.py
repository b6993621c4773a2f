"""HTML report: self-contained, escaped, badges coloured, timeline proportional."""

import re
from html.parser import HTMLParser

import pytest

from operator_chaos.api.v1alpha1 import Phase, Verdict
from operator_chaos.report.html import render
from report.factory import NASTY, make_result, make_suite, mixed_suite, phases

VOID = {"meta", "br", "hr", "img", "input", "link"}


class Page(HTMLParser):
    """Collects tags, attributes and text, and checks that elements nest properly."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.text: list[str] = []
        self.stack: list[str] = []
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend((tag, name, value) for name, value in attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> without an open element"
        assert self.stack.pop() == tag, f"</{tag}> closes the wrong element"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


SUITES = {
    "empty": make_suite(),
    "one": make_suite(make_result()),
    "many": mixed_suite(),
}


@pytest.mark.parametrize("name", SUITES)
def test_renders_a_well_formed_page(name: str) -> None:
    page = Page(render(SUITES[name]))
    assert page.stack == []
    assert page.tags[:2] == ["html", "head"]
    assert page.tags.count("section") == len(SUITES[name].results)


@pytest.mark.parametrize("name", SUITES)
def test_is_self_contained(name: str) -> None:
    source = render(SUITES[name])
    page = Page(source)
    assert "script" not in page.tags
    assert "link" not in page.tags
    for tag, attribute, value in page.attributes:
        if attribute in {"src", "href"}:
            assert value is not None
            assert value.startswith("#"), f"<{tag} {attribute}={value!r}> loads something"
    assert not re.search(r"url\(|@import", source)
    assert "<style>" in source


def test_empty_suite_says_so() -> None:
    assert "No experiments in this report." in render(make_suite())


def test_script_in_hypothesis_is_escaped() -> None:
    source = render(make_suite(make_result(hypothesis="<script>alert('x')</script>")))
    assert "<script>" not in source
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in source
    assert "script" not in Page(source).tags


def test_special_characters_show_literally() -> None:
    suite = make_suite(make_result(experiment=NASTY, message=NASTY, deviations=[NASTY]))
    source = render(suite)
    page = Page(source)
    assert "b" not in page.tags
    assert "".join(page.text).count(NASTY) >= 4  # summary row, heading, message, deviation
    assert "<b>" not in source
    # Quotes inside attributes are escaped too, so the value arrives whole.
    labels = [value for _, attribute, value in page.attributes if attribute == "aria-label"]
    assert labels == [f"Phase timeline of {NASTY}"]


def test_summary_rows_and_badges() -> None:
    source = render(mixed_suite())
    for verdict in ("resilient", "degraded", "failed", "inconclusive", "dry-run", "no-verdict"):
        assert f'<span class="badge {verdict}">' in source
    assert ".badge.resilient{background:#1a7f37}" in source
    assert ".badge.degraded{background:#d4a72c" in source
    assert ".badge.failed{background:#cf222e}" in source
    assert ".badge.inconclusive{background:#6e7781}" in source
    assert '<a href="#exp-2">network-partition</a>' in source
    assert 'id="exp-2"' in source


def _segments(source: str) -> list[tuple[str, float, float]]:
    pattern = r'class="seg phase-(\w+)" style="left:([\d.]+)%;width:([\d.]+)%"'
    return [
        (phase, float(left), float(width)) for phase, left, width in re.findall(pattern, source)
    ]


def test_timeline_is_proportional_to_phase_durations() -> None:
    records = phases((Phase.INJECTING, 0, 10), (Phase.HOLDING, 10, 30), (Phase.OBSERVING, 30, 40))
    segments = _segments(render(make_suite(make_result(phases=records))))
    assert segments == [("injecting", 0, 25), ("holding", 25, 50), ("observing", 75, 25)]


def test_timeline_shows_gaps_and_open_phases() -> None:
    records = phases((Phase.INJECTING, 0, 10), (Phase.OBSERVING, 20, None))
    result = make_result(phases=records, ended_at=make_result().started_at.replace(second=40))
    segments = _segments(render(make_suite(result)))
    assert segments == [("injecting", 0, 25), ("observing", 50, 50)]


def test_timeline_with_identical_timestamps_shares_the_bar() -> None:
    records = phases((Phase.INJECTING, 5, 5), (Phase.HOLDING, 5, 5))
    segments = _segments(render(make_suite(make_result(phases=records))))
    assert segments == [("injecting", 0, 50), ("holding", 50, 50)]


def test_no_phases_no_timeline() -> None:
    source = render(make_suite(make_result(phases=[], verdict=Verdict.INCONCLUSIVE)))
    assert 'class="timeline"' not in source


def test_content_matches_markdown_sections() -> None:
    source = render(make_suite(make_result(deviations=["slow"], collateral=["ns/other"])))
    for heading in (
        "Phases",
        "Injection",
        "Planned changes",
        "Revert",
        "Recovery",
        "Managed resources",
        "Collateral",
        "Deviations",
        "Events (2)",
    ):
        assert f">{heading}</h" in source, heading
    assert "1234 ms (1.2 s)" in source
    assert "3 (max 10)" in source


def test_output_is_deterministic() -> None:
    assert render(mixed_suite()) == render(mixed_suite())
