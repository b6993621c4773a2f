"""``run --set spec.path=value``: change a field of an experiment without editing its file."""

from typing import Any

import yaml

from operator_chaos.errors import UsageError


def apply(text: str, overrides: list[str], source: str) -> str:
    """Return the YAML text with each ``dotted.path=value`` set (value parsed as YAML)."""
    if not overrides:
        return text
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise UsageError(f"{source}: --set needs a single YAML mapping document")
    for item in overrides:
        path, sep, raw = item.partition("=")
        if not sep or not path.strip():
            raise UsageError(f"--set {item!r}: use dotted.path=value, e.g. spec.injection.ttl=30s")
        try:
            value: Any = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        _set(data, path.strip(), value, item)
    return yaml.safe_dump(data, sort_keys=False)


def _set(data: dict[str, Any], path: str, value: Any, item: str) -> None:
    node: Any = data
    parts = path.split(".")
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[_index(part, node, item)]
            continue
        if not isinstance(node, dict):
            raise UsageError(f"--set {item!r}: {part!r} is not inside a mapping")
        node = node.setdefault(part, {})
    last = parts[-1]
    if isinstance(node, list):
        node[_index(last, node, item)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise UsageError(f"--set {item!r}: cannot set {last!r} on a scalar")


def _index(part: str, node: list[Any], item: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise UsageError(f"--set {item!r}: {part!r} is not an index of a {len(node)}-item list")
    return int(part)
