"""Who is connecting: a CONNECT (and, for WebSocket, its upgrade request) becomes a ``Principal``.

* **WebSocket** (``GET /mqtt``): a SigV4-presigned URL, verified exactly as AWS IoT does it (service
  ``iotdevicegateway``, ``iotdata`` accepted too; only ``host`` signed; ``X-Amz-Security-Token``
  appended after signing). The check happens on the upgrade request, which is refused with HTTP 403;
  the MQTT user name and password are then ignored (the AWS IoT JavaScript SDK sends metrics there).
* **TCP / TLS**, Bastion's extension (AWS has no SigV4 form for MQTT over TCP): user name ``sigv4`` and,
  as password, the same presigned URL a WebSocket client would use, verified the same way.
* **Configured anonymous principal**: when an operator binds policies to it, TCP/TLS clients without
  credentials become that principal, and every action is authorized against those policies like any
  other. Without that configuration they are refused: never open by default.

X.509 client certificates will be one more ``AuthMethod``; the rest of the broker only sees the
``Principal``.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from bastion.auth import sigv4
from bastion.auth.sigv4_canonical import EMPTY_SHA256
from bastion.clock import Clock
from bastion.mqtt import ReasonCode
from bastion.services.identity import CredentialError, CredentialSource, Principal, PrincipalKind

log = logging.getLogger("bastion.broker.auth")

SIGV4_USERNAME = "sigv4"
WEBSOCKET_SERVICES = ("iotdevicegateway", "iotdata")


class AuthMethod(enum.StrEnum):
    SIGV4_WEBSOCKET = "sigv4-websocket"
    SIGV4_PASSWORD = "sigv4-password"  # noqa: S105 - a method name, not a secret
    ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class Authenticated:
    principal: Principal
    method: AuthMethod


class AuthenticationFailed(Exception):
    """The client could not be authenticated. ``reason_code`` is what an MQTT 5 CONNACK says."""

    def __init__(self, message: str, reason_code: ReasonCode = ReasonCode.BAD_USER_NAME_OR_PASSWORD) -> None:
        super().__init__(message)
        self.reason_code = reason_code


def anonymous_principal(account_id: str, policies: Iterable[str]) -> Principal:
    """The configured principal for credential-less TCP/TLS clients, bound to ``policies``."""
    return Principal(
        kind=PrincipalKind.ANONYMOUS,
        account_id=account_id,
        arn=f"arn:aws:iam::{account_id}:anonymous",
        user_id="anonymous",
        bound_policies=tuple(policies),
    )


class Authenticator:
    def __init__(
        self,
        resolver: CredentialSource,
        clock: Clock,
        *,
        region: str,
        anonymous: Principal | None = None,
    ) -> None:
        self._resolver = resolver
        self._clock = clock
        self._region = region
        self._anonymous = anonymous

    async def presigned(self, raw_path: str, raw_query: str, headers: list[tuple[str, str]]) -> Principal:
        """Verify a presigned ``GET`` (the WebSocket upgrade, or the URL given as a TCP password)."""
        now = self._clock.now()
        try:
            claim = sigv4.parse_request_signature("GET", raw_path, raw_query, headers)
            if claim is None:
                raise AuthenticationFailed("the request carries no SigV4 signature")
            sigv4.check_signature_time(claim, now)
            sigv4.check_scope(claim, regions={self._region}, services=WEBSOCKET_SERVICES)
            try:
                resolved = await self._resolver.resolve(claim.access_key_id, claim.security_token)
            except CredentialError as exc:
                if exc.reason == CredentialError.EXPIRED:
                    raise sigv4.ExpiredSecurityToken() from exc
                raise sigv4.UnrecognizedAccessKey() from exc
            sigv4.verify_signature(
                claim, resolved.secret_access_key, "GET", raw_path, raw_query, headers, EMPTY_SHA256, now
            )
        except sigv4.SigV4Error as exc:
            raise AuthenticationFailed(f"{exc.code}: {exc.message}") from exc
        return resolved.principal

    async def password_url(self, password: bytes | None) -> Principal:
        """The ``sigv4`` user name: the password is a presigned ``wss://host/mqtt?...`` URL."""
        try:
            text = (password or b"").decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AuthenticationFailed("the password is not a presigned URL") from exc
        parts = urlsplit(text.strip())
        if not parts.netloc or not parts.query:
            raise AuthenticationFailed("the password is not a presigned URL (scheme://host/mqtt?X-Amz-...)")
        return await self.presigned(parts.path or "/", parts.query, [("host", parts.netloc)])

    async def for_connect(
        self, username: str | None, password: bytes | None, websocket_principal: Principal | None
    ) -> Authenticated:
        if websocket_principal is not None:
            return Authenticated(websocket_principal, AuthMethod.SIGV4_WEBSOCKET)
        if username == SIGV4_USERNAME:
            return Authenticated(await self.password_url(password), AuthMethod.SIGV4_PASSWORD)
        if self._anonymous is not None:
            return Authenticated(self._anonymous, AuthMethod.ANONYMOUS)
        raise AuthenticationFailed(
            "no credentials: use user name 'sigv4' with a presigned URL as password, or configure an "
            "anonymous principal",
            ReasonCode.NOT_AUTHORIZED,
        )


def principal_identifier(principal: Principal) -> str:
    """``principalIdentifier`` of AWS IoT lifecycle events."""
    web = principal.web_identity
    if web is not None:
        return web.subject
    if principal.kind is PrincipalKind.ROLE_SESSION:
        return f"{principal.account_id}/{principal.role_id}:{principal.session_name}"
    if principal.kind is PrincipalKind.ANONYMOUS:
        return "anonymous"
    return f"{principal.account_id}/{principal.access_key_id}"
