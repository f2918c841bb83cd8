"""Condition operators, against the examples and rules of AWS's IAM documentation
("Condition operators", "Conditions with multiple context keys or values", "Variables")."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

import pytest

from bastion.policy import ContextValue, Request, evaluate

from .helpers import condition_allows, statement_policy

# (condition, context, expected)
Case = tuple[dict[str, Any], dict[str, ContextValue], bool]

STRING: list[Case] = [
    # AWS example: the principal must carry the tag job-category=iamuser-admin
    (
        {"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
        {"aws:PrincipalTag/job-category": "iamuser-admin"},
        True,
    ),
    (
        {"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
        {"aws:PrincipalTag/job-category": "other"},
        False,
    ),
    ({"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}, {}, False),  # absent key: false
    ({"StringEquals": {"k:k": "Value"}}, {"k:k": "value"}, False),  # case-sensitive
    ({"StringEquals": {"k:k": "a*"}}, {"k:k": "abc"}, False),  # no wildcards in StringEquals
    ({"StringEquals": {"k:k": "a*"}}, {"k:k": "a*"}, True),
    ({"StringEquals": {"k:k": ["a", "b"]}}, {"k:k": "b"}, True),  # values OR
    ({"StringNotEquals": {"k:k": ["a", "b"]}}, {"k:k": "b"}, False),  # negated values NOR
    ({"StringNotEquals": {"k:k": ["a", "b"]}}, {"k:k": "c"}, True),
    ({"StringNotEquals": {"k:k": "a"}}, {}, True),  # negated, absent key: true
    ({"StringEqualsIgnoreCase": {"k:k": "VaLuE"}}, {"k:k": "value"}, True),
    ({"StringNotEqualsIgnoreCase": {"k:k": "VaLuE"}}, {"k:k": "VALUE"}, False),
    ({"StringLike": {"k:k": "t?.*"}}, {"k:k": "t2.micro"}, True),
    ({"StringLike": {"k:k": "t?.*"}}, {"k:k": "m3.large"}, False),
    ({"StringNotLike": {"k:k": "t?.*"}}, {"k:k": "m3.large"}, True),
    ({"StringNotLike": {"k:k": "t?.*"}}, {}, True),
    ({"StringLike": {"k:k": ""}}, {"k:k": ""}, True),
    # condition keys are case-insensitive
    ({"StringEquals": {"AWS:SourceVpc": "vpc-1"}}, {"aws:sourcevpc": "vpc-1"}, True),
    # non-string context values compare by their text
    ({"StringEquals": {"k:k": "10"}}, {"k:k": 10}, True),
    ({"StringEquals": {"k:k": True}}, {"k:k": "true"}, True),
]

NUMERIC: list[Case] = [
    # AWS example: list at most 10 keys
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, True),
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "11"}, False),
    ({"NumericLessThanEquals": {"s3:max-keys": 10}}, {"s3:max-keys": 9}, True),
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {}, False),
    ({"NumericLessThan": {"k:k": "10"}}, {"k:k": "10"}, False),
    ({"NumericGreaterThan": {"k:k": "1.5"}}, {"k:k": "1.50001"}, True),
    ({"NumericGreaterThanEquals": {"k:k": "-3"}}, {"k:k": -3}, True),
    ({"NumericEquals": {"k:k": "1.0"}}, {"k:k": "1"}, True),
    ({"NumericEquals": {"k:k": "1e3"}}, {"k:k": 1000.0}, True),
    ({"NumericEquals": {"k:k": "10"}}, {"k:k": "abc"}, False),  # unreadable request value
    ({"NumericNotEquals": {"k:k": "10"}}, {"k:k": "abc"}, True),
    ({"NumericNotEquals": {"k:k": ["1", "2"]}}, {"k:k": "2"}, False),
    ({"NumericNotEquals": {"k:k": "1"}}, {}, True),
    ({"NumericEquals": {"k:k": "1"}}, {"k:k": True}, False),  # a boolean is not a number
]

EPOCH_2021 = 1609459200  # 2021-01-01T00:00:00Z

DATE: list[Case] = [
    # AWS example: credentials issued after 2020-01-01T00:00:01Z
    (
        {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}},
        {"aws:TokenIssueTime": "2020-06-01T00:00:00Z"},
        True,
    ),
    (
        {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}},
        {"aws:TokenIssueTime": "2019-12-31T23:59:59Z"},
        False,
    ),
    ({"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}, {}, False),
    (
        {"DateLessThan": {"aws:CurrentTime": "2021-01-01"}},
        {"aws:CurrentTime": dt.datetime(2020, 12, 31, 23, tzinfo=dt.UTC)},
        True,
    ),
    ({"DateEquals": {"aws:EpochTime": str(EPOCH_2021)}}, {"aws:EpochTime": EPOCH_2021}, True),
    ({"DateEquals": {"aws:CurrentTime": "2021-01-01T00:00:00Z"}}, {"aws:CurrentTime": str(EPOCH_2021)}, True),
    ({"DateEquals": {"aws:CurrentTime": "2021-01-01T01:00:00+01:00"}}, {"aws:CurrentTime": EPOCH_2021}, True),
    ({"DateLessThanEquals": {"aws:CurrentTime": "2021"}}, {"aws:CurrentTime": EPOCH_2021}, True),
    ({"DateGreaterThanEquals": {"aws:CurrentTime": "2021-02"}}, {"aws:CurrentTime": EPOCH_2021}, False),
    ({"DateNotEquals": {"aws:CurrentTime": "2021-01-01T00:00:00Z"}}, {"aws:CurrentTime": "garbage"}, True),
    ({"DateNotEquals": {"aws:CurrentTime": "2021-01-01T00:00:00Z"}}, {}, True),
]

BOOL_BINARY: list[Case] = [
    ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": False}, True),
    ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}, False),
    ({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "TRUE"}, True),
    ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "yes"}, False),
    ({"Bool": {"aws:SecureTransport": "true"}}, {}, False),
    # AWS example value: base64 of "BinaryValueInBase64"
    ({"BinaryEquals": {"k:k": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}, {"k:k": b"BinaryValueInBase64"}, True),
    ({"BinaryEquals": {"k:k": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}, {"k:k": b"other"}, False),
    (
        {"BinaryEquals": {"k:k": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}},
        {"k:k": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="},
        True,
    ),
]

IP: list[Case] = [
    # AWS examples: 203.0.113.0/24, and IPv4 mixed with 2001:DB8:1234:5678::/64
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.77"}, True),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.114.1"}, False),
    (
        {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}},
        {"aws:SourceIp": "2001:db8:1234:5678::9"},
        True,
    ),
    (
        {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}},
        {"aws:SourceIp": "2001:db8:1234:5679::9"},
        False,
    ),
    (
        {"IpAddress": {"aws:SourceIp": "203.0.113.7"}},
        {"aws:SourceIp": "203.0.113.7"},
        True,
    ),  # bare address = /32
    ({"IpAddress": {"aws:SourceIp": "203.0.113.7"}}, {"aws:SourceIp": "203.0.113.8"}, False),
    ({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}, {"aws:SourceIp": "::1"}, False),  # versions never mix
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "::ffff:10.1.2.3"}, True),  # IPv4-mapped
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": ipaddress.ip_address("10.9.9.9")}, True),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "010.1.2.3"}, False),  # ambiguous octal
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "not-an-ip"}, False),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {}, False),
    ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "11.0.0.1"}, True),
    ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "10.0.0.1"}, False),
    ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {}, True),
]

SNS = "arn:aws:sns:us-east-2:123456789012:topic-1"
# AWS's example of a value where StringLike and ArnLike disagree
CROSSING = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
ARN: list[Case] = [
    ({"ArnEquals": {"aws:SourceArn": SNS}}, {"aws:SourceArn": SNS}, True),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}}, {"aws:SourceArn": SNS}, True),
    (
        {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}},
        {"aws:SourceArn": SNS},
        True,
    ),  # same as ArnLike
    ({"ArnLike": {"aws:SourceArn": "arn:aws:sns:us-east-?:*:topic-1"}}, {"aws:SourceArn": SNS}, True),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}}, {"aws:SourceArn": "not-an-arn"}, False),
    # AWS's own example: a `*` cannot run across the colons of the first five components
    (
        {"ArnLike": {"aws:SourceArn": "arn:aws:someservice:*:111122223333:finance/*"}},
        {"aws:SourceArn": CROSSING},
        False,
    ),
    (
        {"StringLike": {"aws:SourceArn": "arn:aws:someservice:*:111122223333:finance/*"}},
        {"aws:SourceArn": CROSSING},
        True,
    ),
    # the resource component (after the fifth colon) may itself contain colons
    (
        {"ArnLike": {"k:k": "arn:aws:iot:*:*:client/us-east-1:*"}},
        {"k:k": "arn:aws:iot:r:1:client/us-east-1:abc"},
        True,
    ),
    ({"ArnNotLike": {"aws:SourceArn": "arn:aws:sns:*:*:*"}}, {"aws:SourceArn": SNS}, False),
    ({"ArnNotEquals": {"aws:SourceArn": "arn:aws:sqs:*:*:*"}}, {"aws:SourceArn": SNS}, True),
    ({"ArnNotLike": {"aws:SourceArn": "arn:aws:sns:*:*:*"}}, {}, True),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:sns:*"}}, {"aws:SourceArn": SNS}, False),  # not six components
]

IF_EXISTS_NULL: list[Case] = [
    # AWS example: StringLikeIfExists on ec2:InstanceType
    ({"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}, {}, True),
    (
        {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}},
        {"ec2:InstanceType": "t2.micro"},
        True,
    ),
    (
        {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}},
        {"ec2:InstanceType": "m4.large"},
        False,
    ),
    ({"StringNotEqualsIfExists": {"k:k": "a"}}, {"k:k": "a"}, False),
    ({"NumericLessThanIfExists": {"k:k": "3"}}, {}, True),
    ({"IpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}}, {}, True),
    ({"BoolIfExists": {"k:k": "true"}}, {"k:k": False}, False),
    ({"stringequalsifexists": {"k:k": "a"}}, {"k:k": "a"}, True),  # operator names are case-insensitive
    # AWS example: Null true = the key must be absent (not using temporary credentials)
    ({"Null": {"aws:TokenIssueTime": "true"}}, {}, True),
    ({"Null": {"aws:TokenIssueTime": "true"}}, {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}, False),
    ({"Null": {"aws:TokenIssueTime": False}}, {"aws:TokenIssueTime": "x"}, True),
    ({"Null": {"aws:TokenIssueTime": "false"}}, {}, False),
    ({"Null": {"k:k": "true"}}, {"k:k": []}, True),  # an empty list is no value
]

ATTRIBUTES = ["PostDateTime", "Message", "Tags"]
SETS: list[Case] = [
    # AWS example: ForAllValues:StringLike on dynamodb:requestedAttributes
    (
        {"ForAllValues:StringLike": {"dynamodb:requestedAttributes": ATTRIBUTES}},
        {"dynamodb:requestedAttributes": ["PostDateTime", "Message"]},
        True,
    ),
    (
        {"ForAllValues:StringLike": {"dynamodb:requestedAttributes": ATTRIBUTES}},
        {"dynamodb:requestedAttributes": ["PostDateTime", "UserName"]},
        False,
    ),
    ({"ForAllValues:StringLike": {"dynamodb:requestedAttributes": ATTRIBUTES}}, {}, True),  # empty set: true
    (
        {"ForAllValues:StringLike": {"dynamodb:requestedAttributes": ATTRIBUTES}},
        {"dynamodb:requestedAttributes": []},
        True,
    ),
    # AWS example: ForAnyValue:StringLike denies updates of ID or PostDateTime
    (
        {"ForAnyValue:StringLike": {"dynamodb:requestedAttributes": ["ID", "PostDateTime"]}},
        {"dynamodb:requestedAttributes": ["UserName", "Message", "PostDateTime"]},
        True,
    ),
    (
        {"ForAnyValue:StringLike": {"dynamodb:requestedAttributes": ["ID", "PostDateTime"]}},
        {"dynamodb:requestedAttributes": ["UserName"]},
        False,
    ),
    (
        {"ForAnyValue:StringLike": {"dynamodb:requestedAttributes": ["ID", "PostDateTime"]}},
        {},
        False,
    ),  # empty set: false
    ({"ForAnyValue:StringEqualsIfExists": {"k:k": "a"}}, {}, True),
    ({"ForAnyValue:StringNotEquals": {"k:k": ["a", "b"]}}, {"k:k": ["a", "c"]}, True),  # some value outside
    ({"ForAnyValue:StringNotEquals": {"k:k": ["a", "b"]}}, {"k:k": ["a", "b"]}, False),
    ({"ForAnyValue:StringNotEquals": {"k:k": ["a", "b"]}}, {}, False),
    ({"ForAllValues:StringNotEquals": {"k:k": ["a", "b"]}}, {"k:k": ["c", "d"]}, True),
    ({"ForAllValues:StringNotEquals": {"k:k": ["a", "b"]}}, {"k:k": ["c", "a"]}, False),
    # AWS IoT: iot:ConnectAttributes
    (
        {"ForAllValues:StringEquals": {"iot:ConnectAttributes": ["PersistentConnect"]}},
        {"iot:ConnectAttributes": ["PersistentConnect"]},
        True,
    ),
    (
        {"ForAllValues:StringEquals": {"iot:ConnectAttributes": ["PersistentConnect"]}},
        {"iot:ConnectAttributes": []},
        True,
    ),
    (
        {"ForAllValues:StringEquals": {"iot:ConnectAttributes": ["PersistentConnect"]}},
        {"iot:ConnectAttributes": ["PersistentConnect", "LastWill"]},
        False,
    ),
    (
        {"ForAllValues:StringNotEquals": {"iot:ConnectAttributes": ["PersistentConnect"]}},
        {"iot:ConnectAttributes": ["PersistentConnect"]},
        False,
    ),
    (
        {"ForAllValues:StringNotEquals": {"iot:ConnectAttributes": ["PersistentConnect"]}},
        {"iot:ConnectAttributes": ["LastWill"]},
        True,
    ),
    # a multi-valued key under a plain operator: positive = any value matches, negated = none does
    ({"StringEquals": {"k:k": "a"}}, {"k:k": ["b", "a"]}, True),
    ({"StringNotEquals": {"k:k": "a"}}, {"k:k": ["b", "a"]}, False),
    ({"StringNotEquals": {"k:k": "a"}}, {"k:k": ["b", "c"]}, True),
]

VARIABLES: list[Case] = [
    ({"StringEquals": {"k:k": "${aws:username}"}}, {"k:k": "bob", "aws:username": "bob"}, True),
    ({"StringEquals": {"k:k": "${aws:username}"}}, {"k:k": "bob", "aws:username": "eve"}, False),
    (
        {"StringEquals": {"k:k": "${aws:username}"}},
        {"k:k": "${aws:username}"},
        False,
    ),  # unresolvable: no match
    ({"StringEquals": {"k:k": ["${aws:username}", "x"]}}, {"k:k": "x"}, True),  # only that value drops out
    ({"StringEquals": {"k:k": "${aws:userid, 'anonymous'}"}}, {"k:k": "anonymous"}, True),
    ({"StringNotEquals": {"k:k": "${aws:username}"}}, {"k:k": "bob"}, True),
    (
        {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}},
        {"s3:prefix": "home/David/", "aws:username": "David"},
        True,
    ),
    (
        {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}},
        {"s3:prefix": "home/Bob/", "aws:username": "David"},
        False,
    ),
    ({"StringLike": {"s3:prefix": "${aws:username}/*"}}, {"s3:prefix": "a*/x", "aws:username": "a*"}, True),
    (
        {"StringLike": {"s3:prefix": "${aws:username}/*"}},
        {"s3:prefix": "ab/x", "aws:username": "a*"},
        False,
    ),  # values are literal
    ({"StringLike": {"k:k": "a${*}"}}, {"k:k": "a*"}, True),
    ({"StringLike": {"k:k": "a${*}"}}, {"k:k": "ab"}, False),
    ({"StringEqualsIgnoreCase": {"k:k": "${aws:username}"}}, {"k:k": "BOB", "aws:username": "bob"}, True),
    (
        {"ArnLike": {"aws:SourceArn": "arn:aws:iot:*:*:client/${iot:ClientId}"}},
        {"aws:SourceArn": "arn:aws:iot:r:1:client/c1", "iot:ClientId": "c1"},
        True,
    ),
    # multi-valued keys cannot be variables
    ({"StringEquals": {"k:k": "${k:multi}"}}, {"k:k": "a", "k:multi": ["a"]}, False),
    # numbers and booleans used as variable values take their text form
    ({"StringEquals": {"k:k": "${k:n}"}}, {"k:k": "5", "k:n": 5}, True),
]

MULTIPLE: list[Case] = [
    # operators AND, keys AND
    ({"StringEquals": {"k:a": "1", "k:b": "2"}}, {"k:a": "1", "k:b": "2"}, True),
    ({"StringEquals": {"k:a": "1", "k:b": "2"}}, {"k:a": "1", "k:b": "3"}, False),
    ({"StringEquals": {"k:a": "1"}, "Bool": {"k:c": "true"}}, {"k:a": "1", "k:c": True}, True),
    ({"StringEquals": {"k:a": "1"}, "Bool": {"k:c": "true"}}, {"k:a": "1", "k:c": False}, False),
    ({}, {}, True),  # an empty Condition block is no condition
]


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    STRING + NUMERIC + DATE + BOOL_BINARY + IP + ARN + IF_EXISTS_NULL + SETS + VARIABLES + MULTIPLE,
)
def test_condition(condition: dict[str, Any], context: dict[str, ContextValue], expected: bool) -> None:
    assert condition_allows(condition, context) is expected


def test_variables_are_literal_in_2008_conditions() -> None:
    policy = statement_policy(
        {
            "Effect": "Allow",
            "Action": "a:b",
            "Resource": "*",
            "Condition": {"StringEquals": {"k:k": "${aws:username}"}},
        },
        version="2008-10-17",
    )
    assert evaluate([policy], Request("a:b", "x", {"k:k": "${aws:username}", "aws:username": "bob"})).allowed
    assert not evaluate([policy], Request("a:b", "x", {"k:k": "bob", "aws:username": "bob"})).allowed


def test_unreadable_context_types_never_satisfy_a_positive_condition() -> None:
    for value in ({"a": 1}, object(), None):
        assert not condition_allows({"StringEquals": {"k:k": "a"}}, {"k:k": value})  # type: ignore[dict-item]
        assert not condition_allows({"IpAddress": {"k:k": "10.0.0.0/8"}}, {"k:k": value})  # type: ignore[dict-item]
    assert condition_allows({"StringNotEquals": {"k:k": "a"}}, {"k:k": {"a": 1}})  # type: ignore[dict-item]
