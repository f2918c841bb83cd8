"""The AWS IoT vocabulary: the 2,048-character rule and the lint findings for classic IoT policy mistakes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bastion.policy import Severity
from bastion.policy.iot import (
    IOT_CATALOGUE,
    MAX_IOT_POLICY_CHARS,
    lint_policy,
    non_whitespace_length,
)

IOT = "arn:aws:iot:us-east-1:123456789012"


def codes(document: dict[str, Any] | str, **options: Any) -> list[str]:
    text = document if isinstance(document, str) else json.dumps(document)
    return [f.code for f in lint_policy(text, **options).findings]


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | list[str], resource: str | list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


GOOD = policy(
    allow("iot:Connect", f"{IOT}:client/${{cognito-identity.amazonaws.com:sub}}"),
    allow(["iot:Publish", "iot:Receive"], f"{IOT}:topic/${{cognito-identity.amazonaws.com:sub}}/*"),
    allow("iot:Subscribe", f"{IOT}:topicfilter/${{cognito-identity.amazonaws.com:sub}}/*"),
)


def test_a_careful_policy_has_no_findings() -> None:
    assert codes(GOOD) == []
    assert codes(GOOD, iot_policy=False) == []


def test_every_code_has_a_catalogue_entry_and_only_the_size_rule_is_an_error() -> None:
    errors = {code for code, (severity, _) in IOT_CATALOGUE.items() if severity is Severity.ERROR}
    assert errors == {"IOT_DOCUMENT_TOO_LARGE"}


def _sized(non_whitespace: int) -> str:
    """A valid policy with exactly ``non_whitespace`` characters besides whitespace (padded with spaces)."""
    base = json.dumps(policy(allow("iot:Connect", f"{IOT}:client/")), separators=(",", ":"))
    pad = non_whitespace - len(base)
    text = base.replace("client/", "client/" + "a" * pad)
    return text.replace(",", " ,\n  ")  # whitespace does not count


def test_the_size_limit_counts_non_whitespace_characters() -> None:
    exact = _sized(MAX_IOT_POLICY_CHARS)
    assert non_whitespace_length(exact) == MAX_IOT_POLICY_CHARS and len(exact) > MAX_IOT_POLICY_CHARS
    assert lint_policy(exact).ok
    over = lint_policy(_sized(MAX_IOT_POLICY_CHARS + 1))
    assert not over.ok
    assert [f.code for f in over.errors] == ["IOT_DOCUMENT_TOO_LARGE"]
    assert "2049" in over.error_message and "2048" in over.error_message
    # IAM policies have their own limits; the IoT one does not apply to them.
    assert lint_policy(_sized(MAX_IOT_POLICY_CHARS + 1), iot_policy=False).ok


@pytest.mark.parametrize(
    ("resource", "code"),
    [
        (f"{IOT}:topic/sensors/#", "IOT_MQTT_WILDCARD_IN_TOPIC"),
        (f"{IOT}:topic/sensors/+/temp", "IOT_MQTT_WILDCARD_IN_TOPIC"),
        (f"{IOT}:topicfilter/sensors/#", "IOT_MQTT_WILDCARD_IN_TOPIC_FILTER"),
        (f"{IOT}:topicfilter/sensors/+/temp", "IOT_MQTT_WILDCARD_IN_TOPIC_FILTER"),
    ],
)
def test_mqtt_wildcards_in_resources(resource: str, code: str) -> None:
    action = "iot:Subscribe" if "topicfilter" in resource else "iot:Publish"
    found = codes(policy(allow(action, resource)))
    assert code in found
    assert code in codes(policy(allow(action, resource)), iot_policy=False)


def test_star_in_a_topic_is_the_intended_wildcard() -> None:
    assert codes(policy(allow("iot:Publish", f"{IOT}:topic/sensors/*"))) == []


@pytest.mark.parametrize("action", ["iot:*", "*", "IOT:*"])
def test_everything_on_everything(action: str) -> None:
    assert "IOT_ALLOWS_EVERYTHING" in codes(policy(allow(action, "*")))
    # A Deny of everything is a choice, not a mistake; a narrower resource is not flagged.
    assert "IOT_ALLOWS_EVERYTHING" not in codes(policy({"Effect": "Deny", "Action": action, "Resource": "*"}))
    assert "IOT_ALLOWS_EVERYTHING" not in codes(policy(allow(action, f"{IOT}:topic/a/*")))


def test_subscribe_without_receive() -> None:
    only_subscribe = policy(
        allow("iot:Connect", f"{IOT}:client/c1"), allow("iot:Subscribe", f"{IOT}:topicfilter/a/*")
    )
    assert codes(only_subscribe) == ["IOT_SUBSCRIBE_WITHOUT_RECEIVE"]
    with_receive = policy(
        allow("iot:Subscribe", f"{IOT}:topicfilter/a/*"), allow("iot:Rec*", f"{IOT}:topic/a/*")
    )
    assert codes(with_receive) == []


@pytest.mark.parametrize(
    ("action", "resource", "expected_type"),
    [
        ("iot:Subscribe", f"{IOT}:topic/a/*", "topicfilter"),  # the classic one
        ("iot:Receive", f"{IOT}:topicfilter/a/*", "topic"),
        ("iot:Publish", f"{IOT}:topicfilter/a", "topic"),
        ("iot:Connect", f"{IOT}:topic/c1", "client"),
        ("iot:GetThingShadow", f"{IOT}:topic/$aws/things/t/shadow/get", "thing"),
    ],
)
def test_a_resource_of_the_wrong_type(action: str, resource: str, expected_type: str) -> None:
    result = lint_policy(json.dumps(policy(allow(action, resource), allow("iot:Receive", f"{IOT}:topic/x"))))
    mismatches = [f for f in result.findings if f.code == "IOT_RESOURCE_TYPE_MISMATCH"]
    assert len(mismatches) == 1
    assert f"{expected_type}/" in mismatches[0].message and mismatches[0].location == "Statement[0]"


@pytest.mark.parametrize(
    "resource",
    ["*", f"{IOT}:*", f"{IOT}:topic*", "arn:aws:iot:*:*:topicfilter/*", f"{IOT}:t?picfilter/a"],
)
def test_wildcards_that_can_stand_for_the_type_are_not_mismatches(resource: str) -> None:
    found = codes(policy(allow("iot:Subscribe", resource), allow("iot:Receive", f"{IOT}:topic/x")))
    assert "IOT_RESOURCE_TYPE_MISMATCH" not in found


def test_a_deny_that_can_never_apply_is_flagged_too() -> None:
    document = policy(
        allow(["iot:Subscribe", "iot:Receive"], "*"),
        {"Effect": "Deny", "Action": "iot:Subscribe", "Resource": f"{IOT}:topic/secret/*"},
    )
    result = lint_policy(json.dumps(document))
    (mismatch,) = [f for f in result.findings if f.code == "IOT_RESOURCE_TYPE_MISMATCH"]
    assert "never denies" in mismatch.message


def test_foreign_and_unknown_actions_and_resources() -> None:
    found = codes(
        policy(
            allow("s3:GetObject", "arn:aws:s3:::bucket/*"),
            allow("iot:Pubish", f"{IOT}:topic/a"),
            allow("iot:Publish", f"{IOT}:topics/a"),
            allow("greengrass:*", "*"),
            allow("iot:Get*", f"{IOT}:thing/t"),
        )
    )
    assert found.count("IOT_FOREIGN_ACTION") == 1
    assert found.count("IOT_FOREIGN_RESOURCE") == 1
    assert found.count("IOT_UNKNOWN_ACTION") == 1
    assert found.count("IOT_UNKNOWN_RESOURCE_TYPE") == 1


def test_iam_policies_may_govern_any_service() -> None:
    document = policy(allow("s3:GetObject", "arn:aws:s3:::bucket/*"), allow("iot:ListThings", "*"))
    assert codes(document, iot_policy=False) == []
    assert "IOT_UNKNOWN_ACTION" in codes(document)


def test_notes_for_guest_identities() -> None:
    found = codes(GOOD, unauthenticated=True)
    assert found.count("IOT_POLICY_IGNORED_FOR_GUESTS") == 1
    assert found.count("IOT_COGNITO_VARIABLE_FOR_GUESTS") == 1
    iam = codes(GOOD, unauthenticated=True, iot_policy=False)
    assert iam == ["IOT_COGNITO_VARIABLE_FOR_GUESTS"]


def test_invalid_documents_still_report_engine_errors_with_locations() -> None:
    result = lint_policy('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect"}]}')
    assert not result.ok
    assert result.error_message == "Statement[0]: statement needs Resource or NotResource"
    assert lint_policy("not json").errors[0].code == "INVALID_JSON"


def test_findings_locate_the_element() -> None:
    result = lint_policy(json.dumps(policy(allow("iot:Publish", ["*", f"{IOT}:topic/a/#"]))))
    (wildcard,) = [f for f in result.findings if f.code == "IOT_MQTT_WILDCARD_IN_TOPIC"]
    assert wildcard.location == "Statement[0].Resource[1]"
    assert str(wildcard).startswith("Statement[0].Resource[1]: ")
