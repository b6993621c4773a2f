"""Small Markdown builders: escaping, tables, collapsible code blocks.

Pages are assembled as lists of lines with plain string building (no template engine): the
pages are small, the output must be byte-for-byte deterministic, and a reader can see exactly
which Markdown each construct produces. Everything targets MkDocs with the Material theme and
the ``tables``, ``admonition``, ``pymdownx.details`` and ``pymdownx.superfences`` extensions.
"""

import re
from collections.abc import Iterable, Sequence

DESCRIPTION_LIMIT = 80
"""Coverage-table descriptions are cut to this many characters, then "..." is appended."""

_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]])")
_BLOCK_START = re.compile(r"^(#|>|[-+*]\s|-+$|!!!)")
_ORDERED_START = re.compile(r"^(\d+)([.)]\s)")
_FENCE_RUN = re.compile(r"^\s*(`{3,})", re.MULTILINE)
DASH = "—"
"""Shown in table cells that have nothing to say (renders as an em dash)."""


def collapse(text: str) -> str:
    """Join all whitespace runs (newlines included) into single spaces and trim."""
    return " ".join(text.split())


def cut(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """First ``limit`` characters plus "..." when longer, as the reference pages do.

    The cut is by characters and keeps a trailing space if one falls at the boundary (the
    reference page shows "the controller ..."): the rule is ``text[:limit] + "..."``.
    """
    return text if len(text) <= limit else text[:limit] + "..."


def inline(text: str) -> str:
    """Escape text so Markdown shows it literally inside a line (no emphasis, links, HTML).

    Python-Markdown has no backslash escape for ``<``, so ``&`` and ``<`` become entities.
    """
    escaped = text.replace("&", "&amp;").replace("<", "&lt;")
    escaped = _INLINE_SPECIAL.sub(r"\\\1", escaped)
    return _guard_block_start(escaped)


def _guard_block_start(text: str) -> str:
    """Keep a line that starts like a heading, list, quote or admonition a plain paragraph."""
    if _BLOCK_START.match(text):
        return "\\" + text
    ordered = _ORDERED_START.match(text)
    if ordered:
        return f"{ordered[1]}\\{text[len(ordered[1]) :]}"
    if text.startswith("???"):
        return "&#63;" + text[1:]  # '?' has no backslash escape
    return text


def plural(count: int, noun: str) -> str:
    """``1 operator``, ``2 operators``, ``0 operators`` (nouns here take a plain "s")."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def cell(text: str) -> str:
    """Escape text for a table cell (also ``|``); empty cells show a dash."""
    return inline(text).replace("|", "\\|") if text else DASH


def code(text: str) -> str:
    """Inline code span that survives backticks inside ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def code_cell(text: str) -> str:
    """Inline code for a table cell (``|`` escaped, which tables allow inside code)."""
    return code(text).replace("|", "\\|") if text else DASH


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A pipe table; cells must already be escaped (see :func:`cell`)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def fence_for(text: str) -> str:
    """A backtick fence longer than any backtick run that starts a line of ``text``."""
    longest = max((len(m) for m in _FENCE_RUN.findall(text)), default=0)
    return "`" * max(3, longest + 1)


def collapsible_code(title: str, text: str, language: str = "yaml") -> list[str]:
    """A closed ``???`` details block (pymdownx.details) holding a fenced code block.

    Material renders it as a collapsed box titled ``title`` that opens to show the code; the
    content is indented four spaces, blank lines stay empty so no trailing whitespace appears.
    """
    body = text.rstrip("\n").split("\n")
    fence = fence_for(text)
    lines = [f'??? example "{title}"', "", f"    {fence}{language}"]
    lines.extend(f"    {line}" if line.strip() else "" for line in body)
    lines.append(f"    {fence}")
    return lines


def page(blocks: Iterable[Sequence[str]]) -> str:
    """Join blocks with one blank line between them; exactly one trailing newline."""
    text = "\n\n".join("\n".join(block) for block in blocks if block)
    return text.rstrip("\n") + "\n"
