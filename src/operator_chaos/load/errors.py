"""Validation errors a user can act on: ``file:line:column: field.path: message``."""

from collections.abc import Sequence
from dataclasses import dataclass

from operator_chaos.errors import OperatorChaosError
from operator_chaos.exitcodes import ExitStatus


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one file, located as precisely as the YAML allows."""

    path: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class LoadError(OperatorChaosError):
    """A file could not be read or failed validation; carries every problem found in it."""

    exit_status = ExitStatus.INVALID

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("LoadError needs at least one problem")
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def path(self) -> str:
        """The file the (first) problem is in."""
        return self.problems[0].path
