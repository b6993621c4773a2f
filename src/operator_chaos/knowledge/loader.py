"""Load and validate knowledge files, reporting every problem as ``file:line:column: path: msg``.

Structure and types come from the pydantic models; the rules that span fields are checked here
on the raw YAML data, so that one run reports type errors and semantic errors together:

- component names are unique, and so is each managed resource (apiVersion, kind, namespace,
  name) within its component;
- kinds are CamelCase and, for the built-in API groups, served by that group/version, with a
  namespace exactly when the kind is namespaced;
- every dependency names a component (or an operator) that exists, and the dependency graph
  has no cycle.

Dependencies may cross files: the reference corpus lets kserve-related components depend on
``kserve-controller-manager`` from ``kserve.yaml``. A name is therefore resolved first in the
file, then in the knowledge files of the same directory (the unit the Go reference loads), by
component name or operator name. Cycles are searched over that whole graph.
"""

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from operator_chaos.knowledge import graph
from operator_chaos.knowledge.kinds import check_kind
from operator_chaos.knowledge.model import OperatorKnowledge
from operator_chaos.load import yamlmap
from operator_chaos.load.errors import LoadError, Problem
from operator_chaos.load.messages import problems_from
from operator_chaos.load.sources import SUFFIXES

YAML_SUFFIXES = SUFFIXES


@dataclass(frozen=True, slots=True)
class LoadedKnowledge:
    """A validated knowledge file with its source, for documentation and error messages."""

    model: OperatorKnowledge
    path: Path
    text: str
    document: yamlmap.Document


@dataclass(frozen=True, slots=True)
class Peer:
    """The names another knowledge file contributes to dependency resolution."""

    source: str
    operator: str | None
    components: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def load_file(path: Path, *, peers: Sequence[Peer] | None = None) -> LoadedKnowledge:
    """Load one knowledge file; ``peers`` defaults to the knowledge files beside it."""
    text = yamlmap.read_text(path)
    if peers is None:
        peers = sibling_peers(path)
    return load_text(text, path, peers=peers)


def load_text(text: str, path: Path, *, peers: Sequence[Peer] = ()) -> LoadedKnowledge:
    """Validate knowledge YAML held in memory (``path`` names it in messages)."""
    documents = yamlmap.parse(text, str(path))
    doc = _single_document(documents, str(path))
    problems = _semantic_problems(doc, peers)
    model: OperatorKnowledge | None = None
    try:
        model = OperatorKnowledge.model_validate(doc.data)
    except ValidationError as exc:
        problems.extend(problems_from(exc, doc, doc.data, OperatorKnowledge))
    if problems or model is None:
        raise LoadError(_ordered(problems))
    return LoadedKnowledge(model=model, path=path, text=text, document=doc)


def load_dir(directory: Path) -> list[LoadedKnowledge]:
    """Load every knowledge file directly in ``directory`` (sorted), resolving across them."""
    files = knowledge_files(directory)
    texts: dict[Path, str] = {}
    problems: list[Problem] = []
    for path in files:
        try:
            texts[path] = yamlmap.read_text(path)
        except LoadError as exc:
            problems.extend(exc.problems)
    peers = {path: _peer_from_text(text, path.name) for path, text in texts.items()}
    loaded: list[LoadedKnowledge] = []
    for path, text in texts.items():
        others = [peer for other, peer in peers.items() if other != path and peer is not None]
        try:
            loaded.append(load_text(text, path, peers=others))
        except LoadError as exc:
            problems.extend(exc.problems)
    if problems:
        raise LoadError(problems)
    return loaded


def knowledge_files(directory: Path) -> list[Path]:
    """The ``*.yaml``/``*.yml`` files directly in ``directory``; refuses a missing or empty one."""
    if not directory.is_dir():
        reason = "is not a directory" if directory.exists() else "directory not found"
        raise LoadError([Problem(str(directory), 0, 0, "", reason)])
    files = sorted(p for p in directory.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())
    if not files:
        raise LoadError([Problem(str(directory), 0, 0, "", "no knowledge files (*.yaml) here")])
    return files


def sibling_peers(path: Path) -> list[Peer]:
    """Peers from the other YAML files in ``path``'s directory (unreadable ones are skipped)."""
    try:
        siblings = sorted(
            p
            for p in path.parent.iterdir()
            if p.suffix in YAML_SUFFIXES and p.is_file() and p.name != path.name
        )
    except OSError:
        return []
    peers: list[Peer] = []
    for sibling in siblings:
        try:
            stat = sibling.stat()
        except OSError:
            continue
        peer = _cached_peer(str(sibling), stat.st_mtime_ns, stat.st_size)
        if peer is not None:
            peers.append(peer)
    return peers


@lru_cache(maxsize=512)
def _cached_peer(path: str, mtime_ns: int, size: int) -> Peer | None:
    """Peers are re-read only when the file changes (validating a directory reads each N times)."""
    try:
        text = yamlmap.read_text(Path(path))
    except LoadError:
        return None
    return _peer_from_text(text, Path(path).name)


def _peer_from_text(text: str, source: str) -> Peer | None:
    """The names a sibling file offers; ``None`` when it does not load as one YAML mapping.

    Siblings go through the same hardened parser as the file itself: a broken or hostile
    sibling must not crash (or slow down) validating its neighbour.
    """
    try:
        documents = yamlmap.parse(text, source)
    except LoadError:
        return None
    if len(documents) != 1:
        return None
    data = documents[0].data
    if not isinstance(data, dict) or "kind" in data:
        return None  # not a knowledge file (e.g. an UpgradePlaybook)
    operator = data.get("operator")
    name = operator.get("name") if isinstance(operator, dict) else None
    components: dict[str, tuple[str, ...]] = {}
    for comp in _dicts(data.get("components")):
        comp_name = comp.get("name")
        if isinstance(comp_name, str):
            deps = comp.get("dependencies")
            dep_names = (
                tuple(d for d in deps if isinstance(d, str)) if isinstance(deps, list) else ()
            )
            components[comp_name] = components.get(comp_name, ()) + dep_names
    return Peer(source, name if isinstance(name, str) else None, components)


def _ordered(problems: Iterable[Problem]) -> list[Problem]:
    """Problems without duplicates, in file order (line, column, field)."""
    unique = {(p.line, p.column, p.field, p.message): p for p in problems}
    return [unique[key] for key in sorted(unique)]


def _single_document(documents: list[yamlmap.Document], source: str) -> yamlmap.Document:
    if not documents or documents[0].data is None:
        raise LoadError([Problem(source, 1, 1, "", "file is empty: expected a knowledge model")])
    if len(documents) > 1:
        extra = documents[1]
        raise LoadError(
            [
                Problem(
                    source,
                    extra.start[0],
                    extra.start[1],
                    "",
                    f"expected one YAML document, found {len(documents)}:"
                    " use one file per operator",
                )
            ]
        )
    doc = documents[0]
    if not isinstance(doc.data, dict):
        raise LoadError(
            [doc.problem((), "a knowledge file must be a mapping (operator, components, recovery)")]
        )
    kind = doc.data.get("kind")
    if kind == "UpgradePlaybook":
        raise LoadError(
            [
                doc.problem(
                    ("kind",),
                    "this is an UpgradePlaybook, not a knowledge model; load it as a playbook",
                )
            ]
        )
    return doc


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _indexed_dicts(value: Any) -> list[tuple[int, dict[str, Any]]]:
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _semantic_problems(doc: yamlmap.Document, peers: Sequence[Peer]) -> list[Problem]:
    data: dict[str, Any] = doc.data
    problems: list[Problem] = []
    components = _indexed_dicts(data.get("components"))
    first_seen: dict[str, int] = {}
    for i, comp in components:
        name = comp.get("name")
        if not isinstance(name, str):
            continue
        if name in first_seen:
            line = doc.position(("components", first_seen[name], "name"))[0]
            problems.append(
                doc.problem(
                    ("components", i, "name"),
                    f"duplicate component name {name!r} (first defined on line {line})",
                )
            )
        else:
            first_seen[name] = i
        problems.extend(_resource_problems(doc, i, comp))
    problems.extend(_dependency_problems(doc, data, components, peers))
    return problems


def _resource_problems(doc: yamlmap.Document, i: int, comp: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    for j, res in _indexed_dicts(comp.get("managedResources")):
        base = ("components", i, "managedResources", j)
        api_version, kind = res.get("apiVersion"), res.get("kind")
        name, namespace = res.get("name"), res.get("namespace")
        if isinstance(api_version, str) and isinstance(kind, str) and kind:
            info, error = check_kind(api_version, kind)
            if error is not None:
                problems.append(doc.problem((*base, "kind"), error))
            elif info is not None and info.namespaced is True and namespace is None:
                problems.append(
                    doc.problem(
                        (*base, "namespace"),
                        f"{kind} is namespaced: set the namespace it lives in",
                    )
                )
            elif info is not None and info.namespaced is False and namespace is not None:
                problems.append(
                    doc.problem(
                        (*base, "namespace"),
                        f"{kind} is cluster-scoped: remove the namespace",
                    )
                )
        if all(isinstance(v, str) for v in (api_version, kind, name)) and (
            namespace is None or isinstance(namespace, str)
        ):
            key = (str(api_version), str(kind), namespace or "", str(name))
            if key in seen:
                line = doc.position(("components", i, "managedResources", seen[key]))[0]
                where = f"{namespace}/{name}" if namespace else name
                problems.append(
                    doc.problem(
                        base,
                        f"duplicate managed resource {api_version} {kind} {where}"
                        f" (first listed on line {line})",
                    )
                )
            else:
                seen[key] = j
    return problems


def _dependency_problems(
    doc: yamlmap.Document,
    data: dict[str, Any],
    components: list[tuple[int, dict[str, Any]]],
    peers: Sequence[Peer],
) -> list[Problem]:
    local: dict[str, list[tuple[int, str]]] = {}
    where: dict[str, int] = {}
    for i, comp in components:
        name = comp.get("name")
        if isinstance(name, str) and name not in where:
            where[name] = i
            deps = comp.get("dependencies")
            local[name] = [
                (j, d)
                for j, d in enumerate(deps if isinstance(deps, list) else [])
                if isinstance(d, str)
            ]
    operator = data.get("operator")
    own_operator = operator.get("name") if isinstance(operator, dict) else None
    resolver = graph.Resolver(
        local={name: [d for _, d in deps] for name, deps in local.items()},
        local_operator=own_operator if isinstance(own_operator, str) else None,
        peers=[(p.operator, dict(p.components)) for p in peers],
    )
    problems: list[Problem] = []
    for name, deps in local.items():
        for j, dep in deps:
            if not resolver.resolve(dep):
                problems.append(
                    doc.problem(
                        ("components", where[name], "dependencies", j),
                        _unknown_dependency(dep, resolver.known_names(), bool(peers)),
                    )
                )
    for cycle in resolver.cycles():
        start, nxt = cycle[0], cycle[1]
        j = next(j for j, d in local[start] if nxt in resolver.resolve(d))
        problems.append(
            doc.problem(
                ("components", where[start], "dependencies", j),
                "dependency cycle: " + " -> ".join(cycle),
            )
        )
    return problems


def _unknown_dependency(dep: str, known: Iterable[str], with_peers: bool) -> str:
    scope = "this file or the knowledge files beside it" if with_peers else "this file"
    message = f"unknown dependency {dep!r}: no component or operator of {scope} has that name"
    hint = difflib.get_close_matches(dep, sorted(known), n=1)
    return message + (f"; did you mean {hint[0]!r}?" if hint else "")
