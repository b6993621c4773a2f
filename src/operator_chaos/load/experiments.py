"""Load experiment files: every ChaosExperiment document in a file, or every problem in it."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from operator_chaos.api.v1alpha1 import ChaosExperiment
from operator_chaos.load import overrides as override
from operator_chaos.load import yamlmap
from operator_chaos.load.errors import LoadError, Problem
from operator_chaos.load.validate import check_document


@dataclass(frozen=True, slots=True)
class LoadedExperiment:
    """A validated experiment plus where it came from (for messages, reports and docs)."""

    experiment: ChaosExperiment
    path: Path
    text: str
    document: yamlmap.Document


def load_file(path: Path, overrides: Sequence[str] = ()) -> list[LoadedExperiment]:
    """Every experiment in ``path``; raise :class:`LoadError` with all of the file's problems.

    ``overrides`` are ``--set dotted.path=value`` items, applied to every experiment document
    after parsing (a bad one raises :class:`~operator_chaos.errors.UsageError`).
    """
    text = yamlmap.read_text(path)
    return load_text(text, path, overrides)


def load_text(text: str, path: Path, overrides: Sequence[str] = ()) -> list[LoadedExperiment]:
    """Like :func:`load_file` for text already in memory (``path`` names it in messages)."""
    source = str(path)
    parsed = override.parse(overrides)
    documents = override.apply_to_documents(yamlmap.parse(text, source), parsed)
    loaded: list[LoadedExperiment] = []
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    for document in documents:
        if document.data is None:
            continue  # an empty document, e.g. a trailing '---'
        experiment, found = check_document(document)
        problems += found
        if experiment is None:
            continue
        name = experiment.metadata.name
        if name in first_line:
            problems.append(
                document.problem(
                    ("metadata", "name"),
                    f"experiment {name!r} is already defined at line {first_line[name]};"
                    " give each experiment a unique name",
                )
            )
            continue
        first_line[name] = document.position(("metadata", "name"))[0]
        loaded.append(LoadedExperiment(experiment, path, text, document))
    if not loaded and not problems:
        problems.append(Problem(source, 1, 1, "", "no ChaosExperiment document in the file"))
    if problems:
        raise LoadError(sorted(problems, key=lambda p: (p.line, p.column)))
    return loaded
