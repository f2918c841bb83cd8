"""Canonical rendering, and parse -> render -> parse stability on documented examples."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bastion.policy import PolicyKind, parse_policy

from .helpers import IOT, compile_policy

EXAMPLES: list[dict[str, Any]] = [
    # IAM variables page: per-user home directory
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Action": ["s3:ListBucket"],
                "Effect": "Allow",
                "Resource": ["arn:aws:s3:::mybucket"],
                "Condition": {"StringLike": {"s3:prefix": ["${aws:username}/*"]}},
            },
            {
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Effect": "Allow",
                "Resource": ["arn:aws:s3:::mybucket/${aws:username}/*"],
            },
        ],
    },
    # IAM condition operators page: EC2 instance types with IfExists
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "RunInstance",
                "Effect": "Allow",
                "Action": "ec2:RunInstances",
                "Resource": "*",
                "Condition": {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}},
            },
        ],
    },
    # AWS IoT: Cognito identity scoped policy
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iot:Connect",
                "Resource": f"{IOT}:client/${{cognito-identity.amazonaws.com:sub}}",
            },
            {
                "Effect": "Allow",
                "Action": ["iot:Publish", "iot:Receive"],
                "Resource": f"{IOT}:topic/$aws/things/${{iot:ClientId}}/*",
            },
            {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": f"{IOT}:topicfilter/a/+/#"},
            {"Effect": "Deny", "Action": "iot:Receive", "NotResource": f"{IOT}:topic/a${{*}}b${{?}}c${{$}}"},
            {
                "Effect": "Allow",
                "Action": "iot:Connect",
                "Resource": "*",
                "Condition": {
                    "ForAllValues:StringEquals": {"iot:ConnectAttributes": ["PersistentConnect"]},
                    "NumericLessThan": {"x:n": 10},
                    "Bool": {"aws:SecureTransport": True},
                    "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]},
                    "ArnLike": {"aws:SourceArn": "arn:aws:sns:*:*:${aws:username, 'x'}"},
                },
            },
        ],
    },
    # no Version: ${...} is text
    {"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:username}/*"}},
]


@pytest.mark.parametrize("document", EXAMPLES)
def test_parse_render_parse_is_stable(document: dict[str, object]) -> None:
    policy = compile_policy(document)
    rendered = policy.render()
    again = compile_policy(rendered)
    assert again == policy
    assert again.render() == rendered
    assert compile_policy(policy.render(indent=2)) == policy


def test_canonical_form() -> None:
    text = json.dumps(
        {
            "Statement": {
                "Resource": "*",
                "Action": "iot:Connect",
                "Effect": "Allow",
                "Sid": "S1",
                "Condition": {"stringequals": {"AWS:UserName": "bob"}},
            },
            "Id": "policy-1",
            "Version": "2012-10-17",
        }
    )
    policy = compile_policy(text)
    assert policy.render() == (
        '{"Version":"2012-10-17","Id":"policy-1","Statement":[{"Sid":"S1","Effect":"Allow","Action":["iot:Connect"],'
        '"Resource":["*"],"Condition":{"stringequals":{"AWS:UserName":["bob"]}}}]}'
    )


def test_trust_policy_round_trip() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
            },
            {
                "Effect": "Deny",
                "NotPrincipal": {"AWS": ["123456789012", "arn:aws:iam::123456789012:role/R"]},
                "Action": "sts:AssumeRole",
            },
            {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"},
        ],
    }
    policy = compile_policy(document, kind=PolicyKind.TRUST)
    again = parse_policy(policy.render(), kind=PolicyKind.TRUST).policy
    assert again == policy
    assert json.loads(policy.render())["Statement"][1]["NotPrincipal"] == {
        "AWS": ["123456789012", "arn:aws:iam::123456789012:role/R"]
    }


def test_bound_policy_renders_literal_values_escaped() -> None:
    policy = compile_policy(EXAMPLES[2]).bind(
        {"iot:ClientId": "a*b", "cognito-identity.amazonaws.com:sub": "us-east-1:x"}
    )
    rendered = policy.render()
    assert f"{IOT}:topic/$aws/things/a${{*}}b/*" in rendered
    assert f"{IOT}:client/us-east-1:x" in rendered
    assert compile_policy(rendered) == policy


def test_equality_ignores_label_but_not_kind() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"},
    }
    trust = compile_policy(document, kind=PolicyKind.TRUST, label="a")
    assert trust == compile_policy(document, kind=PolicyKind.TRUST, label="b")
    assert hash(trust) == hash(compile_policy(document, kind=PolicyKind.TRUST, label="b"))
    identity = compile_policy(
        {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "a:b", "Resource": "*"}}
    )
    assert identity != trust
    assert identity != "not a policy"
    assert "statements=1" in repr(identity)
