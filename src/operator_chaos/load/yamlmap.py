"""YAML text -> plain data plus a map from field paths to source positions.

Validation errors must point at ``file:line:column``, so we compose the YAML node graph
ourselves (PyYAML's safe composer, the C one when available) and build plain Python data
while remembering where each mapping key and value started.

Hostile input is bounded: files larger than ``MAX_BYTES`` are refused before parsing, and the
conversion counts nodes so that an alias bomb ("billion laughs") stops at ``MAX_NODES``
instead of expanding exponentially.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from operator_chaos.load.errors import LoadError, Problem

MAX_BYTES = 2 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 100

FieldPath = tuple[str | int, ...]
_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})

try:  # the C composer is ~10x faster; fall back silently when libyaml is absent
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment,unused-ignore]
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader


@dataclass(slots=True)
class Document:
    """One YAML document: its data and where each field path starts (1-based)."""

    source: str
    data: Any
    positions: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)
    start: tuple[int, int] = (1, 1)

    def position(self, path: FieldPath) -> tuple[int, int]:
        """The closest known position for ``path``, walking up to the parent when needed."""
        probe = tuple(path)
        while probe:
            found = self.positions.get(probe)
            if found is not None:
                return found
            probe = probe[:-1]
        return self.positions.get((), self.start)

    def problem(self, path: FieldPath, message: str) -> Problem:
        """A :class:`Problem` located at ``path`` in this document."""
        line, column = self.position(path)
        return Problem(self.source, line, column, dotted(path), message)


def dotted(path: FieldPath) -> str:
    """``("spec", "checks", 0, "kind")`` -> ``spec.checks[0].kind``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _Builder:
    """Converts composed nodes to data, recording positions and enforcing the node budget."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.nodes = 0
        self.constructor = yaml.SafeLoader("")  # only used for scalar resolution

    def build(self, node: yaml.Node, path: FieldPath, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooLargeError(f"document has more than {MAX_NODES} nodes (alias expansion?)")
        if depth > MAX_DEPTH:
            raise _TooLargeError(f"document nests deeper than {MAX_DEPTH} levels")
        mark = node.start_mark
        self.doc.positions.setdefault(path, (mark.line + 1, mark.column + 1))
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN_TAGS:
            # Scalars with unknown tags fail in the safe constructor; collections would not.
            raise _LocatedError(path, f"unsupported YAML tag {node.tag!r}; remove it")
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            self.constructor.flatten_mapping(node)
            for key_node, value_node in node.value:
                key = self.build(key_node, (*path, "<key>"), depth + 1)
                if isinstance(key, list | dict):
                    raise _LocatedError(path, "mapping keys must be scalars")
                key_text = key if isinstance(key, str) else str(key)
                child = (*path, key_text)
                km = key_node.start_mark
                self.doc.positions[child] = (km.line + 1, km.column + 1)
                if key_text in out:
                    raise _LocatedError(child, f"duplicate key {key_text!r}")
                out[key_text] = self.build(value_node, child, depth + 1)
            self.doc.positions.pop((*path, "<key>"), None)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [
                self.build(item, (*path, index), depth + 1) for index, item in enumerate(node.value)
            ]
        return self.constructor.construct_object(node, deep=True)


class _TooLargeError(Exception):
    pass


class _LocatedError(Exception):
    def __init__(self, path: FieldPath, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def read_text(path: Path) -> str:
    """Read a file as UTF-8 with the size cap; every failure becomes a :class:`LoadError`."""
    name = str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise LoadError([Problem(name, 0, 0, "", "file not found")]) from None
    except IsADirectoryError:
        raise LoadError([Problem(name, 0, 0, "", "is a directory, expected a YAML file")]) from None
    except OSError as exc:
        raise LoadError([Problem(name, 0, 0, "", f"cannot read: {exc.strerror}")]) from None
    if len(raw) > MAX_BYTES:
        raise LoadError(
            [Problem(name, 1, 1, "", f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB")]
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LoadError(
            [Problem(name, 1, exc.start + 1, "", "file is not valid UTF-8 text")]
        ) from None


def parse(text: str, source: str) -> list[Document]:
    """Parse every document in ``text``; raise :class:`LoadError` for malformed YAML."""
    if len(text) > MAX_BYTES:
        raise LoadError([Problem(source, 1, 1, "", f"text is larger than {MAX_BYTES} bytes")])
    loader = _Loader(text)
    documents: list[Document] = []
    try:
        for node in _compose_all(loader):
            mark = node.start_mark
            doc = Document(source, None, start=(mark.line + 1, mark.column + 1))
            try:
                doc.data = _Builder(doc).build(node, ())
            except _LocatedError as exc:
                raise LoadError([doc.problem(exc.path, exc.message)]) from None
            except _TooLargeError as exc:
                raise LoadError(
                    [Problem(source, doc.start[0], doc.start[1], "", str(exc))]
                ) from None
            documents.append(doc)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or exc.context or "malformed YAML"
        opened = exc.context_mark
        if exc.problem and exc.context and opened is not None and opened.line + 1 != line:
            reason += f" ({exc.context} that starts at line {opened.line + 1})"
        raise LoadError([Problem(source, line, column, "", f"invalid YAML: {reason}")]) from None
    except yaml.YAMLError as exc:
        raise LoadError([Problem(source, 1, 1, "", f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise LoadError([Problem(source, 1, 1, "", "YAML nests too deeply")]) from None
    finally:
        loader.dispose()
    return documents


def _compose_all(loader: yaml.SafeLoader) -> Iterator[yaml.Node]:
    while loader.check_node():
        node = loader.get_node()
        if node is not None:
            yield node
