"""parse -> render -> parse gives an equal policy, for generated documents that use every
element, wildcard, escape and variable form."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.policy import PolicyKind, parse_policy
from bastion.policy.variables import Pattern

# Text that exercises wildcards, escapes, variables (valid and not) and `$`/`{` adjacency.
fragments = st.sampled_from(
    [
        "a",
        "/",
        "*",
        "?",
        "$",
        "{",
        "}",
        "+",
        "#",
        ":",
        "${*}",
        "${?}",
        "${$}",
        "${aws:username}",
        "${iot:ClientId, 'x'}",
        "${bad",
        "${}",
        "é",
        " ",
    ]
)
pattern_text = st.lists(fragments, max_size=8).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    pattern_text,
    st.booleans(),
    st.booleans(),
    st.dictionaries(st.sampled_from(["aws:username", "iot:clientid"]), pattern_text),
)
def test_pattern_render_round_trip(
    text: str, wildcards: bool, variables: bool, bindings: dict[str, str]
) -> None:
    pattern = Pattern.parse(text, wildcards=wildcards, variables=variables)
    for candidate in (pattern, pattern.bind(bindings)):
        again = Pattern.parse(candidate.render(), wildcards=wildcards, variables=variables)
        assert again == candidate


resources = st.builds(lambda tail: "arn:aws:iot:us-east-1:123456789012:" + tail, pattern_text) | st.just("*")
operators = st.sampled_from(
    [
        "StringEquals",
        "StringLike",
        "StringNotLikeIfExists",
        "ForAnyValue:StringEqualsIgnoreCase",
        "ForAllValues:StringNotEquals",
        "ArnLike",
        "NumericLessThan",
        "DateGreaterThan",
        "Bool",
        "IpAddress",
        "Null",
    ]
)
VALUES = {
    "NumericLessThan": st.sampled_from(["10", "-1.5", "3e2"]) | st.integers(-5, 5),
    "DateGreaterThan": st.sampled_from(["2020-01-01T00:00:00Z", "2020-01-01", "1577836800"]),
    "Bool": st.sampled_from(["true", "false", True, False]),
    "IpAddress": st.sampled_from(["10.0.0.0/8", "2001:db8::/32", "1.2.3.4"]),
    "Null": st.sampled_from(["true", "false"]),
}


@st.composite
def documents(draw: st.DrawFn, kind: PolicyKind) -> dict[str, Any]:
    statements = []
    for index in range(draw(st.integers(1, 3))):
        statement: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Deny"]))}
        if draw(st.booleans()):
            statement["Sid"] = f"S{index}"
        statement[draw(st.sampled_from(["Action", "NotAction"]))] = draw(
            st.lists(
                st.sampled_from(["iot:Publish", "iot:*", "*", "sts:AssumeRole", "IOT:Get?hing*"]),
                min_size=1,
                max_size=3,
            )
        )
        if kind is PolicyKind.IDENTITY:
            statement[draw(st.sampled_from(["Resource", "NotResource"]))] = draw(
                st.lists(resources, min_size=1, max_size=3)
            )
        else:
            statement[draw(st.sampled_from(["Principal", "NotPrincipal"]))] = draw(
                st.just("*")
                | st.fixed_dictionaries(
                    {},
                    optional={
                        "AWS": st.lists(
                            st.sampled_from(["*", "123456789012", "arn:aws:iam::123456789012:role/R"]),
                            min_size=1,
                            max_size=2,
                        ),
                        "Federated": st.just("cognito-identity.amazonaws.com"),
                        "Service": st.just("ec2.amazonaws.com"),
                    },
                ).filter(bool)
            )
        conditions: dict[str, dict[str, Any]] = {}
        for operator in draw(st.lists(operators, max_size=3, unique=True)):
            value = VALUES.get(operator, pattern_text)
            key = draw(st.sampled_from(["aws:UserName", "iot:ClientId", "aws:SourceArn"]))
            conditions[operator] = {key: draw(value | st.lists(value, min_size=1, max_size=2))}
        if conditions:
            statement["Condition"] = conditions
        statements.append(statement)
    document: dict[str, Any] = {"Statement": statements}
    version = draw(st.sampled_from(["2012-10-17", "2008-10-17", None]))
    if version:
        document["Version"] = version
    return document


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(list(PolicyKind)).flatmap(lambda kind: st.tuples(st.just(kind), documents(kind))))
def test_document_round_trip(case: tuple[PolicyKind, dict[str, Any]]) -> None:
    kind, document = case
    first = parse_policy(json.dumps(document), kind=kind)
    assert first.policy is not None, first.error_message
    rendered = first.policy.render()
    second = parse_policy(rendered, kind=kind)
    assert second.policy is not None, second.error_message
    assert second.policy == first.policy
    assert second.policy.render() == rendered
