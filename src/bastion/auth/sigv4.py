"""Server-side AWS Signature Version 4 verification (pure: no I/O, time passed in).

Use::

    claim = parse_request_signature(method, raw_path, raw_query, headers)   # None: unsigned request
    check_scope(claim, regions=..., services=...)                          # optional, per endpoint
    secret = <look up claim.access_key_id / claim.security_token>          # the caller's storage
    verify_signature(claim, secret, method, raw_path, raw_query, headers, body_sha256_hex, now)

Every failure is a ``SigV4Error`` subclass (see ``bastion.auth.sigv4_errors`` for the AWS codes).
"""

from __future__ import annotations

import enum
import hmac
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from bastion.auth.sigv4_canonical import (
    EMPTY_SHA256,
    UNSIGNED_PAYLOAD,
    canonical_headers,
    canonical_query_pairs,
    canonical_request,
    canonical_uri,
    header_map,
    join_canonical_query,
    payload_hash,
    signature,
    signing_key,
    string_to_sign,
    to_bytes,
)
from bastion.auth.sigv4_claim import (
    AMZ_DATE_FORMAT,
    MAX_PRESIGN_EXPIRES,
    SignatureClaim,
    SignatureForm,
    parse_request_signature,
)
from bastion.auth.sigv4_errors import (
    ExpiredSecurityToken,
    IncompleteSignature,
    PresignedUrlExpired,
    SignatureDoesNotMatch,
    SignatureExpired,
    SignatureNotYetCurrent,
    SigV4Error,
    UnrecognizedAccessKey,
)
from bastion.auth.sigv4_presign import presign_websocket_url

__all__ = [
    "DEFAULT_MAX_SKEW",
    "EMPTY_SHA256",
    "IOT_WEBSOCKET_SERVICES",
    "MAX_PRESIGN_EXPIRES",
    "UNSIGNED_PAYLOAD",
    "ExpiredSecurityToken",
    "IncompleteSignature",
    "PresignedUrlExpired",
    "QueryTokenMode",
    "SigV4Error",
    "SignatureClaim",
    "SignatureDoesNotMatch",
    "SignatureExpired",
    "SignatureForm",
    "SignatureNotYetCurrent",
    "UnrecognizedAccessKey",
    "check_scope",
    "check_signature_time",
    "parse_request_signature",
    "presign_websocket_url",
    "verify_signature",
]

DEFAULT_MAX_SKEW = timedelta(minutes=5)
# Signing names under which AWS IoT accepts MQTT-over-WebSocket URLs, whose session token is unsigned.
IOT_WEBSOCKET_SERVICES = frozenset({"iotdevicegateway", "iotdata"})

_Q_SIGNATURE = "X-Amz-Signature"
_Q_TOKEN = "X-Amz-Security-Token"  # noqa: S105 - a parameter name


class QueryTokenMode(enum.Enum):
    """Whether X-Amz-Security-Token belongs to the canonical query of a presigned URL."""

    AUTO = "auto"  # UNSIGNED_THEN_SIGNED for IOT_WEBSOCKET_SERVICES, SIGNED for everything else
    SIGNED = "signed"  # generic presigned URLs (botocore, SDK presigners): the token is signed
    UNSIGNED = "unsigned"  # AWS IoT's rule: the token is appended after signing
    UNSIGNED_THEN_SIGNED = "unsigned-then-signed"  # AWS IoT's rule, then tolerate generic presigners


def verify_signature(
    claim: SignatureClaim,
    secret_access_key: str,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    payload_sha256_hex: str,
    now: datetime,
    *,
    double_encode_path: bool = True,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
    query_token_mode: QueryTokenMode = QueryTokenMode.AUTO,
) -> None:
    """Check the request's date window, then its signature; return quietly when both hold.

    ``raw_path`` is the path as received (not percent-decoded, no query), ``raw_query`` the text after
    ``?``. ``payload_sha256_hex`` is the hex SHA-256 of the body (EMPTY_SHA256 for none); a request
    header x-amz-content-sha256 takes precedence, as in the signer. ``double_encode_path=False`` selects
    S3-style single encoding.
    """
    check_signature_time(claim, now, max_skew=max_skew)
    headers_by_name = header_map(headers)
    uri = canonical_uri(raw_path, double_encode=double_encode_path)
    headers_block = canonical_headers(headers_by_name, claim.signed_headers)
    payload = payload_hash(headers_by_name, payload_sha256_hex)
    key = signing_key(secret_access_key, claim.scope_date, claim.region, claim.service)
    provided = to_bytes(claim.signature)
    pairs = canonical_query_pairs(raw_query)
    # Candidates are tried in order; stopping early only reveals which accepted form the client used.
    for excluded in _query_exclusions(claim, query_token_mode):
        query = join_canonical_query(pairs, exclude=excluded)
        request_text = canonical_request(method, uri, query, headers_block, claim.signed_headers, payload)
        expected = signature(key, string_to_sign(claim.amz_date, claim.credential_scope, request_text))
        if hmac.compare_digest(expected.encode("ascii"), provided):
            return
    raise SignatureDoesNotMatch()


def _query_exclusions(claim: SignatureClaim, mode: QueryTokenMode) -> list[tuple[str, ...]]:
    """The parameter sets left out of the canonical query, one per accepted way of signing."""
    if claim.form is SignatureForm.HEADER:
        return [()]
    if claim.security_token is None:
        return [(_Q_SIGNATURE,)]
    if mode is QueryTokenMode.AUTO:
        iot = claim.service in IOT_WEBSOCKET_SERVICES
        mode = QueryTokenMode.UNSIGNED_THEN_SIGNED if iot else QueryTokenMode.SIGNED
    if mode is QueryTokenMode.SIGNED:
        return [(_Q_SIGNATURE,)]
    if mode is QueryTokenMode.UNSIGNED:
        return [(_Q_SIGNATURE, _Q_TOKEN)]
    return [(_Q_SIGNATURE, _Q_TOKEN), (_Q_SIGNATURE,)]


def check_signature_time(
    claim: SignatureClaim, now: datetime, *, max_skew: timedelta = DEFAULT_MAX_SKEW
) -> None:
    """Reject requests outside their validity window; cheap, so callers may run it before any look-up.

    Header form (and query form without X-Amz-Expires): X-Amz-Date within ``max_skew`` of ``now``.
    Query form with X-Amz-Expires: not later than ``now + max_skew`` and used by X-Amz-Date + Expires.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    if claim.date - now > max_skew:
        raise SignatureNotYetCurrent(
            f"Signature not yet current: {_stamp(claim.date)} is still later than "
            f"{_stamp(now + max_skew)} ({_stamp(now)} + {_duration(max_skew)})"
        )
    window = max_skew if claim.expires is None else timedelta(seconds=claim.expires)
    if now - claim.date > window:
        error = SignatureExpired if claim.expires is None else PresignedUrlExpired
        raise error(
            f"Signature expired: {_stamp(claim.date)} is now earlier than "
            f"{_stamp(now - window)} ({_stamp(now)} - {_duration(window)})"
        )


def _stamp(moment: datetime) -> str:
    return moment.strftime(AMZ_DATE_FORMAT)


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    return f"{seconds // 60} min." if seconds % 60 == 0 else f"{seconds} sec."


def check_scope(claim: SignatureClaim, *, regions: Collection[str] | None, services: Sequence[str]) -> None:
    """Require the credential scope to name a region (None: any) and a service this endpoint serves.

    AWS reports these as signature mismatches with their own message; ``services[0]`` is the name
    shown to the client as the correct one.
    """
    if regions is not None and claim.region not in regions:
        raise SignatureDoesNotMatch(f"Credential should be scoped to a valid region, not '{claim.region}'. ")
    if claim.service not in services:
        expected = services[0] if services else ""
        raise SignatureDoesNotMatch(f"Credential should be scoped to correct service: '{expected}'. ")
