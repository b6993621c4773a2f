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
        )
        for item in loaded
    ]
    order = {id(entry): index for index, entry in enumerate(entries)}
    return sorted(entries, key=lambda e: (e.injection_type, e.file, order[id(e)]))


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
