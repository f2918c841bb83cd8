"""Presigning an MQTT-over-WebSocket URL the way AWS IoT device SDKs do (for tests, tools and examples).

The URL signs only ``host``, carries no X-Amz-Expires, uses the empty-body hash, and appends the session
token after the signature, outside the canonical query (AWS IoT's rule for WebSocket connections).
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from bastion.auth.sigv4_canonical import (
    ALGORITHM,
    EMPTY_SHA256,
    canonical_headers,
    canonical_query,
    canonical_request,
    canonical_uri,
    credential_scope,
    signature,
    signing_key,
    string_to_sign,
)

_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def presign_websocket_url(
    host: str,
    region: str,
    access_key_id: str,
    secret: str,
    session_token: str | None,
    now: datetime,
    service: str = "iotdevicegateway",
    path: str = "/mqtt",
    scheme: str = "wss",
) -> str:
    """A ``wss://`` URL for ``host`` (with ``:port`` when the client will send one in its Host header)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    amz_date = now.astimezone(UTC).strftime(_AMZ_DATE_FORMAT)
    scope = credential_scope(amz_date[:8], region, service)
    params = (
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{access_key_id}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-SignedHeaders", "host"),
    )
    query = "&".join(f"{name}={_encode(value)}" for name, value in params)
    headers_block = canonical_headers({"host": [host]}, ("host",))
    request_text = canonical_request(
        "GET", canonical_uri(path), canonical_query(query), headers_block, ("host",), EMPTY_SHA256
    )
    key = signing_key(secret, amz_date[:8], region, service)
    signed = signature(key, string_to_sign(amz_date, scope, request_text))
    url = f"{scheme}://{host}{path}?{query}&X-Amz-Signature={signed}"
    if session_token is not None:
        url += f"&X-Amz-Security-Token={_encode(session_token)}"
    return url
