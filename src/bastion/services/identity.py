"""Who is calling: principals, and resolving an access key id to its secret and principal.

Three kinds of credentials exist:

* the admin (root) keys, from the environment or ``<data dir>/admin-credentials`` — the account root;
* long-term IAM user keys (``AKIA…``), whose secrets are stored sealed;
* temporary keys (``ASIA…``) from STS or Cognito identity pools. Their session token is a sealed record
  of the whole session (key, secret, expiry, principal), so they need no storage lookup.

``CredentialResolver`` reads the store on every call. ``CachingCredentialResolver`` gives the same answers
from bounded caches (``bastion serve`` uses one for signed API requests and MQTT CONNECTs alike): a user
key resolved at the current authorization generation is reused until the generation moves (every change
to a user or its keys bumps it), and an opened session token is reused until it expires.
"""

from __future__ import annotations

import enum
import hmac
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from bastion.clock import Clock
from bastion.sealing import Sealer, UnsealError
from bastion.services.generation_cache import GenerationCache
from bastion.storage.interfaces import IamRepository

SESSION_TOKEN_PURPOSE = b"bastion/session-token/v1"
ACCESS_KEY_SECRET_PURPOSE = b"bastion/access-key-secret/v1"
# CachingCredentialResolver: long-term keys resolved (per generation), and session tokens opened.
KEY_CACHE_LIMIT = 4096
TOKEN_CACHE_LIMIT = 1024


class PrincipalKind(enum.StrEnum):
    ROOT = "root"
    IAM_USER = "iam-user"
    ROLE_SESSION = "role-session"
    # An MQTT client admitted without credentials because the operator configured it (never by default).
    # It may do exactly what the policies in ``Principal.bound_policies`` allow.
    ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class WebIdentity:
    """The federated identity behind a role session (Cognito identity pools)."""

    provider: str  # e.g. "cognito-identity.amazonaws.com"
    subject: str  # the identity id
    audience: str  # the identity pool id
    amr: tuple[str, ...] = ()
    authenticated: bool = False


@dataclass(frozen=True, slots=True)
class Principal:
    kind: PrincipalKind
    account_id: str
    arn: str
    user_id: str
    access_key_id: str = ""
    user_name: str | None = None
    role_name: str | None = None
    role_arn: str | None = None
    role_id: str | None = None
    session_name: str | None = None
    # Inline session policy (JSON) that further limits a role session, e.g. Cognito's guest scope-down.
    session_policy: str | None = None
    expires: datetime | None = None
    web_identity: WebIdentity | None = None
    source_identity: str | None = None
    tags: tuple[tuple[str, str], ...] = field(default=())
    # ANONYMOUS only: the policies configured for it, each an IAM managed policy ARN, an inline policy
    # document (JSON) or an AWS IoT policy name.
    bound_policies: tuple[str, ...] = field(default=())

    @property
    def is_root(self) -> bool:
        return self.kind is PrincipalKind.ROOT


def root_principal(account_id: str, access_key_id: str) -> Principal:
    return Principal(
        kind=PrincipalKind.ROOT,
        account_id=account_id,
        arn=f"arn:aws:iam::{account_id}:root",
        user_id=account_id,
        access_key_id=access_key_id,
    )


class CredentialError(Exception):
    """Credentials cannot be used. ``reason`` is one of the class constants."""

    UNKNOWN_KEY = "unknown-key"
    EXPIRED = "expired"
    INACTIVE = "inactive"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ResolvedCredentials:
    secret_access_key: str = field(repr=False)
    principal: Principal


@dataclass(frozen=True, slots=True)
class TemporaryCredentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime


def _principal_to_json(principal: Principal) -> dict[str, Any]:
    data = asdict(principal)
    data["kind"] = principal.kind.value
    data["expires"] = principal.expires.isoformat() if principal.expires else None
    return data


def _principal_from_json(data: dict[str, Any]) -> Principal:
    web = data.get("web_identity")
    expires = data.get("expires")
    return Principal(
        kind=PrincipalKind(data["kind"]),
        account_id=data["account_id"],
        arn=data["arn"],
        user_id=data["user_id"],
        access_key_id=data.get("access_key_id", ""),
        user_name=data.get("user_name"),
        role_name=data.get("role_name"),
        role_arn=data.get("role_arn"),
        role_id=data.get("role_id"),
        session_name=data.get("session_name"),
        session_policy=data.get("session_policy"),
        expires=datetime.fromisoformat(expires) if expires else None,
        web_identity=WebIdentity(
            provider=web["provider"],
            subject=web["subject"],
            audience=web["audience"],
            amr=tuple(web.get("amr", ())),
            authenticated=bool(web.get("authenticated")),
        )
        if web
        else None,
        source_identity=data.get("source_identity"),
        tags=tuple((str(k), str(v)) for k, v in data.get("tags", ())),
    )


class SessionTokens:
    """Mint and open sealed session tokens."""

    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer

    def mint(self, principal: Principal, secret_access_key: str) -> str:
        body = {"p": _principal_to_json(principal), "s": secret_access_key}
        return self._sealer.seal_text(json.dumps(body, separators=(",", ":")), purpose=SESSION_TOKEN_PURPOSE)

    def open(self, token: str) -> tuple[Principal, str]:
        try:
            body = json.loads(self._sealer.unseal_text(token, purpose=SESSION_TOKEN_PURPOSE))
            return _principal_from_json(body["p"]), str(body["s"])
        except (UnsealError, ValueError, KeyError, TypeError) as exc:
            raise CredentialError(CredentialError.UNKNOWN_KEY) from exc


class CredentialResolver:
    """Maps an access key id (+ session token) to its secret and principal, or raises CredentialError."""

    def __init__(
        self,
        *,
        account_id: str,
        admin_access_key_id: str,
        admin_secret_access_key: str,
        iam: IamRepository,
        sealer: Sealer,
        clock: Clock,
    ) -> None:
        self._account_id = account_id
        self._admin_key = admin_access_key_id
        self._admin_secret = admin_secret_access_key
        self._iam = iam
        self._sealer = sealer
        self._tokens = SessionTokens(sealer)
        self._clock = clock

    @property
    def tokens(self) -> SessionTokens:
        return self._tokens

    def is_admin_key(self, access_key_id: str) -> bool:
        return hmac.compare_digest(access_key_id.encode(), self._admin_key.encode())

    async def resolve(self, access_key_id: str, session_token: str | None) -> ResolvedCredentials:
        if self.is_admin_key(access_key_id):
            return ResolvedCredentials(self._admin_secret, root_principal(self._account_id, access_key_id))
        if session_token is not None:
            return self._resolve_temporary(access_key_id, session_token)
        if access_key_id.startswith("ASIA"):
            # A temporary key used without its token: AWS reports the token as invalid.
            raise CredentialError(CredentialError.UNKNOWN_KEY)
        return await self._resolve_user_key(access_key_id)

    def _resolve_temporary(self, access_key_id: str, session_token: str) -> ResolvedCredentials:
        return self.check_temporary(access_key_id, *self._tokens.open(session_token))

    def check_temporary(self, access_key_id: str, principal: Principal, secret: str) -> ResolvedCredentials:
        """The opened session token ``(principal, secret)`` used with ``access_key_id``, now."""
        if not hmac.compare_digest(principal.access_key_id.encode(), access_key_id.encode()):
            raise CredentialError(CredentialError.UNKNOWN_KEY)
        if principal.account_id != self._account_id:
            raise CredentialError(CredentialError.UNKNOWN_KEY)
        if principal.expires is None or principal.expires <= self._clock.now():
            raise CredentialError(CredentialError.EXPIRED)
        return ResolvedCredentials(secret, principal)

    async def _resolve_user_key(self, access_key_id: str) -> ResolvedCredentials:
        key = await self._iam.get_access_key(access_key_id)
        if key is None:
            raise CredentialError(CredentialError.UNKNOWN_KEY)
        if key.status != "Active":
            raise CredentialError(CredentialError.INACTIVE)
        user = await self._iam.get_user(key.user_name)
        if user is None:
            raise CredentialError(CredentialError.UNKNOWN_KEY)
        secret = self._sealer.unseal(key.sealed_secret, purpose=ACCESS_KEY_SECRET_PURPOSE).decode()
        principal = Principal(
            kind=PrincipalKind.IAM_USER,
            account_id=self._account_id,
            arn=user.arn,
            user_id=user.user_id,
            access_key_id=access_key_id,
            user_name=user.name,
        )
        return ResolvedCredentials(secret, principal)


class CredentialSource(Protocol):
    async def resolve(self, access_key_id: str, session_token: str | None) -> ResolvedCredentials: ...


class CachingCredentialResolver:
    """``CredentialResolver``'s answers from bounded caches, for signed API requests and MQTT CONNECTs.

    ``generation`` returns the authorization generation the authorizer last saw (its watch polls the store
    every 250 ms). A long-term key's secret and principal are reused only while that generation is the one
    they were read at, so a deleted or deactivated key stops working as soon as the change is noticed, the
    same window in which policy changes reach open connections. Failures are never cached. A session token
    is opened once; its expiry and the key it belongs to are checked on every use.
    """

    def __init__(
        self,
        resolver: CredentialResolver,
        generation: Callable[[], int],
        *,
        key_limit: int = KEY_CACHE_LIMIT,
        token_limit: int = TOKEN_CACHE_LIMIT,
    ) -> None:
        self._resolver = resolver
        self._keys: GenerationCache[str, ResolvedCredentials] = GenerationCache(key_limit, generation)
        self._token_limit = token_limit
        self._tokens: OrderedDict[str, tuple[Principal, str]] = OrderedDict()

    async def resolve(self, access_key_id: str, session_token: str | None) -> ResolvedCredentials:
        if session_token is not None and not self._resolver.is_admin_key(access_key_id):
            principal, secret = self._open(session_token)
            return self._resolver.check_temporary(access_key_id, principal, secret)
        return await self._keys.get(access_key_id, lambda: self._resolver.resolve(access_key_id, None))

    def _open(self, session_token: str) -> tuple[Principal, str]:
        opened = self._tokens.get(session_token)
        if opened is not None:
            self._tokens.move_to_end(session_token)
            return opened
        opened = self._resolver.tokens.open(session_token)  # CredentialError for anything not ours
        self._tokens[session_token] = opened
        if len(self._tokens) > self._token_limit:
            self._tokens.popitem(last=False)
        return opened


def with_expiry(principal: Principal, expires: datetime) -> Principal:
    return replace(principal, expires=expires.astimezone(UTC))
