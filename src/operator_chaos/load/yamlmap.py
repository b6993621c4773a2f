"""YAML text -> plain data plus a map from field paths to source positions.

Validation errors must point at ``file:line:column``, so we compose the YAML node graph
ourselves (PyYAML's safe composer, the C one when available) and build plain Python data
while remembering where each mapping key and value started.

This module is the one way the tool reads YAML it was given (experiments, knowledge models,
profiles, playbooks, ``--set`` values), so every bound lives here:

- only regular files are opened: a FIFO, device or socket would block or never end, so it is
  refused from ``stat`` before ``open`` (and again from ``fstat``, in case it was swapped);
- files larger than ``MAX_BYTES`` are refused before parsing, and no more is ever read;
- the conversion counts nodes so that an alias bomb ("billion laughs") stops at ``MAX_NODES``
  instead of expanding exponentially, and nesting stops at ``MAX_DEPTH``;
- integers must fit in 64 bits (what Kubernetes and the Go reference store), so a
  5000-digit number is one located error instead of Python's digit-limit ``ValueError``;
- scalars the safe constructor cannot build (``2001-13-45``) are located errors too.
"""

import functools
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from operator_chaos.load.errors import LoadError, Problem

MAX_BYTES = 2 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 100
MAX_INT = 2**63 - 1
MIN_INT = -(2**63)
_MAX_INT_TEXT = 80  # longer than any 64-bit integer in any YAML notation (with '_' separators)

FieldPath = tuple[str | int, ...]
_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
_INT_TAG = "tag:yaml.org,2002:int"
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_SPECIAL_FILES = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)

try:  # the C composer is ~10x faster; fall back silently when libyaml is absent
    _Base: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment,unused-ignore]
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Base = yaml.SafeLoader

_RESOLVER = yaml.resolver.Resolver()  # the safe loaders' resolver; nothing adds path resolvers
_RESOLVE_CACHE = 4096
_RESOLVE_CACHE_TEXT = 4096
"""Texts longer than this clear the cache after parsing: it then never holds more than
``_RESOLVE_CACHE`` scalars of small files (or those of the one large file being parsed)."""


@functools.lru_cache(maxsize=_RESOLVE_CACHE)
def _resolve(kind: Any, value: Any, implicit: Any) -> str:
    return str(_RESOLVER.resolve(kind, value, implicit))  # type: ignore[no-untyped-call]


class _Loader(_Base):  # type: ignore[valid-type,misc,unused-ignore]
    """The safe loader with tag resolution memoized.

    The composer asks the (Python) resolver about every node, and across many files the same
    keys and values come back. Without path resolvers (nothing registers one) a node's tag
    depends only on its kind, text and implicit flags, so a cached answer is the one
    ``resolve`` would give. The cache is C code (``lru_cache``): a hit runs no Python.
    """

    resolve = staticmethod(_resolve)

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        """Path resolvers only: there are none."""

    def ascend_resolver(self) -> None:
        """Path resolvers only: there are none."""


@dataclass(slots=True)
class Document:
    """One YAML document: its data and where each field path starts (1-based).

    ``overridden`` holds the field paths a ``--set`` replaced: a problem inside one of them is
    not in the file, so its message says where the value came from.
    """

    source: str
    data: Any
    positions: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)
    start: tuple[int, int] = (1, 1)
    overridden: dict[FieldPath, str] = field(default_factory=dict)
    booleans: list[FieldPath] | None = None
    """Where ``data`` holds ``true``/``false``, in document order (``None``: not known, e.g.
    after ``--set``). The loader checks these against integer fields instead of walking all
    of ``data``."""

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
        origin = self.override_of(path)
        if origin is not None:
            message = f"{message} (value from --set {origin})"
        return Problem(self.source, line, column, dotted(path), message)

    def override_of(self, path: FieldPath) -> str | None:
        """The ``--set`` item that put the value at ``path`` there, if any."""
        probe = tuple(path)
        while True:
            found = self.overridden.get(probe)
            if found is not None or not probe:
                return found
            probe = probe[:-1]


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

    def __init__(self, doc: Document, may_merge: bool = True) -> None:
        self.doc = doc
        self.nodes = 0
        self.booleans: list[FieldPath] = []
        self.constructor = yaml.constructor.SafeConstructor()  # scalars and merge keys only
        # A merge key is a plain "<<" or an explicit tag (which needs a "!"); text with neither
        # has none, so its mappings skip the constructor's Python merge scan.
        self.may_merge = may_merge
        self.merged: dict[int, int] = {}  # id(mapping node) -> pairs that came from merge keys

    def build(self, node: yaml.Node, path: FieldPath, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooLargeError(f"document has more than {MAX_NODES} nodes (alias expansion?)")
        if depth > MAX_DEPTH:
            raise _TooLargeError(f"document nests deeper than {MAX_DEPTH} levels")
        positions = self.doc.positions
        if path not in positions:
            mark = node.start_mark
            positions[path] = (mark.line + 1, mark.column + 1)
        if type(node) is yaml.ScalarNode:
            value = self._scalar(node, path)
            if value is True or value is False:
                self.booleans.append(path)
            return value
        if node.tag not in _PLAIN_TAGS:
            # Scalars with unknown tags fail in the safe constructor; collections would not.
            raise _LocatedError(path, f"unsupported YAML tag {node.tag!r}; remove it")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        return [
            self.build(item, (*path, index), depth + 1) for index, item in enumerate(node.value)
        ]

    def _mapping(self, node: yaml.MappingNode, path: FieldPath, depth: int) -> dict[str, Any]:
        positions = self.doc.positions
        out: dict[str, Any] = {}
        merged = self._merge(node) if self.may_merge else 0
        explicit: set[str] | None = set() if merged else None  # else `out` holds the same keys
        leaf_depth_ok = depth + 1 <= MAX_DEPTH
        for index, (key_node, value_node) in enumerate(node.value):
            if type(key_node) is not yaml.ScalarNode:
                key = self.build(key_node, (*path, "<key>"), depth + 1)
                positions.pop((*path, "<key>"), None)
                if isinstance(key, list | dict):
                    raise _LocatedError(path, "mapping keys must be scalars")
            elif key_node.tag == _STR_TAG:  # nearly every key: no path of its own
                self.nodes += 1
                key = key_node.value
            else:
                self.nodes += 1
                try:
                    key = self._scalar(key_node, path)
                except _LocatedError as exc:
                    at = key_node.start_mark
                    positions[(*path, "<key>")] = (at.line + 1, at.column + 1)
                    raise _LocatedError((*path, "<key>"), exc.message) from None
            key_text = key if isinstance(key, str) else str(key)
            child = (*path, key_text)
            km = key_node.start_mark
            positions[child] = (km.line + 1, km.column + 1)
            if explicit is None:
                if key_text in out:
                    raise _LocatedError(child, f"duplicate key {key_text!r}")
            elif index >= merged:  # a key written here (merged ones may be overridden)
                if key_text in explicit:
                    raise _LocatedError(child, f"duplicate key {key_text!r}")
                explicit.add(key_text)
            if (
                type(value_node) is yaml.ScalarNode
                and value_node.tag == _STR_TAG
                and leaf_depth_ok
                and self.nodes < MAX_NODES
            ):
                # What build() does for a string, inlined for the commonest value; the
                # child's position is its key's, recorded above.
                self.nodes += 1
                out[key_text] = value_node.value
            else:
                out[key_text] = self.build(value_node, child, depth + 1)
        return out

    def _merge(self, node: yaml.MappingNode) -> int:
        """Expand ``<<`` merge keys in place; return how many leading pairs came from them.

        The constructor puts merged pairs first, and keys written in the mapping override them
        (as YAML's merge type says); an aliased mapping is flattened once and remembered.
        """
        known = self.merged.get(id(node))
        if known is not None:
            return known
        written = len(node.value)
        merge_keys = sum(1 for key, _ in node.value if key.tag == _MERGE_TAG)
        self.constructor.flatten_mapping(node)
        merged = len(node.value) - (written - merge_keys)
        self.merged[id(node)] = merged
        return merged

    def _scalar(self, node: yaml.Node, path: FieldPath) -> Any:
        if node.tag == _STR_TAG:
            return node.value  # what the constructor returns, without its cost (most scalars)
        is_int = node.tag == _INT_TAG
        if is_int and len(str(node.value)) > _MAX_INT_TEXT:
            raise _LocatedError(path, _int_range_message(str(node.value)))
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (ValueError, OverflowError, TypeError) as exc:
            # e.g. a timestamp with month 13: the resolver matched, the constructor refused.
            kind = str(node.tag).rsplit(":", 1)[-1]
            raise _LocatedError(path, f"invalid {kind} {_shown(node.value)}: {exc}") from None
        if is_int and isinstance(value, int) and not MIN_INT <= value <= MAX_INT:
            raise _LocatedError(path, _int_range_message(str(node.value)))
        return value


def _int_range_message(text: str) -> str:
    return f"integer {_shown(text)} is out of range: integers must fit in 64 bits"


def _shown(value: object) -> str:
    text = repr(str(value))
    return text if len(text) <= 40 else text[:36] + "...'"


class SyntaxLoadError(LoadError):
    """The text is not YAML at all (as opposed to YAML the tool refuses: tags, bounds)."""


class _TooLargeError(Exception):
    pass


class _LocatedError(Exception):
    def __init__(self, path: FieldPath, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _file_problem(name: str, message: str) -> LoadError:
    return LoadError([Problem(name, 0, 0, "", message)])


def _refuse_special(name: str, mode: int) -> None:
    """Raise unless ``mode`` is a regular file; the message says what it is and what to do."""
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise _file_problem(name, "is a directory, expected a YAML file: pass a .yaml file")
    what = next((text for test, text in _SPECIAL_FILES if test(mode)), "not a regular file")
    raise _file_problem(
        name, f"is {what}, not a regular file: pass a YAML file (copy the input to one first)"
    )


def read_bytes(path: Path) -> bytes:
    """The bytes of a regular file of at most ``MAX_BYTES``; every failure is a LoadError.

    Special files are refused before they are opened (reading a FIFO blocks until a writer
    comes, a device may never end), and the open itself does not block, so a file swapped
    for a FIFO after the ``stat`` is still caught by ``fstat``.
    """
    name = str(path)
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise _file_problem(name, "file not found") from None
    except OSError as exc:
        raise _file_problem(name, f"cannot read: {exc.strerror or exc}") from None
    _refuse_special(name, info.st_mode)
    too_large = _file_problem(name, f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    if info.st_size > MAX_BYTES:
        raise too_large
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        raise _file_problem(name, "file not found") from None
    except OSError as exc:
        raise _file_problem(name, f"cannot read: {exc.strerror or exc}") from None
    try:
        _refuse_special(name, os.fstat(descriptor).st_mode)
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_BYTES:
            chunk = os.read(descriptor, MAX_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise _file_problem(name, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(descriptor)
    if size > MAX_BYTES:
        raise too_large
    return b"".join(chunks)


def read_text(path: Path) -> str:
    """Read a file as UTF-8 with the size cap; every failure becomes a :class:`LoadError`."""
    raw = read_bytes(path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _byte_position(raw, exc.start)
        raise LoadError(
            [Problem(str(path), line, column, "", "file is not valid UTF-8 text")]
        ) from None


def _byte_position(raw: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of the byte at ``offset``."""
    line_start = raw.rfind(b"\n", 0, offset) + 1
    line = raw.count(b"\n", 0, offset) + 1
    column = len(raw[line_start:offset].decode("utf-8", errors="replace")) + 1
    return line, column


def _reader_position(text: str, exc: yaml.reader.ReaderError) -> tuple[int, int]:
    """Where a character the YAML reader refused is: libyaml counts UTF-8 bytes, PyYAML
    counts characters (it says so with ``encoding == "unicode"``)."""
    if exc.encoding == "unicode":
        index = max(0, min(int(exc.position), len(text)))
        return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1
    return _byte_position(text.encode("utf-8", errors="surrogatepass"), int(exc.position))


def parse(text: str, source: str) -> list[Document]:
    """Parse every document in ``text``; raise :class:`LoadError` for malformed YAML."""
    if len(text) > MAX_BYTES:
        raise LoadError([Problem(source, 1, 1, "", f"text is larger than {MAX_BYTES} bytes")])
    loader = _Loader(text)
    may_merge = "<<" in text or "!" in text
    documents: list[Document] = []
    try:
        for node in _compose_all(loader):
            mark = node.start_mark
            doc = Document(source, None, start=(mark.line + 1, mark.column + 1))
            try:
                builder = _Builder(doc, may_merge)
                doc.data = builder.build(node, ())
                doc.booleans = builder.booleans
            except _LocatedError as exc:
                raise LoadError([doc.problem(exc.path, exc.message)]) from None
            except _TooLargeError as exc:
                raise LoadError(
                    [Problem(source, doc.start[0], doc.start[1], "", str(exc))]
                ) from None
            except RecursionError:
                raise LoadError(
                    [Problem(source, doc.start[0], doc.start[1], "", "YAML nests too deeply")]
                ) from None
            documents.append(doc)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or exc.context or "malformed YAML"
        opened = exc.context_mark
        if exc.problem and exc.context and opened is not None and opened.line + 1 != line:
            reason += f" ({exc.context} that starts at line {opened.line + 1})"
        # A constructor error is well-formed YAML the tool refuses (a tag, a bad merge).
        error = LoadError if isinstance(exc, yaml.constructor.ConstructorError) else SyntaxLoadError
        raise error([Problem(source, line, column, "", f"invalid YAML: {reason}")]) from None
    except yaml.reader.ReaderError as exc:
        line, column = _reader_position(text, exc)
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1])
        reason = f"character U+{code:04X} is not allowed in YAML text: remove it"
        raise SyntaxLoadError(
            [Problem(source, line, column, "", f"invalid YAML: {reason}")]
        ) from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "malformed YAML"
        raise SyntaxLoadError([Problem(source, 1, 1, "", f"invalid YAML: {first}")]) from None
    except RecursionError:
        raise LoadError([Problem(source, 1, 1, "", "YAML nests too deeply")]) from None
    finally:
        loader.dispose()
        if len(text) > _RESOLVE_CACHE_TEXT:
            _resolve.cache_clear()
    return documents


def parse_value(text: str, source: str) -> Any:
    """One YAML value given on the command line (``--set path=VALUE``), with every bound.

    An empty text is the empty string; more than one document is refused.
    """
    if not text.strip():
        return ""
    documents = parse(text, source)
    if len(documents) != 1:
        raise LoadError(
            [Problem(source, 1, 1, "", f"expected one YAML value, found {len(documents)}")]
        )
    return documents[0].data


def _compose_all(loader: yaml.SafeLoader) -> Iterator[yaml.Node]:
    while loader.check_node():
        node = loader.get_node()
        if node is not None:
            yield node
