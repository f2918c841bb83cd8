"""Every policy on AWS IoT's policy example pages, with the outcomes the pages describe.

Pages: "Connect policy examples", "Publish/Subscribe policy examples" (MQTT clients, HTTP and WebSocket
clients, receive), "Retained message policy examples", and the Cognito examples of "Publish/Subscribe
policy examples" / "Authorization with Amazon Cognito identities". Each policy goes through the IoT
vocabulary (AWS accepts them, so must Bastion) and is evaluated as the broker would: thing variables
bound only when a thing is attached, the client id and the Cognito identity id from the connection.

Where a page's JSON is broken (a trailing comma, a missing brace, a doubled "{"), the evident policy is
used and the test says so. Two connect examples use an empty condition value list, which the engine
refuses today; they are marked xfail (strict) so the day the engine accepts them, the test says so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from bastion.policy import CompiledPolicy, Outcome, Request, evaluate
from bastion.policy.iot import lint_policy

ACCOUNT = "123456789012"
IOT = f"arn:aws:iot:us-east-1:{ACCOUNT}"
ID = "us-east-1:8f3a1b2c-0000-4d6e-9f00-1234567890ab"


def compiled(document: Mapping[str, Any]) -> CompiledPolicy:
    result = lint_policy(json.dumps(document), label="example")
    assert result.policy is not None, result.error_message
    return result.policy


def allow(
    actions: list[str], resources: list[str], condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": actions, "Resource": resources}
    if condition is not None:
        statement["Condition"] = condition
    return statement


def deny(actions: list[str], resources: list[str], condition: dict[str, Any] | None = None) -> dict[str, Any]:
    return {**allow(actions, resources, condition), "Effect": "Deny"}


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def thing(name: str) -> dict[str, object]:
    """What a connection whose client id is an attached thing's name resolves."""
    return {
        "iot:ClientId": name,
        "iot:Connection.Thing.ThingName": name,
        "iot:Connection.Thing.IsAttached": "true",
    }


def client(client_id: str) -> dict[str, object]:
    return {"iot:ClientId": client_id}


def outcome(policy: CompiledPolicy, action: str, resource: str, context: Mapping[str, object]) -> Outcome:
    return evaluate([policy], Request(action, f"{IOT}:{resource}", context)).outcome


ALLOW, EXPLICIT, IMPLICIT = Outcome.ALLOW, Outcome.EXPLICIT_DENY, Outcome.IMPLICIT_DENY

# ---- Connect policy examples ------------------------------------------------------------------------------

CONNECT_CLIENT1 = doc(allow(["iot:Connect"], [f"{IOT}:client/client1"]))
CONNECT_DENY_TWO_ALLOW_THINGS = doc(
    deny(["iot:Connect"], [f"{IOT}:client/client1", f"{IOT}:client/client2"]),
    allow(["iot:Connect"], [f"{IOT}:client/${{iot:Connection.Thing.ThingName}}"]),
)


def attrs(*values: str) -> dict[str, object]:
    return {"iot:ConnectAttributes": list(values)}


def connect_only(condition_op: str, values: list[str]) -> dict[str, Any]:
    return doc(allow(["iot:Connect"], ["*"], {condition_op: {"iot:ConnectAttributes": values}}))


PERSISTENT_ALLOWED = connect_only("ForAllValues:StringEquals", ["PersistentConnect"])
PERSISTENT_FORBIDDEN = connect_only("ForAllValues:StringNotEquals", ["PersistentConnect"])  # page lacks a "}"
PERSISTENT_FORBIDDEN_BY_DENY = doc(
    allow(["iot:Connect"], ["*"]),
    deny(
        ["iot:Connect"], ["*"], {"ForAnyValue:StringEquals": {"iot:ConnectAttributes": ["PersistentConnect"]}}
    ),
)
PERSISTENT_AND_WILL = connect_only("ForAllValues:StringEquals", ["PersistentConnect", "LastWill"])
CLEAN_WITH_OR_WITHOUT_WILL = connect_only("ForAllValues:StringEquals", ["LastWill"])
MUST_BE_PERSISTENT = connect_only("ForAnyValue:StringEquals", ["PersistentConnect"])
NOT_PERSISTENT_MAY_WILL = doc(
    deny(
        ["iot:Connect"], ["*"], {"ForAnyValue:StringEquals": {"iot:ConnectAttributes": ["PersistentConnect"]}}
    ),
    allow(["iot:Connect"], ["*"], {"ForAllValues:StringEquals": {"iot:ConnectAttributes": ["LastWill"]}}),
)
WILL_TOPIC = doc(
    allow(["iot:Connect"], ["*"], {"ArnEquals": {"iot:LastWillTopic": f"{IOT}:topic/my/lastwill/topicName"}})
)
CONNECT_THING_SUBSCRIBE_FILTER = doc(
    allow(["iot:Connect"], [f"{IOT}:client/${{iot:Connection.Thing.ThingName}}"]),
    allow(["iot:Subscribe"], [f"{IOT}:topicfilter/my/topic/filter"]),
)

CONNECT_CASES = [
    (CONNECT_CLIENT1, "iot:Connect", "client/client1", client("client1"), ALLOW),
    (CONNECT_CLIENT1, "iot:Connect", "client/client2", client("client2"), IMPLICIT),
    (CONNECT_DENY_TWO_ALLOW_THINGS, "iot:Connect", "client/client1", thing("client1"), EXPLICIT),
    (CONNECT_DENY_TWO_ALLOW_THINGS, "iot:Connect", "client/client2", client("client2"), EXPLICIT),
    (CONNECT_DENY_TWO_ALLOW_THINGS, "iot:Connect", "client/sensor-7", thing("sensor-7"), ALLOW),
    # Not a registered thing: the thing variable does not resolve, so nothing allows it.
    (CONNECT_DENY_TWO_ALLOW_THINGS, "iot:Connect", "client/sensor-7", client("sensor-7"), IMPLICIT),
    (PERSISTENT_ALLOWED, "iot:Connect", "client/c", attrs("PersistentConnect"), ALLOW),
    (PERSISTENT_ALLOWED, "iot:Connect", "client/c", attrs(), ALLOW),  # clean connect: ForAllValues of nothing
    (PERSISTENT_ALLOWED, "iot:Connect", "client/c", attrs("PersistentConnect", "LastWill"), IMPLICIT),
    (PERSISTENT_FORBIDDEN, "iot:Connect", "client/c", attrs("PersistentConnect"), IMPLICIT),
    (PERSISTENT_FORBIDDEN, "iot:Connect", "client/c", attrs("LastWill"), ALLOW),
    (PERSISTENT_FORBIDDEN_BY_DENY, "iot:Connect", "client/c", attrs("PersistentConnect"), EXPLICIT),
    (PERSISTENT_FORBIDDEN_BY_DENY, "iot:Connect", "client/c", attrs("LastWill"), ALLOW),
    (PERSISTENT_AND_WILL, "iot:Connect", "client/c", attrs("PersistentConnect", "LastWill"), ALLOW),
    (PERSISTENT_AND_WILL, "iot:Connect", "client/c", attrs("SomethingNew"), IMPLICIT),
    (CLEAN_WITH_OR_WITHOUT_WILL, "iot:Connect", "client/c", attrs("LastWill"), ALLOW),
    (CLEAN_WITH_OR_WITHOUT_WILL, "iot:Connect", "client/c", attrs(), ALLOW),
    (CLEAN_WITH_OR_WITHOUT_WILL, "iot:Connect", "client/c", attrs("PersistentConnect"), IMPLICIT),
    (MUST_BE_PERSISTENT, "iot:Connect", "client/c", attrs("PersistentConnect", "LastWill"), ALLOW),
    (MUST_BE_PERSISTENT, "iot:Connect", "client/c", attrs(), IMPLICIT),
    (NOT_PERSISTENT_MAY_WILL, "iot:Connect", "client/c", attrs("LastWill"), ALLOW),
    (NOT_PERSISTENT_MAY_WILL, "iot:Connect", "client/c", attrs("PersistentConnect", "LastWill"), EXPLICIT),
    (
        WILL_TOPIC,
        "iot:Connect",
        "client/c",
        {"iot:LastWillTopic": f"{IOT}:topic/my/lastwill/topicName"},
        ALLOW,
    ),
    (WILL_TOPIC, "iot:Connect", "client/c", {"iot:LastWillTopic": f"{IOT}:topic/other"}, IMPLICIT),
    (CONNECT_THING_SUBSCRIBE_FILTER, "iot:Subscribe", "topicfilter/my/topic/filter", thing("t1"), ALLOW),
    (CONNECT_THING_SUBSCRIBE_FILTER, "iot:Subscribe", "topicfilter/my/topic/#", thing("t1"), IMPLICIT),
]

# ---- Publish/Subscribe policy examples (MQTT clients) ------------------------------------------------------

THING_PREFIX_PUBLISH = doc(
    allow(["iot:Connect"], [f"{IOT}:client/${{iot:Connection.Thing.ThingName}}"]),
    allow(["iot:Publish"], [f"{IOT}:topic/${{iot:Connection.Thing.ThingName}}/*"]),
)
CLIENT_PREFIX_PUBLISH = doc(
    allow(["iot:Connect"], [f"{IOT}:client/client{n}" for n in (1, 2, 3)]),
    allow(["iot:Publish"], [f"{IOT}:topic/${{iot:ClientId}}/*"]),
)
THING_ROOMS = doc(
    allow(["iot:Connect"], [f"{IOT}:client/${{iot:Connection.Thing.ThingName}}"]),
    allow(["iot:Subscribe"], [f"{IOT}:topicfilter/${{iot:Connection.Thing.ThingName}}/room*"]),
    allow(["iot:Receive"], [f"{IOT}:topic/${{iot:Connection.Thing.ThingName}}/room*"]),
)
CLIENT_ROOMS = doc(
    allow(["iot:Connect"], [f"{IOT}:client/client{n}" for n in (1, 2, 3)]),
    allow(["iot:Subscribe"], [f"{IOT}:topicfilter/${{iot:ClientId}}/room*"]),
    allow(["iot:Receive"], [f"{IOT}:topic/${{iot:ClientId}}/room*"]),
)
LITERAL_PLUS = doc(
    allow(["iot:Connect"], [f"{IOT}:client/client1"]),
    allow(["iot:Subscribe"], [f"{IOT}:topicfilter/some/+/topic"]),
)
TWO_TOPICS = doc(
    allow(["iot:Connect"], [f"{IOT}:client/client1"]),
    allow(["iot:Subscribe"], [f"{IOT}:topicfilter/my/topic", f"{IOT}:topicfilter/my/othertopic"]),
)
CLIENT_UNIQUE_TOPIC = doc(
    allow(["iot:Connect"], [f"{IOT}:client/client1"]),
    allow(["iot:Publish"], [f"{IOT}:topic/my/topic/${{iot:ClientId}}"]),
)
# The registered-device variant uses ${iot:Thing.ThingName}, a variable AWS IoT does not define: it never
# resolves, so that statement allows nothing (the page's prose expects otherwise; the policy says this).
THING_UNIQUE_TOPIC = doc(
    allow(["iot:Connect"], [f"{IOT}:client/${{iot:Connection.Thing.ThingName}}"]),
    allow(["iot:Publish"], [f"{IOT}:topic/my/topic/${{iot:Thing.ThingName}}"]),
)
ALL_BUT_BAR = doc(
    allow(["iot:Connect"], [f"{IOT}:client/client1", f"{IOT}:client/client2"]),
    allow(["iot:Publish"], [f"{IOT}:topic/${{iot:ClientId}}/*"]),
    deny(["iot:Publish"], [f"{IOT}:topic/${{iot:ClientId}}/bar"]),
)
SUBSCRIBE_NOT_PUBLISH_BAR = doc(
    allow(["iot:Connect"], [f"{IOT}:client/${{iot:Connection.Thing.ThingName}}"]),
    allow(["iot:Subscribe"], [f"{IOT}:topicfilter/my/topic"]),
    deny(["iot:Publish"], [f"{IOT}:topic/${{iot:Thing.ThingName}}/bar"]),
)
PROVISIONING = doc(
    allow(["iot:Connect"], [f"{IOT}:client/client1"]),
    allow(["iot:Publish", "iot:Receive"], [f"{IOT}:topic/iotmonitor/provisioning/987654321098"]),
    allow(["iot:Subscribe"], [f"{IOT}:topicfilter/iotmonitor/provisioning/987654321098"]),
)
RECEIVE_ONE_TOPIC = doc(
    allow(["iot:Connect"], [f"{IOT}:client/client1"]),
    allow(["iot:Subscribe"], [f"{IOT}:topicfilter/my/topic"]),
    allow(["iot:Receive"], [f"{IOT}:topic/my/topic"]),
)

PUBSUB_CASES = [
    (THING_PREFIX_PUBLISH, "iot:Connect", "client/thing1", thing("thing1"), ALLOW),
    (THING_PREFIX_PUBLISH, "iot:Publish", "topic/thing1/telemetry", thing("thing1"), ALLOW),
    (THING_PREFIX_PUBLISH, "iot:Publish", "topic/thing1/a/b/c", thing("thing1"), ALLOW),  # * crosses levels
    (THING_PREFIX_PUBLISH, "iot:Publish", "topic/thing2/telemetry", thing("thing1"), IMPLICIT),
    (THING_PREFIX_PUBLISH, "iot:Publish", "topic/thing1/telemetry", client("thing1"), IMPLICIT),  # no thing
    (CLIENT_PREFIX_PUBLISH, "iot:Connect", "client/client3", client("client3"), ALLOW),
    (CLIENT_PREFIX_PUBLISH, "iot:Connect", "client/client4", client("client4"), IMPLICIT),
    (CLIENT_PREFIX_PUBLISH, "iot:Publish", "topic/client2/x", client("client2"), ALLOW),
    (CLIENT_PREFIX_PUBLISH, "iot:Publish", "topic/client1/x", client("client2"), IMPLICIT),
    (THING_ROOMS, "iot:Subscribe", "topicfilter/thing1/room1", thing("thing1"), ALLOW),
    (THING_ROOMS, "iot:Subscribe", "topicfilter/thing1/room#", thing("thing1"), ALLOW),  # * eats the #
    (THING_ROOMS, "iot:Receive", "topic/thing1/room2", thing("thing1"), ALLOW),
    (THING_ROOMS, "iot:Receive", "topic/thing1/kitchen", thing("thing1"), IMPLICIT),
    (CLIENT_ROOMS, "iot:Subscribe", "topicfilter/client1/room42", client("client1"), ALLOW),
    (CLIENT_ROOMS, "iot:Subscribe", "topicfilter/client2/room42", client("client1"), IMPLICIT),
    (CLIENT_ROOMS, "iot:Receive", "topic/client1/room42", client("client1"), ALLOW),
    # "+" is literal: only the filter some/+/topic itself, never a concrete match of it.
    (LITERAL_PLUS, "iot:Subscribe", "topicfilter/some/+/topic", client("client1"), ALLOW),
    (LITERAL_PLUS, "iot:Subscribe", "topicfilter/some/thing/topic", client("client1"), IMPLICIT),
    (LITERAL_PLUS, "iot:Subscribe", "topicfilter/some/#", client("client1"), IMPLICIT),
    (TWO_TOPICS, "iot:Subscribe", "topicfilter/my/topic", client("client1"), ALLOW),
    (TWO_TOPICS, "iot:Subscribe", "topicfilter/my/othertopic", client("client1"), ALLOW),
    (TWO_TOPICS, "iot:Subscribe", "topicfilter/my/#", client("client1"), IMPLICIT),
    (CLIENT_UNIQUE_TOPIC, "iot:Publish", "topic/my/topic/client1", client("client1"), ALLOW),
    (CLIENT_UNIQUE_TOPIC, "iot:Publish", "topic/my/topic/client2", client("client1"), IMPLICIT),
    (THING_UNIQUE_TOPIC, "iot:Connect", "client/thing1", thing("thing1"), ALLOW),
    (THING_UNIQUE_TOPIC, "iot:Publish", "topic/my/topic/thing1", thing("thing1"), IMPLICIT),
    (ALL_BUT_BAR, "iot:Publish", "topic/client1/foo", client("client1"), ALLOW),
    (ALL_BUT_BAR, "iot:Publish", "topic/client1/bar", client("client1"), EXPLICIT),
    (ALL_BUT_BAR, "iot:Publish", "topic/client1/foo/bar", client("client1"), ALLOW),  # only .../bar exactly
    (SUBSCRIBE_NOT_PUBLISH_BAR, "iot:Subscribe", "topicfilter/my/topic", thing("t1"), ALLOW),
    (SUBSCRIBE_NOT_PUBLISH_BAR, "iot:Publish", "topic/t1/bar", thing("t1"), IMPLICIT),
    (PROVISIONING, "iot:Publish", "topic/iotmonitor/provisioning/987654321098", client("client1"), ALLOW),
    (PROVISIONING, "iot:Receive", "topic/iotmonitor/provisioning/987654321098", client("client1"), ALLOW),
    (
        PROVISIONING,
        "iot:Subscribe",
        "topicfilter/iotmonitor/provisioning/987654321098",
        client("client1"),
        ALLOW,
    ),
    (PROVISIONING, "iot:Subscribe", "topicfilter/iotmonitor/provisioning/+", client("client1"), IMPLICIT),
    (RECEIVE_ONE_TOPIC, "iot:Receive", "topic/my/topic", client("client1"), ALLOW),
    (RECEIVE_ONE_TOPIC, "iot:Receive", "topic/my/topic/sub", client("client1"), IMPLICIT),
]

# ---- Retained message policy examples ---------------------------------------------------------------------

# The page's first example nests its statements wrongly ("{" twice); this is the policy it describes.
RETAINED_PUBLISH = doc(
    allow(["iot:Connect"], [f"{IOT}:client/device1"]),
    allow(["iot:Publish", "iot:RetainPublish"], [f"{IOT}:topic/device/sample/configuration"]),
)
RETAINED_WILL = doc(
    allow(
        ["iot:Connect"],
        [f"{IOT}:client/*"],
        {"ForAllValues:StringEquals": {"iot:ConnectAttributes": ["LastWill"]}},
    ),
    allow(["iot:Publish", "iot:RetainPublish"], [f"{IOT}:topic/will"]),
)
RETAINED_LIST_GET = doc(
    allow(["iot:ListRetainedMessages"], ["*"]),
    allow(["iot:GetRetainedMessage"], [f"{IOT}:topic/foo"]),
)

RETAINED_CASES = [
    (RETAINED_PUBLISH, "iot:Connect", "client/device1", client("device1"), ALLOW),
    (RETAINED_PUBLISH, "iot:RetainPublish", "topic/device/sample/configuration", client("device1"), ALLOW),
    (RETAINED_PUBLISH, "iot:RetainPublish", "topic/device/sample/other", client("device1"), IMPLICIT),
    (RETAINED_WILL, "iot:Connect", "client/anyone", {**client("anyone"), **attrs("LastWill")}, ALLOW),
    (
        RETAINED_WILL,
        "iot:Connect",
        "client/anyone",
        {**client("anyone"), **attrs("PersistentConnect")},
        IMPLICIT,
    ),
    (RETAINED_WILL, "iot:RetainPublish", "topic/will", client("anyone"), ALLOW),
    (RETAINED_LIST_GET, "iot:ListRetainedMessages", "*", {}, ALLOW),
    (RETAINED_LIST_GET, "iot:GetRetainedMessage", "topic/foo", {}, ALLOW),
    (RETAINED_LIST_GET, "iot:GetRetainedMessage", "topic/bar", {}, IMPLICIT),
]

# ---- Cognito examples (HTTP and WebSocket clients) --------------------------------------------------------

# The page writes ["iot:Publish",] (a trailing comma, not JSON); the policy without it.
COGNITO_HTTP = doc(allow(["iot:Publish"], [f"{IOT}:topic/${{cognito-identity.amazonaws.com:sub}}"]))
COGNITO_MQTT = doc(
    allow(["iot:Publish"], [f"{IOT}:topic/${{cognito-identity.amazonaws.com:sub}}"]),
    allow(["iot:Connect"], [f"{IOT}:client/${{cognito-identity.amazonaws.com:sub}}"]),
)
SAMPLE_APP = doc(allow(["*"], ["*"]))  # what the AWS sample apps attach


def cognito(identity: str = ID, client_id: str | None = None) -> dict[str, object]:
    context: dict[str, object] = {
        "cognito-identity.amazonaws.com:sub": identity,
        "cognito-identity.amazonaws.com:amr": ["authenticated"],
    }
    if client_id is not None:
        context["iot:ClientId"] = client_id
    return context


COGNITO_CASES = [
    (COGNITO_HTTP, "iot:Publish", f"topic/{ID}", cognito(), ALLOW),
    (COGNITO_HTTP, "iot:Publish", "topic/us-east-1:someone-else", cognito(), IMPLICIT),
    (COGNITO_HTTP, "iot:Publish", f"topic/{ID}/sub", cognito(), IMPLICIT),
    (COGNITO_MQTT, "iot:Connect", f"client/{ID}", cognito(client_id=ID), ALLOW),
    (COGNITO_MQTT, "iot:Connect", "client/mqtt-explorer-42", cognito(client_id="mqtt-explorer-42"), IMPLICIT),
    (COGNITO_MQTT, "iot:Subscribe", f"topicfilter/{ID}", cognito(client_id=ID), IMPLICIT),
    (SAMPLE_APP, "iot:Subscribe", "topicfilter/#", cognito(), ALLOW),
    # Without an identity (no sub in the context) the identity-scoped resources match nothing.
    (COGNITO_MQTT, "iot:Connect", f"client/{ID}", client(ID), IMPLICIT),
]

ALL_CASES = [
    pytest.param(*case, id=f"{group}-{index}")
    for group, cases in (
        ("connect", CONNECT_CASES),
        ("pubsub", PUBSUB_CASES),
        ("retained", RETAINED_CASES),
        ("cognito", COGNITO_CASES),
    )
    for index, case in enumerate(cases)
]


@pytest.mark.parametrize(("document", "action", "resource", "context", "expected"), ALL_CASES)
def test_documented_outcome(
    document: dict[str, Any], action: str, resource: str, context: Mapping[str, object], expected: Outcome
) -> None:
    assert outcome(compiled(document), action, resource, context) is expected


def test_default_features_only_example_is_accepted() -> None:
    # "The following policy only allows connect using default features": ForAllValues over [].
    policy = compiled(connect_only("ForAllValues:StringEquals", []))
    assert outcome(policy, "iot:Connect", "client/c", attrs()) is ALLOW
    assert outcome(policy, "iot:Connect", "client/c", attrs("LastWill")) is IMPLICIT


def test_every_example_passes_the_iot_vocabulary_without_errors() -> None:
    documents = {
        id(case[0]): case[0] for case in CONNECT_CASES + PUBSUB_CASES + RETAINED_CASES + COGNITO_CASES
    }
    for document in documents.values():
        assert lint_policy(json.dumps(document)).ok
    # The literal-"+" example is exactly what the lint is for.
    found = [f.code for f in lint_policy(json.dumps(LITERAL_PLUS)).findings]
    assert "IOT_MQTT_WILDCARD_IN_TOPIC_FILTER" in found


@pytest.mark.parametrize(
    ("operator", "present", "expected"),
    [
        ("StringEquals", ["x"], IMPLICIT),
        ("StringNotEquals", ["x"], ALLOW),
        ("ForAnyValue:StringEquals", ["x"], IMPLICIT),
        ("ForAllValues:StringEquals", [], ALLOW),
    ],
)
def test_empty_condition_value_list_matches_no_value(
    operator: str, present: list[str], expected: object
) -> None:
    policy = compiled(connect_only(operator, []))
    assert outcome(policy, "iot:Connect", "client/c", attrs(*present)) is expected
