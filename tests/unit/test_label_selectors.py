"""Label selector strings, parsed with the API server's grammar."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from operator_chaos.injection.labels import (
    Operator,
    Requirement,
    SelectorError,
    _tokens,
    label_key_problem,
    label_value_problem,
    parse_selector,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("app=x", [Requirement("app", Operator.EQUALS, ("x",))]),
        ("app==x", [Requirement("app", Operator.DOUBLE_EQUALS, ("x",))]),
        ("app!=x", [Requirement("app", Operator.NOT_EQUALS, ("x",))]),
        ("app", [Requirement("app", Operator.EXISTS)]),
        ("!app", [Requirement("app", Operator.NOT_EXISTS)]),
        ("tier in (a, b)", [Requirement("tier", Operator.IN, ("a", "b"))]),
        ("tier notin (a)", [Requirement("tier", Operator.NOT_IN, ("a",))]),
        ("gen>3", [Requirement("gen", Operator.GREATER_THAN, ("3",))]),
        ("app=", [Requirement("app", Operator.EQUALS, ("",))]),
        (
            "control-plane=controller-manager,app.kubernetes.io/name=training-operator",
            [
                Requirement("control-plane", Operator.EQUALS, ("controller-manager",)),
                Requirement("app.kubernetes.io/name", Operator.EQUALS, ("training-operator",)),
            ],
        ),
        (
            " a = 1 , b in (x,y) , !c ",
            [
                Requirement("a", Operator.EQUALS, ("1",)),
                Requirement("b", Operator.IN, ("x", "y")),
                Requirement("c", Operator.NOT_EXISTS),
            ],
        ),
    ],
)
def test_parse(text: str, expected: list[Requirement]) -> None:
    assert list(parse_selector(text)) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("app=x,", "expected a label key"),
        (",app=x", "expected a label key"),
        ("app in (a,b", "missing ')'"),
        ("app in a", "parenthesised"),
        ("app=x y", "separate requirements"),
        ("app=a b=c", "separate requirements"),
        ("app>x", "integer"),
        ("App_/x=1", "prefix"),
        ("/x=1", "empty prefix"),
        ("app=-bad-", "label value"),
        ("a" * 64 + "=x", "at most 63"),
        ("app ~ x", "unexpected"),
        ("x" * 5000, "longer than"),
    ],
)
def test_refuses(text: str, fragment: str) -> None:
    with pytest.raises(SelectorError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        parse_selector(text)


def test_positive_operators() -> None:
    positive = {op for op in Operator if op.positive}
    assert positive == {Operator.EXISTS, Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.IN}


@pytest.mark.parametrize("key", ["app", "app.kubernetes.io/name", "example.com/a_b.c-d", "A1"])
def test_valid_label_keys(key: str) -> None:
    assert label_key_problem(key) is None


@pytest.mark.parametrize("key", ["", "/a", "a/", "Example.com/a", "-a", "a" * 64])
def test_invalid_label_keys(key: str) -> None:
    assert label_key_problem(key) is not None


def test_label_values() -> None:
    assert label_value_problem("") is None
    assert label_value_problem("v1.2_x") is None
    assert label_value_problem("has space") is not None
    assert label_value_problem("x" * 64) is not None


def _character_loop_tokens(text: str) -> list[str]:
    """The tokenizer as first written, one character at a time: the reference for the regex."""
    special = set("=!(),<>")
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
        elif text.startswith(("==", "!="), pos):
            tokens.append(text[pos : pos + 2])
            pos += 2
        elif text[pos] in special:
            tokens.append(text[pos])
            pos += 1
        else:
            end = pos
            while end < len(text) and not text[end].isspace() and text[end] not in special:
                end += 1
            tokens.append(text[pos:end])
            pos = end
    return tokens


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab.-_/=!(),<> \t\u00a0\u2003\x1c9")), max_size=30))
def test_the_tokenizer_splits_as_the_character_loop_did(text: str) -> None:
    assert _tokens(text) == _character_loop_tokens(text)
