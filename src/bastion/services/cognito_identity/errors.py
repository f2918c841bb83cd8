"""Errors of identity pools that no other service raises, and the texts AWS answers with.

The texts under "As AWS" are the ones AWS answers with; the others describe the condition plainly where
AWS's wording is not known.
"""

from __future__ import annotations

from bastion.services.errors import ServiceError


class InvalidPoolConfigurationError(ServiceError):
    """The pool has no usable role for the request: none set, missing, or its trust policy refuses."""


class ClassicFlowDisabledError(ServiceError):
    """GetOpenIdToken on a pool that does not allow the basic (classic) flow."""


# As AWS.
INVALID_POOL_CONFIGURATION = "Invalid identity pool configuration. Check assigned IAM roles for this pool."
UNAUTHENTICATED_NOT_SUPPORTED = "Unauthenticated access is not supported for this identity pool."
LOGINS_DO_NOT_MATCH = (
    "Logins don't match. Please include at least one valid login for this identity or identity pool."
)
UNSUPPORTED_PROVIDER = "Token is not from a supported provider of this identity pool."
CLASSIC_FLOW_DISABLED = "Basic (classic) flow is not enabled, please use enhanced flow."
AMBIGUOUS_ROLE_DENIED = "The ambiguous role mapping rules denied this request."
ISSUER_MISMATCH = "Invalid login token. Issuer doesn't match providerName"
SIGNATURE_UNVERIFIED = "Invalid login token. Couldn't verify signed token."
MISSING_AUDIENCE = "Invalid login token. Missing a required claim: aud"
# Plain descriptions (AWS's wording for these was not found).
NOT_A_JWT = "Invalid login token. Not a valid OpenId Connect identity token."


def identity_forbidden(identity_id: str) -> str:
    return f"Access to Identity '{identity_id}' is forbidden."


def identity_not_found(identity_id: str) -> str:
    return f"Identity '{identity_id}' not found."


def pool_not_found(pool_id: str) -> str:
    return f"IdentityPool '{pool_id}' not found."


def token_expired(now: int, expires: int) -> str:
    return f"Invalid login token. Token expired: {now} >= {expires}"
