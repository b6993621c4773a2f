"""The format registry and the one function that writes reports to disk.

Renderers stay pure (``SuiteResult -> str``); all file handling lives here so every format
gets the same guarantees: the directory is created, and each file is replaced atomically, so a
CI job or a browser never sees a half-written report.
"""

import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Final, Protocol

from operator_chaos.api.v1alpha1.result import SuiteResult
from operator_chaos.errors import UsageError
from operator_chaos.report.html import render as render_html
from operator_chaos.report.json import render as render_json
from operator_chaos.report.junit import render as render_junit
from operator_chaos.report.markdown import render as render_markdown


class Reporter(Protocol):
    """A report format: a name for the command line, a file extension and a renderer."""

    name: str
    extension: str
    """File-name suffix including the dot, e.g. ``".xml"``."""

    def render(self, suite: SuiteResult) -> str:
        """Render the whole suite; must be deterministic and must not touch the filesystem."""
        ...


class FunctionReporter:
    """Adapts a module-level ``render`` function to the :class:`Reporter` protocol."""

    def __init__(self, name: str, extension: str, render: Callable[[SuiteResult], str]) -> None:
        self.name = name
        self.extension = extension
        self._render = render

    def render(self, suite: SuiteResult) -> str:
        """Delegate to the wrapped function."""
        return self._render(suite)

    def __repr__(self) -> str:
        return f"FunctionReporter({self.name!r}, {self.extension!r})"


FORMATS: Final[Mapping[str, Reporter]] = MappingProxyType(
    {
        "json": FunctionReporter("json", ".json", render_json),
        "junit": FunctionReporter("junit", ".xml", render_junit),
        "markdown": FunctionReporter("markdown", ".md", render_markdown),
        "html": FunctionReporter("html", ".html", render_html),
    }
)
"""Every file format, by the name used on the command line."""


def reporters(formats: Sequence[str]) -> list[Reporter]:
    """Look formats up by name (duplicates dropped, order kept); unknown names are refused."""
    unknown = [name for name in formats if name not in FORMATS]
    if unknown:
        raise UsageError(
            f"unknown report format {', '.join(map(repr, unknown))}:"
            f" choose from {', '.join(FORMATS)}"
        )
    return [FORMATS[name] for name in dict.fromkeys(formats)]


def write_reports(
    suite: SuiteResult,
    directory: Path,
    formats: Sequence[str],
    stem: str = "operator-chaos-report",
) -> list[Path]:
    """Write ``<directory>/<stem><extension>`` for each format and return the paths written.

    Everything is rendered before anything is written, so a renderer bug cannot leave a mix of
    new and stale files behind.
    """
    if not stem or Path(stem).name != stem or stem in {".", ".."}:
        raise UsageError(f"report file stem {stem!r} must be a plain file name without '/'")
    rendered = [(reporter, reporter.render(suite)) for reporter in reporters(formats)]
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for reporter, text in rendered:
        path = directory / f"{stem}{reporter.extension}"
        # backslashreplace: a lone surrogate becomes "\\udXXX" (a valid JSON escape) instead
        # of losing the whole report to a UnicodeEncodeError at the end of a run.
        _write_atomic(path, text.encode("utf-8", errors="backslashreplace"))
        paths.append(path)
    return paths


def _write_atomic(path: Path, data: bytes) -> None:
    """Write to a unique temporary file beside ``path``, flush it to disk, then rename over.

    ``os.open`` with mode 0o666 lets the umask decide permissions, as a plain ``open`` would
    (``tempfile`` would make reports private to the user, surprising for CI artefacts).
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
