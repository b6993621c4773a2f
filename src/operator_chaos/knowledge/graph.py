"""The component dependency graph: name resolution and cycle search.

Nodes are component names. A dependency edge goes to the named component, or, when the name is
an operator's, to every component of that operator. Only cycles through a component of the
file being validated are reported; each is rotated to start at its smallest local component
so the same cycle always reads the same way.
"""

from collections import deque
from collections.abc import Mapping, Sequence


class Resolver:
    """Resolves dependency names against one file (local) and the files beside it (peers)."""

    def __init__(
        self,
        local: Mapping[str, Sequence[str]],
        local_operator: str | None = None,
        peers: Sequence[tuple[str | None, Mapping[str, Sequence[str]]]] = (),
    ) -> None:
        self.local = local
        self.deps: dict[str, list[str]] = {}
        self.operators: dict[str, set[str]] = {}
        for operator, components in peers:
            for name, deps in components.items():
                self.deps.setdefault(name, []).extend(deps)
            if operator:
                self.operators.setdefault(operator, set()).update(components)
        for name, deps in local.items():
            self.deps[name] = list(deps)  # the file being validated wins over a stale peer
        if local_operator:
            self.operators[local_operator] = set(local)

    def resolve(self, name: str) -> tuple[str, ...]:
        """The components ``name`` stands for; empty when it names nothing known."""
        if name in self.deps:
            return (name,)
        return tuple(sorted(self.operators.get(name, ())))

    def known_names(self) -> set[str]:
        """Every component and operator name a dependency may use."""
        return set(self.deps) | set(self.operators)

    def successors(self, name: str) -> list[str]:
        """Components ``name`` depends on (unknown names dropped), sorted."""
        out: set[str] = set()
        for dep in self.deps.get(name, ()):
            out.update(self.resolve(dep))
        return sorted(out)

    def cycles(self) -> list[list[str]]:
        """Cycles through local components, each as ``[a, b, ..., a]``, deduplicated, sorted."""
        found: set[tuple[str, ...]] = set()
        for start in sorted(self.local):
            path = self._path_back(start)
            if path is not None:
                found.add(self._canonical(path))
        return [list(cycle) for cycle in sorted(found)]

    def _path_back(self, start: str) -> list[str] | None:
        """Shortest path from ``start`` back to itself (breadth first), if any."""
        parent: dict[str, str] = {}
        queue: deque[str] = deque()
        for nxt in self.successors(start):
            if nxt == start:
                return [start, start]
            if nxt not in parent:
                parent[nxt] = start
                queue.append(nxt)
        while queue:
            node = queue.popleft()
            for nxt in self.successors(node):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [*reversed(path), start]
                if nxt not in parent:
                    parent[nxt] = node
                    queue.append(nxt)
        return None

    def _canonical(self, cycle: list[str]) -> tuple[str, ...]:
        nodes = cycle[:-1]
        first = min((n for n in nodes if n in self.local), default=nodes[0])
        k = nodes.index(first)
        rotated = nodes[k:] + nodes[:k]
        return (*rotated, rotated[0])
