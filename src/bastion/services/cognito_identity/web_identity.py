"""One web identity verifier for STS made of several, chosen by the token's issuer.

STS's AssumeRoleWithWebIdentity takes tokens of any configured provider; each provider's verifier
knows its own keys. The issuer is read from the token unverified, only to pick the verifier, which then
checks everything (the issuer included).
"""

from __future__ import annotations

from collections.abc import Mapping

import jwt

from bastion.services.errors import InvalidIdentityTokenError
from bastion.services.sts.service import WebIdentityClaims, WebIdentityVerifier

NOT_A_JWT = "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"


class WebIdentityByIssuer:
    def __init__(self, verifiers: Mapping[str, WebIdentityVerifier], fallback: WebIdentityVerifier) -> None:
        self._verifiers = dict(verifiers)
        self._fallback = fallback

    async def verify(self, token: str) -> WebIdentityClaims:
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            raise InvalidIdentityTokenError(NOT_A_JWT) from None
        verifier = self._verifiers.get(issuer) if isinstance(issuer, str) else None
        return await (verifier or self._fallback).verify(token)
