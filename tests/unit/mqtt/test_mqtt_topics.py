"""Topic validity, shared subscriptions, matching (AWS and specification semantics), AWS limits."""

from __future__ import annotations

import pytest

from bastion.mqtt import (
    AwsLimitViolation,
    SharedFilter,
    aws_client_id_violation,
    aws_topic_violation,
    is_valid_topic_filter,
    is_valid_topic_name,
    parse_shared_filter,
    topic_matches,
)


@pytest.mark.parametrize(
    "name", ["a", "a/b", "/", "/a", "a/", "a//b", "$SYS/x", "caf\u00e9", " ", "a" * 65535]
)
def test_valid_topic_names(name: str) -> None:
    assert is_valid_topic_name(name)


@pytest.mark.parametrize(
    "name", ["", "a/+", "#", "a/#", "a+b", "a\x00b", "\ud800", "a" * 65536, "\u00e9" * 32768]
)
def test_invalid_topic_names(name: str) -> None:
    assert not is_valid_topic_name(name)


@pytest.mark.parametrize(
    "topic_filter",
    [
        "#",
        "+",
        "a/#",
        "a/+/b",
        "+/+",
        "/+",
        "+/",
        "a//#",
        "$SYS/#",
        "$share/g/a/#",
        "$share/g/+",
        "$share/g/#",
    ],
)
def test_valid_filters(topic_filter: str) -> None:
    assert is_valid_topic_filter(topic_filter)


@pytest.mark.parametrize(
    "topic_filter",
    [
        "",
        "a#",
        "a/#/b",
        "#/",
        "##",
        "a/b#",
        "a+",
        "+a/b",
        "a/++",
        "a\x00",
        "$share/",
        "$share/g",
        "$share/g/",
        "$share//a",
        "$share/g+/a",
        "$share/#/a",
        "$share/g/a#",
    ],
)
def test_invalid_filters(topic_filter: str) -> None:
    assert not is_valid_topic_filter(topic_filter)


def test_shared_filters_can_be_refused() -> None:
    assert not is_valid_topic_filter("$share/g/a", allow_shared=False)
    assert is_valid_topic_filter("$sharex/g/a", allow_shared=False)


def test_parse_shared_filter() -> None:
    assert parse_shared_filter("a/b") is None
    assert parse_shared_filter("$share") is None
    assert parse_shared_filter("$share/group-1/sensors/+/t") == SharedFilter("group-1", "sensors/+/t")
    assert parse_shared_filter("$share/g//") == SharedFilter("g", "/")
    with pytest.raises(ValueError, match="share name"):
        parse_shared_filter("$share//a")
    with pytest.raises(ValueError, match="topic filter"):
        parse_shared_filter("$share/g")


# (filter, topic, AWS result, specification result)
MATCHES = [
    ("sport/tennis/player1/#", "sport/tennis/player1", False, True),
    ("sport/tennis/player1/#", "sport/tennis/player1/ranking", True, True),
    ("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", True, True),
    ("sensor/#", "sensor", False, True),
    ("sensor/#", "sensor/", True, True),
    ("sensor/#", "sensor/temperature", True, True),
    ("sensor/#", "sensors", False, False),
    ("sport/#", "sport", False, True),
    ("#", "anything/at/all", True, True),
    ("#", "/", True, True),
    ("sport/tennis/+", "sport/tennis/player1", True, True),
    ("sport/tennis/+", "sport/tennis/player1/ranking", False, False),
    ("sport/+", "sport", False, False),
    ("sport/+", "sport/", True, True),
    ("+/+", "/finance", True, True),
    ("/+", "/finance", True, True),
    ("+", "/finance", False, False),
    ("+/#", "a", False, True),
    ("+/#", "a/b", True, True),
    ("a/b", "a/b", True, True),
    ("a/b", "a/b/", False, False),
    ("#", "$SYS/monitor/Clients", False, False),
    ("+/monitor/Clients", "$SYS/monitor/Clients", False, False),
    ("$SYS/#", "$SYS/", True, True),
    ("$SYS/#", "$SYS", False, True),
    ("$SYS/monitor/+", "$SYS/monitor/Clients", True, True),
    ("a/+/#", "a/b", False, True),
    ("a/+/#", "a/b/c", True, True),
    ("A/b", "a/b", False, False),
]


@pytest.mark.parametrize(("topic_filter", "topic", "aws", "spec"), MATCHES)
def test_matching(topic_filter: str, topic: str, aws: bool, spec: bool) -> None:
    assert topic_matches(topic_filter, topic) is aws
    assert topic_matches(topic_filter, topic, hash_matches_parent=False) is aws
    assert topic_matches(topic_filter, topic, hash_matches_parent=True) is spec


def test_aws_topic_limits() -> None:
    assert aws_topic_violation("a/" * 7 + "b") is None
    assert aws_topic_violation("a/" * 8 + "b") is AwsLimitViolation.TOO_MANY_SLASHES
    assert aws_topic_violation("x" * 256) is None
    assert aws_topic_violation("x" * 257) is AwsLimitViolation.TOPIC_TOO_LONG
    assert aws_topic_violation("\u00e9" * 128) is None
    assert aws_topic_violation("\u00e9" * 129) is AwsLimitViolation.TOPIC_TOO_LONG


def test_aws_limits_exclude_basic_ingest_and_share_prefixes() -> None:
    seven = "/".join("l" * 8)
    assert seven.count("/") == 7
    assert aws_topic_violation("$aws/rules/my_rule/" + seven) is None
    assert aws_topic_violation("$aws/rules/my_rule/" + "x" * 256) is None
    assert aws_topic_violation("$aws/rules/my_rule/" + "x" * 257) is AwsLimitViolation.TOPIC_TOO_LONG
    assert aws_topic_violation("$share/g/" + seven) is None
    assert aws_topic_violation("$share/g/" + seven + "/x") is AwsLimitViolation.TOO_MANY_SLASHES
    assert aws_topic_violation("$share/" + "g" * 128 + "/a") is None
    assert aws_topic_violation("$share/" + "g" * 129 + "/a") is AwsLimitViolation.SHARE_NAME_TOO_LONG
    # Other reserved topics get no exemption: a named shadow topic sits right at the limit.
    assert aws_topic_violation("$aws/things/t/shadow/name/n/update/accepted") is None
    assert aws_topic_violation("$aws/things/t/shadow/name/n/update/x/y") is AwsLimitViolation.TOO_MANY_SLASHES


def test_aws_client_id_limit() -> None:
    assert aws_client_id_violation("c" * 128) is None
    assert aws_client_id_violation("c" * 129) is AwsLimitViolation.CLIENT_ID_TOO_LONG
    assert aws_client_id_violation("\u00e9" * 65) is AwsLimitViolation.CLIENT_ID_TOO_LONG
