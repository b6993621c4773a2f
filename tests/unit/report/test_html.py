"""HTML report: self-contained, escaped, badges coloured, timeline proportional."""

import re
from html.parser import HTMLParser

import pytest

from operator_chaos.api.v1alpha1 import Phase, Verdict
from operator_chaos.report.html import render
from report.factory import (
    CHECK,
    NASTY,
    condition_run,
    lane,
    make_result,
    make_suite,
    mixed_suite,
    no_impact_run,
    phases,
    repaired_run,
    timeline_suite,
    tool_restored_run,
)

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
    "timelines": timeline_suite(),
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
    assert "@import" not in source
    # url() only ever points at a pattern defined in the page itself.
    assert all(target.startswith("#") for target in re.findall(r"url\(([^)]*)\)", source))
    # No URL to fetch in any attribute (the cluster address may appear as text).
    for _, attribute, value in page.attributes:
        assert not re.match(r"\s*(https?:)?//", value or ""), f"{attribute}={value!r}"
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


def _svg(source: str, number: int = 0) -> str:
    """The ``number``-th swimlane of a page."""
    swimlanes: list[str] = re.findall(r'<svg class="swimlane".*?</svg>', source)
    return swimlanes[number]


def _rect_x(svg: str, css: str) -> tuple[float, float]:
    match = re.search(rf'<rect class="{css}" x="([\d.]+)" y="\d+" width="([\d.]+)"', svg)
    assert match, css
    return float(match[1]), float(match[2])


def test_swimlane_has_lanes_windows_markers_and_timeout() -> None:
    source = render(make_suite(repaired_run()))
    svg = _svg(source)
    text = "".join(Page(svg).text)
    for label in ("Service kubeflow/training-operator", "fault window", "stability window"):
        assert label in text
    for kind in ("damage:", "check:", "managed:", "collateral:"):
        assert kind in text
    # Plot is 270..975 for 0..8100 ms: the fault window runs from inject (2000) to repair (2812).
    left, width = _rect_x(svg, "band fault")
    assert (round(left), round(left + width)) == (444, 515)
    assert 'class="marker recovered"' in svg
    assert '<path d="M' in svg  # the recovery diamond
    assert 'class="marker stable"' in svg
    # The 60 s timeout lies far beyond the run: a note at the right edge, not a squashed axis.
    assert "timeout at +60.000 s →" in text
    assert "time since injection" in text
    assert "+6 s" in text


def test_timeout_on_the_axis_is_a_dashed_line() -> None:
    svg = _svg(render(make_suite(tool_restored_run())))
    line = re.search(r'<g class="marker deadline">.*?<line [^>]*>', svg)
    assert line is not None
    assert 'stroke-dasharray="6 4"' in line[0]
    assert 'class="marker restored"' in svg


def test_condition_fault_window_ends_at_the_lift() -> None:
    svg = _svg(render(make_suite(condition_run())))
    left, width = _rect_x(svg, "band fault")
    scale = (975 - 270) / 14_500
    assert left == pytest.approx(270 + 2_000 * scale, abs=0.1)
    assert left + width == pytest.approx(270 + 12_000 * scale, abs=0.2)
    assert 'class="marker lifted"' in svg


def test_segments_are_coloured_and_patterned_with_tooltips() -> None:
    svg = _svg(render(make_suite(repaired_run())))
    failing = re.findall(
        r'<rect class="seg not-ok"[^>]*fill="url\(#tl1-fail\)"><title>([^<]*)', svg
    )
    assert f"check: {CHECK}: failing from +150 ms to +900 ms: 0/1" in failing
    assert 'class="seg ok"' in svg
    assert '<pattern id="tl1-fail"' in svg
    # Legend explains every colour and pattern in words.
    legend = "".join(re.findall(r">([^<>]+)</text>", svg[svg.index('class="legend"') :]))
    for word in ("ok", "not ok", "fault window", "stability window", "recovered", "timeout"):
        assert word in legend


def test_several_runs_do_not_share_pattern_ids() -> None:
    page = Page(render(timeline_suite()))
    ids = [value for _, attribute, value in page.attributes if attribute == "id"]
    assert len(ids) == len(set(ids))
    assert "tl4-fail" in ids


def test_no_impact_is_said_prominently() -> None:
    source = render(make_suite(no_impact_run()))
    assert (
        '<p class="callout no-impact" role="note"><strong>⚠ No impact observed:'
        " the checks do not see this fault.</strong></p>"
    ) in source


def test_restorations_are_sentences_with_a_shape() -> None:
    source = render(make_suite(tool_restored_run(), repaired_run()))
    assert 'data-mark="⚠"' in source
    assert 'data-mark="✓"' in source
    assert (
        "The operator did not restore PyTorchJob kubeflow/demo spec.runPolicy.suspend within"
        " 10.0 s; operator-chaos restored it after 10050 ms (10.0 s)."
    ) in source
    assert "restored by the operator after 812 ms" in source


def test_untrusted_lane_text_is_escaped() -> None:
    result = repaired_run()
    assert result.timeline is not None
    nasty = lane(NASTY, "damage", (0, True, "ok"), (2_000, False, "<script>x</script>"))
    timeline = result.timeline.model_copy(update={"lanes": [nasty]})
    result = result.model_copy(update={"timeline": timeline})
    source = render(make_suite(result))
    assert "<script>" not in source
    assert "b" not in Page(source).tags
    assert "&lt;script&gt;x&lt;/script&gt;" in source
    assert f"damage: {NASTY}" in "".join(Page(source).text)


def test_runs_without_a_timeline_have_no_swimlane() -> None:
    source = render(mixed_suite())
    assert "<svg" not in source
    assert ">Timeline</h3>" not in source
