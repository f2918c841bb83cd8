"""The SigV4 canonical request, string to sign and signature, one function per step of the specification.

Everything here works on the request exactly as received (raw path, raw query string, header pairs), because
the signer signed the bytes it sent, not what a web framework makes of them after decoding.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from urllib.parse import quote, unquote_to_bytes

ALGORITHM = "AWS4-HMAC-SHA256"
SCOPE_TERMINATOR = "aws4_request"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

# quote() never encodes A-Za-z0-9_.-~; these are added to its own safe set.
_PATH_SAFE = "/~"
_SIGNING_KEY_CACHE_SIZE = 512
_QUERY_CACHE_SIZE = 16
# Bytes outside RFC 3986's unreserved set, which the canonical query percent-encodes.
_NOT_UNRESERVED = re.compile(rb"[^A-Za-z0-9_.~-]")

HeaderMap = Mapping[str, Sequence[str]]


def to_bytes(text: str) -> bytes:
    """UTF-8 encode text that may carry undecodable bytes from the HTTP layer as surrogates."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def header_map(headers: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Lower-cased header name -> values in order received (repeated headers keep every value)."""
    result: dict[str, list[str]] = {}
    for name, value in headers:
        result.setdefault(name.lower(), []).append(value)
    return result


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 plus the AWS rule that empty segments (repeated slashes) disappear."""
    if not path:
        return "/"
    kept: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if kept:
                kept.pop()
            continue
        kept.append(segment)
    leading = "/" if path.startswith("/") else ""
    trailing = "/" if path.endswith("/") and kept else ""
    return leading + "/".join(kept) + trailing


def canonical_uri(raw_path: str, *, double_encode: bool = True) -> str:
    """Canonical URI from the path as received (still percent-encoded).

    Non-S3 services normalize the path and percent-encode it a second time, so ``/topics/a%2Fb`` is
    signed as ``/topics/a%252Fb``. S3-style signing uses the received path unchanged.
    """
    if not double_encode:
        return raw_path or "/"
    return quote(to_bytes(remove_dot_segments(raw_path)), safe=_PATH_SAFE)


def _unquote(text: str) -> bytes:
    raw = to_bytes(text)
    return unquote_to_bytes(raw) if b"%" in raw else raw


@functools.lru_cache(maxsize=_QUERY_CACHE_SIZE)
def query_pairs(raw_query: str) -> tuple[tuple[bytes, bytes], ...]:
    """Decoded (key, value) pairs in order; ``+`` is a literal plus, as in RFC 3986. The last few are
    remembered: a presigned request's query is read to parse its signature and again to verify it."""
    pairs: list[tuple[bytes, bytes]] = []
    for item in raw_query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((_unquote(key), _unquote(value)))
    return tuple(pairs)


def _percent(match: re.Match[bytes]) -> bytes:
    return b"%%%02X" % match[0][0]


def query_encode(raw: bytes) -> str:
    """Percent-encode all but the unreserved set, hex in upper case: ``quote(raw, safe="-_.~")``, without
    its per-byte loop (presigned URLs carry session tokens of a kilobyte or more)."""
    return _NOT_UNRESERVED.sub(_percent, raw).decode("ascii")


def canonical_query_pairs(raw_query: str) -> list[tuple[bytes, str, str]]:
    """(decoded key, encoded key, encoded value), sorted by encoded key then value."""
    encoded = [(key, query_encode(key), query_encode(value)) for key, value in query_pairs(raw_query)]
    encoded.sort(key=lambda item: (item[1], item[2]))
    return encoded


def join_canonical_query(pairs: Iterable[tuple[bytes, str, str]], *, exclude: Collection[str] = ()) -> str:
    """The canonical query text from ``canonical_query_pairs``, leaving out the named parameters."""
    excluded = {to_bytes(name) for name in exclude}
    return "&".join(f"{key}={value}" for decoded, key, value in pairs if decoded not in excluded)


def canonical_query(raw_query: str, *, exclude: Collection[str] = ()) -> str:
    """Decode each parameter, re-encode it with the unreserved set, sort by key then value."""
    return join_canonical_query(canonical_query_pairs(raw_query), exclude=exclude)


def _trim_all(value: str) -> str:
    return " ".join(value.split())


def canonical_headers(headers: HeaderMap, signed_headers: Sequence[str]) -> str:
    """One ``name:value\\n`` line per signed header; repeated headers are joined with commas."""
    lines = []
    for name in signed_headers:
        values = headers.get(name, ())
        lines.append(f"{name}:{','.join(_trim_all(value) for value in values)}\n")
    return "".join(lines)


def payload_hash(headers: HeaderMap, body_sha256_hex: str) -> str:
    """The body hash, unless the client declared one (e.g. UNSIGNED-PAYLOAD) in x-amz-content-sha256."""
    declared = headers.get("x-amz-content-sha256")
    if declared:
        return ",".join(declared)
    return body_sha256_hex


def canonical_request(
    method: str,
    uri: str,
    query: str,
    headers_block: str,
    signed_headers: Sequence[str],
    payload: str,
) -> str:
    return "\n".join((method.upper(), uri, query, headers_block, ";".join(signed_headers), payload))


def credential_scope(scope_date: str, region: str, service: str) -> str:
    return f"{scope_date}/{region}/{service}/{SCOPE_TERMINATOR}"


def string_to_sign(amz_date: str, scope: str, canonical_request_text: str) -> str:
    digest = hashlib.sha256(to_bytes(canonical_request_text)).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, to_bytes(message), hashlib.sha256).digest()


@functools.lru_cache(maxsize=_SIGNING_KEY_CACHE_SIZE)
def signing_key(secret_access_key: str, scope_date: str, region: str, service: str) -> bytes:
    """kSigning from the secret and scope. Cached: one WebSocket client reconnecting all day, or a
    busy API client, reuses the same key, and the four HMACs would otherwise dominate verification."""
    k_date = _hmac(to_bytes("AWS4" + secret_access_key), scope_date)
    k_region = _hmac(k_date, region)
    k_service = _hmac(k_region, service)
    return _hmac(k_service, SCOPE_TERMINATOR)


def signature(key: bytes, string_to_sign_text: str) -> str:
    return hmac.new(key, to_bytes(string_to_sign_text), hashlib.sha256).hexdigest()
