"""What the pages are generated from: loaded experiments with their effective danger.

Every YAML file under the experiments directory (recursively) is loaded with the experiment
loader, so a page is never generated from an experiment that would not validate. Entries are
sorted by injection type (byte order, as ``sort.Strings`` does in the Go reference), then by
file path relative to the directory, then by document order.
"""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from operator_chaos.api.v1alpha1 import ChaosExperiment, DangerLevel
from operator_chaos.docgen.markdown import collapse
from operator_chaos.errors import UsageError
from operator_chaos.injection.registry import effective_danger
from operator_chaos.knowledge.packs import load_experiments
from operator_chaos.load import experiments
from operator_chaos.load.errors import LoadError, Problem
from operator_chaos.load.sources import expand


@dataclass(frozen=True, slots=True)
class ExperimentEntry:
    """One experiment as a page shows it."""

    file: str
    """Path relative to the experiments directory, with '/' separators (the file name when flat)."""
    experiment: ChaosExperiment
    danger: DangerLevel
    yaml: str
    """The experiment's YAML exactly as written (its own document only, for multi-doc files)."""
    source: str = ""
    """The file as the user named it (for messages)."""
    operator_at: tuple[int, int] = (0, 0)
    """Line and column of ``spec.target.operator`` in that file."""

    @property
    def operator(self) -> str:
        """The operator the experiment targets."""
        return self.experiment.spec.target.operator

    @property
    def injection_type(self) -> str:
        """Wire name of the injection type, e.g. ``PodKill``."""
        return self.experiment.spec.injection.type.value

    @property
    def component(self) -> str:
        """The component the experiment targets."""
        return self.experiment.spec.target.component

    @property
    def description(self) -> str:
        """The hypothesis, whitespace-collapsed into one line."""
        return collapse(self.experiment.spec.hypothesis.description)


def collect(directory: Path) -> list[ExperimentEntry]:
    """Load every experiment under ``directory``; raise one error listing all problems."""
    if not directory.is_dir():
        reason = "is not a directory" if directory.exists() else "directory not found"
        raise LoadError([Problem(str(directory), 0, 0, "", reason)])
    files = expand([directory])
    if not files:
        raise LoadError([Problem(str(directory), 0, 0, "", "no experiment files (*.yaml) here")])
    loaded = load_experiments(files)
    starts: dict[Path, list[int]] = {}
    for item in loaded:
        starts.setdefault(item.path, []).append(item.document.start[0])
    entries = [
        ExperimentEntry(
            file=item.path.relative_to(directory).as_posix(),
            experiment=item.experiment,
            danger=effective_danger(item.experiment.spec),
            yaml=_document_text(item, starts[item.path]),
            source=str(item.path),
            operator_at=item.document.position(("spec", "target", "operator")),
        )
        for item in loaded
    ]
    order = {id(entry): index for index, entry in enumerate(entries)}
    return sorted(entries, key=lambda e: (e.injection_type, e.file, order[id(e)]))


def one_operator(
    entries: list[ExperimentEntry], knowledge_operator: str, chosen: str | None = None
) -> tuple[list[ExperimentEntry], list[ExperimentEntry]]:
    """The entries of the one operator a page is about, and the entries left out.

    A page covers one operator. When the experiments target several, the one kept is
    ``chosen`` (``--operator``), else the knowledge model's operator if some target it;
    failing both, nothing is guessed: the error names every file that differs from the
    majority. One operator throughout (even if named unlike the knowledge model) is kept.
    """
    counts = Counter(entry.operator for entry in entries)
    if chosen is not None:
        if entries and chosen not in counts:
            found = ", ".join(sorted(counts))
            raise UsageError(
                f"--operator {chosen!r}: no experiment targets that operator; they target: {found}"
            )
        keep = chosen
    elif len(counts) <= 1:
        return entries, []
    elif knowledge_operator in counts:
        keep = knowledge_operator
    else:
        raise LoadError(_mixed_problems(entries, counts, knowledge_operator))
    kept = [entry for entry in entries if entry.operator == keep]
    return kept, [entry for entry in entries if entry.operator != keep]


def _mixed_problems(
    entries: list[ExperimentEntry], counts: Counter[str], knowledge_operator: str
) -> list[Problem]:
    majority = min(counts, key=lambda name: (-counts[name], name))
    others = counts[majority]
    noun = "experiment targets" if others == 1 else "experiments target"
    return [
        Problem(
            entry.source,
            entry.operator_at[0],
            entry.operator_at[1],
            "spec.target.operator",
            f"{entry.operator!r} is another operator: {others} {noun} {majority!r} and the"
            f" knowledge model is for {knowledge_operator!r}; a page covers one operator:"
            " pass --operator NAME to keep one, or move this file",
        )
        for entry in sorted(entries, key=lambda e: (e.source, e.operator_at))
        if entry.operator != majority
    ]


def _document_text(item: experiments.LoadedExperiment, starts: list[int]) -> str:
    """The source lines of ``item``'s document (the whole file when it holds just one)."""
    if len(starts) == 1:
        return item.text
    lines = item.text.split("\n")
    first = item.document.start[0]
    later = [s for s in starts if s > first]
    end = later[0] - 1 if later else len(lines)
    chunk = lines[first - 1 : end]
    while chunk and chunk[-1].strip() in ("", "---", "..."):
        chunk.pop()
    return "\n".join(chunk) + "\n"


def danger_mix(entries: list[ExperimentEntry]) -> str:
    """``"2 low, 1 medium, 2 high"`` (levels with no experiment are left out)."""
    counts = Counter(entry.danger for entry in entries)
    parts = [f"{counts[level]} {level.value}" for level in DangerLevel if counts[level]]
    return ", ".join(parts)
