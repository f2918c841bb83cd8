"""Errors of AWS Signature Version 4 verification, independent of any wire protocol.

Each class has a short machine ``code`` and carries the message AWS sends for the same condition. The
AWS fronts map a class to the error code of their protocol; AWS spells the same failure differently:

================================  =================================  ==========================  =========
class                             json 1.1 / rest-json               query (IAM, STS)            WebSocket
================================  =================================  ==========================  =========
IncompleteSignature               IncompleteSignatureException       IncompleteSignature         HTTP 403
SignatureDoesNotMatch             InvalidSignatureException          SignatureDoesNotMatch       HTTP 403
SignatureExpired                  InvalidSignatureException          SignatureDoesNotMatch       HTTP 403
SignatureNotYetCurrent            InvalidSignatureException          SignatureDoesNotMatch       HTTP 403
PresignedUrlExpired               InvalidSignatureException          SignatureDoesNotMatch       HTTP 403
UnrecognizedAccessKey             UnrecognizedClientException        InvalidClientTokenId        HTTP 403
ExpiredSecurityToken              ExpiredTokenException              ExpiredToken                HTTP 403
================================  =================================  ==========================  =========

Status: json 1.1 services answer 400, rest-json services 403; query answers 403 except ``ExpiredToken``
and ``IncompleteSignature`` (400). The skew codes matter beyond the text: SDKs correct their clock from
the response ``Date`` header only for InvalidSignatureException / SignatureDoesNotMatch (and a few
other codes), so the fronts must keep these codes and send an accurate ``Date`` header.

The last two classes are raised by the caller, after it looked up the access key; they are here so that
every outcome of checking a SigV4 request is one class hierarchy with one mapping table.
"""

from __future__ import annotations

from typing import ClassVar

SIGNATURE_MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid."  # noqa: S105
EXPIRED_TOKEN_MESSAGE = "The security token included in the request is expired"  # noqa: S105


class SigV4Error(Exception):
    """Base class: ``code`` names the condition, ``message`` is the text for the client."""

    code: ClassVar[str] = "sigv4_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class IncompleteSignature(SigV4Error):
    """The signature is malformed: a part is missing, the algorithm, scope or date is unusable."""

    code = "incomplete_signature"


class SignatureDoesNotMatch(SigV4Error):
    """The recomputed signature differs, or the credential scope names a region/service not served here."""

    code = "signature_does_not_match"

    def __init__(self, message: str = SIGNATURE_MISMATCH_MESSAGE) -> None:
        super().__init__(message)


class SignatureExpired(SigV4Error):
    """The request date is older than the allowed clock skew."""

    code = "signature_expired"


class SignatureNotYetCurrent(SigV4Error):
    """The request date is further in the future than the allowed clock skew."""

    code = "signature_not_yet_current"


class PresignedUrlExpired(SigV4Error):
    """A presigned URL is used after X-Amz-Date + X-Amz-Expires."""

    code = "presigned_url_expired"


class UnrecognizedAccessKey(SigV4Error):
    """Raised by the caller: no secret is known for the access key id (or its session token is bad)."""

    code = "unrecognized_access_key"

    def __init__(self, message: str = INVALID_TOKEN_MESSAGE) -> None:
        super().__init__(message)


class ExpiredSecurityToken(SigV4Error):
    """Raised by the caller: the temporary credentials behind the access key have expired."""

    code = "expired_security_token"

    def __init__(self, message: str = EXPIRED_TOKEN_MESSAGE) -> None:
        super().__init__(message)
