"""``run --set spec.path=value``: change a field of an experiment without editing its file.

Overrides are applied to the documents the hardened parser already built, never by re-parsing
or re-dumping the file: positions of every field the overrides leave alone stay those of the
file, and a problem inside an overridden value names the ``--set`` it came from. The value
itself goes through the same parser as files (no tags, bounded size, depth and integers).
"""

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from operator_chaos.errors import UsageError
from operator_chaos.load import yamlmap
from operator_chaos.load.errors import LoadError
from operator_chaos.load.yamlmap import Document, FieldPath

_EXAMPLE = "use dotted.path=value, e.g. spec.injection.ttl=30s"


@dataclass(frozen=True, slots=True)
class Override:
    """One parsed ``--set`` item."""

    item: str
    path: tuple[str, ...]
    value: Any


def parse(overrides: Sequence[str]) -> list[Override]:
    """Parse every ``dotted.path=value``; raise :class:`UsageError` for the first bad one."""
    return [_parse_one(item) for item in overrides]


def _parse_one(item: str) -> Override:
    path, sep, raw = item.partition("=")
    parts = tuple(part.strip() for part in path.strip().split("."))
    if not sep or not path.strip() or not all(parts):
        raise UsageError(f"--set {_shown(item)}: {_EXAMPLE}")
    try:
        value: Any = yamlmap.parse_value(raw, "--set")
    except yamlmap.SyntaxLoadError:
        value = raw  # not YAML (e.g. "[unclosed", "a: b: c"): the text itself is meant
    except LoadError as exc:
        raise UsageError(f"--set {_shown(item)}: {exc.problems[0].message}") from None
    return Override(item, parts, value)


def apply_to_documents(documents: list[Document], overrides: Sequence[Override]) -> list[Document]:
    """Copies of ``documents`` with every override applied, in order, to each mapping document.

    Documents that are not mappings (or are empty) are returned untouched: validation reports
    them as they are in the file.
    """
    if not overrides:
        return documents
    out = []
    for document in documents:
        if not isinstance(document.data, dict):
            out.append(document)
            continue
        changed = Document(
            document.source,
            copy.deepcopy(document.data),
            dict(document.positions),
            document.start,
            dict(document.overridden),
        )
        for override in overrides:
            where = _set(changed.data, override)
            inside = len(where)
            # What was under ``where`` in the file is gone: its positions and earlier
            # overrides no longer describe anything (``where`` itself keeps its key's place).
            changed.positions = {
                path: place
                for path, place in changed.positions.items()
                if len(path) <= inside or path[:inside] != where
            }
            changed.overridden = {
                path: item for path, item in changed.overridden.items() if path[:inside] != where
            }
            changed.overridden[where] = _shown(override.item)
        out.append(changed)
    return out


def apply(text: str, overrides: list[str], source: str) -> str:
    """Return YAML text with each override set (for tools holding text; the CLI works on
    documents, see :func:`apply_to_documents`). The text must be one mapping document."""
    if not overrides:
        return text
    import yaml

    parsed = parse(overrides)
    try:
        documents = [d for d in yamlmap.parse(text, source) if d.data is not None]
    except LoadError as exc:
        raise UsageError(f"{source}: --set cannot be applied: {exc.problems[0]}") from None
    if len(documents) != 1 or not isinstance(documents[0].data, dict):
        raise UsageError(f"{source}: --set needs a single YAML mapping document")
    (changed,) = apply_to_documents(documents, parsed)
    return yaml.safe_dump(changed.data, sort_keys=False)


def _set(data: dict[str, Any], override: Override) -> FieldPath:
    """Set ``override.value`` in ``data``; return the path it landed at (list indexes as int)."""
    node: Any = data
    where: list[str | int] = []
    item = override.item
    for part in override.path[:-1]:
        if isinstance(node, list):
            index = _index(part, node, item)
            node = node[index]
            where.append(index)
            continue
        if not isinstance(node, dict):
            raise UsageError(f"--set {_shown(item)}: {part!r} is not inside a mapping")
        node = node.setdefault(part, {})
        where.append(part)
    last = override.path[-1]
    value = copy.deepcopy(override.value)
    if isinstance(node, list):
        index = _index(last, node, item)
        node[index] = value
        where.append(index)
    elif isinstance(node, dict):
        node[last] = value
        where.append(last)
    else:
        raise UsageError(f"--set {_shown(item)}: cannot set {last!r} on a scalar")
    return tuple(where)


def _index(part: str, node: list[Any], item: str) -> int:
    if not (part.isascii() and part.isdigit() and len(part) < 10) or int(part) >= len(node):
        raise UsageError(
            f"--set {_shown(item)}: {part!r} is not an index of a {len(node)}-item list"
        )
    return int(part)


def _shown(item: str) -> str:
    """The item as messages quote it: a 5000-character value must not flood the terminal."""
    text = repr(item)
    return text if len(text) <= 80 else text[:76] + "...'"
