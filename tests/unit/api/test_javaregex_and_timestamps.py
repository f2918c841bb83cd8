"""Java model patterns under Python ``re``, and the three AWS timestamp formats."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from bastion.api.models import service_model
from bastion.api.protocols import javaregex, timestamps


@pytest.mark.parametrize(
    ("pattern", "accepted", "rejected"),
    [
        (r"[\w+=,.@-]+", ["Role_1+=,.@-"], ["rolé", "a b", ""]),
        (r"[\p{L}\p{M}\p{S}\p{N}\p{P}]+", ["Zoë", "例え", "😀", "a@b.c"], ["a b", "tab\t"]),
        (r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*", ["ok é", "", "a\u00a0b"], ["a,b", "a\tb"]),
        (r"[^\p{C}]+", ["visible text"], ["nul\x00", "soft\u00adhyphen"]),
        (r"[\p{Upper}\p{Digit}_]+", ["AB_12"], ["ab", "É"]),
        (r"[\p{Graph}\x20]*", ["a b~"], ["é"]),
        (r"\P{L}+", ["123 !"], ["a"]),
        (r"(un)?authenticated", ["authenticated", "unauthenticated"], ["xauthenticated"]),
        (r"[\u0009\u000A\u000D\u0020-\u00FF]+", ['{"a": 1}\n'], ["\u0100"]),
        (r"^[0-9A-Za-z\.\-_]*(?<!\.)$", ["a.b"], ["a."]),
        (r"\Qa+b\E[c]", ["a+bc"], ["aab c", "aabc"]),
        (r"(?<name>x)\k", [], []),
    ],
)
def test_java_patterns_match_as_java_would(pattern: str, accepted: list[str], rejected: list[str]) -> None:
    for value in accepted:
        assert javaregex.full_match(pattern, value) is True, value
    for value in rejected:
        assert javaregex.full_match(pattern, value) in (False, None), value


def test_every_pattern_in_the_served_models_compiles() -> None:
    patterns = set()
    for service in ("iam", "sts", "cognito-idp", "cognito-identity", "iot", "iot-data", "lambda"):
        model = service_model(service)
        for name in model.shape_names:
            pattern = model.shape_for(name).metadata.get("pattern")
            if pattern is not None:
                patterns.add(pattern)
    assert len(patterns) > 150
    assert [p for p in patterns if javaregex.compile_pattern(p) is None] == []


@pytest.mark.parametrize("pattern", [r"[a-z[0-9]]", r"[a-z&&[^x]]", r"\R", r"\p{InGreek}"])
def test_untranslatable_patterns_are_skipped_with_a_warning(
    pattern: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bastion.api.protocols.javaregex"):
        assert javaregex.full_match(pattern, "anything") is None
    assert "skipping model pattern" in caplog.text


@pytest.mark.parametrize(
    "text",
    [
        "1704067200",
        "1704067200.0",
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00.000Z",
        "2024-01-01T01:00:00+01:00",
        "Mon, 01 Jan 2024 00:00:00 GMT",
    ],
)
def test_every_timestamp_format_parses(text: str) -> None:
    assert timestamps.parse(text) == datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "yesterday", "nan", "2024-13-01T00:00:00Z", "1e400"])
def test_garbage_timestamps_are_rejected(text: str) -> None:
    with pytest.raises(timestamps.TimestampError):
        timestamps.parse(text)


def test_timestamp_formatting() -> None:
    moment = datetime(2024, 1, 1, 0, 0, 1, 500000, tzinfo=UTC)
    assert timestamps.to_epoch(moment) == 1704067201.5
    assert timestamps.to_epoch(datetime(2024, 1, 1)) == 1704067200  # naive means UTC
    assert timestamps.to_iso8601(moment) == "2024-01-01T00:00:01.500Z"
    assert timestamps.to_iso8601(moment.replace(microsecond=0)) == "2024-01-01T00:00:01Z"
    assert timestamps.to_rfc822(moment) == "Mon, 01 Jan 2024 00:00:01 GMT"
    assert timestamps.from_epoch(1704067201.123) == datetime(2024, 1, 1, 0, 0, 1, 123000, tzinfo=UTC)
