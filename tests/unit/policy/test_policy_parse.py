"""Parsing and validation: every error is a finding with a code and a location; nothing raises."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest

from bastion.policy import (
    CATALOGUE,
    Finding,
    IamVocabulary,
    PolicyKind,
    Severity,
    Statement,
    Vocabulary,
    parse_policy,
)

V = "2012-10-17"
OK_STATEMENT = {"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}


def findings_of(document: Any, kind: PolicyKind = PolicyKind.IDENTITY) -> list[Finding]:
    text = document if isinstance(document, str) else json.dumps(document)
    return list(parse_policy(text, kind=kind).findings)


def codes(document: Any, kind: PolicyKind = PolicyKind.IDENTITY) -> set[tuple[str, str]]:
    return {(f.code, f.location) for f in findings_of(document, kind)}


def stmt(**elements: Any) -> dict[str, Any]:
    return {"Version": V, "Statement": [dict(OK_STATEMENT, **elements)]}


def test_valid_document_has_no_findings() -> None:
    result = parse_policy(json.dumps({"Version": V, "Statement": OK_STATEMENT}))
    assert result.ok and result.findings == () and result.error_message == ""


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("", ("INVALID_JSON", "")),
        ("{", ("INVALID_JSON", "")),
        ('{"Statement": [], "Statement": []}', ("DUPLICATE_KEY", "")),
        (
            '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Effect": "Deny"}}',
            ("DUPLICATE_KEY", ""),
        ),
        ('{"Version": NaN}', ("INVALID_JSON", "")),
        ('{"Version": Infinity}', ("INVALID_JSON", "")),
        ('{"Sid": "\\ud800"}', ("INVALID_STRING", "")),
        ("[]", ("NOT_AN_OBJECT", "")),
        ('"text"', ("NOT_AN_OBJECT", "")),
        ({"Version": V}, ("MISSING_STATEMENT", "")),
        ({"Version": V, "Statement": []}, ("EMPTY_LIST", "Statement")),
        ({"Version": V, "Statement": "x"}, ("INVALID_TYPE", "Statement")),
        ({"Version": V, "Statement": ["x"]}, ("INVALID_TYPE", "Statement[0]")),
        ({"Version": "2012-10-18", "Statement": OK_STATEMENT}, ("INVALID_VERSION", "Version")),
        ({"Version": 2012, "Statement": OK_STATEMENT}, ("INVALID_VERSION", "Version")),
        ({"Version": V, "Statement": OK_STATEMENT, "Extra": 1}, ("UNKNOWN_ELEMENT", "Extra")),
        ({"Version": V, "Statement": OK_STATEMENT, "Id": 5}, ("INVALID_TYPE", "Id")),
        (
            {"Version": V, "Statement": [{"Action": "a:b", "Resource": "*"}]},
            ("MISSING_EFFECT", "Statement[0]"),
        ),
        (stmt(Effect="allow"), ("INVALID_EFFECT", "Statement[0].Effect")),
        (
            stmt(effect="Allow"),
            ("UNKNOWN_ELEMENT", "Statement[0].effect"),
        ),  # element names are case-sensitive
        (stmt(NotAction="a:b"), ("CONFLICTING_ELEMENTS", "Statement[0]")),
        (stmt(NotResource="*"), ("CONFLICTING_ELEMENTS", "Statement[0]")),
        (
            {"Version": V, "Statement": [{"Effect": "Allow", "Resource": "*"}]},
            ("MISSING_ACTION", "Statement[0]"),
        ),
        (stmt(Action="iot"), ("INVALID_ACTION", "Statement[0].Action")),
        (stmt(Action=["iot:Connect", "io*:Publish"]), ("INVALID_ACTION", "Statement[0].Action[1]")),
        (stmt(Action=["iot:Connect", ":x"]), ("INVALID_ACTION", "Statement[0].Action[1]")),
        (stmt(Action=[]), ("EMPTY_LIST", "Statement[0].Action")),
        (stmt(Action=[1]), ("INVALID_TYPE", "Statement[0].Action[0]")),
        (stmt(Action={"a": 1}), ("INVALID_TYPE", "Statement[0].Action")),
        (
            {"Version": V, "Statement": [{"Effect": "Allow", "Action": "a:b"}]},
            ("MISSING_RESOURCE", "Statement[0]"),
        ),
        (stmt(Resource="bucket"), ("INVALID_RESOURCE", "Statement[0].Resource")),
        (stmt(Resource=["*", "arn:aws:iot"]), ("INVALID_RESOURCE", "Statement[0].Resource[1]")),
        (stmt(Principal="*"), ("PRINCIPAL_NOT_ALLOWED", "Statement[0].Principal")),
        (stmt(NotPrincipal={"AWS": "*"}), ("PRINCIPAL_NOT_ALLOWED", "Statement[0].NotPrincipal")),
        (stmt(Sid=7), ("INVALID_TYPE", "Statement[0].Sid")),
        (
            {"Version": V, "Statement": [dict(OK_STATEMENT, Sid="A"), dict(OK_STATEMENT, Sid="A")]},
            ("DUPLICATE_SID", "Statement[1].Sid"),
        ),
        (stmt(Condition=[]), ("INVALID_TYPE", "Statement[0].Condition")),
        (
            stmt(Condition={"StringEqualz": {"a:b": "c"}}),
            ("UNKNOWN_OPERATOR", "Statement[0].Condition.StringEqualz"),
        ),
        (
            stmt(Condition={"NullIfExists": {"a:b": "true"}}),
            ("UNKNOWN_OPERATOR", "Statement[0].Condition.NullIfExists"),
        ),
        (
            stmt(Condition={"ForAnyValue:Null": {"a:b": "true"}}),
            ("UNKNOWN_OPERATOR", "Statement[0].Condition.ForAnyValue:Null"),
        ),
        (stmt(Condition={"StringEquals": "x"}), ("INVALID_TYPE", "Statement[0].Condition.StringEquals")),
        (
            stmt(Condition={"StringEquals": {"nocolon": "x"}}),
            ("INVALID_CONDITION_KEY", 'Statement[0].Condition.StringEquals["nocolon"]'),
        ),
        (
            stmt(Condition={"StringEquals": {"a:b": None}}),
            ("INVALID_TYPE", 'Statement[0].Condition.StringEquals["a:b"]'),
        ),
        (
            stmt(Condition={"StringEquals": {"a:b": ["x", {}]}}),
            ("INVALID_TYPE", 'Statement[0].Condition.StringEquals["a:b"][1]'),
        ),
        (
            stmt(Condition={"NumericEquals": {"a:b": "ten"}}),
            ("INVALID_CONDITION_VALUE", 'Statement[0].Condition.NumericEquals["a:b"]'),
        ),
        (
            stmt(Condition={"NumericEquals": {"a:b": "NaN"}}),
            ("INVALID_CONDITION_VALUE", 'Statement[0].Condition.NumericEquals["a:b"]'),
        ),
        (
            stmt(Condition={"NumericEquals": {"a:b": "1_000"}}),
            ("INVALID_CONDITION_VALUE", 'Statement[0].Condition.NumericEquals["a:b"]'),
        ),
        (
            stmt(Condition={"DateLessThan": {"a:b": "yesterday"}}),
            ("INVALID_CONDITION_VALUE", 'Statement[0].Condition.DateLessThan["a:b"]'),
        ),
        (
            stmt(Condition={"Bool": {"a:b": "yes"}}),
            ("INVALID_CONDITION_VALUE", 'Statement[0].Condition.Bool["a:b"]'),
        ),
        (
            stmt(Condition={"Null": {"a:b": "maybe"}}),
            ("INVALID_CONDITION_VALUE", 'Statement[0].Condition.Null["a:b"]'),
        ),
        (
            stmt(Condition={"BinaryEquals": {"a:b": "not base64!"}}),
            ("INVALID_CONDITION_VALUE", 'Statement[0].Condition.BinaryEquals["a:b"]'),
        ),
        (
            stmt(Condition={"IpAddress": {"a:b": ["10.0.0.0/8", "10.0.0.0/33"]}}),
            ("INVALID_CONDITION_VALUE", 'Statement[0].Condition.IpAddress["a:b"][1]'),
        ),
    ],
)
def test_errors(document: Any, expected: tuple[str, str]) -> None:
    result = parse_policy(document if isinstance(document, str) else json.dumps(document))
    assert result.policy is None
    assert expected in {(f.code, f.location) for f in result.findings}
    assert all(f.code in CATALOGUE for f in result.findings)
    assert result.error_message


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"Statement": OK_STATEMENT}, ("MISSING_VERSION", "Version")),
        ({"Version": V, "Id": "x", "Statement": OK_STATEMENT}, ("ID_IN_IDENTITY_POLICY", "Id")),
        (
            stmt(Condition={"StringEquals": {}}),
            ("EMPTY_CONDITION_BLOCK", "Statement[0].Condition.StringEquals"),
        ),
        (
            stmt(Condition={"ArnLike": {"a:b": "arn:aws:*"}}),
            ("NOT_AN_ARN_PATTERN", 'Statement[0].Condition.ArnLike["a:b"]'),
        ),
        (stmt(Resource="arn:aws:s3:::b/${aws:username"), ("INVALID_VARIABLE", "Statement[0].Resource")),
        (stmt(Resource="arn:aws:${aws:x}:::b"), ("VARIABLE_OUTSIDE_RESOURCE_PART", "Statement[0].Resource")),
        (
            {
                "Version": "2008-10-17",
                "Statement": dict(OK_STATEMENT, Resource="arn:aws:s3:::b/${aws:username}"),
            },
            ("VARIABLES_NOT_SUBSTITUTED", "Statement[0].Resource"),
        ),
        (
            {"Statement": dict(OK_STATEMENT, Condition={"StringEquals": {"a:b": "${aws:username}"}})},
            ("VARIABLES_NOT_SUBSTITUTED", 'Statement[0].Condition.StringEquals["a:b"]'),
        ),
    ],
)
def test_warnings_keep_the_document_valid(document: Any, expected: tuple[str, str]) -> None:
    result = parse_policy(json.dumps(document))
    assert result.ok, result.error_message
    assert expected in {(f.code, f.location) for f in result.warnings}
    assert all(f.severity is Severity.WARNING for f in result.findings)


def test_resource_part_variable_with_colons_is_fine() -> None:
    assert (
        codes(
            stmt(Resource="arn:aws:iot:us-east-1:123456789012:client/${cognito-identity.amazonaws.com:sub}")
        )
        == set()
    )


# --- kinds --------------------------------------------------------------------------

TRUST_STATEMENT = {
    "Effect": "Allow",
    "Principal": {"Federated": "cognito-identity.amazonaws.com"},
    "Action": "sts:AssumeRoleWithWebIdentity",
}


def test_trust_policy_rules() -> None:
    trust = PolicyKind.TRUST
    assert codes({"Version": V, "Statement": TRUST_STATEMENT}, trust) == set()
    no_principal = {k: v for k, v in TRUST_STATEMENT.items() if k != "Principal"}
    assert ("MISSING_PRINCIPAL", "Statement[0]") in codes({"Version": V, "Statement": no_principal}, trust)
    assert ("RESOURCE_NOT_ALLOWED", "Statement[0].Resource") in codes(
        {"Version": V, "Statement": dict(TRUST_STATEMENT, Resource="*")}, trust
    )
    assert ("RESOURCE_NOT_ALLOWED", "Statement[0].NotResource") in codes(
        {"Version": V, "Statement": dict(TRUST_STATEMENT, NotResource="*")}, trust
    )
    assert codes({"Version": V, "Id": "x", "Statement": TRUST_STATEMENT}, trust) == set()  # Id belongs here


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ("*", None),
        ({"AWS": "123456789012"}, None),
        ({"AWS": ["arn:aws:iam::123456789012:root", "*"]}, None),
        ({"Service": "ec2.amazonaws.com"}, None),
        ({"CanonicalUser": "79a59df900b949e55d96a1e698fbace"}, None),
        ({"AWS": "12345"}, ("INVALID_PRINCIPAL", "Statement[0].Principal.AWS")),
        (
            {"AWS": ["123456789012", "arn:aws:iam::123456789012:role/*"]},
            ("INVALID_PRINCIPAL", "Statement[0].Principal.AWS[1]"),
        ),
        ({"Federated": ""}, ("INVALID_PRINCIPAL", "Statement[0].Principal.Federated")),
        ({"Group": "x"}, ("UNKNOWN_PRINCIPAL_TYPE", "Statement[0].Principal.Group")),
        ({}, ("EMPTY_LIST", "Statement[0].Principal")),
        (["*"], ("INVALID_TYPE", "Statement[0].Principal")),
        ({"AWS": []}, ("EMPTY_LIST", "Statement[0].Principal.AWS")),
    ],
)
def test_principal_validation(principal: Any, expected: tuple[str, str] | None) -> None:
    found = codes({"Version": V, "Statement": dict(TRUST_STATEMENT, Principal=principal)}, PolicyKind.TRUST)
    assert found == set() if expected is None else expected in found


def test_statement_object_and_one_element_list_are_the_same() -> None:
    single = parse_policy(json.dumps({"Version": V, "Statement": OK_STATEMENT})).policy
    listed = parse_policy(
        json.dumps({"Version": V, "Statement": [dict(OK_STATEMENT, Action=["iot:Connect"], Resource=["*"])]})
    ).policy
    assert single is not None and single == listed


def test_json_numbers_and_booleans_as_condition_values() -> None:
    result = parse_policy(
        json.dumps(
            stmt(Condition={"NumericLessThan": {"s3:max-keys": 10}, "Bool": {"aws:SecureTransport": True}})
        )
    )
    assert result.ok
    assert result.policy is not None
    conditions = result.policy.document.statements[0].conditions
    assert [c.values[0].literal() for c in conditions] == ["10", "true"]


# --- never raise ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        None,
        b'{"Statement": []}',
        42,
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 5000 + "1" + "}" * 5000,
        "1" * 5000,
        '{"Version": ' + "9" * 5000 + "}",
        "\ud800",
        "\x00",
        json.dumps({"Version": V, "Statement": [OK_STATEMENT] * 3000}),
        json.dumps({"Version": V, "Statement": [{"Effect": "Maybe"}] * 3000}),
    ],
)
def test_hostile_input_gives_findings_not_exceptions(text: Any) -> None:
    result = parse_policy(text, max_length=200_000)
    assert result.findings or result.ok
    if not result.ok:
        assert result.errors


def test_document_too_large() -> None:
    result = parse_policy(json.dumps({"Version": V, "Statement": OK_STATEMENT}), max_length=10)
    assert [f.code for f in result.findings] == ["DOCUMENT_TOO_LARGE"]


def test_findings_are_capped_but_validity_is_not() -> None:
    result = parse_policy(json.dumps({"Version": V, "Statement": [{"Effect": "Maybe"}] * 500}))
    assert not result.ok
    assert len(result.findings) <= 101
    assert result.findings[-1].code == "TOO_MANY_FINDINGS"


def test_finding_text() -> None:
    finding = findings_of(stmt(Effect="allow"))[0]
    assert str(finding) == 'Statement[0].Effect: Effect must be "Allow" or "Deny", not "allow"'
    assert str(Finding.warning("X", "whole text")) == "whole text"
    assert Finding.error("X", "m", "here").is_error


# --- vocabulary hooks ---------------------------------------------------------------


class RecordingVocabulary(Vocabulary):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def check_text(self, text: str) -> Iterable[Finding]:
        if len("".join(text.split())) > 100:
            yield Finding.error("TOO_LONG", "more than 100 non-whitespace characters")

    def check_action(self, action: str, location: str) -> Iterable[Finding]:
        self.seen.append(("action", location))
        if not action.lower().startswith("iot:"):
            yield Finding.error("UNKNOWN_ACTION", f"{action} is not an AWS IoT action", location)

    def check_resource(self, resource: str, location: str) -> Iterable[Finding]:
        self.seen.append(("resource", location))
        return ()

    def check_condition(self, operator: str, key: str, location: str) -> Iterable[Finding]:
        self.seen.append(("condition", location))
        return ()

    def check_statement(self, statement: Statement, location: str) -> Iterable[Finding]:
        self.seen.append(("statement", location))
        if statement.conditions:
            yield Finding.warning("HAS_CONDITIONS", "has conditions", location)


def test_vocabulary_hooks() -> None:
    vocabulary = RecordingVocabulary()
    document = {"Statement": {"Effect": "Allow", "Action": ["iot:Publish", "s3:Get"], "Resource": "*"}}
    result = parse_policy(json.dumps(document), vocabulary=vocabulary)
    assert not result.ok
    assert {(f.code, f.location) for f in result.errors} == {("UNKNOWN_ACTION", "Statement[0].Action[1]")}
    assert ("resource", "Statement[0].Resource") in vocabulary.seen
    assert ("statement", "Statement[0]") not in vocabulary.seen  # only clean statements reach it

    conditioned = {"Statement": dict(OK_STATEMENT, Condition={"Bool": {"aws:SecureTransport": "true"}})}
    vocabulary = RecordingVocabulary()
    result = parse_policy(json.dumps(conditioned), vocabulary=vocabulary)
    assert [f.code for f in result.errors] == ["TOO_LONG"]
    assert ("condition", 'Statement[0].Condition.Bool["aws:SecureTransport"]') in vocabulary.seen
    assert "HAS_CONDITIONS" in {f.code for f in result.warnings}


def test_base_vocabulary_accepts_everything() -> None:
    assert parse_policy(
        json.dumps({"Version": V, "Statement": dict(OK_STATEMENT, Sid="any sid!")}), vocabulary=Vocabulary()
    ).ok


def test_iam_vocabulary_sid_rule() -> None:
    bad = parse_policy(
        json.dumps({"Version": V, "Statement": dict(OK_STATEMENT, Sid="my sid")}), vocabulary=IamVocabulary()
    )
    assert [(f.code, f.location) for f in bad.errors] == [("INVALID_SID", "Statement[0].Sid")]
    assert parse_policy(
        json.dumps({"Version": V, "Statement": dict(OK_STATEMENT, Sid="Stmt1")}), vocabulary=IamVocabulary()
    ).ok
