"""Expand command-line FILE|DIR arguments into the YAML files they stand for."""

import os
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
    # scandir, not rglob: hidden directories are pruned instead of walked, and an entry's type
    # comes from the directory listing (no stat per file on most file systems).
    pending = [directory]
    while pending:
        current = pending.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue  # unreadable: what rglob did too
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):  # a symlink loop cannot trap the walk
                pending.append(Path(entry.path))
            elif entry.name.endswith(SUFFIXES) and entry.is_file():
                yield Path(entry.path)
