"""Reading a SigV4 signature out of a request: the Authorization header form or the presigned query form.

Parsing checks structure only (parts present, algorithm, scope, dates). Whether the signature is right
needs the secret, which the caller looks up from ``SignatureClaim.access_key_id`` before verifying.
Messages follow the wording AWS uses for the same mistakes where it is known.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from bastion.auth.sigv4_canonical import (
    ALGORITHM,
    SCOPE_TERMINATOR,
    HeaderMap,
    credential_scope,
    header_map,
    query_pairs,
)
from bastion.auth.sigv4_errors import IncompleteSignature

AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_PRESIGN_EXPIRES = 604800  # one week: a signing key is only valid that long

_AMZ_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_DIGITS = re.compile(r"[0-9]{1,12}")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_AUTH_SEPARATORS = re.compile(r"[\s,]+")
_WHITESPACE = re.compile(r"\s+")

_Q_ALGORITHM = "X-Amz-Algorithm"
_Q_CREDENTIAL = "X-Amz-Credential"
_Q_DATE = "X-Amz-Date"
_Q_SIGNED_HEADERS = "X-Amz-SignedHeaders"
_Q_SIGNATURE = "X-Amz-Signature"
_Q_EXPIRES = "X-Amz-Expires"
_Q_TOKEN = "X-Amz-Security-Token"  # noqa: S105 - a parameter name
# Any of these in the query means the client attempted query signing.
_QUERY_SIGNING_MARKERS = (_Q_ALGORITHM, _Q_CREDENTIAL, _Q_SIGNED_HEADERS, _Q_SIGNATURE)
_QUERY_REQUIRED = (_Q_ALGORITHM, _Q_CREDENTIAL, _Q_SIGNATURE, _Q_DATE, _Q_SIGNED_HEADERS)
_QUERY_AUTH_PARAMS = frozenset((*_QUERY_REQUIRED, _Q_EXPIRES, _Q_TOKEN))


class SignatureForm(enum.Enum):
    HEADER = "header"
    QUERY = "query"


@dataclass(frozen=True, slots=True)
class SignatureClaim:
    """What a request says about its signature, before the secret is known."""

    form: SignatureForm
    access_key_id: str
    date: datetime  # UTC, from X-Amz-Date (or the Date header)
    amz_date: str  # the YYYYMMDDTHHMMSSZ text that is part of the string to sign
    scope_date: str  # YYYYMMDD from the credential scope
    region: str
    service: str
    signed_headers: tuple[str, ...]  # lower-case, in the order the client listed them
    signature: str
    security_token: str | None = None
    expires: int | None = None  # X-Amz-Expires seconds (query form only)

    @property
    def credential_scope(self) -> str:
        return credential_scope(self.scope_date, self.region, self.service)


def parse_request_signature(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
) -> SignatureClaim | None:
    """Find and parse the request's signature; None when the request carries none at all.

    ``method`` and ``raw_path`` take no part in parsing; they are accepted so that parsing and
    verification read the request the same way. Raises IncompleteSignature for a malformed signature.
    """
    del method, raw_path
    headers_by_name = header_map(headers)
    query = _auth_query_params(raw_query)
    authorization = headers_by_name.get("authorization")
    query_signed = any(name in query for name in _QUERY_SIGNING_MARKERS)
    if authorization is not None and query_signed:
        raise IncompleteSignature(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter "
            "or the Authorization header should be specified."
        )
    if authorization is not None:
        return _parse_header_form(authorization, headers_by_name)
    if query_signed:
        return _parse_query_form(query)
    return None


# --- header form ---------------------------------------------------------------------------------


def _parse_header_form(authorization: Sequence[str], headers: HeaderMap) -> SignatureClaim:
    if len(authorization) != 1:
        raise IncompleteSignature("The request must carry exactly one Authorization header.")
    value = authorization[0]
    fields = _authorization_fields(value)
    date_header = "x-amz-date" if "x-amz-date" in headers else "date" if "date" in headers else None
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not fields.get(name)
    ]
    if missing or date_header is None:
        if date_header is None:
            missing.append(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
            )
        raise IncompleteSignature(" ".join(missing) + f" Authorization={value}")
    amz_date, date = _header_date(date_header, headers[date_header])
    access_key_id, scope_date, region, service = _parse_credential(fields["Credential"])
    _check_scope_date(scope_date, amz_date)
    signed_headers = _parse_signed_headers(fields["SignedHeaders"])
    if date_header not in signed_headers:
        shown = "X-Amz-Date" if date_header == "x-amz-date" else "Date"
        raise IncompleteSignature(f"'{shown}' must be a 'SignedHeader' in the AWS Authorization.")
    return SignatureClaim(
        form=SignatureForm.HEADER,
        access_key_id=access_key_id,
        date=date,
        amz_date=amz_date,
        scope_date=scope_date,
        region=region,
        service=service,
        signed_headers=signed_headers,
        signature=fields["Signature"],
        security_token=_single_header(headers, "x-amz-security-token"),
    )


def _authorization_fields(value: str) -> dict[str, str]:
    algorithm, _, rest = _WHITESPACE.sub(" ", value.strip()).partition(" ")
    if algorithm != ALGORITHM:
        raise IncompleteSignature(
            f"Unsupported Authorization algorithm '{algorithm}'; expected '{ALGORITHM}'. "
            f"Authorization={value}"
        )
    fields: dict[str, str] = {}
    for item in _AUTH_SEPARATORS.split(rest.strip()):
        if not item:
            continue
        name, equals, field_value = item.partition("=")
        if not equals:
            raise IncompleteSignature(
                f"'{item}' not a valid key=value pair (missing equal-sign) "
                f"in Authorization header: '{value}'."
            )
        if name in fields:
            raise IncompleteSignature(f"Authorization header has '{name}' more than once: '{value}'.")
        fields[name] = field_value
    return fields


def _header_date(name: str, values: Sequence[str]) -> tuple[str, datetime]:
    if len(values) != 1:
        raise IncompleteSignature(f"The request must carry exactly one '{name}' header.")
    if name == "x-amz-date":
        text = values[0].strip()
        return text, _parse_amz_date(text)
    return _parse_http_date(values[0])


def _parse_http_date(value: str) -> tuple[str, datetime]:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError) as exc:
        raise IncompleteSignature(f"Date header is not an HTTP date: '{value}'.") from exc
    if parsed.tzinfo is None:  # "-0000" means UTC without a stated offset
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    return parsed.strftime(AMZ_DATE_FORMAT), parsed


def _single_header(headers: HeaderMap, name: str) -> str | None:
    values = headers.get(name)
    if not values:
        return None
    if len(values) != 1:
        raise IncompleteSignature(f"The request must carry at most one '{name}' header.")
    return values[0].strip()


# --- query form ----------------------------------------------------------------------------------


def _auth_query_params(raw_query: str) -> dict[str, list[str]]:
    """The signing parameters of the query, decoded; other parameters are left alone."""
    wanted = {name.encode(): name for name in _QUERY_AUTH_PARAMS}
    found: dict[str, list[str]] = {}
    for key, value in query_pairs(raw_query):
        name = wanted.get(key)
        if name is None:
            continue
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise IncompleteSignature(f"Query parameter '{name}' is not valid UTF-8.") from exc
        found.setdefault(name, []).append(text)
    return found


def _parse_query_form(query: dict[str, list[str]]) -> SignatureClaim:
    missing = [
        f"AWS query-string parameters must include '{name}'."
        for name in _QUERY_REQUIRED
        if not query.get(name)
    ]
    if missing:
        raise IncompleteSignature(" ".join(missing) + " Re-examine the query-string parameters.")
    for name, values in query.items():
        if len(values) != 1:
            raise IncompleteSignature(f"Query parameter '{name}' must appear only once.")
    value = {name: values[0] for name, values in query.items()}
    if value[_Q_ALGORITHM] != ALGORITHM:
        raise IncompleteSignature(f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    amz_date = value[_Q_DATE]
    date = _parse_amz_date(amz_date)
    access_key_id, scope_date, region, service = _parse_credential(value[_Q_CREDENTIAL])
    _check_scope_date(scope_date, amz_date)
    expires = value.get(_Q_EXPIRES)
    return SignatureClaim(
        form=SignatureForm.QUERY,
        access_key_id=access_key_id,
        date=date,
        amz_date=amz_date,
        scope_date=scope_date,
        region=region,
        service=service,
        signed_headers=_parse_signed_headers(value[_Q_SIGNED_HEADERS]),
        signature=value[_Q_SIGNATURE],
        security_token=value.get(_Q_TOKEN),
        expires=None if expires is None else _parse_expires(expires),
    )


def _parse_expires(text: str) -> int:
    if text.startswith("-") and _DIGITS.fullmatch(text[1:]):
        raise IncompleteSignature("X-Amz-Expires must be non-negative")
    if not _DIGITS.fullmatch(text):
        raise IncompleteSignature("X-Amz-Expires should be a number")
    seconds = int(text)
    if seconds > MAX_PRESIGN_EXPIRES:
        raise IncompleteSignature(
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGN_EXPIRES}"
        )
    return seconds


# --- shared pieces -------------------------------------------------------------------------------


def _parse_amz_date(text: str) -> datetime:
    error = IncompleteSignature(
        f"Date must be in ISO-8601 'basic format'. Got '{text}'. See http://en.wikipedia.org/wiki/ISO_8601"
    )
    if not _AMZ_DATE.fullmatch(text):
        raise error
    try:  # by hand: strptime costs more than the rest of parsing
        return datetime(
            int(text[0:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[9:11]),
            int(text[11:13]),
            int(text[13:15]),
            tzinfo=UTC,
        )
    except ValueError as exc:  # e.g. month 13
        raise error from exc


def _parse_credential(text: str) -> tuple[str, str, str, str]:
    parts = text.split("/")
    if len(parts) != 5:
        raise IncompleteSignature(
            "Credential is malformed; expecting "
            f"\"<access key id>/YYYYMMDD/REGION/SERVICE/{SCOPE_TERMINATOR}\", got '{text}'."
        )
    access_key_id, scope_date, region, service, terminator = parts
    if terminator != SCOPE_TERMINATOR:
        raise IncompleteSignature(
            f"Credential should be scoped with a valid terminator: '{SCOPE_TERMINATOR}', not '{terminator}'. "
        )
    if not access_key_id:
        raise IncompleteSignature(f"Credential has an empty access key id: '{text}'.")
    if not region:
        raise IncompleteSignature("Credential should be scoped to a valid region, not ''. ")
    if not service:
        raise IncompleteSignature("Credential should be scoped to a service, not ''. ")
    return access_key_id, scope_date, region, service


def _check_scope_date(scope_date: str, amz_date: str) -> None:
    if scope_date != amz_date[:8]:
        raise IncompleteSignature(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{scope_date}' != '{amz_date[:8]}', from '{amz_date}'."
        )


def _parse_signed_headers(text: str) -> tuple[str, ...]:
    names = text.split(";")
    if not all(_HEADER_NAME.fullmatch(name) for name in names):
        raise IncompleteSignature(f"SignedHeaders is malformed: '{text}'.")
    lowered = tuple(name.lower() for name in names)
    if "host" not in lowered:
        raise IncompleteSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    return lowered
