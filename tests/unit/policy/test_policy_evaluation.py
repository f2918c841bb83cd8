"""Evaluation: explicit deny > allow > implicit deny, statement matching, the AWS IoT
policy vectors (aws-notes §10), policy variables, binding and intersections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from bastion.policy import (
    Decision,
    Outcome,
    PolicyKind,
    Principal,
    Request,
    StatementRef,
    combine,
    evaluate,
    intersect,
)

from .helpers import IOT, compile_policy, statement_policy

ALLOW_ALL: dict[str, Any] = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def decide(
    policy_statements: Sequence[Mapping[str, Any]], action: str, resource: str, **context: Any
) -> Outcome:
    policy = statement_policy(*policy_statements)
    return evaluate([policy], Request(action, resource, context)).outcome


# --- IAM evaluation logic -------------------------------------------------------------


def test_no_policies_is_implicit_deny() -> None:
    assert evaluate([], Request("s3:GetObject", "arn:aws:s3:::b/k")) == Decision(Outcome.IMPLICIT_DENY)


def test_no_matching_statement_is_implicit_deny() -> None:
    outcome = decide(
        [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}],
        "s3:PutObject",
        "arn:aws:s3:::b/k",
    )
    assert outcome is Outcome.IMPLICIT_DENY


def test_explicit_deny_beats_allow_across_policies() -> None:
    allow = compile_policy({"Version": "2012-10-17", "Statement": ALLOW_ALL}, label="allow-all")
    deny = compile_policy(
        {
            "Version": "2012-10-17",
            "Statement": {"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"},
        },
        label="guard",
    )
    decision = evaluate([allow, deny], Request("s3:DeleteObject", "arn:aws:s3:::b/k"))
    assert decision.outcome is Outcome.EXPLICIT_DENY
    assert decision.explicit_deny and not decision.allowed
    assert decision.deciding == (StatementRef("guard", 0, "NoDelete"),)
    allowed = evaluate([allow, deny], Request("s3:GetObject", "arn:aws:s3:::b/k"))
    assert allowed.allowed and not allowed.explicit_deny
    assert allowed.deciding == (StatementRef("allow-all", 0, None),)


def test_deciding_lists_every_matching_statement() -> None:
    policy = compile_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                {"Sid": "B", "Effect": "Allow", "Action": "s3:Get*", "Resource": "*"},
                {"Sid": "C", "Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
            ],
        },
        label="role/R inline P",
    )
    decision = evaluate([policy], Request("s3:GetObject", "arn:aws:s3:::b/k"))
    assert [str(ref) for ref in decision.deciding] == [
        "role/R inline P Statement[0] (A)",
        "role/R inline P Statement[1] (B)",
    ]
    match = policy.match(Request("s3:GetObject", "x"))
    assert match.outcome is Outcome.ALLOW and len(match.allows) == 2 and not match.denies


def test_not_action_documented_example() -> None:
    # AWS: "Allow" with NotAction iam:* grants everything except IAM.
    statements = [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]
    assert decide(statements, "s3:GetObject", "arn:aws:s3:::b") is Outcome.ALLOW
    assert decide(statements, "iam:CreateUser", "arn:aws:iam::1:user/x") is Outcome.IMPLICIT_DENY
    # Deny with NotAction denies everything else.
    deny_others = [ALLOW_ALL, {"Effect": "Deny", "NotAction": ["iot:*", "sts:*"], "Resource": "*"}]
    assert decide(deny_others, "iot:Publish", "x") is Outcome.ALLOW
    assert decide(deny_others, "s3:GetObject", "x") is Outcome.EXPLICIT_DENY


def test_not_resource() -> None:
    statements = [
        {"Effect": "Allow", "Action": "s3:*", "NotResource": ["arn:aws:s3:::secret", "arn:aws:s3:::secret/*"]}
    ]
    assert decide(statements, "s3:GetObject", "arn:aws:s3:::public/k") is Outcome.ALLOW
    assert decide(statements, "s3:GetObject", "arn:aws:s3:::secret/k") is Outcome.IMPLICIT_DENY


def test_actions_are_case_insensitive_resources_are_not() -> None:
    statements = [{"Effect": "Allow", "Action": "IOT:publish", "Resource": f"{IOT}:topic/Foo"}]
    assert decide(statements, "iot:Publish", f"{IOT}:topic/Foo") is Outcome.ALLOW
    assert decide(statements, "IoT:PUBLISH", f"{IOT}:topic/Foo") is Outcome.ALLOW
    assert decide(statements, "iot:Publish", f"{IOT}:topic/foo") is Outcome.IMPLICIT_DENY


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("iot:Get*", "iot:GetThingShadow", True),
        ("iot:Get*", "iot:UpdateThingShadow", False),
        ("iot:*Shadow", "iot:DeleteThingShadow", True),
        ("iot:?etRetainedMessage", "iot:GetRetainedMessage", True),
        ("*", "anything:AtAll", True),
        ("iot:*", "iotdata:Publish", False),
    ],
)
def test_action_wildcards(pattern: str, action: str, expected: bool) -> None:
    outcome = decide([{"Effect": "Allow", "Action": pattern, "Resource": "*"}], action, "x")
    assert (outcome is Outcome.ALLOW) is expected


def test_version_2008_treats_variables_as_text() -> None:
    statement = {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:username}/*"}
    for version in ("2008-10-17", None):
        policy = statement_policy(statement, version=version)
        assert not evaluate(
            [policy], Request("s3:GetObject", "arn:aws:s3:::b/bob/k", {"aws:username": "bob"})
        ).allowed
        assert evaluate([policy], Request("s3:GetObject", "arn:aws:s3:::b/${aws:username}/k")).allowed
    policy = statement_policy(statement)
    assert evaluate(
        [policy], Request("s3:GetObject", "arn:aws:s3:::b/bob/k", {"aws:username": "bob"})
    ).allowed


def test_unresolvable_variable_drops_only_that_resource() -> None:
    statements = [
        {
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::pub/*"],
        }
    ]
    assert decide(statements, "s3:GetObject", "arn:aws:s3:::b/${aws:username}/k") is Outcome.IMPLICIT_DENY
    assert decide(statements, "s3:GetObject", "arn:aws:s3:::pub/k") is Outcome.ALLOW
    assert (
        decide(statements, "s3:GetObject", "arn:aws:s3:::b/bob/k", **{"aws:username": "bob"}) is Outcome.ALLOW
    )


def test_unresolvable_variable_in_not_resource_excludes_nothing() -> None:
    statements = [{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::b/${aws:username}/*"}]
    assert decide(statements, "s3:GetObject", "arn:aws:s3:::b/bob/k") is Outcome.ALLOW
    assert (
        decide(statements, "s3:GetObject", "arn:aws:s3:::b/bob/k", **{"aws:username": "bob"})
        is Outcome.IMPLICIT_DENY
    )


def test_resource_variable_default() -> None:
    statements = [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:userid, 'anonymous'}/*"}
    ]
    assert decide(statements, "s3:GetObject", "arn:aws:s3:::b/anonymous/k") is Outcome.ALLOW
    assert (
        decide(statements, "s3:GetObject", "arn:aws:s3:::b/AIDA1/k", **{"aws:userid": "AIDA1"})
        is Outcome.ALLOW
    )
    assert (
        decide(statements, "s3:GetObject", "arn:aws:s3:::b/anonymous/k", **{"aws:userid": "AIDA1"})
        is Outcome.IMPLICIT_DENY
    )


def test_special_character_variables_are_literal() -> None:
    statements = [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/a${*}b${?}"}]
    assert decide(statements, "s3:GetObject", "arn:aws:s3:::b/a*b?") is Outcome.ALLOW
    assert decide(statements, "s3:GetObject", "arn:aws:s3:::b/axbc") is Outcome.IMPLICIT_DENY


def test_variable_values_are_literal_in_resources() -> None:
    statements = [{"Effect": "Allow", "Action": "iot:Connect", "Resource": f"{IOT}:client/${{iot:ClientId}}"}]
    assert decide(statements, "iot:Connect", f"{IOT}:client/*", **{"iot:ClientId": "*"}) is Outcome.ALLOW
    assert (
        decide(statements, "iot:Connect", f"{IOT}:client/other", **{"iot:ClientId": "*"})
        is Outcome.IMPLICIT_DENY
    )


# --- AWS IoT policy vectors (aws-notes §10) -----------------------------------------

SUB = "us-east-1:aaaaaaaa-1111-2222-3333-444444444444"


@pytest.mark.parametrize(
    ("statements", "action", "resource", "context", "expected"),
    [
        # `*` eats `#`
        (
            [{"Effect": "Allow", "Action": "iot:Subscribe", "Resource": f"{IOT}:topicfilter/a/*"}],
            "iot:Subscribe",
            f"{IOT}:topicfilter/a/#",
            {},
            Outcome.ALLOW,
        ),
        # `+` is literal
        (
            [{"Effect": "Allow", "Action": "iot:Subscribe", "Resource": f"{IOT}:topicfilter/a/+"}],
            "iot:Subscribe",
            f"{IOT}:topicfilter/a/b",
            {},
            Outcome.IMPLICIT_DENY,
        ),
        (
            [{"Effect": "Allow", "Action": "iot:Subscribe", "Resource": f"{IOT}:topicfilter/a/+"}],
            "iot:Subscribe",
            f"{IOT}:topicfilter/a/+",
            {},
            Outcome.ALLOW,
        ),
        # `#` is literal
        (
            [{"Effect": "Allow", "Action": "iot:Subscribe", "Resource": f"{IOT}:topicfilter/#"}],
            "iot:Subscribe",
            f"{IOT}:topicfilter/#",
            {},
            Outcome.ALLOW,
        ),
        (
            [{"Effect": "Allow", "Action": "iot:Subscribe", "Resource": f"{IOT}:topicfilter/#"}],
            "iot:Subscribe",
            f"{IOT}:topicfilter/x",
            {},
            Outcome.IMPLICIT_DENY,
        ),
        # a Deny on a topicfilter does not match the broader literal filter
        (
            [
                {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": f"{IOT}:topicfilter/*"},
                {
                    "Effect": "Deny",
                    "Action": "iot:Subscribe",
                    "Resource": f"{IOT}:topicfilter/a/restricted/*",
                },
            ],
            "iot:Subscribe",
            f"{IOT}:topicfilter/a/#",
            {},
            Outcome.ALLOW,
        ),
        # Receive with NotResource (pub-sub-policy example)
        (
            [{"Effect": "Allow", "Action": "iot:Receive", "NotResource": f"{IOT}:topic/a/restricted/*"}],
            "iot:Receive",
            f"{IOT}:topic/a/restricted/x",
            {},
            Outcome.IMPLICIT_DENY,
        ),
        (
            [{"Effect": "Allow", "Action": "iot:Receive", "NotResource": f"{IOT}:topic/a/restricted/*"}],
            "iot:Receive",
            f"{IOT}:topic/a/b",
            {},
            Outcome.ALLOW,
        ),
        # `*` spans `/` and `$`
        (
            [{"Effect": "Allow", "Action": "iot:Publish", "Resource": f"{IOT}:topic/*"}],
            "iot:Publish",
            f"{IOT}:topic/$aws/things/t/shadow/update",
            {},
            Outcome.ALLOW,
        ),
        # `?` is one character, `/` included
        (
            [{"Effect": "Allow", "Action": "iot:Publish", "Resource": f"{IOT}:topic/a?c"}],
            "iot:Publish",
            f"{IOT}:topic/a/c",
            {},
            Outcome.ALLOW,
        ),
        # client id outside the allowed prefix
        (
            [
                {
                    "Effect": "Allow",
                    "Action": "iot:Connect",
                    "Resource": f"{IOT}:client/iotcognito-cp-sampleapp-*",
                }
            ],
            "iot:Connect",
            f"{IOT}:client/mqtt-explorer-42",
            {},
            Outcome.IMPLICIT_DENY,
        ),
        # the Cognito identity id as client id
        (
            [
                {
                    "Effect": "Allow",
                    "Action": "iot:Connect",
                    "Resource": f"{IOT}:client/${{cognito-identity.amazonaws.com:sub}}",
                }
            ],
            "iot:Connect",
            f"{IOT}:client/{SUB}",
            {"cognito-identity.amazonaws.com:sub": SUB},
            Outcome.ALLOW,
        ),
        (
            [
                {
                    "Effect": "Allow",
                    "Action": "iot:Connect",
                    "Resource": f"{IOT}:client/${{cognito-identity.amazonaws.com:sub}}",
                }
            ],
            "iot:Connect",
            f"{IOT}:client/us-east-1:someone-else",
            {"cognito-identity.amazonaws.com:sub": SUB},
            Outcome.IMPLICIT_DENY,
        ),
        # the documented `${iot:ClientId}` pitfall: client id "+" subscribes to my/+/topic
        (
            [
                {
                    "Effect": "Allow",
                    "Action": "iot:Subscribe",
                    "Resource": f"{IOT}:topicfilter/my/${{iot:ClientId}}/topic",
                }
            ],
            "iot:Subscribe",
            f"{IOT}:topicfilter/my/+/topic",
            {"iot:ClientId": "+"},
            Outcome.ALLOW,
        ),
        # case-sensitive resource
        (
            [
                {
                    "Effect": "Allow",
                    "Action": "iot:Publish",
                    "Resource": "arn:aws:iot:us-east-1:123456789012:topic/Foo",
                }
            ],
            "iot:Publish",
            f"{IOT}:topic/foo",
            {},
            Outcome.IMPLICIT_DENY,
        ),
        # case-insensitive action
        (
            [{"Effect": "Allow", "Action": "IOT:publish", "Resource": "*"}],
            "iot:Publish",
            f"{IOT}:topic/foo",
            {},
            Outcome.ALLOW,
        ),
    ],
)
def test_iot_vectors(
    statements: list[dict[str, object]],
    action: str,
    resource: str,
    context: dict[str, object],
    expected: Outcome,
) -> None:
    assert decide(statements, action, resource, **context) is expected


def test_cognito_dual_check_by_intersection() -> None:
    role = compile_policy(
        {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iot:*", "Resource": "*"}},
        label="role",
    )
    iot = compile_policy(
        {
            "Version": "2012-10-17",
            "Statement": {"Effect": "Allow", "Action": "iot:Publish", "Resource": f"{IOT}:topic/device/*"},
        },
        label="iot",
    )
    publish_other = Request("iot:Publish", f"{IOT}:topic/other")
    publish_device = Request("iot:Publish", f"{IOT}:topic/device/1")
    # no IoT policy attached: the IoT side is an implicit deny
    assert (
        intersect([evaluate([role], publish_device), evaluate([], publish_device)]).outcome
        is Outcome.IMPLICIT_DENY
    )
    assert (
        intersect([evaluate([role], publish_other), evaluate([iot], publish_other)]).outcome
        is Outcome.IMPLICIT_DENY
    )
    both = intersect([evaluate([role], publish_device), evaluate([iot], publish_device)])
    assert both.allowed
    assert {ref.policy for ref in both.deciding} == {"role", "iot"}


def test_intersect_explicit_deny_wins_and_empty_denies() -> None:
    deny = compile_policy(
        {"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}}, label="d"
    )
    allow = compile_policy({"Version": "2012-10-17", "Statement": ALLOW_ALL}, label="a")
    request = Request("iot:Connect", f"{IOT}:client/c")
    result = intersect([evaluate([allow], request), evaluate([deny], request), evaluate([], request)])
    assert result.outcome is Outcome.EXPLICIT_DENY and result.deciding == (StatementRef("d", 0),)
    assert intersect([]).outcome is Outcome.IMPLICIT_DENY


# --- binding ------------------------------------------------------------------------


def test_bind_substitutes_once_and_literally() -> None:
    policy = compile_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "iot:Subscribe",
                    "Resource": f"{IOT}:topicfilter/my/${{iot:ClientId}}/topic",
                },
                {
                    "Effect": "Allow",
                    "Action": "iot:Publish",
                    "Resource": f"{IOT}:topic/${{iot:ClientId}}/${{aws:username}}/*",
                },
            ],
        }
    )
    assert policy.variable_keys == {"iot:clientid", "aws:username"}
    bound = policy.bind({"IoT:ClientId": "+"})
    assert bound.variable_keys == {"aws:username"}
    assert evaluate([bound], Request("iot:Subscribe", f"{IOT}:topicfilter/my/+/topic")).allowed
    assert not evaluate([bound], Request("iot:Subscribe", f"{IOT}:topicfilter/my/x/topic")).allowed
    # the context no longer matters for a bound variable...
    assert evaluate(
        [bound], Request("iot:Subscribe", f"{IOT}:topicfilter/my/+/topic", {"iot:ClientId": "other"})
    ).allowed
    # ...but unbound ones still resolve per request
    assert evaluate([bound], Request("iot:Publish", f"{IOT}:topic/+/bob/x", {"aws:username": "bob"})).allowed
    assert not evaluate([bound], Request("iot:Publish", f"{IOT}:topic/+/bob/x")).allowed
    star = policy.bind({"iot:clientid": "*"})
    assert not evaluate([star], Request("iot:Subscribe", f"{IOT}:topicfilter/my/x/topic")).allowed
    assert evaluate([star], Request("iot:Subscribe", f"{IOT}:topicfilter/my/*/topic")).allowed


def test_bind_without_matching_variables_returns_same_policy() -> None:
    policy = compile_policy({"Version": "2012-10-17", "Statement": ALLOW_ALL})
    assert policy.bind({"iot:ClientId": "c"}) is policy


def test_bind_conditions() -> None:
    policy = statement_policy(
        {
            "Effect": "Allow",
            "Action": "a:b",
            "Resource": "*",
            "Condition": {"StringLike": {"k:k": "${iot:ClientId}/*"}},
        }
    ).bind({"iot:ClientId": "c?"})
    assert evaluate([policy], Request("a:b", "x", {"k:k": "c?/1"})).allowed
    assert not evaluate([policy], Request("a:b", "x", {"k:k": "cx/1"})).allowed


def test_with_label() -> None:
    policy = compile_policy({"Version": "2012-10-17", "Statement": ALLOW_ALL}, label="old").with_label("new")
    assert evaluate([policy], Request("a:b", "x")).deciding == (StatementRef("new", 0),)


# --- trust policies -----------------------------------------------------------------

POOL = "us-east-1:11111111-2222-3333-4444-555555555555"
COGNITO = Principal("Federated", "cognito-identity.amazonaws.com")
ROLE = "arn:aws:iam::123456789012:role/Auth"


def cognito_trust(amr: str = "authenticated") -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {"cognito-identity.amazonaws.com:aud": POOL},
                    "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr},
                },
            }
        ],
    }


def assume(policy_doc: dict[str, object], principal: Principal | None, **context: object) -> Outcome:
    policy = compile_policy(policy_doc, kind=PolicyKind.TRUST)
    request = Request("sts:AssumeRoleWithWebIdentity", ROLE, context, principal)
    return evaluate([policy], request).outcome


def test_cognito_trust_policy() -> None:
    authenticated = {
        "cognito-identity.amazonaws.com:aud": POOL,
        "cognito-identity.amazonaws.com:amr": [
            "authenticated",
            "cognito-idp.us-east-1.amazonaws.com/us-east-1_abc",
        ],
    }
    unauthenticated = {
        "cognito-identity.amazonaws.com:aud": POOL,
        "cognito-identity.amazonaws.com:amr": ["unauthenticated"],
    }
    assert assume(cognito_trust(), COGNITO, **authenticated) is Outcome.ALLOW
    assert assume(cognito_trust(), COGNITO, **unauthenticated) is Outcome.IMPLICIT_DENY
    assert assume(cognito_trust("unauthenticated"), COGNITO, **unauthenticated) is Outcome.ALLOW
    wrong_pool = dict(authenticated, **{"cognito-identity.amazonaws.com:aud": "us-east-1:other"})
    assert assume(cognito_trust(), COGNITO, **wrong_pool) is Outcome.IMPLICIT_DENY
    assert (
        assume(cognito_trust(), Principal("Federated", "accounts.google.com"), **authenticated)
        is Outcome.IMPLICIT_DENY
    )
    assert assume(cognito_trust(), None, **authenticated) is Outcome.IMPLICIT_DENY


def aws_trust(principal: object, *, negated: bool = False, effect: str = "Allow") -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": {
            "Effect": effect,
            "NotPrincipal" if negated else "Principal": principal,
            "Action": "sts:AssumeRole",
        },
    }


SESSION = Principal(
    "AWS",
    "arn:aws:sts::444455556666:assumed-role/app-role/session-1",
    account="444455556666",
    aliases=("arn:aws:iam::444455556666:role/app-role",),
)


def assume_role(policy_doc: dict[str, object], principal: Principal | None) -> Outcome:
    policy = compile_policy(policy_doc, kind=PolicyKind.TRUST)
    return evaluate([policy], Request("sts:AssumeRole", ROLE, {}, principal)).outcome


@pytest.mark.parametrize(
    ("principal_block", "expected"),
    [
        ({"AWS": "444455556666"}, Outcome.ALLOW),  # account short form
        ({"AWS": "arn:aws:iam::444455556666:root"}, Outcome.ALLOW),
        ({"AWS": "arn:aws:iam::999999999999:root"}, Outcome.IMPLICIT_DENY),
        ({"AWS": "arn:aws:iam::444455556666:role/app-role"}, Outcome.ALLOW),  # the session's role
        ({"AWS": "arn:aws:iam::444455556666:role/other"}, Outcome.IMPLICIT_DENY),
        (
            {"AWS": ["arn:aws:iam::1:role/x", "arn:aws:sts::444455556666:assumed-role/app-role/session-1"]},
            Outcome.ALLOW,
        ),
        ({"AWS": "*"}, Outcome.ALLOW),
        ("*", Outcome.ALLOW),
        ({"Service": "ec2.amazonaws.com"}, Outcome.IMPLICIT_DENY),
    ],
)
def test_aws_principals(principal_block: object, expected: Outcome) -> None:
    assert assume_role(aws_trust(principal_block), SESSION) is expected


def test_anonymous_callers_match_only_everyone() -> None:
    assert assume_role(aws_trust("*"), None) is Outcome.ALLOW
    assert assume_role(aws_trust({"AWS": "*"}), None) is Outcome.IMPLICIT_DENY


def test_not_principal_with_deny() -> None:
    allow_all = {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}

    def with_deny(not_principal: object) -> dict[str, object]:
        deny = {"Effect": "Deny", "NotPrincipal": not_principal, "Action": "sts:AssumeRole"}
        return {"Version": "2012-10-17", "Statement": [allow_all, deny]}

    everything = {
        "AWS": [
            "arn:aws:sts::444455556666:assumed-role/app-role/session-1",
            "arn:aws:iam::444455556666:role/app-role",
            "arn:aws:iam::444455556666:root",
        ]
    }
    assert assume_role(with_deny(everything), SESSION) is Outcome.ALLOW
    # AWS checks account, role and session separately: leaving the account out denies.
    session_only = {
        "AWS": [
            "arn:aws:sts::444455556666:assumed-role/app-role/session-1",
            "arn:aws:iam::444455556666:role/app-role",
        ]
    }
    assert assume_role(with_deny(session_only), SESSION) is Outcome.EXPLICIT_DENY
    assert assume_role(with_deny({"AWS": "arn:aws:iam::1:root"}), SESSION) is Outcome.EXPLICIT_DENY
    assert assume_role(with_deny("*"), SESSION) is Outcome.ALLOW
    assert assume_role(with_deny({"AWS": "*"}), SESSION) is Outcome.ALLOW
    assert assume_role(with_deny({"AWS": "*"}), None) is Outcome.EXPLICIT_DENY
    assert (
        assume_role(with_deny({"Service": "ec2.amazonaws.com"}), Principal("Service", "ec2.amazonaws.com"))
        is Outcome.ALLOW
    )


def test_request_context_is_case_insensitive_and_read_only() -> None:
    request = Request("A:B", "r", {"AWS:SourceIp": "1.2.3.4"})
    assert request.action_key == "a:b"
    assert request.get("aws:sourceip") == "1.2.3.4"
    assert dict(request.context) == {"aws:sourceip": "1.2.3.4"}
    with pytest.raises(TypeError):
        request.context["x"] = 1  # type: ignore[index]
    assert "A:B" in repr(request)


def test_combine_policy_matches() -> None:
    allow_all = compile_policy({"Version": "2012-10-17", "Statement": ALLOW_ALL}, label="a")
    deny = compile_policy(
        {"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}},
        label="d",
    )
    request = Request("s3:GetObject", "arn:aws:s3:::b/k")
    matches = [allow_all.match(request), deny.match(request)]
    assert [m.outcome for m in matches] == [Outcome.ALLOW, Outcome.EXPLICIT_DENY]
    assert combine(matches) == evaluate([allow_all, deny], request)
    assert combine([allow_all.match(request)]) == evaluate([allow_all], request)
    assert combine([deny.match(Request("ec2:Run", "x"))]).outcome is Outcome.IMPLICIT_DENY
