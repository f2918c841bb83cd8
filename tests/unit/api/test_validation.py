"""Input validation: AWS's codes and message texts for each kind of constraint.

Requests are encoded by botocore with its own client-side validation off (as a non-Python SDK or a raw
HTTP caller might send them), so the server-side checks are the ones being exercised.
"""

from __future__ import annotations

from typing import Any

import pytest

from bastion.api.errors import AwsError, RequestValidationError
from bastion.api.protocols import parse_request, serialize_error, validate_params
from bastion.api.protocols.validation import render

from .botocore_oracle import botocore_parse, botocore_request

PATTERN = "Member must satisfy regular expression pattern: "
ROLE_PATTERN = PATTERN + "[\\w+=,.@-]+"
TAG_PATTERN = PATTERN + "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*"
USERNAME_PATTERN = PATTERN + "[\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+"
NOT_NULL = "Member must not be null"
DOC = '{"Version":"2012-10-17","Statement":[]}'
HIDDEN = object()


def problem(value: object, path: str, constraint: str) -> str:
    """AWS's text for one violation: ``value`` None prints ``null``, HIDDEN (sensitive) prints nothing."""
    shown = "Value" if value is HIDDEN else "Value null" if value is None else f"Value '{value}'"
    return f"{shown} at '{path}' failed to satisfy constraint: {constraint}"


ENUM = (
    "Member must satisfy enum value set: [USER_SRP_AUTH, REFRESH_TOKEN_AUTH, REFRESH_TOKEN, CUSTOM_AUTH, "
    "ADMIN_NO_SRP_AUTH, USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH, USER_AUTH]"
)

CASES: list[tuple[str, str, dict[str, Any], str, list[str]]] = [
    (
        "iam",
        "CreateRole",
        {"RoleName": "bad name", "AssumeRolePolicyDocument": DOC},
        "ValidationError",
        [problem("bad name", "roleName", ROLE_PATTERN)],
    ),
    (
        "iam",
        "CreateRole",
        {"RoleName": "r" * 65, "AssumeRolePolicyDocument": DOC},
        "ValidationError",
        [problem("r" * 65, "roleName", "Member must have length less than or equal to 64")],
    ),
    (
        "iam",
        "CreateRole",
        {"RoleName": "r", "AssumeRolePolicyDocument": DOC, "MaxSessionDuration": 50000},
        "ValidationError",
        [problem(50000, "maxSessionDuration", "Member must have value less than or equal to 43200")],
    ),
    (
        "iam",
        "CreateRole",
        {"RoleName": "r", "AssumeRolePolicyDocument": DOC, "Tags": [{"Key": "k", "Value": "a,b"}]},
        "ValidationError",
        [problem("a,b", "tags.1.member.value", TAG_PATTERN)],
    ),
    (
        "iam",
        "CreateRole",
        {},
        "ValidationError",
        [problem(None, "assumeRolePolicyDocument", NOT_NULL), problem(None, "roleName", NOT_NULL)],
    ),
    (
        "cognito-idp",
        "DescribeUserPool",
        {},
        "InvalidParameterException",
        [problem(None, "userPoolId", NOT_NULL)],
    ),
    (
        # AWS's own reply to this request (quoted in amazon-cognito-identity-js#388) lists password before
        # username and hides both values: sensitive members.
        "cognito-idp",
        "SignUp",
        {"ClientId": "c1", "Username": "", "Password": ""},
        "InvalidParameterException",
        [
            problem(HIDDEN, "password", PATTERN + "[\\S]+"),
            problem(HIDDEN, "username", "Member must have length greater than or equal to 1"),
            problem(HIDDEN, "username", USERNAME_PATTERN),
        ],
    ),
    (
        "cognito-idp",
        "SignUp",
        {"ClientId": "c1", "Username": "alice", "UserAttributes": [{"Value": "x"}]},
        "InvalidParameterException",
        [problem(None, "userAttributes.1.member.name", NOT_NULL)],
    ),
    (
        "cognito-idp",
        "InitiateAuth",
        {"ClientId": "c1", "AuthFlow": "BOGUS"},
        "InvalidParameterException",
        [problem("BOGUS", "authFlow", ENUM)],
    ),
    (
        "cognito-identity",
        "SetIdentityPoolRoles",
        {"IdentityPoolId": "us-east-1:abc", "Roles": {"admin": "arn:aws:iam::1:role/r"}},
        "InvalidParameterException",
        [
            problem(
                "{admin=arn:aws:iam::1:role/r}",
                "roles",
                "Map keys must satisfy constraint: [" + PATTERN + "(un)?authenticated]",
            )
        ],
    ),
    (
        "cognito-identity",
        "DeleteIdentities",
        {"IdentityIdsToDelete": []},
        "InvalidParameterException",
        [problem("[]", "identityIdsToDelete", "Member must have length greater than or equal to 1")],
    ),
    (
        "cognito-identity",
        "ListIdentityPools",
        {"MaxResults": 0},
        "InvalidParameterException",
        [problem(0, "maxResults", "Member must have value greater than or equal to 1")],
    ),
    (
        "iot",
        "CreatePolicy",
        {"policyName": "bad name", "policyDocument": DOC},
        "InvalidRequestException",
        [problem("bad name", "policyName", ROLE_PATTERN)],
    ),
    (
        "sts",
        "AssumeRoleWithWebIdentity",
        {"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "s", "WebIdentityToken": "t" * 10},
        "ValidationError",
        [problem("s", "roleSessionName", "Member must have length greater than or equal to 2")],
    ),
]


@pytest.mark.parametrize(("service", "operation", "params", "code", "problems"), CASES)
def test_invalid_input_gets_aws_code_and_message(
    service: str, operation: str, params: dict[str, Any], code: str, problems: list[str]
) -> None:
    with pytest.raises(RequestValidationError) as raised:
        parse_request(service, botocore_request(service, operation, params))
    error = raised.value
    noun = "validation error" if len(problems) == 1 else "validation errors"
    assert (error.code, error.status) == (code, 400)
    assert error.message == f"{len(problems)} {noun} detected: " + "; ".join(problems)

    # And the client reads it back as that error.
    parsed = botocore_parse(service, operation, serialize_error(service, error, "r"))
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == error.message
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_valid_unicode_passes_java_unicode_classes() -> None:
    validate_params("cognito-idp", "SignUp", {"ClientId": "c1", "Username": "Zoë-ß@例え.jp", "Password": "x"})
    validate_params(
        "iam",
        "CreateRole",
        {"RoleName": "r", "AssumeRolePolicyDocument": DOC, "Tags": [{"Key": "Ünïcode", "Value": "ok é"}]},
    )


def test_java_word_class_is_ascii_only() -> None:
    # Java's \w is [a-zA-Z_0-9]; Python's would also accept 'é'.
    with pytest.raises(AwsError) as raised:
        validate_params("iam", "GetRole", {"RoleName": "rolé"})
    assert "at 'roleName'" in raised.value.message


def test_length_counts_utf16_units_like_java() -> None:
    # Username allows 128 UTF-16 code units: 64 astral characters fit, 65 do not.
    validate_params("cognito-idp", "SignUp", {"ClientId": "c1", "Username": "😀" * 64})
    with pytest.raises(AwsError) as raised:
        validate_params("cognito-idp", "SignUp", {"ClientId": "c1", "Username": "😀" * 65})
    assert raised.value.message.endswith("Member must have length less than or equal to 128")


def test_unknown_members_are_ignored_and_valid_input_passes() -> None:
    validate_params("iot", "AttachPolicy", {"policyName": "p", "target": "us-east-1:abc", "extra": object()})
    validate_params("sts", "GetCallerIdentity", {})


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        ([1, "a"], "[1, a]"),
        ({"k": "v"}, "{k=v}"),
        (b"ab", "java.nio.HeapByteBuffer[pos=0 lim=2 cap=2]"),
    ],
)
def test_values_render_as_java_prints_them(value: Any, text: str) -> None:
    assert render(value) == text
