"""Kubernetes label keys, values and selector strings, checked the way the API server checks them.

Experiments name their targets with selector strings (``app=x,tier!=db``); a typo there would
select nothing, or everything, so selectors are parsed at load time instead of on the cluster.
"""

import re
from dataclasses import dataclass
from enum import StrEnum

from operator_chaos.api.v1alpha1.names import label_key_problem, label_value_problem

__all__ = [
    "Operator",
    "Requirement",
    "SelectorError",
    "label_key_problem",
    "label_value_problem",
    "parse_selector",
]

_INTEGER = re.compile(r"^-?[0-9]+$")
_SPECIAL = frozenset("=!(),<>")
MAX_SELECTOR_LENGTH = 4096


class Operator(StrEnum):
    """Selector operators, spelled as in the selector string."""

    EXISTS = "exists"
    NOT_EXISTS = "!"
    EQUALS = "="
    DOUBLE_EQUALS = "=="
    NOT_EQUALS = "!="
    IN = "in"
    NOT_IN = "notin"
    GREATER_THAN = ">"
    LESS_THAN = "<"

    @property
    def positive(self) -> bool:
        """Whether the requirement narrows the selection to pods that carry the label."""
        return self in {Operator.EXISTS, Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.IN}


@dataclass(frozen=True, slots=True)
class Requirement:
    """One ``key <op> values`` term of a selector."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()


class SelectorError(ValueError):
    """A selector string that the API server would refuse."""


_TOKEN = re.compile(r"==|!=|[=!(),<>]|[^\s=!(),<>]+")
"""A selector's tokens: the two-character operators, one special character, or a run of
anything else up to whitespace or a special character (whitespace only separates)."""


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.pos += 1
        return token

    def fail(self, detail: str) -> SelectorError:
        return SelectorError(f"invalid label selector {self.text!r}: {detail}")

    def key(self) -> str:
        token = self.take()
        if token is None or token in _SPECIAL or token in {"==", "!="}:
            raise self.fail(f"expected a label key, found {token or 'the end'!r}")
        problem = label_key_problem(token)
        if problem:
            raise self.fail(problem)
        return token

    def value(self, *, allow_empty: bool) -> str:
        token = self.peek()
        if token is None or token in {",", ")"}:
            if allow_empty:
                return ""
            raise self.fail("expected a value")
        if token in _SPECIAL or token in {"==", "!="}:
            raise self.fail(f"expected a value, found {token!r}")
        self.pos += 1
        problem = label_value_problem(token)
        if problem:
            raise self.fail(problem)
        return token

    def value_set(self) -> tuple[str, ...]:
        if self.take() != "(":
            raise self.fail("'in' and 'notin' need a parenthesised list such as (a,b)")
        values = [self.value(allow_empty=True)]
        while self.peek() == ",":
            self.pos += 1
            values.append(self.value(allow_empty=True))
        if self.take() != ")":
            raise self.fail("missing ')' after the value list")
        return tuple(values)

    def requirement(self) -> Requirement:
        if self.peek() == "!":
            self.pos += 1
            return Requirement(self.key(), Operator.NOT_EXISTS)
        key = self.key()
        token = self.peek()
        if token is None or token == ",":
            return Requirement(key, Operator.EXISTS)
        self.pos += 1
        if token in {"=", "==", "!="}:
            return Requirement(key, Operator(token), (self.value(allow_empty=True),))
        if token in {"in", "notin"}:
            return Requirement(key, Operator(token), self.value_set())
        if token in {">", "<"}:
            number = self.value(allow_empty=False)
            if not _INTEGER.match(number):
                raise self.fail(f"'{token}' needs an integer, got {number!r}")
            return Requirement(key, Operator(token), (number,))
        raise self.fail(f"unexpected {token!r} after key {key!r} (use =, !=, in, notin)")

    def parse(self) -> tuple[Requirement, ...]:
        requirements = [self.requirement()]
        while self.peek() is not None:
            if self.take() != ",":
                raise self.fail("separate requirements with ','")
            requirements.append(self.requirement())
        return tuple(requirements)


def parse_selector(text: str) -> tuple[Requirement, ...]:
    """Parse ``k=v,k2!=v,k3 in (a,b),!k4,k5``; raise :class:`SelectorError` when it is not one."""
    if len(text) > MAX_SELECTOR_LENGTH:
        raise SelectorError(f"label selector is longer than {MAX_SELECTOR_LENGTH} characters")
    if not text.strip():
        raise SelectorError(
            "label selector is empty: it would match every pod; give at least one requirement"
            " such as app=my-operator"
        )
    return _Parser(text).parse()
