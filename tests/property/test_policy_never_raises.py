"""No input makes the parser raise: arbitrary text, arbitrary JSON, and mutations of valid
policies all give a compiled policy or findings."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.policy import PolicyKind, Request, evaluate, parse_policy

KEYS = [
    "Version",
    "Statement",
    "Id",
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
    "AWS",
    "Federated",
    "StringEquals",
    "ForAnyValue:StringLike",
    "NumericLessThan",
    "Null",
    "IpAddress",
    "aws:SourceIp",
    "x",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(
        [
            "Allow",
            "Deny",
            "2012-10-17",
            "*",
            "iot:Publish",
            "arn:aws:iot:r:1:topic/${iot:ClientId}",
            "10.0.0.0/8",
            "${",
            "true",
        ]
    )
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=30,
)


def check(text: Any) -> None:
    for kind in PolicyKind:
        result = parse_policy(text, kind=kind)
        assert result.ok or result.errors
        if result.policy is not None:
            result.policy.render()
            evaluate(
                [result.policy],
                Request("iot:Publish", "arn:aws:iot:r:1:topic/a", {"aws:SourceIp": "10.0.0.1"}),
            )


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_arbitrary_json(value: Any) -> None:
    check(json.dumps(value))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text(text: str) -> None:
    check(text)


VALID = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "A",
                "Effect": "Allow",
                "Action": ["iot:Publish"],
                "Resource": "arn:aws:iot:r:1:topic/${iot:ClientId}/*",
                "Condition": {
                    "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
                    "ForAnyValue:StringLike": {"k:k": ["a*"]},
                },
            },
            {
                "Effect": "Deny",
                "Principal": {"AWS": "123456789012"},
                "NotAction": "iot:Connect",
                "NotResource": "*",
            },
        ],
    }
)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(VALID) - 1), st.integers(0, 8), st.text(max_size=6))
def test_mutated_valid_policy(start: int, length: int, replacement: str) -> None:
    check(VALID[:start] + replacement + VALID[start + length :])
