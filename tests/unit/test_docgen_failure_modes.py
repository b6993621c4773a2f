"""The Failure Modes page: golden comparison with the user's reference page, and its rules."""

import os
from pathlib import Path

import pytest
from docs_pages import REPO, SEED_NAME, parse_markdown, parse_seed, seed_dir

from operator_chaos.docgen import failure_modes
from operator_chaos.docgen import markdown as md
from operator_chaos.docgen.sources import collect
from operator_chaos.knowledge.loader import load_file, load_text

EXPERIMENTS = REPO / "experiments" / "training-operator"
KNOWLEDGE = REPO / "knowledge" / "training-operator.yaml"
SEED_FILES = [
    "finalizer-block.yaml",
    "network-partition.yaml",
    "pod-kill.yaml",
    "rbac-revoke.yaml",
    "webhook-disrupt.yaml",
]


def _generated(*, seeds_only: bool = True) -> str:
    """The page from the seed page's five experiments (the golden comparison), or from
    every shipped training-operator experiment (the committed page)."""
    entries = collect(EXPERIMENTS)
    if seeds_only:
        entries = [e for e in entries if e.file in SEED_FILES]
    return failure_modes.render(load_file(KNOWLEDGE).model, entries)


@pytest.fixture(scope="module")
def seed_text() -> str:
    path = seed_dir() / SEED_NAME
    if not path.is_file():
        message = f"reference page {path} not present (set OPERATOR_CHAOS_SEED_DIR)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI has ../shared beside the clone: missing is a failure
        pytest.skip(message)
    return path.read_text(encoding="utf-8")


def test_golden_page_matches_the_reference(seed_text: str) -> None:
    seed = parse_seed(seed_text)
    ours = parse_markdown(_generated())
    assert ours.title == seed.title == "training-operator Failure Modes"
    assert ours.header == seed.header
    assert len(ours.rows) == len(seed.rows) == 5
    for mine, theirs in zip(ours.rows, seed.rows, strict=True):
        assert mine == theirs
    assert [s.name for s in ours.sections] == [s.name for s in seed.sections]
    for mine, theirs in zip(ours.sections, seed.sections, strict=True):
        assert mine == theirs, mine.name


def test_shipped_experiments_are_the_reference_yaml(seed_text: str) -> None:
    seed = parse_seed(seed_text)
    by_name = {s.name: s.yaml for s in seed.sections}
    files = sorted(p.name for p in EXPERIMENTS.iterdir())
    assert set(SEED_FILES) <= set(files)
    for row, section in zip(seed.rows, seed.sections, strict=True):
        text = (EXPERIMENTS / row[2]).read_text(encoding="utf-8")
        assert text == by_name[section.name] + "\n"


def test_page_is_deterministic_markdown_with_one_trailing_newline() -> None:
    first, second = _generated(), _generated()
    assert first == second
    assert first.endswith("    ```\n")
    assert "\t" not in first
    assert all(line == line.rstrip() for line in first.split("\n"))


def test_rows_and_sections_follow_type_then_file(tmp_path: Path) -> None:
    for name in ("z-kill.yaml", "a-kill.yaml"):
        text = (
            (EXPERIMENTS / "pod-kill.yaml")
            .read_text()
            .replace("training-operator-pod-kill", f"pk-{name[0]}")
        )
        (tmp_path / name).write_text(text)
    (tmp_path / "b.yaml").write_text((EXPERIMENTS / "rbac-revoke.yaml").read_text())
    (tmp_path / "c.yaml").write_text((EXPERIMENTS / "finalizer-block.yaml").read_text())
    page = parse_markdown(failure_modes.render(load_file(KNOWLEDGE).model, collect(tmp_path)))
    assert [(r[0], r[2]) for r in page.rows] == [
        ("FinalizerBlock", "c.yaml"),
        ("PodKill", "a-kill.yaml"),
        ("PodKill", "z-kill.yaml"),
        ("RBACRevoke", "b.yaml"),
    ]
    assert [s.name for s in page.sections] == [
        "training-operator-finalizer-block",
        "pk-a",
        "pk-z",
        "training-operator-rbac-revoke",
    ]


@pytest.mark.parametrize(
    ("length", "expected_suffix"),
    [(79, "x"), (80, "x"), (81, "x...")],
)
def test_cut_keeps_80_characters_then_dots(length: int, expected_suffix: str) -> None:
    cut = md.cut("x" * length)
    assert cut.endswith(expected_suffix)
    assert len(cut) == min(length, 80) + (3 if length > 80 else 0)


def test_cut_keeps_a_space_at_the_boundary() -> None:
    text = "a" * 79 + " tail"
    assert md.cut(text) == "a" * 79 + " ..."


def test_special_characters_survive_as_text(tmp_path: Path) -> None:
    text = (EXPERIMENTS / "pod-kill.yaml").read_text()
    hypothesis = "# Pods | *all* of_them <b> & [x](y) `code` 1. done"
    text = text.replace(
        "When the training-operator pod is killed, running training jobs", hypothesis
    )
    (tmp_path / "pod-kill.yaml").write_text(text)
    markdown = failure_modes.render(load_file(KNOWLEDGE).model, collect(tmp_path))
    prose = markdown.split("??? example")[0]  # the YAML block shows the file verbatim
    for raw in ("<b>", "*all*", "[x](y)", "`code`", "\n1. done"):
        assert raw not in prose
    page = parse_markdown(markdown)
    assert page.sections[0].hypothesis.startswith(hypothesis)
    assert page.rows[0][3] == md.cut(page.sections[0].hypothesis)


def test_multi_document_file_shows_each_document(tmp_path: Path) -> None:
    one = (EXPERIMENTS / "pod-kill.yaml").read_text()
    two = one.replace("training-operator-pod-kill", "second-pod-kill")
    (tmp_path / "both.yaml").write_text(one + "---\n" + two)
    page = parse_markdown(failure_modes.render(load_file(KNOWLEDGE).model, collect(tmp_path)))
    assert [s.name for s in page.sections] == ["training-operator-pod-kill", "second-pod-kill"]
    assert page.sections[0].yaml == one.rstrip("\n")
    assert page.sections[1].yaml == two.rstrip("\n")


def test_yaml_with_backtick_fence_gets_a_longer_fence(tmp_path: Path) -> None:
    text = (
        (EXPERIMENTS / "pod-kill.yaml")
        .read_text()
        .replace(
            "controller recovers within the recovery timeout.",
            "controller recovers within the recovery timeout.\n      ````\n",
        )
    )
    (tmp_path / "pod-kill.yaml").write_text(text)
    markdown = failure_modes.render(load_file(KNOWLEDGE).model, collect(tmp_path))
    assert "    `````yaml" in markdown
    assert "\n      ````\n" in parse_markdown(markdown).sections[0].yaml


def test_intro_names_namespace_and_components() -> None:
    knowledge = load_text(KNOWLEDGE.read_text(), KNOWLEDGE).model  # same facts, loaded from memory
    entries = collect(EXPERIMENTS)
    page = failure_modes.render(knowledge, entries, intro=True)
    second = page.split("\n\n")[1]
    assert "`opendatahub`" in second
    assert "`training-operator-controller-manager`" in second
    assert second.startswith(f"{len(entries)} experiments against training-operator")


COMMITTED = REPO / "docs" / "training-operator-failure-modes.md"
REGENERATE = (
    "operator-chaos docs failure-modes --experiments experiments/training-operator"
    " --knowledge knowledge/training-operator.yaml -o docs/training-operator-failure-modes.md"
)


def test_committed_page_covers_every_shipped_experiment() -> None:
    """The repository's Failure Modes page is regenerated whenever an experiment changes."""
    assert COMMITTED.read_text(encoding="utf-8") == _generated(seeds_only=False), (
        f"{COMMITTED.relative_to(REPO)} is out of date; regenerate it with: {REGENERATE}"
    )


def test_rendered_html_text_matches_the_reference(seed_text: str) -> None:
    """Optional: render with Python-Markdown + pymdownx (as MkDocs does) when installed."""
    markdown = pytest.importorskip("markdown")
    pytest.importorskip("pymdownx")
    html = markdown.markdown(
        _generated(),
        extensions=["tables", "admonition", "pymdownx.details", "pymdownx.superfences"],
    )
    assert html.count('<details class="example">') == 5
    assert html.count("<summary>Experiment YAML</summary>") == 5
    for row in parse_seed(seed_text).rows:
        assert f"<td>{row[3]}</td>" in html
