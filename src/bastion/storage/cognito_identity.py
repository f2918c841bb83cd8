"""The Cognito identity pool repository: pools, their identities, the logins linked to identities, and
the keys that sign the pool's OpenID tokens.

Rules every backend follows (the contract suite checks each one):

* Pool and identity ids are compared exactly. Pool names need not be unique (AWS allows duplicates).
* A login (pool, provider, subject) belongs to at most one identity, and an identity holds at most one
  login per provider. Writes that would break either rule raise ``AlreadyExists`` and change nothing.
* ``link_logins`` is the one way logins move between identities: it links new logins to an identity and
  absorbs other identities of the same pool (their logins move over; they are disabled and remember
  where they went), all in one transaction, so a merge is never seen half done.
* Deleting a pool deletes its identities and their logins.
* Nothing here bumps the authorization generation: credentials carry their role and session, so no
  change to a pool or an identity alters a decision about credentials already issued.
* Listings page in order of id with opaque markers; a marker from another listing (or another pool's
  identity listing) raises ``InvalidMarker``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bastion.storage.interfaces import Page, Tag


@dataclass(frozen=True, slots=True)
class CognitoProvider:
    """A user pool app client whose ID tokens the identity pool accepts."""

    provider_name: str  # cognito-idp.<region>.amazonaws.com/<user pool id>
    client_id: str
    server_side_token_check: bool = False


@dataclass(frozen=True, slots=True)
class MappingRule:
    claim: str
    match_type: str  # Equals | Contains | StartsWith | NotEqual
    value: str
    role_arn: str


@dataclass(frozen=True, slots=True)
class RoleMapping:
    """How to choose the role for logins of one provider (key as SetIdentityPoolRoles names it)."""

    provider: str
    type: str  # Token | Rules
    ambiguous_role_resolution: str | None = None  # AuthenticatedRole | Deny
    rules: tuple[MappingRule, ...] = ()


@dataclass(frozen=True, slots=True)
class IdentityPool:
    pool_id: str
    name: str
    allow_unauthenticated: bool
    created: datetime
    allow_classic_flow: bool = False
    cognito_providers: tuple[CognitoProvider, ...] = ()
    supported_login_providers: tuple[tuple[str, str], ...] = ()
    developer_provider_name: str | None = None
    open_id_connect_provider_arns: tuple[str, ...] = ()
    saml_provider_arns: tuple[str, ...] = ()
    tags: tuple[Tag, ...] = ()
    # "authenticated" / "unauthenticated" -> role ARN, as SetIdentityPoolRoles set them.
    roles: tuple[tuple[str, str], ...] = ()
    role_mappings: tuple[RoleMapping, ...] = ()

    def role(self, kind: str) -> str | None:
        return dict(self.roles).get(kind)

    def mapping_for(self, provider: str) -> RoleMapping | None:
        return next((m for m in self.role_mappings if m.provider == provider), None)


@dataclass(frozen=True, slots=True)
class Login:
    """A user of one identity provider: the provider name and the user's subject there."""

    provider: str
    subject: str


@dataclass(frozen=True, slots=True)
class Identity:
    identity_id: str
    pool_id: str
    created: datetime
    last_modified: datetime
    # Ordered by provider name.
    logins: tuple[Login, ...] = ()
    # Disabled identities were merged into another one, or lost their last login.
    disabled: bool = False
    merged_into: str | None = None

    @property
    def authenticated(self) -> bool:
        return bool(self.logins)

    def subject_for(self, provider: str) -> str | None:
        return next((login.subject for login in self.logins if login.provider == provider), None)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key that signs the pools' OpenID tokens, sealed with the master key."""

    kid: str
    sealed_private_key: bytes
    created: datetime


class CognitoIdentityRepository(Protocol):
    # pools
    async def create_pool(self, pool: IdentityPool) -> None: ...  # AlreadyExists (id)
    async def get_pool(self, pool_id: str) -> IdentityPool | None: ...
    async def list_pools(self, marker: str | None, limit: int) -> Page[IdentityPool]: ...

    async def update_pool(self, pool: IdentityPool) -> None:
        """Replace the settings; the pool's ``roles``, ``role_mappings`` and ``created`` stay. NotFound."""
        ...

    async def set_roles(
        self, pool_id: str, roles: Sequence[tuple[str, str]], mappings: Sequence[RoleMapping]
    ) -> None: ...  # NotFound

    async def delete_pool(self, pool_id: str) -> None: ...  # NotFound; its identities go with it

    # identities
    async def create_identity(self, identity: Identity) -> None:
        """NotFound (pool); AlreadyExists when the id is taken or one of its logins is linked already."""
        ...

    async def get_identity(self, identity_id: str) -> Identity | None: ...
    async def find_identity(self, pool_id: str, login: Login) -> Identity | None: ...

    async def list_identities(
        self, pool_id: str, marker: str | None, limit: int, hide_disabled: bool
    ) -> Page[Identity]: ...  # NotFound (pool)

    async def link_logins(
        self, identity_id: str, logins: Sequence[Login], absorb: Sequence[str], when: datetime
    ) -> Identity:
        """Link ``logins`` to the identity and merge the ``absorb`` identities (same pool) into it.

        Logins already linked to this identity are left as they are. Absorbed identities hand over their
        logins and become disabled with ``merged_into`` set. NotFound (any identity, or one of another
        pool); AlreadyExists when a login is linked to an identity not being absorbed, or the identity
        would hold two logins of one provider. Returns the identity as it now is.
        """
        ...

    async def unlink_logins(self, identity_id: str, providers: Sequence[str], when: datetime) -> Identity:
        """Remove the logins of ``providers`` (absent ones are ignored); an identity left without logins
        that had some becomes disabled. NotFound."""
        ...

    async def delete_identities(self, identity_ids: Sequence[str]) -> None: ...  # missing ids are ignored

    # signing keys of the OpenID tokens
    async def list_signing_keys(self) -> Sequence[SigningKey]: ...  # oldest first, ties by kid
    async def add_signing_key(self, key: SigningKey) -> None: ...  # AlreadyExists (kid)
