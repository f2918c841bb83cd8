"""Which AWS service a request is for, when every service shares one endpoint.

Clients that only override the endpoint still say which service they mean (aws-notes §6.5), in this order
of trust: the JSON ``X-Amz-Target`` prefix, the SigV4 credential scope's service name, the query protocol's
``Version`` parameter, and finally the request path (rest-json services).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

# botocore service name -> how requests for it identify themselves.
TARGET_PREFIXES: Mapping[str, str] = {
    "AWSCognitoIdentityProviderService": "cognito-idp",
    "AWSCognitoIdentityService": "cognito-identity",
}
SIGNING_NAMES: Mapping[str, str] = {
    "iam": "iam",
    "sts": "sts",
    "cognito-idp": "cognito-idp",
    "cognito-identity": "cognito-identity",
    "iot": "iot",
    "iotdata": "iot-data",
    "iotdevicegateway": "iot-data",
    "lambda": "lambda",
}
QUERY_VERSIONS: Mapping[str, str] = {"2010-05-08": "iam", "2011-06-15": "sts"}

_SCOPE_IN_HEADER = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request")
_SCOPE_IN_QUERY = re.compile(
    r"(?:^|&)X-Amz-Credential=[^&]*?(?:%2F|/)\d{8}(?:%2F|/)[^&%/]+(?:%2F|/)([^&%/]+)(?:%2F|/)"
)


@dataclass(frozen=True, slots=True)
class Route:
    service: str
    # How the service was recognised, for logs and tests.
    by: str


def signing_service(authorization: str | None, raw_query: str) -> str | None:
    """The service name from a SigV4 credential scope, header or presigned form."""
    if authorization:
        match = _SCOPE_IN_HEADER.search(authorization)
        if match:
            return match.group(1)
    if "X-Amz-Credential" in raw_query:
        match = _SCOPE_IN_QUERY.search(raw_query)
        if match:
            return match.group(1)
    return None


def route(headers: Mapping[str, str], raw_query: str, body: bytes) -> Route | None:
    """``headers`` has lower-cased names."""
    target = headers.get("x-amz-target")
    if target:
        prefix = target.split(".", 1)[0]
        service = TARGET_PREFIXES.get(prefix)
        return Route(service, "target") if service else None
    signing = signing_service(headers.get("authorization"), raw_query)
    if signing is not None:
        service = SIGNING_NAMES.get(signing)
        return Route(service, "signature") if service else None
    content_type = headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded") or not body:
        source = body.decode("utf-8", "replace") if body else raw_query
        version = _form_value(source, "Version")
        if version is not None and version in QUERY_VERSIONS:
            return Route(QUERY_VERSIONS[version], "version")
    return None


def _form_value(form: str, key: str) -> str | None:
    for part in form.split("&"):
        name, _, value = part.partition("=")
        if urllib.parse.unquote_plus(name) == key:
            return urllib.parse.unquote_plus(value)
    return None
