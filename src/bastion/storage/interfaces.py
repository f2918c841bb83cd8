"""Repository interfaces: the only way services reach persistent state.

Every backend (SQLite, PostgreSQL, and the in-memory one used by unit tests) implements these protocols,
and one contract suite (``tests/storage``) runs against each. Records are frozen dataclasses: services
receive values, never live rows. Names are compared exactly as AWS does (IAM names are case-insensitive
for uniqueness, so backends store a lower-cased key beside the display name).
"""

from __future__ import annotations

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
    attachment_count: int = 0
    tags: tuple[Tag, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    policy_arn: str
    version_id: str
    document: str
    created: datetime
    is_default: bool


@dataclass(frozen=True, slots=True)
class AccessKey:
    access_key_id: str
    user_name: str
    # The secret, sealed with the server's master key (bastion.secrets); never stored in clear.
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
    # roles
    async def create_role(self, role: Role) -> None: ...  # AlreadyExists
    async def get_role(self, name: str) -> Role | None: ...
    async def list_roles(self, path_prefix: str, marker: str | None, limit: int) -> Page[Role]: ...
    async def update_role_trust_policy(self, name: str, document: str) -> None: ...  # NotFound
    async def update_role(self, name: str, description: str | None, max_session_duration: int | None) -> None: ...
    async def delete_role(self, name: str) -> None: ...  # NotFound

    # users
    async def create_user(self, user: User) -> None: ...  # AlreadyExists
    async def get_user(self, name: str) -> User | None: ...
    async def list_users(self, path_prefix: str, marker: str | None, limit: int) -> Page[User]: ...
    async def delete_user(self, name: str) -> None: ...  # NotFound

    # inline policies of a role or user (put overwrites)
    async def put_inline_policy(self, policy: InlinePolicy) -> None: ...
    async def get_inline_policy(self, owner_kind: OwnerKind, owner: str, name: str) -> InlinePolicy | None: ...
    async def list_inline_policies(self, owner_kind: OwnerKind, owner: str) -> Sequence[InlinePolicy]: ...
    async def delete_inline_policy(self, owner_kind: OwnerKind, owner: str, name: str) -> None: ...  # NotFound

    # managed policies and their versions
    async def create_managed_policy(self, policy: ManagedPolicy, first_version: PolicyVersion) -> None: ...
    async def get_managed_policy(self, arn: str) -> ManagedPolicy | None: ...
    async def list_managed_policies(self, path_prefix: str, marker: str | None, limit: int) -> Page[ManagedPolicy]: ...
    async def delete_managed_policy(self, arn: str) -> None: ...  # NotFound; removes its versions
    async def add_policy_version(self, version: PolicyVersion, make_default: bool) -> None: ...
    async def get_policy_version(self, arn: str, version_id: str) -> PolicyVersion | None: ...
    async def list_policy_versions(self, arn: str) -> Sequence[PolicyVersion]: ...
    async def delete_policy_version(self, arn: str, version_id: str) -> None: ...  # NotFound
    async def set_default_policy_version(self, arn: str, version_id: str) -> None: ...  # NotFound

    # attachments of managed policies to roles and users
    async def attach_policy(self, owner_kind: OwnerKind, owner: str, policy_arn: str) -> None: ...  # idempotent
    async def detach_policy(self, owner_kind: OwnerKind, owner: str, policy_arn: str) -> None: ...  # NotFound
    async def list_attached_policies(self, owner_kind: OwnerKind, owner: str) -> Sequence[ManagedPolicy]: ...

    # access keys of users
    async def create_access_key(self, key: AccessKey) -> None: ...
    async def get_access_key(self, access_key_id: str) -> AccessKey | None: ...
    async def list_access_keys(self, user_name: str) -> Sequence[AccessKey]: ...
    async def update_access_key_status(self, access_key_id: str, status: Literal["Active", "Inactive"]) -> None: ...
    async def delete_access_key(self, access_key_id: str) -> None: ...  # NotFound


class MetaRepository(Protocol):
    """Cluster-wide counters and settings."""

    async def get_generation(self) -> int: ...

    async def bump_generation(self) -> int:
        """Increment the authorization generation (any policy/role/attachment change) and return it."""
        ...


class Store(Protocol):
    """One backend: its repositories plus lifecycle."""

    iam: IamRepository
    meta: MetaRepository

    async def migrate(self) -> None:
        """Bring the schema to the newest version (idempotent; safe from several processes)."""
        ...

    async def close(self) -> None: ...
