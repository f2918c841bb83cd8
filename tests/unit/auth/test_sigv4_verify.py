"""Requests signed by botocore's real signers verify; every one-character change to them does not.

Clients are real botocore clients whose requests are captured at the ``before-send`` event, i.e. after
serialization and signing, exactly as they would go on the wire. Time is frozen by patching the clock
botocore's signer reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import botocore.session
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.utils import percent_encode
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.auth.sigv4 import (
    DEFAULT_MAX_SKEW,
    IncompleteSignature,
    PresignedUrlExpired,
    QueryTokenMode,
    SignatureClaim,
    SignatureDoesNotMatch,
    SignatureExpired,
    SignatureForm,
    SignatureNotYetCurrent,
    SigV4Error,
    UnrecognizedAccessKey,
    check_scope,
    check_signature_time,
    parse_request_signature,
    verify_signature,
)

SIGNED_AT = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
ACCESS_KEY = "ASIAEXAMPLEKEY123456"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "SESSIONTOKEN/EXAMPLE+=="
OTHER_KEY = "AKIAOTHERKEY00000000"
OTHER_SECRET = "otherSecretOtherSecretOtherSecret0000000"
KEY_STORE = {ACCESS_KEY: SECRET, OTHER_KEY: OTHER_SECRET}


@dataclass(frozen=True)
class Wire:
    """A request as a server receives it."""

    method: str
    raw_path: str
    raw_query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def body_sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def _host_header(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def to_wire(request: Any) -> Wire:
    """What the HTTP client would send for a prepared (or signed) botocore request."""
    parts = urlsplit(request.url)
    headers = [(name, _text(value)) for name, value in request.headers.items()]
    if not any(name.lower() == "host" for name, _ in headers):
        headers.insert(0, ("Host", _host_header(request.url)))
    body = request.body if hasattr(request, "body") else request.data
    if isinstance(body, str):
        body = body.encode("utf-8")
    return Wire(request.method, parts.path, parts.query, tuple(headers), body or b"")


def _botocore_now(moment: datetime) -> Any:
    # botocore's signer reads a naive UTC datetime from this function.
    return mock.patch("botocore.auth.get_current_datetime", return_value=moment.replace(tzinfo=None))


class _Captured(Exception):
    def __init__(self, request: Any) -> None:
        super().__init__("captured")
        self.request = request


def _capture(request: Any, **_: Any) -> None:
    raise _Captured(request)


@pytest.fixture(scope="module")
def session() -> botocore.session.Session:
    return botocore.session.Session()


def client_request(
    session: botocore.session.Session,
    service: str,
    call: Callable[[Any], object],
    *,
    endpoint_url: str | None = None,
    token: str | None = TOKEN,
    access_key: str = ACCESS_KEY,
    secret: str = SECRET,
    at: datetime = SIGNED_AT,
) -> Wire:
    client = session.create_client(
        service,
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(retries={"max_attempts": 0}),
    )
    client.meta.events.register("before-send", _capture)
    with _botocore_now(at), pytest.raises(_Captured) as info:
        call(client)
    return to_wire(info.value.request)


def check(wire: Wire, now: datetime = SIGNED_AT, **options: Any) -> SignatureClaim:
    """Parse, look the secret up as a caller would, verify. Returns the claim."""
    claim = parse_request_signature(wire.method, wire.raw_path, wire.raw_query, wire.headers)
    assert claim is not None
    secret = KEY_STORE.get(claim.access_key_id)
    if secret is None:
        raise UnrecognizedAccessKey()
    verify_signature(
        claim,
        secret,
        wire.method,
        wire.raw_path,
        wire.raw_query,
        wire.headers,
        wire.body_sha256,
        now,
        **options,
    )
    return claim


# --- the client calls --------------------------------------------------------------------------------

CLIENT_CALLS: dict[str, tuple[str, str | None, Callable[[Any], object], dict[str, Any]]] = {
    "json11-cognito-identity": (
        "cognito-identity",
        None,
        lambda c: c.list_identity_pools(MaxResults=5),
        {},
    ),
    "json11-cognito-idp": (
        "cognito-idp",
        None,
        lambda c: c.admin_get_user(UserPoolId="us-east-1_AbCdEf123", Username="ünïcode user"),
        {},
    ),
    "restjson-publish-slash-topic": (
        "iot-data",
        "https://data-ats.iot.us-east-1.amazonaws.com",
        lambda c: c.publish(topic="a/b", qos=1, payload=b"hello"),
        {},
    ),
    "restjson-publish-unicode-topic": (
        "iot-data",
        "https://data-ats.iot.us-east-1.amazonaws.com",
        lambda c: c.publish(topic="sensors/\u2713 x+y", qos=0, payload=b"\x00\xff"),
        {},
    ),
    "restjson-colon-in-path-with-port": (
        "iot",
        "http://localhost:4566",
        lambda c: c.list_attached_policies(target="us-east-1:abc", recursive=True),
        {},
    ),
    "restjson-query-space-unicode": (
        "iot",
        None,
        lambda c: c.list_things(
            attributeName="room name", attributeValue="caf\u00e9 & b\u00e4r=1", maxResults=3
        ),
        {},
    ),
    "restjson-put-policy-target": (
        "iot",
        None,
        lambda c: c.attach_policy(policyName="p-v3", target="us-east-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
        {},
    ),
    "query-iam-create-role": (
        "iam",
        None,
        lambda c: c.create_role(
            RoleName="r", AssumeRolePolicyDocument='{"Version": "2012-10-17", "x": "\u00e9 +"}'
        ),
        {},
    ),
    "query-iam-long-term-key": (
        "iam",
        None,
        lambda c: c.list_users(),
        {"token": None, "access_key": OTHER_KEY, "secret": OTHER_SECRET},
    ),
    "query-sts": (
        "sts",
        None,
        lambda c: c.get_caller_identity(),
        {},
    ),
}


@pytest.fixture(scope="module", params=sorted(CLIENT_CALLS))
def signed(request: pytest.FixtureRequest, session: botocore.session.Session) -> Wire:
    service, endpoint, call, options = CLIENT_CALLS[request.param]
    return client_request(session, service, call, endpoint_url=endpoint, **options)


def test_botocore_client_requests_verify(signed: Wire) -> None:
    claim = check(signed)
    assert claim.form is SignatureForm.HEADER
    assert "host" in claim.signed_headers


def test_paths_reach_the_verifier_still_encoded(session: botocore.session.Session) -> None:
    publish = client_request(
        session,
        "iot-data",
        lambda c: c.publish(topic="a/b", qos=1, payload=b"hello"),
        endpoint_url="https://data-ats.iot.us-east-1.amazonaws.com",
    )
    assert publish.raw_path == "/topics/a%2Fb"
    attached = client_request(
        session,
        "iot",
        lambda c: c.list_attached_policies(target="us-east-1:abc"),
        endpoint_url="http://localhost:4566",
    )
    assert attached.raw_path == "/attached-policies/us-east-1%3Aabc"
    assert ("Host", "localhost:4566") in attached.headers
    check(publish)
    check(attached)
    # A server that decoded the path before verifying would fail the very same request.
    with pytest.raises(SignatureDoesNotMatch):
        check(replace(publish, raw_path="/topics/a/b"))


def test_session_token_is_reported(signed: Wire) -> None:
    claim = parse_request_signature(signed.method, signed.raw_path, signed.raw_query, signed.headers)
    assert claim is not None
    assert claim.security_token == (None if claim.access_key_id == OTHER_KEY else TOKEN)


# --- tampering ----------------------------------------------------------------------------------------


def _flip(text: str, index: int) -> str:
    replacement = "x" if text[index] != "x" else "y"
    return text[:index] + replacement + text[index + 1 :]


def _header_tampers(wire: Wire, signed_names: tuple[str, ...]) -> Iterator[tuple[str, Wire]]:
    for position, (name, value) in enumerate(wire.headers):
        if name.lower() not in signed_names:
            continue
        for index in range(len(value)):
            headers = list(wire.headers)
            headers[position] = (name, _flip(value, index))
            yield f"header {name}[{index}]", replace(wire, headers=tuple(headers))
        headers = list(wire.headers)
        headers[position] = (_flip(name, len(name) - 1), value)
        yield f"header name {name}", replace(wire, headers=tuple(headers))


def _authorization_tampers(wire: Wire, claim: SignatureClaim) -> Iterator[tuple[str, Wire]]:
    def edit(old: str, new: str) -> Wire:
        headers = tuple(
            (name, value.replace(old, new, 1) if name.lower() == "authorization" else value)
            for name, value in wire.headers
        )
        return replace(wire, headers=headers)

    yield "region", edit("/us-east-1/", "/us-east-2/")
    yield "service", edit(f"/{claim.service}/", f"/{_flip(claim.service, 0)}/")
    yield "signature", edit(claim.signature, _flip(claim.signature, 10))
    signed_headers = ";".join(claim.signed_headers)
    if len(claim.signed_headers) > 2:
        fewer = ";".join(name for name in claim.signed_headers if name != claim.signed_headers[0])
        yield "signed headers", edit(signed_headers, fewer)
    # The access key is not in the string to sign: another key fails through its own secret.
    other = OTHER_KEY if claim.access_key_id != OTHER_KEY else ACCESS_KEY
    yield "access key (known)", edit(claim.access_key_id, other)
    yield "access key (unknown)", edit(claim.access_key_id, _flip(claim.access_key_id, 3))


def all_tampers(wire: Wire) -> Iterator[tuple[str, Wire]]:
    claim = parse_request_signature(wire.method, wire.raw_path, wire.raw_query, wire.headers)
    assert claim is not None
    yield "method", replace(wire, method=_flip(wire.method, len(wire.method) - 1))
    yield "method other", replace(wire, method="PUT" if wire.method == "POST" else "POST")
    for index in range(len(wire.raw_path)):
        yield f"path[{index}]", replace(wire, raw_path=_flip(wire.raw_path, index))
    yield "path appended", replace(wire, raw_path=wire.raw_path + "x")
    for index in range(len(wire.raw_query)):
        yield f"query[{index}]", replace(wire, raw_query=_flip(wire.raw_query, index))
    yield "query appended", replace(wire, raw_query=wire.raw_query + ("&" if wire.raw_query else "") + "x=1")
    yield "body", replace(wire, body=wire.body + b" ")
    if wire.body:
        yield "body byte", replace(wire, body=bytes([wire.body[0] ^ 1]) + wire.body[1:])
    date_headers = tuple(
        (name, value[:-2] + ("6Z" if value[-2] != "6" else "7Z"))
        if name.lower() == "x-amz-date"
        else (name, value)
        for name, value in wire.headers
    )
    yield "date", replace(wire, headers=date_headers)
    yield from _header_tampers(wire, claim.signed_headers)
    yield from _authorization_tampers(wire, claim)


def test_every_single_character_tamper_fails(signed: Wire) -> None:
    check(signed)
    tampers = list(all_tampers(signed))
    assert len(tampers) > 40
    passed = []
    for label, tampered in tampers:
        try:
            check(tampered)
        except SigV4Error:
            continue
        passed.append(label)
    assert passed == []


def test_tamper_errors_are_the_expected_kinds(session: botocore.session.Session) -> None:
    wire = client_request(session, "cognito-identity", lambda c: c.list_identity_pools(MaxResults=5))
    outcomes = {label: _outcome(tampered) for label, tampered in all_tampers(wire)}
    assert outcomes["method"] == "SignatureDoesNotMatch"
    assert outcomes["body"] == "SignatureDoesNotMatch"
    assert outcomes["date"] == "SignatureDoesNotMatch"
    assert outcomes["region"] == "SignatureDoesNotMatch"
    assert outcomes["service"] == "SignatureDoesNotMatch"
    assert outcomes["access key (known)"] == "SignatureDoesNotMatch"
    assert outcomes["access key (unknown)"] == "UnrecognizedAccessKey"
    assert outcomes["header X-Amz-Target[0]"] == "SignatureDoesNotMatch"


def _outcome(wire: Wire) -> str:
    try:
        check(wire)
    except SigV4Error as error:
        return type(error).__name__
    return "verified"


def test_unsigned_headers_may_change(signed: Wire) -> None:
    headers = tuple(
        (name, value + " changed")
        if name.lower() in ("user-agent", "amz-sdk-invocation-id")
        else (name, value)
        for name, value in signed.headers
    )
    check(replace(signed, headers=(*headers, ("X-Forwarded-For", "10.0.0.1"))))


def test_declared_payload_hash_is_used(session: botocore.session.Session) -> None:
    request = AWSRequest(
        method="PUT",
        url="https://example.us-east-1.amazonaws.com/objects/k",
        data=b"streamed body",
        headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
    )
    with _botocore_now(SIGNED_AT):
        SigV4Auth(Credentials(ACCESS_KEY, SECRET, TOKEN), "execute-api", "us-east-1").add_auth(request)
    wire = to_wire(request)
    # The body is not covered: the literal in the header was signed instead.
    check(replace(wire, body=b"anything else"))
    headers = tuple((n, "e3" * 32 if n.lower() == "x-amz-content-sha256" else v) for n, v in wire.headers)
    with pytest.raises(SignatureDoesNotMatch):
        check(replace(wire, headers=headers))


def test_date_header_instead_of_x_amz_date() -> None:
    request = AWSRequest(
        method="GET",
        url="https://example.us-east-1.amazonaws.com/items?b=2&a=1",
        headers={"Date": "placeholder"},
    )
    with _botocore_now(SIGNED_AT):
        SigV4Auth(Credentials(ACCESS_KEY, SECRET), "execute-api", "us-east-1").add_auth(request)
    wire = to_wire(request)
    assert not any(name.lower() == "x-amz-date" for name, _ in wire.headers)
    claim = check(wire)
    assert claim.date == SIGNED_AT and "date" in claim.signed_headers


@pytest.mark.parametrize(
    "query",
    [
        "b=2&a=1&a=0&a=10",
        "q=hello%20world&empty=&flag",
        "name=%E2%9C%93%20%C3%A9t%C3%A9&z=%2F%3D%26",
        "k=v&k=v",
    ],
)
def test_handwritten_query_strings(query: str) -> None:
    request = AWSRequest(method="GET", url=f"https://example.us-east-1.amazonaws.com/p?{query}")
    with _botocore_now(SIGNED_AT):
        SigV4Auth(Credentials(ACCESS_KEY, SECRET, TOKEN), "execute-api", "us-east-1").add_auth(request)
    wire = to_wire(request)
    check(wire)
    # Parameter order on the wire does not matter; values do.
    reordered = "&".join(reversed(wire.raw_query.split("&")))
    check(replace(wire, raw_query=reordered))
    with pytest.raises(SignatureDoesNotMatch):
        check(replace(wire, raw_query=wire.raw_query + "&extra=1"))


_param_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    params=st.lists(st.tuples(_param_text.filter(bool), _param_text), max_size=6),
    segments=st.lists(_param_text.filter(bool), min_size=1, max_size=3),
)
def test_any_parameters_and_path_segments_round_trip(
    params: list[tuple[str, str]], segments: list[str]
) -> None:
    path = "/" + "/".join(percent_encode(segment, safe="") for segment in segments)
    query = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in params)
    url = f"https://example.us-east-1.amazonaws.com{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method="GET", url=url)
    with _botocore_now(SIGNED_AT):
        SigV4Auth(Credentials(ACCESS_KEY, SECRET), "execute-api", "us-east-1").add_auth(request)
    check(to_wire(request))


# --- clock skew -------------------------------------------------------------------------------------


def _signed_at(session: botocore.session.Session, at: datetime) -> Wire:
    return client_request(session, "sts", lambda c: c.get_caller_identity(), at=at)


def test_skew_messages_match_aws(session: botocore.session.Session) -> None:
    old = _signed_at(session, datetime(2015, 8, 6, 13, 12, 23, tzinfo=UTC))
    with pytest.raises(SignatureExpired) as expired:
        check(old, now=datetime(2015, 8, 6, 13, 20, 34, tzinfo=UTC))
    assert expired.value.message == (
        "Signature expired: 20150806T131223Z is now earlier than 20150806T131534Z (20150806T132034Z - 5 min.)"
    )
    assert expired.value.code == "signature_expired"

    future = _signed_at(session, datetime(2015, 8, 6, 13, 20, 34, tzinfo=UTC))
    with pytest.raises(SignatureNotYetCurrent) as early:
        check(future, now=datetime(2015, 8, 6, 13, 12, 23, tzinfo=UTC))
    assert early.value.message == (
        "Signature not yet current: 20150806T132034Z is still later than 20150806T131723Z "
        "(20150806T131223Z + 5 min.)"
    )


def test_skew_boundaries(session: botocore.session.Session) -> None:
    wire = _signed_at(session, SIGNED_AT)
    check(wire, now=SIGNED_AT + DEFAULT_MAX_SKEW)
    check(wire, now=SIGNED_AT - DEFAULT_MAX_SKEW)
    with pytest.raises(SignatureExpired):
        check(wire, now=SIGNED_AT + DEFAULT_MAX_SKEW + timedelta(seconds=1))
    with pytest.raises(SignatureNotYetCurrent):
        check(wire, now=SIGNED_AT - DEFAULT_MAX_SKEW - timedelta(seconds=1))
    with pytest.raises(SignatureExpired, match=r"\(20240102T030606Z - 2 min\.\)"):
        check(wire, now=SIGNED_AT + timedelta(minutes=2, seconds=1), max_skew=timedelta(minutes=2))
    # The reported "now" is in UTC whatever zone the caller's clock uses.
    with pytest.raises(SignatureExpired, match=r"\(20240102T031006Z - 5 min\.\)"):
        check(
            wire, now=(SIGNED_AT + timedelta(minutes=6, seconds=1)).astimezone(timezone(timedelta(hours=2)))
        )


def test_time_is_checked_before_the_signature(session: botocore.session.Session) -> None:
    wire = _signed_at(session, SIGNED_AT)
    claim = parse_request_signature(wire.method, wire.raw_path, wire.raw_query, wire.headers)
    assert claim is not None
    late = SIGNED_AT + timedelta(hours=1)
    with pytest.raises(SignatureExpired):
        verify_signature(claim, "wrong secret", wire.method, wire.raw_path, "", wire.headers, "", late)
    with pytest.raises(SignatureExpired):
        check_signature_time(claim, late)
    with pytest.raises(ValueError, match="timezone-aware"):
        check_signature_time(claim, late.replace(tzinfo=None))


# --- presigned URLs (query form) ----------------------------------------------------------------------


def _presigned(session: botocore.session.Session, expires: int = 60, token: str | None = TOKEN) -> Wire:
    client = session.create_client(
        "sts",
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET,
        aws_session_token=token,
    )
    # GET, as `aws eks get-token` presigns it.
    with _botocore_now(SIGNED_AT):
        url = client.generate_presigned_url("get_caller_identity", ExpiresIn=expires, HttpMethod="GET")
    parts = urlsplit(url)
    return Wire("GET", parts.path, parts.query, (("Host", parts.netloc),), b"")


def test_presigned_url_verifies_and_signs_its_token(session: botocore.session.Session) -> None:
    wire = _presigned(session)
    claim = check(wire)
    assert (claim.form, claim.expires, claim.security_token, claim.service) == (
        SignatureForm.QUERY,
        60,
        TOKEN,
        "sts",
    )
    check(wire, query_token_mode=QueryTokenMode.SIGNED)
    check(wire, query_token_mode=QueryTokenMode.UNSIGNED_THEN_SIGNED)
    with pytest.raises(SignatureDoesNotMatch):
        check(wire, query_token_mode=QueryTokenMode.UNSIGNED)


def test_presigned_url_every_query_character_matters(session: botocore.session.Session) -> None:
    wire = _presigned(session)
    survivors = []
    for index in range(len(wire.raw_query)):
        try:
            check(replace(wire, raw_query=_flip(wire.raw_query, index)))
        except SigV4Error:
            continue
        survivors.append(index)
    assert survivors == []
    for tampered in [
        replace(wire, method="POST"),
        replace(wire, raw_path="/x"),
        replace(wire, headers=(("Host", "sts.us-east-2.amazonaws.com"),)),
    ]:
        with pytest.raises(SignatureDoesNotMatch):
            check(tampered)


def test_presigned_url_expiry(session: botocore.session.Session) -> None:
    wire = _presigned(session, expires=60)
    check(wire, now=SIGNED_AT + timedelta(seconds=60))
    with pytest.raises(PresignedUrlExpired) as info:
        check(wire, now=SIGNED_AT + timedelta(seconds=61))
    assert info.value.message == (
        "Signature expired: 20240102T030405Z is now earlier than 20240102T030406Z (20240102T030506Z - 1 min.)"
    )
    assert info.value.code == "presigned_url_expired"
    long_lived = _presigned(session, expires=604800)
    check(long_lived, now=SIGNED_AT + timedelta(days=6))
    with pytest.raises(PresignedUrlExpired, match=r"- 10080 min\."):
        check(long_lived, now=SIGNED_AT + timedelta(days=7, seconds=1))
    with pytest.raises(SignatureNotYetCurrent):
        check(wire, now=SIGNED_AT - timedelta(minutes=5, seconds=1))


def test_presigned_url_longer_than_a_week_is_refused() -> None:
    request = AWSRequest(
        method="GET", url="https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"
    )
    with _botocore_now(SIGNED_AT):
        SigV4QueryAuth(Credentials(ACCESS_KEY, SECRET), "sts", "us-east-1", expires=604801).add_auth(request)
    wire = to_wire(request)
    with pytest.raises(IncompleteSignature, match="less than a week"):
        check(wire)


def test_check_scope() -> None:
    wire = Wire(
        "GET",
        "/",
        "",
        (
            ("Host", "h"),
            ("X-Amz-Date", "20240102T030405Z"),
            (
                "Authorization",
                f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20240102/eu-west-1/iotdata/aws4_request, "
                "SignedHeaders=host;x-amz-date, Signature=00",
            ),
        ),
        b"",
    )
    claim = parse_request_signature(wire.method, wire.raw_path, wire.raw_query, wire.headers)
    assert claim is not None
    check_scope(claim, regions=None, services=("iotdata", "iotdevicegateway"))
    check_scope(claim, regions={"eu-west-1"}, services=("iotdevicegateway", "iotdata"))
    with pytest.raises(SignatureDoesNotMatch) as region:
        check_scope(claim, regions={"us-east-1"}, services=("iotdata",))
    assert region.value.message == "Credential should be scoped to a valid region, not 'eu-west-1'. "
    with pytest.raises(SignatureDoesNotMatch) as service:
        check_scope(claim, regions=None, services=("iot",))
    assert service.value.message == "Credential should be scoped to correct service: 'iot'. "
