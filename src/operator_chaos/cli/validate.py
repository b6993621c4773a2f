"""``operator-chaos validate``: check experiment (or knowledge) files without a cluster.

Imports stay inside the command body: validating one file is on the 250 ms start-up budget,
and only the loader (pydantic + the fault registry) is needed for it.
"""

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from operator_chaos.cli import completion
from operator_chaos.errors import OperatorChaosError
from operator_chaos.exitcodes import ExitStatus


class ValidationFailedError(OperatorChaosError):
    """At least one file had problems (they were already printed)."""

    exit_status = ExitStatus.INVALID


@click.command()
@click.argument(
    "paths",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path),
    shell_complete=completion.experiment_files,
)
@click.option("--knowledge", is_flag=True, help="Validate knowledge models instead of experiments.")
@click.option(
    "--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def validate(paths: tuple[Path, ...], knowledge: bool, output: str) -> None:
    """Validate experiment files, or knowledge models with --knowledge.

    PATHS are files or directories (searched for *.yaml and *.yml). Every problem of every file
    is reported as file:line:column: field: message; the exit code is 3 if there was any.
    """
    from operator_chaos.load.errors import LoadError, Problem
    from operator_chaos.load.sources import expand

    load = _knowledge_loader() if knowledge else _experiment_loader()
    results: list[tuple[Path, list[str], Sequence[Problem]]] = []
    files: dict[Path, None] = {}  # ordered, without repeats
    for argument in paths:
        found = expand([argument])
        if argument.is_dir() and not found:
            problem = Problem(str(argument), 0, 0, "", "no .yaml or .yml files in this directory")
            results.append((argument, [], [problem]))
        files.update(dict.fromkeys(found))
    for path in files:
        try:
            results.append((path, load(path), ()))
        except LoadError as exc:
            results.append((path, [], exc.problems))
    failed = sum(1 for _, _, problems in results if problems)
    if output == "json":
        _print_json(results)
    else:
        for path, names, problems in results:
            for problem in problems:
                click.echo(str(problem))
            if not problems:
                click.echo(f"ok {path} ({', '.join(names)})" if names else f"ok {path}")
    if failed:
        noun = "file" if len(results) == 1 else "files"
        raise ValidationFailedError(f"{failed} of {len(results)} {noun} failed validation")


def _experiment_loader() -> Callable[[Path], list[str]]:
    from operator_chaos.load.experiments import load_file

    def load(path: Path) -> list[str]:
        return [loaded.experiment.metadata.name for loaded in load_file(path)]

    return load


def _knowledge_loader() -> Callable[[Path], list[str]]:
    try:
        from operator_chaos.knowledge.loader import load_file
    except ImportError as exc:  # pragma: no cover - only while the knowledge package is absent
        from operator_chaos.errors import UsageError

        raise UsageError(f"knowledge validation is not available: {exc}") from None

    def load(path: Path) -> list[str]:
        return _names(load_file(path))

    return load


def _names(result: Any) -> list[str]:
    """Best-effort display names of whatever a loader returned (one object or a list)."""
    items = result if isinstance(result, list | tuple) else [result]
    names = []
    for item in items:
        for chain in (("model", "operator", "name"), ("experiment", "metadata", "name"), ("name",)):
            value: Any = item
            for attribute in chain:
                value = getattr(value, attribute, None)
            if isinstance(value, str):
                names.append(value)
                break
    return names


def _print_json(results: Sequence[tuple[Path, list[str], Sequence[Any]]]) -> None:
    import json

    files = [
        {
            "path": str(path),
            "ok": not problems,
            "names": names,
            "problems": [
                {
                    "line": p.line,
                    "column": p.column,
                    "field": p.field,
                    "message": p.message,
                }
                for p in problems
            ],
        }
        for path, names, problems in results
    ]
    summary = {"ok": all(entry["ok"] for entry in files), "files": files}
    click.echo(json.dumps(summary, indent=2))
