"""iot-data's wire details: the user-properties header in both forms, correlation data, payload format
names, paging tokens, and topic routing with encoded and unencoded slashes."""

from __future__ import annotations

import base64
import json

import pytest

from bastion.api.errors import UnknownOperationError
from bastion.api.fronts.iot_data import outbound_message, retain_checks
from bastion.api.fronts.iot_data_wire import (
    decode_token,
    encode_token,
    mqtt_text,
    page_sorted,
    parse_correlation_data,
    parse_user_properties,
    payload_format,
    render_user_properties,
)
from bastion.api.protocols import HttpRequest, identify_operation, parse_request
from bastion.services.errors import InvalidInputError


def _header(value: object) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def test_user_properties_as_a_json_array_or_a_string_holding_one() -> None:
    expected = (("deviceName", "alpha"), ("deviceCnt", "45"), ("deviceName", "beta"))
    array = [{"deviceName": "alpha"}, {"deviceCnt": "45"}, {"deviceName": "beta"}]
    assert parse_user_properties(array) == expected
    assert parse_user_properties(json.dumps(array)) == expected
    # Several members in one object keep their order.
    assert parse_user_properties([{"a": "1", "b": "2"}]) == (("a", "1"), ("b", "2"))
    assert parse_user_properties([]) == ()


@pytest.mark.parametrize(
    "value",
    [
        {"a": "1"},
        "not json",
        '"a string"',
        [["a", "1"]],
        [{"a": 1}],
        [{"a": None}],
        [{"a\x00": "1"}],
        [{"a": "\ud800"}],
        [{"a": "x" * 70000}],
        "[" * 5000,
    ],
)
def test_bad_user_properties_are_invalid_requests(value: object) -> None:
    with pytest.raises(InvalidInputError):
        parse_user_properties(value)


def test_user_properties_render_as_the_array_aws_returns() -> None:
    assert render_user_properties(()) is None
    rendered = render_user_properties((("k", "v"), ("k", "w")))
    assert rendered is not None
    assert json.loads(rendered) == [{"k": "v"}, {"k": "w"}]


def test_correlation_data_and_payload_format() -> None:
    assert parse_correlation_data(base64.b64encode(b"\x00\x01id").decode()) == b"\x00\x01id"
    for bad in ("not base64!", "abc", "é"):
        with pytest.raises(InvalidInputError):
            parse_correlation_data(bad)
    assert (payload_format("UNSPECIFIED_BYTES"), payload_format("UTF8_DATA")) == (0, 1)
    with pytest.raises(InvalidInputError):
        payload_format("UTF16")
    assert mqtt_text("application/json", "contentType") == "application/json"
    with pytest.raises(InvalidInputError):
        mqtt_text("a\x00b", "contentType")


def test_tokens_round_trip_and_refuse_anything_else() -> None:
    token = encode_token("iot-data-retained", "a/b/ç")
    assert decode_token("iot-data-retained", token) == "a/b/ç"
    assert decode_token("iot-data-retained", None) is None
    nested = base64.urlsafe_b64encode(b"[" * 5000).decode()
    for bad in ("", "%%%", "é", token[:-2], encode_token("iot-data-subscriptions", "x"), nested):
        with pytest.raises(InvalidInputError):
            decode_token("iot-data-retained", bad)


def test_page_sorted_walks_a_list_in_key_order() -> None:
    items = ["d", "a", "c", "b", "e"]
    seen: list[str] = []
    token = None
    while True:
        page, token = page_sorted("letters", items, str, token, 2)
        seen.extend(page)
        if token is None:
            break
    assert seen == ["a", "b", "c", "d", "e"]
    assert page_sorted("letters", [], str, None, 2) == ([], None)
    assert page_sorted("letters", ["a", "b"], str, None, 2) == (["a", "b"], None)


def test_publish_params_become_the_message_to_route() -> None:
    _, params = parse_request(
        "iot-data",
        HttpRequest(
            "POST",
            "/topics/a%2Fb",
            "qos=1&retain=true&contentType=text%2Fplain&responseTopic=r%2F1&messageExpiry=60",
            [
                ("x-amz-mqtt5-user-properties", _header('[{"k": "v"}]')),
                ("x-amz-mqtt5-payload-format-indicator", "UTF8_DATA"),
                ("x-amz-mqtt5-correlation-data", base64.b64encode(b"id").decode()),
            ],
            b"body",
        ),
    )
    message = outbound_message(params)
    assert (message.topic, message.payload, message.qos, message.retain) == ("a/b", b"body", 1, True)
    assert message.user_properties == (("k", "v"),)
    assert (message.payload_format_indicator, message.correlation_data) == (1, b"id")
    assert (message.content_type, message.response_topic, message.message_expiry) == ("text/plain", "r/1", 60)
    bare = outbound_message(parse_request("iot-data", HttpRequest("POST", "/topics/t"))[1])
    assert (bare.payload, bare.qos, bare.retain, bare.user_properties) == (b"", 0, False, ())


def test_retained_publish_adds_the_retain_publish_check() -> None:
    from datetime import UTC, datetime

    from bastion.api.fronts.base import CallContext

    ctx = CallContext(None, "r", "127.0.0.1", False, "eu-west-1", "111122223333", datetime.now(UTC))
    assert retain_checks(ctx, {"topic": "a/b"}) == []
    assert retain_checks(ctx, {"topic": "a/b", "retain": True}) == [
        ("iot:RetainPublish", "arn:aws:iot:eu-west-1:111122223333:topic/a/b")
    ]


@pytest.mark.parametrize(
    ("method", "path", "operation", "topic"),
    [
        ("POST", "/topics/a%2Fb", "Publish", "a/b"),
        ("POST", "/topics/a/b", "Publish", "a/b"),
        ("POST", "/topics/a%2Fb/c", "Publish", "a/b/c"),
        ("POST", "/topics/%24aws/things/t/shadow/update", "Publish", "$aws/things/t/shadow/update"),
        ("POST", "/topics/a/%23", "Publish", "a/#"),
        ("POST", "/topics/a/%2B/b", "Publish", "a/+/b"),
        ("POST", "/topics/a/", "Publish", "a/"),
        ("GET", "/retainedMessage/a/b", "GetRetainedMessage", "a/b"),
        ("GET", "/retainedMessage/a%2Fb", "GetRetainedMessage", "a/b"),
    ],
)
def test_topic_routes_take_encoded_and_unencoded_slashes(
    method: str, path: str, operation: str, topic: str
) -> None:
    request = HttpRequest(method, path)
    assert identify_operation("iot-data", request) == operation
    assert parse_request("iot-data", request)[1]["topic"] == topic


def test_other_iot_data_routes_are_unchanged() -> None:
    assert identify_operation("iot-data", HttpRequest("GET", "/retainedMessage")) == "ListRetainedMessages"
    assert identify_operation("iot-data", HttpRequest("GET", "/connections/c1/subscriptions")) == (
        "ListSubscriptions"
    )
    assert identify_operation("iot-data", HttpRequest("DELETE", "/connections/c1")) == "DeleteConnection"
    for path in ("/topics/", "/retainedMessage/", "/connections/a/b"):
        with pytest.raises(UnknownOperationError):
            identify_operation("iot-data", HttpRequest("GET" if "topics" not in path else "POST", path))
