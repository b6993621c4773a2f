"""Expand command-line FILE|DIR arguments into the YAML files they stand for."""

from collections.abc import Iterable
from pathlib import Path

SUFFIXES = (".yaml", ".yml")


def expand(arguments: Iterable[Path]) -> list[Path]:
    """Files are kept as given (any suffix); a directory yields its *.yaml/*.yml files, sorted.

    Directories are searched recursively, skipping hidden ones (``.git``, ``.cache``). A path
    that does not exist is kept so that loading it reports "file not found" in order.
    """
    files: list[Path] = []
    seen: set[Path] = set()
    for argument in arguments:
        found = sorted(_walk(argument)) if argument.is_dir() else [argument]
        for path in found:
            if path not in seen:
                seen.add(path)
                files.append(path)
    return files


def _walk(directory: Path) -> Iterable[Path]:
    for path in directory.rglob("*"):
        relative = path.relative_to(directory).parts
        if any(part.startswith(".") for part in relative):
            continue
        if path.suffix in SUFFIXES and path.is_file():
            yield path
