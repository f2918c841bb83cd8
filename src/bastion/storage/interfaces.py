"""Repository interfaces: the only way services reach persistent state.

Every backend (SQLite, PostgreSQL, and the in-memory one used by unit tests) implements these protocols,
and one contract suite (``tests/storage``) runs against each. Records are frozen dataclasses: services
receive values, never live rows. Names are compared exactly as AWS does (IAM names are case-insensitive
for uniqueness, so backends store a lower-cased key beside the display name).

Rules every backend follows (the contract suite checks each one):

* Lookups by IAM name (role, user, inline policy, managed policy) ignore case; records carry the display
  name as it was created. Managed-policy ARNs are looked up ignoring case too (names are unique per account
  ignoring case, so the ARN cannot be ambiguous).
* ``get_*`` returns ``None`` when the record (or its owner) does not exist; ``list_*`` of something owned
  raises ``NotFound`` when the owner does not exist; mutations raise ``NotFound`` / ``AlreadyExists`` /
  ``DeleteConflict`` as noted on each method.
* Every datetime handed in must be timezone-aware (``ValueError`` otherwise); every datetime handed out is
  in UTC.
* Every successful IAM mutation bumps the authorization generation in the same transaction, so a change
  can never be committed without the signal that invalidates cached decisions.
* Each method is atomic: concurrent callers (other tasks or other processes) see it whole or not at all.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Literal, Protocol, TypeVar

OwnerKind = Literal["role", "user"]
T = TypeVar("T")


class StorageError(Exception):
    """Base class of the domain errors a repository raises."""


class AlreadyExists(StorageError):
    """A record with the same unique key exists."""


class NotFound(StorageError):
    """The record the operation needs does not exist."""


class DeleteConflict(StorageError):
    """The record cannot be deleted while others depend on it (or it is a policy's default version)."""


class QuotaExceeded(StorageError):
    """The write would take an owner past a count limit the caller passed (checked in the same
    transaction as the write, so concurrent writers cannot both slip under it)."""


class InvalidMarker(StorageError):
    """A paging marker was not produced by this listing (tampered, truncated or from another list)."""


@dataclass(frozen=True, slots=True)
class Tag:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Role:
    role_id: str
    name: str
    path: str
    arn: str
    trust_policy: str
    created: datetime
    description: str | None = None
    max_session_duration: int = 3600
    tags: tuple[Tag, ...] = ()


@dataclass(frozen=True, slots=True)
class User:
    user_id: str
    name: str
    path: str
    arn: str
    created: datetime
    tags: tuple[Tag, ...] = ()


@dataclass(frozen=True, slots=True)
class InlinePolicy:
    owner_kind: OwnerKind
    owner_name: str
    policy_name: str
    document: str


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    policy_id: str
    name: str
    path: str
    arn: str
    default_version_id: str
    created: datetime
    updated: datetime
    description: str | None = None
    # Derived by the backend from the attachment tables; ignored when creating.
    attachment_count: int = 0
    tags: tuple[Tag, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    policy_arn: str
    version_id: str
    document: str
    created: datetime
    # Derived from the policy's default_version_id; ignored when adding.
    is_default: bool


@dataclass(frozen=True, slots=True)
class PolicyAttachment:
    """One managed policy attached to one role or user (ListEntitiesForPolicy)."""

    owner_kind: OwnerKind
    owner_name: str
    policy_arn: str


@dataclass(frozen=True, slots=True)
class AccessKey:
    access_key_id: str
    user_name: str
    # The secret, sealed with the server's master key (bastion.sealing); never stored in clear.
    sealed_secret: bytes
    status: Literal["Active", "Inactive"]
    created: datetime


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    # Opaque continuation marker; None when this is the last page.
    marker: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


class IamRepository(Protocol):
    # Listings page in order of the lower-cased name; ``path_prefix`` is a case-sensitive prefix of the
    # path ("/" lists everything); ``limit`` >= 1 (ValueError otherwise); a marker this listing did not
    # hand out raises InvalidMarker.

    # roles
    async def create_role(self, role: Role) -> None: ...  # AlreadyExists (same name ignoring case, or id)
    async def get_role(self, name: str) -> Role | None: ...
    async def list_roles(self, path_prefix: str, marker: str | None, limit: int) -> Page[Role]: ...
    async def update_role_trust_policy(self, name: str, document: str) -> None: ...  # NotFound

    async def update_role(self, name: str, description: str | None, max_session_duration: int | None) -> None:
        """Change the given fields; ``None`` leaves a field as it is. NotFound."""
        ...

    async def delete_role(self, name: str) -> None:
        """NotFound; DeleteConflict while the role has inline or attached policies."""
        ...

    async def tag_role(self, name: str, tags: Sequence[Tag]) -> None:
        """Add tags, replacing a tag whose key is equal ignoring case (IAM rule for roles). NotFound."""
        ...

    async def untag_role(self, name: str, keys: Sequence[str]) -> None:
        """Remove the tags whose keys are equal ignoring case; absent keys are ignored. NotFound."""
        ...

    # users
    async def create_user(self, user: User) -> None: ...  # AlreadyExists (same name ignoring case, or id)
    async def get_user(self, name: str) -> User | None: ...
    async def list_users(self, path_prefix: str, marker: str | None, limit: int) -> Page[User]: ...

    async def delete_user(self, name: str) -> None:
        """NotFound; DeleteConflict while the user has inline or attached policies or access keys."""
        ...

    async def tag_user(self, name: str, tags: Sequence[Tag]) -> None: ...  # as tag_role
    async def untag_user(self, name: str, keys: Sequence[str]) -> None: ...  # as untag_role

    # inline policies of a role or user (put overwrites, keeping one policy per name ignoring case)
    async def put_inline_policy(self, policy: InlinePolicy) -> None: ...  # NotFound (owner)
    async def get_inline_policy(
        self, owner_kind: OwnerKind, owner: str, name: str
    ) -> InlinePolicy | None: ...
    async def list_inline_policies(self, owner_kind: OwnerKind, owner: str) -> Sequence[InlinePolicy]: ...
    async def delete_inline_policy(
        self, owner_kind: OwnerKind, owner: str, name: str
    ) -> None: ...  # NotFound

    # managed policies and their versions
    async def create_managed_policy(self, policy: ManagedPolicy, first_version: PolicyVersion) -> None:
        """AlreadyExists when the account (from the ARN) has a policy of that name ignoring case, or the
        ARN or id is taken. ``first_version`` becomes the default; ValueError unless its id equals
        ``policy.default_version_id`` and its ARN equals ``policy.arn``."""
        ...

    async def get_managed_policy(self, arn: str) -> ManagedPolicy | None: ...
    async def list_managed_policies(
        self, path_prefix: str, marker: str | None, limit: int
    ) -> Page[ManagedPolicy]: ...

    async def delete_managed_policy(self, arn: str) -> None:
        """NotFound; DeleteConflict while attached to anything; removes its versions."""
        ...

    async def add_policy_version(
        self, version: PolicyVersion, make_default: bool, *, max_versions: int | None = None
    ) -> None:
        """NotFound (policy); AlreadyExists (version id); QuotaExceeded when the policy already has
        ``max_versions``. Sets the policy's ``updated`` to the version's ``created``."""
        ...

    async def get_policy_version(self, arn: str, version_id: str) -> PolicyVersion | None: ...

    async def list_policy_versions(self, arn: str) -> Sequence[PolicyVersion]:
        """In the order the versions were added. NotFound (policy)."""
        ...

    async def delete_policy_version(self, arn: str, version_id: str) -> None:
        """NotFound; DeleteConflict for the default version."""
        ...

    async def set_default_policy_version(self, arn: str, version_id: str) -> None: ...  # NotFound
    async def tag_managed_policy(self, arn: str, tags: Sequence[Tag]) -> None: ...  # keys case-sensitive
    async def untag_managed_policy(self, arn: str, keys: Sequence[str]) -> None: ...  # keys case-sensitive

    # attachments of managed policies to roles and users
    async def attach_policy(
        self, owner_kind: OwnerKind, owner: str, policy_arn: str, *, max_attached: int | None = None
    ) -> None:
        """Idempotent. NotFound when the owner or the policy does not exist; QuotaExceeded when the
        policy is not attached yet and the owner already holds ``max_attached``."""
        ...

    async def detach_policy(self, owner_kind: OwnerKind, owner: str, policy_arn: str) -> None: ...  # NotFound

    async def list_attached_policies(self, owner_kind: OwnerKind, owner: str) -> Sequence[ManagedPolicy]:
        """Ordered by policy name. NotFound (owner)."""
        ...

    async def list_entities_for_policy(self, policy_arn: str) -> Sequence[PolicyAttachment]:
        """Roles, then users, each ordered by name. NotFound (policy)."""
        ...

    # access keys of users
    async def create_access_key(self, key: AccessKey, *, max_keys: int | None = None) -> None:
        """NotFound (user); AlreadyExists (id); QuotaExceeded when the user already has ``max_keys``."""
        ...

    async def get_access_key(self, access_key_id: str) -> AccessKey | None: ...
    async def list_access_keys(
        self, user_name: str
    ) -> Sequence[AccessKey]: ...  # by creation; NotFound (user)
    async def update_access_key_status(
        self, access_key_id: str, status: Literal["Active", "Inactive"]
    ) -> None: ...  # NotFound
    async def delete_access_key(self, access_key_id: str) -> None: ...  # NotFound


class MetaRepository(Protocol):
    """Cluster-wide counters and settings."""

    async def get_generation(self) -> int: ...

    async def bump_generation(self) -> int:
        """Increment the authorization generation (any policy/role/attachment change) and return it.

        Atomic across processes: concurrent callers each get a distinct value. IAM mutations bump it
        themselves; call this for changes made outside the repositories.
        """
        ...


if typing.TYPE_CHECKING:  # domain repositories import this module, so theirs are imported for typing only
    from bastion.storage.cognito_identity import CognitoIdentityRepository
    from bastion.storage.cognito_idp import CognitoIdpRepository
    from bastion.storage.iot import IotRepository
    from bastion.storage.mqtt import MqttRepository


class Store(Protocol):
    """One backend: its repositories plus lifecycle."""

    iam: IamRepository
    meta: MetaRepository
    iot: IotRepository
    cognito_identity: CognitoIdentityRepository
    cognito_idp: CognitoIdpRepository
    mqtt: MqttRepository

    async def migrate(self) -> None:
        """Bring the schema to the newest version (idempotent; safe from several processes)."""
        ...

    async def close(self) -> None: ...
