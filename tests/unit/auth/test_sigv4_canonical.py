"""The canonical-request steps, against AWS documentation values and botocore's own helpers."""

from __future__ import annotations

import hashlib

import pytest
from botocore.utils import normalize_url_path

from bastion.auth.sigv4_canonical import (
    EMPTY_SHA256,
    canonical_headers,
    canonical_query,
    canonical_request,
    canonical_uri,
    credential_scope,
    header_map,
    payload_hash,
    remove_dot_segments,
    signature,
    signing_key,
    string_to_sign,
)


def test_empty_sha256_is_the_hash_of_nothing() -> None:
    assert hashlib.sha256(b"").hexdigest() == EMPTY_SHA256


@pytest.mark.parametrize(
    ("raw_path", "expected"),
    [
        ("", "/"),
        ("/", "/"),
        ("/topics/a%2Fb", "/topics/a%252Fb"),
        ("/attached-policies/us-east-1%3Aabc", "/attached-policies/us-east-1%253Aabc"),
        ("/a//b///c/", "/a/b/c/"),
        ("/a/./b/../c", "/a/c"),
        ("/../../x", "/x"),
        ("/things/my thing", "/things/my%20thing"),
        ("/x/%E2%9C%93", "/x/%25E2%259C%2593"),
        ("/x/\u2713", "/x/%E2%9C%93"),
        ("/keep-_.~/chars", "/keep-_.~/chars"),
    ],
)
def test_canonical_uri_normalizes_and_encodes_again(raw_path: str, expected: str) -> None:
    assert canonical_uri(raw_path) == expected


@pytest.mark.parametrize("path", ["", "/", "/a/b/", "//a", "/a/../..", "/./", "a/b", "/a/b/../c/./d//e/"])
def test_dot_segment_removal_agrees_with_botocore(path: str) -> None:
    assert remove_dot_segments(path) == normalize_url_path(path)


def test_single_encoding_keeps_the_received_path() -> None:
    assert canonical_uri("/bucket/a%2Fb//c", double_encode=False) == "/bucket/a%2Fb//c"
    assert canonical_uri("", double_encode=False) == "/"


@pytest.mark.parametrize(
    ("raw_query", "expected"),
    [
        ("", ""),
        ("b=2&a=1", "a=1&b=2"),
        ("a=2&a=1&a=10", "a=1&a=10&a=2"),  # repeated keys: sorted by value too
        ("k=a b", "k=a%20b"),
        ("k=a%20b", "k=a%20b"),
        ("k=a+b", "k=a%2Bb"),  # '+' is a literal plus, not a space
        ("k=%e2%9c%93", "k=%E2%9C%93"),  # hex case normalized
        ("k=\u2713", "k=%E2%9C%93"),
        ("flag", "flag="),
        ("flag=", "flag="),
        ("a=1&&b=2", "a=1&b=2"),
        ("x=a%3Db=c", "x=a%3Db%3Dc"),
        ("%41=1", "A=1"),
        ("k=%FF", "k=%FF"),  # not UTF-8: the byte survives
        ("endpointType=iot%3AData-ATS", "endpointType=iot%3AData-ATS"),
    ],
)
def test_canonical_query(raw_query: str, expected: str) -> None:
    assert canonical_query(raw_query) == expected


def test_canonical_query_excludes_named_parameters() -> None:
    raw = "X-Amz-Signature=abc&b=1&X-Amz-Security-Token=t%2Fx&a=2"
    assert canonical_query(raw, exclude=("X-Amz-Signature",)) == "X-Amz-Security-Token=t%2Fx&a=2&b=1"
    assert canonical_query(raw, exclude=("X-Amz-Signature", "X-Amz-Security-Token")) == "a=2&b=1"


def test_canonical_headers_trim_collapse_and_join_repeats() -> None:
    headers = header_map(
        [
            ("Host", "example.com"),
            ("X-Multi", "  one  "),
            ("x-multi", "two   words\there"),
            ("X-Empty", ""),
        ]
    )
    block = canonical_headers(headers, ("host", "x-empty", "x-missing", "x-multi"))
    assert block == "host:example.com\nx-empty:\nx-missing:\nx-multi:one,two words here\n"


def test_declared_payload_hash_wins_over_the_body_hash() -> None:
    assert (
        payload_hash(header_map([("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")]), "abc") == "UNSIGNED-PAYLOAD"
    )
    assert payload_hash(header_map([]), "abc") == "abc"


def test_signing_key_from_aws_documentation() -> None:
    # AWS General Reference, "Derive a signing key for SigV4": the example key for IAM on 2015-08-30.
    key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam")
    assert key.hex() == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"


def test_signing_keys_are_cached() -> None:
    signing_key.cache_clear()
    for _ in range(3):
        signing_key("secret-for-cache-test", "20240102", "us-east-1", "iotdevicegateway")
    info = signing_key.cache_info()
    assert (info.hits, info.misses) == (2, 1)
    assert info.maxsize is not None and info.maxsize <= 1024


def test_iam_list_users_example_from_aws_documentation() -> None:
    # The GET ListUsers example of the SigV4 documentation, step by step.
    headers = header_map(
        [
            ("Host", "iam.amazonaws.com"),
            ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
            ("X-Amz-Date", "20150830T123600Z"),
        ]
    )
    signed = ("content-type", "host", "x-amz-date")
    request_text = canonical_request(
        "get",
        canonical_uri("/"),
        canonical_query("Version=2010-05-08&Action=ListUsers"),
        canonical_headers(headers, signed),
        signed,
        EMPTY_SHA256,
    )
    assert request_text == (
        "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
        "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
        "host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
        "content-type;host;x-amz-date\n" + EMPTY_SHA256
    )
    assert hashlib.sha256(request_text.encode()).hexdigest() == (
        "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
    )
    to_sign = string_to_sign(
        "20150830T123600Z", credential_scope("20150830", "us-east-1", "iam"), request_text
    )
    key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam")
    assert signature(key, to_sign) == "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"


def test_iot_data_publish_canonical_request() -> None:
    # A botocore-signed iot-data Publish to topic a/b: note the double-encoded %252F and the signed token.
    headers = header_map(
        [
            ("Host", "data-ats.iot.us-east-1.amazonaws.com"),
            ("Content-Type", "application/octet-stream"),
            ("X-Amz-Date", "20240102T030405Z"),
            ("X-Amz-Security-Token", "SESSIONTOKEN/EXAMPLE+=="),
        ]
    )
    signed = ("content-type", "host", "x-amz-date", "x-amz-security-token")
    request_text = canonical_request(
        "POST",
        canonical_uri("/topics/a%2Fb"),
        canonical_query("qos=1"),
        canonical_headers(headers, signed),
        signed,
        hashlib.sha256(b"hello").hexdigest(),
    )
    assert request_text == (
        "POST\n/topics/a%252Fb\nqos=1\n"
        "content-type:application/octet-stream\nhost:data-ats.iot.us-east-1.amazonaws.com\n"
        "x-amz-date:20240102T030405Z\nx-amz-security-token:SESSIONTOKEN/EXAMPLE+==\n\n"
        "content-type;host;x-amz-date;x-amz-security-token\n"
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    )
    key = signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20240102", "us-east-1", "iotdata")
    scope = credential_scope("20240102", "us-east-1", "iotdata")
    assert signature(key, string_to_sign("20240102T030405Z", scope, request_text)) == (
        "0b5dec1355667daace76d7460b41cbb0bf2afd53c6ff08128a1a84ff5de51a19"
    )
