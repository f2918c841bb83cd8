"""Finding and parsing a SigV4 signature: header form, query form, and everything malformed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.auth.sigv4 import (
    EMPTY_SHA256,
    IncompleteSignature,
    SignatureClaim,
    SignatureForm,
    SigV4Error,
    parse_request_signature,
    verify_signature,
)

SIG = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
CREDENTIAL = "AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request"
GOOD_AUTH = (
    f"AWS4-HMAC-SHA256 Credential={CREDENTIAL}, SignedHeaders=content-type;host;x-amz-date, Signature={SIG}"
)
BASE_HEADERS = [("Host", "iam.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")]
PRESIGN_QUERY = (
    "Action=GetCallerIdentity&X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fsts%2Faws4_request"
    "&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host"
    f"&X-Amz-Security-Token=tok%2Fen%2B%3D&X-Amz-Signature={SIG}"
)


def parse_header(authorization: str, extra: list[tuple[str, str]] | None = None) -> SignatureClaim | None:
    headers = [*BASE_HEADERS, ("Authorization", authorization), *(extra or [])]
    return parse_request_signature("POST", "/", "", headers)


def parse_query(query: str) -> SignatureClaim | None:
    return parse_request_signature("GET", "/", query, [("Host", "sts.amazonaws.com")])


def incomplete_message(authorization: str, extra: list[tuple[str, str]] | None = None) -> str:
    with pytest.raises(IncompleteSignature) as info:
        parse_header(authorization, extra)
    assert info.value.code == "incomplete_signature"
    return info.value.message


def test_unsigned_request_gives_none() -> None:
    assert (
        parse_request_signature("GET", "/", "a=1&X-Amz-Date=x&X-Amz-Security-Token=t", BASE_HEADERS) is None
    )


def test_header_form_claim() -> None:
    claim = parse_header(GOOD_AUTH, [("x-amz-security-token", " tok ")])
    assert claim == SignatureClaim(
        form=SignatureForm.HEADER,
        access_key_id="AKIDEXAMPLE",
        date=datetime(2015, 8, 30, 12, 36, tzinfo=UTC),
        amz_date="20150830T123600Z",
        scope_date="20150830",
        region="us-east-1",
        service="iam",
        signed_headers=("content-type", "host", "x-amz-date"),
        signature=SIG,
        security_token="tok",
        expires=None,
    )
    assert claim.credential_scope == "20150830/us-east-1/iam/aws4_request"


@pytest.mark.parametrize(
    "authorization",
    [
        f"AWS4-HMAC-SHA256 Credential={CREDENTIAL},SignedHeaders=host;x-amz-date,Signature={SIG}",
        f"  AWS4-HMAC-SHA256\tCredential={CREDENTIAL} ,  SignedHeaders=host;x-amz-date , Signature={SIG},",
        f"AWS4-HMAC-SHA256 Signature={SIG}, SignedHeaders=Host;X-Amz-Date, Credential={CREDENTIAL}",
    ],
)
def test_header_form_tolerates_spacing_and_order(authorization: str) -> None:
    claim = parse_header(authorization)
    assert claim is not None
    assert claim.signed_headers == ("host", "x-amz-date")
    assert claim.signature == SIG


def test_header_form_with_http_date_header() -> None:
    headers = [
        ("Host", "iam.amazonaws.com"),
        ("Date", "Sun, 30 Aug 2015 12:36:00 GMT"),
        (
            "Authorization",
            f"AWS4-HMAC-SHA256 Credential={CREDENTIAL}, SignedHeaders=date;host, Signature={SIG}",
        ),
    ]
    claim = parse_request_signature("GET", "/", "", headers)
    assert claim is not None
    assert claim.amz_date == "20150830T123600Z"
    assert claim.date == datetime(2015, 8, 30, 12, 36, tzinfo=UTC)


def test_missing_parts_are_listed_like_aws() -> None:
    message = incomplete_message("AWS4-HMAC-SHA256 Credential=" + CREDENTIAL)
    assert message == (
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        f"Authorization=AWS4-HMAC-SHA256 Credential={CREDENTIAL}"
    )


def test_missing_everything_including_the_date() -> None:
    with pytest.raises(IncompleteSignature) as info:
        parse_request_signature("GET", "/", "", [("Host", "h"), ("Authorization", "AWS4-HMAC-SHA256")])
    assert info.value.message == (
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        "Authorization=AWS4-HMAC-SHA256"
    )


def test_value_without_equal_sign() -> None:
    value = f"AWS4-HMAC-SHA256 Credential= {CREDENTIAL}, SignedHeaders=host;x-amz-date, Signature={SIG}"
    assert incomplete_message(value) == (
        f"'{CREDENTIAL}' not a valid key=value pair (missing equal-sign) in Authorization header: '{value}'."
    )


@pytest.mark.parametrize(
    ("authorization", "extra", "expected_start"),
    [
        ("", None, "Unsupported Authorization algorithm ''"),
        ("Bearer eyJhbGciOi.x.y", None, "Unsupported Authorization algorithm 'Bearer'"),
        ("AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", None, "Unsupported Authorization algorithm 'AWS'"),
        (
            GOOD_AUTH.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"),
            None,
            "Unsupported Authorization algorithm",
        ),
        (
            GOOD_AUTH.replace("AWS4-HMAC-SHA256", "aws4-hmac-sha256"),
            None,
            "Unsupported Authorization algorithm",
        ),
        (GOOD_AUTH + f", Signature={SIG}", None, "Authorization header has 'Signature' more than once"),
        (
            GOOD_AUTH.replace(CREDENTIAL, "AKIDEXAMPLE/20150830/us-east-1/iam"),
            None,
            "Credential is malformed",
        ),
        (
            GOOD_AUTH.replace(CREDENTIAL, "AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request/x"),
            None,
            "Credential is",
        ),
        (
            GOOD_AUTH.replace(CREDENTIAL, "/20150830/us-east-1/iam/aws4_request"),
            None,
            "Credential has an empty",
        ),
        (
            GOOD_AUTH.replace("aws4_request", "aws5_request"),
            None,
            "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. ",
        ),
        (
            GOOD_AUTH.replace("us-east-1", ""),
            None,
            "Credential should be scoped to a valid region, not ''. ",
        ),
        (GOOD_AUTH.replace("/iam/", "//"), None, "Credential should be scoped to a service"),
        (
            GOOD_AUTH.replace("20150830/", "20150831/"),
            None,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            "'20150831' != '20150830', from '20150830T123600Z'.",
        ),
        (GOOD_AUTH.replace("20150830/", "2015-08-30/"), None, "Date in Credential scope does not match"),
        (
            GOOD_AUTH.replace("content-type;host;x-amz-date", "content-type;x-amz-date"),
            None,
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ),
        (
            GOOD_AUTH.replace("content-type;host;x-amz-date", "content-type;host"),
            None,
            "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.",
        ),
        (GOOD_AUTH.replace("content-type;host", "content-type;;host"), None, "SignedHeaders is malformed"),
        (GOOD_AUTH.replace("content-type;host", "content type;host"), None, "'type;host;x-amz-date'"),
        (GOOD_AUTH.replace("content-type;host", "content:type;host"), None, "SignedHeaders is malformed"),
        (GOOD_AUTH, [("X-Amz-Date", "20150830T123601Z")], "The request must carry exactly one 'x-amz-date'"),
        (
            GOOD_AUTH,
            [("Authorization", GOOD_AUTH)],
            "The request must carry exactly one Authorization header.",
        ),
        (GOOD_AUTH, [("X-Amz-Security-Token", "a"), ("X-Amz-Security-Token", "b")], "The request must carry"),
    ],
)
def test_malformed_authorization_headers(
    authorization: str, extra: list[tuple[str, str]] | None, expected_start: str
) -> None:
    assert incomplete_message(authorization, extra).startswith(expected_start)


@pytest.mark.parametrize("amz_date", ["2015-08-30T12:36:00Z", "20150830T123600", "20151330T123600Z", "x", ""])
def test_bad_x_amz_date(amz_date: str) -> None:
    headers = [("Host", "h"), ("X-Amz-Date", amz_date), ("Authorization", GOOD_AUTH)]
    with pytest.raises(IncompleteSignature) as info:
        parse_request_signature("GET", "/", "", headers)
    assert info.value.message == (
        f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
    )


def test_bad_http_date() -> None:
    headers = [
        ("Host", "h"),
        ("Date", "yesterday"),
        ("Authorization", GOOD_AUTH.replace("x-amz-date", "date")),
    ]
    with pytest.raises(IncompleteSignature, match="Date header is not an HTTP date"):
        parse_request_signature("GET", "/", "", headers)


# --- query form ----------------------------------------------------------------------------------


def test_query_form_claim() -> None:
    claim = parse_query(PRESIGN_QUERY)
    assert claim == SignatureClaim(
        form=SignatureForm.QUERY,
        access_key_id="AKIDEXAMPLE",
        date=datetime(2015, 8, 30, 12, 36, tzinfo=UTC),
        amz_date="20150830T123600Z",
        scope_date="20150830",
        region="us-east-1",
        service="sts",
        signed_headers=("host",),
        signature=SIG,
        security_token="tok/en+=",
        expires=60,
    )


def test_query_form_lists_missing_parameters() -> None:
    with pytest.raises(IncompleteSignature) as info:
        parse_query("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20150830T123600Z")
    assert info.value.message == (
        "AWS query-string parameters must include 'X-Amz-Credential'. "
        "AWS query-string parameters must include 'X-Amz-Signature'. "
        "AWS query-string parameters must include 'X-Amz-SignedHeaders'. "
        "Re-examine the query-string parameters."
    )


@pytest.mark.parametrize(
    ("replace", "by", "expected_start"),
    [
        ("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"'),
        ("X-Amz-Expires=60", "X-Amz-Expires=604801", "X-Amz-Expires must be less than a week"),
        ("X-Amz-Expires=60", "X-Amz-Expires=-1", "X-Amz-Expires must be non-negative"),
        ("X-Amz-Expires=60", "X-Amz-Expires=1h", "X-Amz-Expires should be a number"),
        ("X-Amz-Expires=60", "X-Amz-Expires=", "X-Amz-Expires should be a number"),
        ("X-Amz-Date=20150830T123600Z", "X-Amz-Date=20150830T123600", "Date must be in ISO-8601"),
        ("%2F20150830%2F", "%2F20150829%2F", "Date in Credential scope does not match"),
        ("%2Fsts%2Faws4_request", "%2Fsts", "Credential is malformed"),
        ("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=x-amz-date", "'Host' or ':authority' must be"),
        (
            "Action=GetCallerIdentity",
            "X-Amz-Date=20150830T123600Z",
            "Query parameter 'X-Amz-Date' must appear only",
        ),
        (
            "Action=GetCallerIdentity",
            "X-Amz-Credential=%FF",
            "Query parameter 'X-Amz-Credential' is not valid",
        ),
    ],
)
def test_malformed_query_signatures(replace: str, by: str, expected_start: str) -> None:
    assert replace in PRESIGN_QUERY
    with pytest.raises(IncompleteSignature) as info:
        parse_query(PRESIGN_QUERY.replace(replace, by, 1))
    assert info.value.message.startswith(expected_start)


def test_a_week_is_the_longest_accepted_expiry() -> None:
    claim = parse_query(PRESIGN_QUERY.replace("X-Amz-Expires=60", "X-Amz-Expires=604800"))
    assert claim is not None and claim.expires == 604800


def test_both_forms_at_once_are_refused() -> None:
    headers = [*BASE_HEADERS, ("Authorization", GOOD_AUTH)]
    with pytest.raises(IncompleteSignature, match="Only one auth mechanism allowed"):
        parse_request_signature("GET", "/", PRESIGN_QUERY, headers)


# --- nothing but typed errors, whatever the input -------------------------------------------------

_fragments = st.sampled_from(
    [
        "AWS4-HMAC-SHA256",
        " ",
        ",",
        "=",
        "/",
        ";",
        "Credential=",
        "SignedHeaders=",
        "Signature=",
        "AKID/20150830/us-east-1/iam/aws4_request",
        "host;x-amz-date",
        "20150830",
        "aws4_request",
        "\t",
        "\u2713",
        "\udcff",
        SIG,
    ]
)
_header_text = st.one_of(st.text(max_size=200), st.lists(_fragments, max_size=20).map("".join))
_query_fragments = st.sampled_from(
    [
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
        "X-Amz-Credential=AKID%2F20150830%2Fus-east-1%2Fsts%2Faws4_request",
        "X-Amz-Date=20150830T123600Z",
        "X-Amz-SignedHeaders=host",
        f"X-Amz-Signature={SIG}",
        "X-Amz-Expires=",
        "X-Amz-Security-Token=",
        "&",
        "=",
        "%",
        "%FF",
        "%2F",
        "\u2713",
        "9",
    ]
)
_query_text = st.one_of(st.text(max_size=200), st.lists(_query_fragments, max_size=20).map("".join))


def _only_typed_errors(method: str, path: str, query: str, headers: list[tuple[str, str]]) -> None:
    try:
        claim = parse_request_signature(method, path, query, headers)
        if claim is not None:
            now = claim.date
            verify_signature(claim, "secret", method, path, query, headers, EMPTY_SHA256, now)
    except SigV4Error:
        pass


@settings(max_examples=300, deadline=None)
@given(authorization=_header_text, amz_date=st.one_of(st.just("20150830T123600Z"), st.text(max_size=20)))
def test_random_authorization_headers_raise_only_typed_errors(authorization: str, amz_date: str) -> None:
    headers = [("Host", "h"), ("X-Amz-Date", amz_date), ("Authorization", authorization)]
    _only_typed_errors("GET", "/", "", headers)


@settings(max_examples=300, deadline=None)
@given(query=_query_text, path=st.text(max_size=40), date_header=st.text(max_size=40))
def test_random_queries_paths_and_dates_raise_only_typed_errors(
    query: str, path: str, date_header: str
) -> None:
    _only_typed_errors("GET", path, query, [("Host", "h"), ("Date", date_header)])
    authorization = f"AWS4-HMAC-SHA256 Credential={CREDENTIAL}, SignedHeaders=date;host, Signature={SIG}"
    _only_typed_errors(
        "GET", path, query, [("Host", "h"), ("Date", date_header), ("Authorization", authorization)]
    )
