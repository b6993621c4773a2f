"""Test helpers: where the shared corpora are, and strict parsers for Failure Modes pages.

Two parsers read the same logical content out of two forms of the page: the text a browser
shows for the MkDocs-rendered reference page (the seed), and the Markdown we generate. The
golden test compares their results field by field. Both parsers refuse anything they do not
expect, so extra or missing content fails the test instead of being ignored.
"""

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEED_NAME = "training-operator-failure-modes.txt"


def compat_dir() -> Path:
    """The Go reference corpus (override: OPERATOR_CHAOS_COMPAT_DIR)."""
    default = REPO.parent / "shared" / "compat" / "operator-chaos"
    return Path(os.environ.get("OPERATOR_CHAOS_COMPAT_DIR", default))


def seed_dir() -> Path:
    """Where the user's reference page lives (override: OPERATOR_CHAOS_SEED_DIR)."""
    return Path(os.environ.get("OPERATOR_CHAOS_SEED_DIR", REPO.parent / "shared" / "seed"))


@dataclass
class Section:
    """One experiment's detail section."""

    name: str
    type: str
    danger: str
    component: str
    hypothesis: str
    yaml: str


@dataclass
class Page:
    """The logical content of a Failure Modes page."""

    title: str
    header: tuple[str, ...] = ()
    rows: list[tuple[str, ...]] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)


# --- the rendered reference page (text as copied from the browser) ----------------------------

_SEED_HEADER = "Injection Type Danger Experiment Description"
_BULLET = "  \u2022 "


def parse_seed(text: str) -> Page:
    """Parse the browser text of the reference page."""
    lines = text.split("\n")
    if lines[0] == "Skip to content":
        lines = lines[2:]
    assert lines[1:4] == ["", "Coverage", ""]
    assert lines[4] == _SEED_HEADER, lines[4]
    page = Page(title=lines[0], header=("Injection Type", "Danger", "Experiment", "Description"))
    i = 5
    while lines[i]:
        kind, danger, file, description = lines[i].split(" ", 3)
        page.rows.append((kind, danger, file, description))
        i += 1
    assert lines[i + 1] == "Experiment Details", lines[i + 1]
    starts = [k for k, line in enumerate(lines) if line.startswith(_BULLET + "Type: ")]
    assert starts[:1] == [i + 5]
    for n, k in enumerate(starts):
        assert [lines[k - 1], lines[k + 3], lines[k + 5]] == ["", "", ""]
        assert lines[k + 6] == "Experiment YAML"
        end = starts[n + 1] - 2 if n + 1 < len(starts) else len(lines)
        body = lines[k + 7 : end]
        while body and not body[-1].strip():
            body.pop()
        page.sections.append(
            Section(
                name=lines[k - 2],
                type=_after(lines[k], _BULLET + "Type: "),
                danger=_after(lines[k + 1], _BULLET + "Danger Level: "),
                component=_after(lines[k + 2], _BULLET + "Component: "),
                hypothesis=lines[k + 4],
                yaml="\n".join(body),
            )
        )
    return page


def _after(line: str, prefix: str) -> str:
    assert line.startswith(prefix), (line, prefix)
    return line[len(prefix) :]


# --- the Markdown we generate -----------------------------------------------------------------

_ENTITIES = {"&lt;": "<", "&amp;": "&", "&#63;": "?"}
_BULLET_MD = re.compile(r"^- \*\*(Type|Danger Level|Component):\*\* (.*)$")
_DETAILS = '??? example "Experiment YAML"'


def unescape(text: str) -> str:
    """Undo Markdown backslash escapes and the few entities the generator writes."""
    text = re.sub(r"\\(.)", r"\1", text)
    for entity, char in _ENTITIES.items():
        text = text.replace(entity, char)
    return text


def split_row(line: str) -> tuple[str, ...]:
    """Cells of a pipe-table row, split on unescaped '|', unescaped and trimmed."""
    assert line[:2] + line[-2:] == "|  |", line
    cells = re.split(r"(?<!\\)\|", line[1:-1])
    return tuple(unescape(cell.strip()) for cell in cells)


def parse_markdown(text: str) -> Page:
    """Parse a generated Failure Modes page; any unexpected line fails."""
    assert text.endswith("\n")
    assert not text.endswith("\n\n")
    lines = text.rstrip("\n").split("\n")
    assert lines[0].startswith("# ")
    page = Page(title=unescape(lines[0][2:]))
    i = 1
    i = _expect(lines, i, "", "## Coverage", "")
    page.header = split_row(lines[i])
    assert re.fullmatch(r"\|( --- \|)+", lines[i + 1]), lines[i + 1]
    i += 2
    while i < len(lines) and lines[i].startswith("| "):
        page.rows.append(split_row(lines[i]))
        i += 1
    i = _expect(lines, i, "", "## Experiment Details")
    while i < len(lines):
        i = _expect(lines, i, "")
        assert lines[i].startswith("### "), lines[i]
        name = unescape(lines[i][4:])
        i = _expect(lines, i + 1, "")
        bullets = {}
        for _ in range(3):
            match = _BULLET_MD.match(lines[i])
            assert match, lines[i]
            bullets[match[1]] = unescape(match[2])
            i += 1
        i = _expect(lines, i, "")
        hypothesis = unescape(lines[i])
        i = _expect(lines, i + 1, "", _DETAILS, "")
        fence = re.fullmatch(r"    (`{3,})yaml", lines[i])
        assert fence, lines[i]
        close = "    " + fence[1]
        body = []
        i += 1
        while lines[i] != close:
            assert lines[i] == "" or lines[i].startswith("    "), lines[i]
            body.append(lines[i][4:])
            i += 1
        i += 1
        page.sections.append(
            Section(
                name,
                bullets["Type"],
                bullets["Danger Level"],
                bullets["Component"],
                hypothesis,
                "\n".join(body),
            )
        )
    return page


def _expect(lines: list[str], i: int, *expected: str) -> int:
    for offset, want in enumerate(expected):
        assert lines[i + offset] == want, (i + offset, lines[i + offset], want)
    return i + len(expected)
