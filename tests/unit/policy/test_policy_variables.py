"""Policy variables inside patterns: parsing, resolution, binding and rendering."""

from __future__ import annotations

import pytest

from bastion.policy.glob import Wild
from bastion.policy.variables import Pattern, Var, text_resolver


def parse(text: str, *, wildcards: bool = True, variables: bool = True) -> Pattern:
    return Pattern.parse(text, wildcards=wildcards, variables=variables)


def test_variable_and_wildcards() -> None:
    pattern = parse("arn:aws:s3:::bucket/${aws:username}/*")
    assert pattern.parts == ("arn:aws:s3:::bucket/", Var("aws:username"), "/", Wild.STAR)
    assert pattern.variable_keys() == {"aws:username"}


def test_variable_keys_are_case_insensitive() -> None:
    assert parse("${AWS:UserName}").parts[0] == Var("AWS:UserName")
    assert parse("${AWS:UserName}").variable_keys() == {"aws:username"}


def test_default_value() -> None:
    assert parse("${aws:userid, 'anonymous'}").parts == (Var("aws:userid", "anonymous"),)
    assert parse("${aws:userid,'anonymous'}").parts == (Var("aws:userid", "anonymous"),)
    assert parse("${aws:userid, ''}").parts == (Var("aws:userid", ""),)


@pytest.mark.parametrize(("text", "literal"), [("${*}", "*"), ("${?}", "?"), ("${$}", "$")])
def test_escapes_are_literal(text: str, literal: str) -> None:
    pattern = parse("a" + text + "b")
    assert pattern.parts == ("a" + literal + "b",)
    assert not pattern.has_wildcards


@pytest.mark.parametrize("text", ["${", "a${b", "${}", "${a b'}", "${a, b}", "${a, 'x'y'}", "${a${b}"])
def test_malformed_variables_stay_literal_and_are_reported(text: str) -> None:
    problems: list[str] = []
    pattern = Pattern.parse(text, wildcards=False, variables=True, problems=problems)
    assert problems
    assert "".join(p for p in pattern.parts if isinstance(p, str)).startswith(text[: text.index("${") + 2])


def test_invalid_then_valid_variable() -> None:
    pattern = parse("${a${b}", wildcards=False)
    assert pattern.parts == ("${a", Var("b"))


def test_without_variables_dollar_brace_is_text() -> None:
    pattern = parse("a/${aws:username}/*", variables=False)
    assert pattern.parts == ("a/${aws:username}/", Wild.STAR)


def test_resolve() -> None:
    pattern = parse("a/${x}/${y, 'dflt'}*")
    values = {"x": "X*"}
    assert pattern.resolve(values.get) == ("a/", "X*", "/", "dflt", Wild.STAR)
    assert parse("${missing}").resolve(values.get) is None
    assert parse("p/${x}").resolve_text(values.get) == "p/X*"


def test_bind_keeps_unknown_variables() -> None:
    pattern = parse("t/${iot:clientid}/${other}").bind({"iot:clientid": "c1"})
    assert pattern.parts == ("t/c1/", Var("other"))
    assert parse("no/vars").bind({"a": "b"}) == parse("no/vars")


def test_bound_values_are_literal() -> None:
    pattern = parse("topic/${iot:ClientId}").bind({"iot:clientid": "*"})
    assert pattern.parts == ("topic/*",)
    assert pattern.render() == "topic/${*}"


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        "a*b?c",
        "${*}${?}${$}",
        "$aws/things/${iot:ClientId}/shadow/*",
        "$${x}",
        "a${$}{b}",
        "${a${b}",
        "${unterminated",
        "${x, 'default value'}",
    ],
)
def test_render_parses_back_to_the_same_pattern(text: str) -> None:
    for wildcards in (True, False):
        for variables in (True, False):
            pattern = parse(text, wildcards=wildcards, variables=variables)
            assert parse(pattern.render(), wildcards=wildcards, variables=variables) == pattern


def test_render_escapes_dollar_before_brace_from_bound_text() -> None:
    pattern = parse("a$${x}").bind({"x": "{y}"})
    assert pattern.parts == ("a${y}",)
    assert parse(pattern.render()) == pattern


def test_text_resolver_shapes() -> None:
    lookup = {"k": "V"}.get
    assert text_resolver(parse("p/${k}/s", wildcards=False).parts)(lookup) == "p/V/s"
    assert text_resolver(parse("${k}", wildcards=False).parts)(lookup) == "V"
    assert text_resolver(parse("${k}${k}", wildcards=False).parts)(lookup) == "VV"
    assert text_resolver(parse("p/${none}", wildcards=False).parts)(lookup) is None
    assert text_resolver(parse("p/${none, 'd'}", wildcards=False).parts)(lookup) == "p/d"
