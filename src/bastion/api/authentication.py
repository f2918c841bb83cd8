"""SigV4 authentication of an API request: who is calling, or the AWS error of the service's protocol."""

from __future__ import annotations

from datetime import datetime

from bastion.api.errors import AwsError
from bastion.api.models import protocol
from bastion.api.protocols import HttpRequest
from bastion.api.routing import SIGNING_NAMES as SERVICE_OF_SIGNING_NAME
from bastion.auth import sigv4
from bastion.auth.sigv4_errors import ExpiredSecurityToken, SigV4Error, UnrecognizedAccessKey
from bastion.services.identity import CredentialError, CredentialSource, Principal

# IAM is a global service: clients sign it for us-east-1 whatever region they use.
GLOBAL_SERVICE_REGION = {"iam": "us-east-1"}


def signing_names(service: str) -> tuple[str, ...]:
    """The names a client may put in its credential scope for ``service`` (first = the usual one)."""
    names = tuple(name for name, owner in SERVICE_OF_SIGNING_NAME.items() if owner == service)
    return names or (service,)


def _status(service: str) -> int:
    """AWS answers authentication failures with 400 on JSON 1.1 services and 403 on rest-json ones."""
    return 400 if protocol(service) == "json" else 403


# SigV4 error code -> (json/rest-json code, query code)
_CODES: dict[str, tuple[str, str]] = {
    "incomplete_signature": ("IncompleteSignatureException", "IncompleteSignature"),
    "signature_does_not_match": ("InvalidSignatureException", "SignatureDoesNotMatch"),
    "signature_expired": ("InvalidSignatureException", "SignatureDoesNotMatch"),
    "signature_not_yet_current": ("InvalidSignatureException", "SignatureDoesNotMatch"),
    "presigned_url_expired": ("InvalidSignatureException", "SignatureDoesNotMatch"),
    "unrecognized_access_key": ("UnrecognizedClientException", "InvalidClientTokenId"),
    "expired_security_token": ("ExpiredTokenException", "ExpiredToken"),
}


def missing_authentication(service: str) -> AwsError:
    if protocol(service) == "query":
        return AwsError("MissingAuthenticationToken", "Request is missing Authentication Token", status=403)
    return AwsError(
        "MissingAuthenticationTokenException", "Missing Authentication Token", status=_status(service)
    )


def to_aws_error(service: str, error: SigV4Error) -> AwsError:
    json_code, query_code = _CODES.get(error.code, ("InvalidSignatureException", "SignatureDoesNotMatch"))
    if protocol(service) == "query":
        status = 400 if query_code in {"ExpiredToken", "IncompleteSignature"} else 403
        return AwsError(query_code, error.message, status=status)
    return AwsError(json_code, error.message, status=_status(service))


async def authenticate(
    service: str,
    http: HttpRequest,
    payload_sha256_hex: str,
    resolver: CredentialSource,
    now: datetime,
    region: str,
) -> Principal:
    headers = http.headers
    try:
        claim = sigv4.parse_request_signature(http.method, http.raw_path, http.raw_query, headers)
        if claim is None:
            raise missing_authentication(service)
        # Cheap checks first: a stale or misdirected request costs no credential look-up.
        sigv4.check_signature_time(claim, now)
        regions = {region, GLOBAL_SERVICE_REGION.get(service, region)}
        sigv4.check_scope(claim, regions=regions, services=signing_names(service))
        try:
            resolved = await resolver.resolve(claim.access_key_id, claim.security_token)
        except CredentialError as exc:
            if exc.reason == CredentialError.EXPIRED:
                raise ExpiredSecurityToken() from exc
            raise UnrecognizedAccessKey() from exc
        sigv4.verify_signature(
            claim,
            resolved.secret_access_key,
            http.method,
            http.raw_path,
            http.raw_query,
            headers,
            payload_sha256_hex,
            now,
        )
    except SigV4Error as exc:
        raise to_aws_error(service, exc) from exc
    return resolved.principal
