"""Load profiles and upgrade playbooks, and resolve what they reference.

Layout (that of the Go reference)::

    <root>/knowledge/<name>.yaml | <root>/knowledge/<name>/       built-in knowledge
    <root>/experiments/<name>/...                                 built-in experiments
    <root>/profiles/<name>/profile.yaml                           a profile pack, optionally
    <root>/profiles/<name>/knowledge/, .../experiments/            with its own files

A profile resolves when its knowledge is found (pack first, then the built-in locations) and
loads, every experiment of the pack (or of ``experiments/<name>/``) loads, and every
component's ``deployment`` is a Deployment that knowledge manages. Experiments aimed at a
component the knowledge does not describe are only warnings: the reference corpus has them
(e.g. ``kserve-controller``), and such an experiment can still run.

A playbook resolves when its knowledge directories and experiment paths exist (relative to the
root; ``knowledge/<pack>/...`` also maps into the pack, where the Go reference moved those
files) and load.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from operator_chaos.knowledge.loader import LoadedKnowledge, load_dir, load_file
from operator_chaos.knowledge.profile import ChaosStep, Profile, UpgradePlaybook
from operator_chaos.load import experiments, yamlmap
from operator_chaos.load.errors import LoadError, Problem
from operator_chaos.load.messages import problems_from
from operator_chaos.load.sources import expand

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class LoadedProfile:
    """A validated ``profile.yaml``."""

    model: Profile
    path: Path
    text: str
    document: yamlmap.Document


@dataclass(frozen=True, slots=True)
class LoadedPlaybook:
    """A validated upgrade playbook."""

    model: UpgradePlaybook
    path: Path
    text: str
    document: yamlmap.Document


@dataclass(frozen=True, slots=True)
class ResolvedProfile:
    """A profile with the knowledge and experiments it stands for."""

    profile: LoadedProfile
    knowledge: list[LoadedKnowledge]
    experiments: list[experiments.LoadedExperiment]
    warnings: list[Problem]


@dataclass(frozen=True, slots=True)
class ResolvedPlaybook:
    """A playbook with its source/target knowledge and the experiments its steps run."""

    playbook: LoadedPlaybook
    source: list[LoadedKnowledge]
    target: list[LoadedKnowledge]
    experiments: list[experiments.LoadedExperiment]


def _load_single(path: Path, model: type[M]) -> tuple[M, str, yamlmap.Document]:
    text = yamlmap.read_text(path)
    documents = yamlmap.parse(text, str(path))
    if len(documents) != 1 or not isinstance(documents[0].data, dict):
        found = "no mapping" if not documents else f"{len(documents)} documents"
        raise LoadError([Problem(str(path), 1, 1, "", f"expected one YAML mapping, found {found}")])
    doc = documents[0]
    try:
        return model.model_validate(doc.data), text, doc
    except ValidationError as exc:
        raise LoadError(problems_from(exc, doc, doc.data, model)) from None


def load_profile(path: Path) -> LoadedProfile:
    """Load and validate a ``profile.yaml``."""
    model, text, doc = _load_single(path, Profile)
    return LoadedProfile(model, path, text, doc)


def load_playbook(path: Path) -> LoadedPlaybook:
    """Load and validate an ``UpgradePlaybook``; step names must be unique."""
    model, text, doc = _load_single(path, UpgradePlaybook)
    problems: list[Problem] = []
    first: dict[str, int] = {}
    for i, step in enumerate(model.upgrade.steps):
        if step.name in first:
            line = doc.position(("upgrade", "steps", first[step.name], "name"))[0]
            problems.append(
                doc.problem(
                    ("upgrade", "steps", i, "name"),
                    f"duplicate step name {step.name!r} (first used on line {line})",
                )
            )
        first.setdefault(step.name, i)
    if problems:
        raise LoadError(problems)
    return LoadedPlaybook(model, path, text, doc)


def pack_of(path: Path) -> Path | None:
    """The ``profiles/<name>`` directory ``path`` sits in, if any."""
    for parent in path.resolve().parents:
        if parent.parent.name == "profiles":
            return parent
    return None


def root_of(path: Path) -> Path:
    """The project root of a file inside a profile pack (else its directory)."""
    pack = pack_of(path)
    return pack.parent.parent if pack is not None else path.resolve().parent


def load_experiments(files: list[Path]) -> list[experiments.LoadedExperiment]:
    """Load experiment files, collecting the problems of all of them into one error."""
    loaded: list[experiments.LoadedExperiment] = []
    problems: list[Problem] = []
    for path in files:
        try:
            loaded.extend(experiments.load_file(path))
        except LoadError as exc:
            problems.extend(exc.problems)
    if problems:
        raise LoadError(problems)
    return loaded


def _profile_knowledge(loaded: LoadedProfile, root: Path) -> list[LoadedKnowledge]:
    name = loaded.model.name
    candidates = [loaded.path.parent / "knowledge", root / "knowledge" / name]
    for directory in candidates:
        if directory.is_dir():
            return load_dir(directory)
    single = root / "knowledge" / f"{name}.yaml"
    if single.is_file():
        return [load_file(single)]
    looked = ", ".join(str(p) for p in [*candidates, single])
    raise LoadError(
        [loaded.document.problem(("name",), f"no knowledge found for it; looked in {looked}")]
    )


def resolve_profile(loaded: LoadedProfile, root: Path | None = None) -> ResolvedProfile:
    """Find and load the profile's knowledge and experiments; raise with every dangling link."""
    root = root if root is not None else root_of(loaded.path)
    doc, profile = loaded.document, loaded.model
    problems: list[Problem] = []
    pack = loaded.path.resolve().parent
    if pack_of(loaded.path) is not None and pack.name != profile.name:
        problems.append(
            doc.problem(("name",), f"does not match its directory {pack.name!r}: rename one")
        )
    knowledge: list[LoadedKnowledge] = []
    try:
        knowledge = _profile_knowledge(loaded, root)
    except LoadError as exc:
        problems.extend(exc.problems)
    exp_dir = next(
        (d for d in (pack / "experiments", root / "experiments" / profile.name) if d.is_dir()),
        None,
    )
    loaded_experiments: list[experiments.LoadedExperiment] = []
    if exp_dir is not None:
        try:
            loaded_experiments = load_experiments(expand([exp_dir]))
        except LoadError as exc:
            problems.extend(exc.problems)
    warnings: list[Problem] = []
    if knowledge:
        problems.extend(_unmanaged_deployments(loaded, knowledge))
        warnings = _unknown_targets(loaded, knowledge, loaded_experiments)
    if problems:
        raise LoadError(problems)
    return ResolvedProfile(loaded, knowledge, loaded_experiments, warnings)


def _unmanaged_deployments(
    loaded: LoadedProfile, knowledge: list[LoadedKnowledge]
) -> list[Problem]:
    deployments = {
        res.name
        for k in knowledge
        for comp in k.model.components
        for res in comp.resources_of_kind("Deployment")
    }
    problems: list[Problem] = []
    for key, comp in sorted(loaded.model.components.items()):
        if comp.deployment and comp.deployment not in deployments:
            problems.append(
                loaded.document.problem(
                    ("components", key, "deployment"),
                    f"Deployment {comp.deployment!r} is not managed by any component of the"
                    " profile's knowledge",
                )
            )
    return problems


def _unknown_targets(
    loaded: LoadedProfile,
    knowledge: list[LoadedKnowledge],
    loaded_experiments: list[experiments.LoadedExperiment],
) -> list[Problem]:
    """Experiments aimed at components the knowledge does not describe (the corpus has some)."""
    components = {comp.name for k in knowledge for comp in k.model.components}
    warnings: list[Problem] = []
    for exp in loaded_experiments:
        target = exp.experiment.spec.target.component
        if target not in components:
            warnings.append(
                exp.document.problem(
                    ("spec", "target", "component"),
                    f"component {target!r} is not described by the knowledge of profile"
                    f" {loaded.model.name!r}",
                )
            )
    return warnings


def _locate(reference: str, root: Path, pack: Path | None) -> Path | None:
    """``reference`` under ``root``, else ``knowledge/<pack>/rest`` as ``<pack>/knowledge/rest``."""
    direct = root / reference
    if direct.exists():
        return direct
    parts = Path(reference).parts
    if pack is not None and len(parts) >= 2 and parts[:2] == ("knowledge", pack.name):
        moved = pack.joinpath("knowledge", *parts[2:])
        if moved.exists():
            return moved
    return None


def resolve_playbook(loaded: LoadedPlaybook, root: Path | None = None) -> ResolvedPlaybook:
    """Load the playbook's source/target knowledge and step experiments; raise on dangling links."""
    root = root if root is not None else root_of(loaded.path)
    pack = pack_of(loaded.path)
    doc, spec = loaded.document, loaded.model.upgrade
    problems: list[Problem] = []
    ends: dict[str, list[LoadedKnowledge]] = {"source": [], "target": []}
    for end in ends:
        ref = getattr(spec, end).knowledge_dir
        found = _locate(ref, root, pack)
        if found is None or not found.is_dir():
            problems.append(
                doc.problem(
                    ("upgrade", end, "knowledgeDir"), f"directory {ref!r} not found under {root}"
                )
            )
            continue
        try:
            ends[end] = load_dir(found)
        except LoadError as exc:
            problems.extend(exc.problems)
    files: list[Path] = []
    for i, step in enumerate(spec.steps):
        if not isinstance(step, ChaosStep):
            continue
        for j, ref in enumerate(step.experiments):
            found = _locate(ref, root, pack)
            if found is None or not found.is_file():
                problems.append(
                    doc.problem(
                        ("upgrade", "steps", i, "experiments", j),
                        f"experiment file {ref!r} not found under {root}",
                    )
                )
            else:
                files.append(found)
    loaded_experiments: list[experiments.LoadedExperiment] = []
    try:
        loaded_experiments = load_experiments(files)
    except LoadError as exc:
        problems.extend(exc.problems)
    if problems:
        raise LoadError(problems)
    return ResolvedPlaybook(loaded, ends["source"], ends["target"], loaded_experiments)
