"""In-memory Store for unit tests of services.

It follows the same contract as the SQL backends (the contract suite runs against it). Every method
finishes without awaiting, so on one event loop each call is atomic, as a transaction would be.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from bastion.storage.cognito_identity import CognitoIdentityRepository
from bastion.storage.cognito_idp import CognitoIdpRepository
from bastion.storage.interfaces import (
    AccessKey,
    AlreadyExists,
    DeleteConflict,
    IamRepository,
    InlinePolicy,
    ManagedPolicy,
    MetaRepository,
    NotFound,
    OwnerKind,
    Page,
    PolicyAttachment,
    PolicyVersion,
    QuotaExceeded,
    Role,
    Tag,
    User,
)
from bastion.storage.iot import IotRepository
from bastion.storage.memory_cognito_identity import MemoryCognitoIdentityRepository
from bastion.storage.memory_cognito_idp import MemoryCognitoIdpRepository
from bastion.storage.memory_iot import MemoryIotRepository
from bastion.storage.memory_mqtt import MemoryMqttRepository
from bastion.storage.mqtt import MqttRepository
from bastion.storage.paging import check_limit, decode_marker, encode_marker
from bastion.storage.values import arn_account, check_status, merge_tags, name_key, remove_tags, utc


@dataclass
class _Policy:
    record: ManagedPolicy
    # Insertion order is creation order, which list_policy_versions reports.
    versions: dict[str, PolicyVersion] = field(default_factory=dict)


class MemoryIamRepository:
    def __init__(self, meta: MemoryMetaRepository) -> None:
        self._meta = meta
        self._roles: dict[str, Role] = {}
        self._users: dict[str, User] = {}
        self._inline: dict[tuple[OwnerKind, str], dict[str, InlinePolicy]] = {}
        self._policies: dict[str, _Policy] = {}  # by lower-cased ARN
        self._attached: dict[tuple[OwnerKind, str], dict[str, None]] = {}  # ordered set of policy ARN keys
        self._keys: dict[str, tuple[AccessKey, str]] = {}  # id -> (key, user name key)

    # -- helpers ---------------------------------------------------------------------------------------

    def _owner_name(self, kind: OwnerKind, owner: str) -> str | None:
        found: Role | User | None = (self._roles if kind == "role" else self._users).get(name_key(owner))
        return None if found is None else found.name

    def _require_owner(self, kind: OwnerKind, owner: str) -> str:
        display = self._owner_name(kind, owner)
        if display is None:
            raise NotFound(f"{kind} {owner} does not exist")
        return display

    def _require_policy(self, arn: str) -> _Policy:
        policy = self._policies.get(arn.lower())
        if policy is None:
            raise NotFound(f"policy {arn} does not exist")
        return policy

    def _attachment_count(self, arn_key: str) -> int:
        return sum(1 for arns in self._attached.values() if arn_key in arns)

    def _policy_out(self, arn_key: str) -> ManagedPolicy:
        return dataclasses.replace(
            self._policies[arn_key].record, attachment_count=self._attachment_count(arn_key)
        )

    def _version_out(self, policy: _Policy, version: PolicyVersion) -> PolicyVersion:
        return dataclasses.replace(
            version,
            policy_arn=policy.record.arn,
            is_default=version.version_id == policy.record.default_version_id,
        )

    def _bump(self) -> None:
        self._meta.bump()

    # -- roles -----------------------------------------------------------------------------------------

    async def create_role(self, role: Role) -> None:
        key = name_key(role.name)
        if key in self._roles or any(r.role_id == role.role_id for r in self._roles.values()):
            raise AlreadyExists(f"role {role.name} already exists")
        self._roles[key] = dataclasses.replace(role, created=utc(role.created), tags=tuple(role.tags))
        self._bump()

    async def get_role(self, name: str) -> Role | None:
        return self._roles.get(name_key(name))

    async def list_roles(self, path_prefix: str, marker: str | None, limit: int) -> Page[Role]:
        return _page("roles", self._roles, path_prefix, marker, limit)

    async def update_role_trust_policy(self, name: str, document: str) -> None:
        role = self._require_role(name)
        self._roles[name_key(name)] = dataclasses.replace(role, trust_policy=document)
        self._bump()

    async def update_role(self, name: str, description: str | None, max_session_duration: int | None) -> None:
        role = self._require_role(name)
        if description is not None:
            role = dataclasses.replace(role, description=description)
        if max_session_duration is not None:
            role = dataclasses.replace(role, max_session_duration=max_session_duration)
        self._roles[name_key(name)] = role
        self._bump()

    async def delete_role(self, name: str) -> None:
        self._require_role(name)
        self._delete_owner("role", name)

    async def tag_role(self, name: str, tags: Sequence[Tag]) -> None:
        role = self._require_role(name)
        self._roles[name_key(name)] = dataclasses.replace(
            role, tags=merge_tags(role.tags, tags, ignore_case=True)
        )
        self._bump()

    async def untag_role(self, name: str, keys: Sequence[str]) -> None:
        role = self._require_role(name)
        self._roles[name_key(name)] = dataclasses.replace(
            role, tags=remove_tags(role.tags, keys, ignore_case=True)
        )
        self._bump()

    def _require_role(self, name: str) -> Role:
        role = self._roles.get(name_key(name))
        if role is None:
            raise NotFound(f"role {name} does not exist")
        return role

    def _delete_owner(self, kind: OwnerKind, name: str) -> None:
        key = name_key(name)
        if self._inline.get((kind, key)) or self._attached.get((kind, key)):
            raise DeleteConflict(f"{kind} {name} still has inline or attached policies")
        if kind == "user" and any(user_key == key for _, user_key in self._keys.values()):
            raise DeleteConflict(f"user {name} still has access keys")
        self._inline.pop((kind, key), None)
        self._attached.pop((kind, key), None)
        del (self._roles if kind == "role" else self._users)[key]
        self._bump()

    # -- users -----------------------------------------------------------------------------------------

    async def create_user(self, user: User) -> None:
        key = name_key(user.name)
        if key in self._users or any(u.user_id == user.user_id for u in self._users.values()):
            raise AlreadyExists(f"user {user.name} already exists")
        self._users[key] = dataclasses.replace(user, created=utc(user.created), tags=tuple(user.tags))
        self._bump()

    async def get_user(self, name: str) -> User | None:
        return self._users.get(name_key(name))

    async def list_users(self, path_prefix: str, marker: str | None, limit: int) -> Page[User]:
        return _page("users", self._users, path_prefix, marker, limit)

    async def delete_user(self, name: str) -> None:
        self._require_user(name)
        self._delete_owner("user", name)

    async def tag_user(self, name: str, tags: Sequence[Tag]) -> None:
        user = self._require_user(name)
        self._users[name_key(name)] = dataclasses.replace(
            user, tags=merge_tags(user.tags, tags, ignore_case=True)
        )
        self._bump()

    async def untag_user(self, name: str, keys: Sequence[str]) -> None:
        user = self._require_user(name)
        self._users[name_key(name)] = dataclasses.replace(
            user, tags=remove_tags(user.tags, keys, ignore_case=True)
        )
        self._bump()

    def _require_user(self, name: str) -> User:
        user = self._users.get(name_key(name))
        if user is None:
            raise NotFound(f"user {name} does not exist")
        return user

    # -- inline policies -------------------------------------------------------------------------------

    async def put_inline_policy(self, policy: InlinePolicy) -> None:
        self._require_owner(policy.owner_kind, policy.owner_name)
        owned = self._inline.setdefault((policy.owner_kind, name_key(policy.owner_name)), {})
        owned[name_key(policy.policy_name)] = policy
        self._bump()

    async def get_inline_policy(self, owner_kind: OwnerKind, owner: str, name: str) -> InlinePolicy | None:
        display = self._owner_name(owner_kind, owner)
        if display is None:
            return None
        found = self._inline.get((owner_kind, name_key(owner)), {}).get(name_key(name))
        return None if found is None else dataclasses.replace(found, owner_name=display)

    async def list_inline_policies(self, owner_kind: OwnerKind, owner: str) -> Sequence[InlinePolicy]:
        display = self._require_owner(owner_kind, owner)
        owned = self._inline.get((owner_kind, name_key(owner)), {})
        return [dataclasses.replace(owned[k], owner_name=display) for k in sorted(owned)]

    async def delete_inline_policy(self, owner_kind: OwnerKind, owner: str, name: str) -> None:
        owned = self._inline.get((owner_kind, name_key(owner)), {})
        if owned.pop(name_key(name), None) is None:
            raise NotFound(f"{owner_kind} {owner} has no inline policy {name}")
        self._bump()

    # -- managed policies ------------------------------------------------------------------------------

    async def create_managed_policy(self, policy: ManagedPolicy, first_version: PolicyVersion) -> None:
        if first_version.version_id != policy.default_version_id or first_version.policy_arn != policy.arn:
            raise ValueError("the first version must carry the policy's ARN and default version id")
        account, key = arn_account(policy.arn), name_key(policy.name)
        for other in self._policies.values():
            rec = other.record
            if (
                rec.policy_id == policy.policy_id
                or rec.arn.lower() == policy.arn.lower()
                or (arn_account(rec.arn) == account and name_key(rec.name) == key)
            ):
                raise AlreadyExists(f"policy {policy.name} already exists")
        record = dataclasses.replace(
            policy,
            created=utc(policy.created),
            updated=utc(policy.updated),
            attachment_count=0,
            tags=tuple(policy.tags),
        )
        version = dataclasses.replace(first_version, created=utc(first_version.created), is_default=True)
        self._policies[policy.arn.lower()] = _Policy(record, {version.version_id: version})
        self._bump()

    async def get_managed_policy(self, arn: str) -> ManagedPolicy | None:
        return self._policy_out(arn.lower()) if arn.lower() in self._policies else None

    async def list_managed_policies(
        self, path_prefix: str, marker: str | None, limit: int
    ) -> Page[ManagedPolicy]:
        check_limit(limit)
        ordered = sorted((name_key(p.record.name), k) for k, p in self._policies.items())
        if marker is not None:
            after = decode_marker("policies", marker, 2)
            ordered = [sk for sk in ordered if sk > after]
        chosen = [sk for sk in ordered if self._policies[sk[1]].record.path.startswith(path_prefix)][
            : limit + 1
        ]
        items = [self._policy_out(arn_key) for _, arn_key in chosen[:limit]]
        next_marker = encode_marker("policies", *chosen[limit - 1]) if len(chosen) > limit else None
        return Page(items, next_marker)

    async def delete_managed_policy(self, arn: str) -> None:
        self._require_policy(arn)
        if self._attachment_count(arn.lower()):
            raise DeleteConflict(f"policy {arn} is still attached")
        del self._policies[arn.lower()]
        self._bump()

    async def add_policy_version(
        self, version: PolicyVersion, make_default: bool, *, max_versions: int | None = None
    ) -> None:
        policy = self._require_policy(version.policy_arn)
        if version.version_id in policy.versions:
            raise AlreadyExists(f"policy {version.policy_arn} already has version {version.version_id}")
        if max_versions is not None and len(policy.versions) >= max_versions:
            raise QuotaExceeded(f"policy {version.policy_arn} has {max_versions} versions")
        created = utc(version.created)
        policy.versions[version.version_id] = dataclasses.replace(version, created=created)
        policy.record = dataclasses.replace(policy.record, updated=created)
        if make_default:
            policy.record = dataclasses.replace(policy.record, default_version_id=version.version_id)
        self._bump()

    async def get_policy_version(self, arn: str, version_id: str) -> PolicyVersion | None:
        policy = self._policies.get(arn.lower())
        if policy is None or version_id not in policy.versions:
            return None
        return self._version_out(policy, policy.versions[version_id])

    async def list_policy_versions(self, arn: str) -> Sequence[PolicyVersion]:
        policy = self._require_policy(arn)
        return [self._version_out(policy, v) for v in policy.versions.values()]

    async def delete_policy_version(self, arn: str, version_id: str) -> None:
        policy = self._require_policy(arn)
        if version_id not in policy.versions:
            raise NotFound(f"policy {arn} has no version {version_id}")
        if version_id == policy.record.default_version_id:
            raise DeleteConflict(f"version {version_id} is the default version of {arn}")
        del policy.versions[version_id]
        self._bump()

    async def set_default_policy_version(self, arn: str, version_id: str) -> None:
        policy = self._require_policy(arn)
        if version_id not in policy.versions:
            raise NotFound(f"policy {arn} has no version {version_id}")
        policy.record = dataclasses.replace(policy.record, default_version_id=version_id)
        self._bump()

    async def tag_managed_policy(self, arn: str, tags: Sequence[Tag]) -> None:
        policy = self._require_policy(arn)
        policy.record = dataclasses.replace(
            policy.record, tags=merge_tags(policy.record.tags, tags, ignore_case=False)
        )
        self._bump()

    async def untag_managed_policy(self, arn: str, keys: Sequence[str]) -> None:
        policy = self._require_policy(arn)
        policy.record = dataclasses.replace(
            policy.record, tags=remove_tags(policy.record.tags, keys, ignore_case=False)
        )
        self._bump()

    # -- attachments -----------------------------------------------------------------------------------

    async def attach_policy(
        self, owner_kind: OwnerKind, owner: str, policy_arn: str, *, max_attached: int | None = None
    ) -> None:
        self._require_owner(owner_kind, owner)
        self._require_policy(policy_arn)
        attached = self._attached.setdefault((owner_kind, name_key(owner)), {})
        if max_attached is not None and policy_arn.lower() not in attached and len(attached) >= max_attached:
            raise QuotaExceeded(f"{owner_kind} {owner} has {max_attached} attached policies")
        attached[policy_arn.lower()] = None
        self._bump()

    async def detach_policy(self, owner_kind: OwnerKind, owner: str, policy_arn: str) -> None:
        attached = self._attached.get((owner_kind, name_key(owner)), {})
        if policy_arn.lower() not in attached:
            raise NotFound(f"policy {policy_arn} is not attached to {owner_kind} {owner}")
        del attached[policy_arn.lower()]
        self._bump()

    async def list_attached_policies(self, owner_kind: OwnerKind, owner: str) -> Sequence[ManagedPolicy]:
        self._require_owner(owner_kind, owner)
        arn_keys = self._attached.get((owner_kind, name_key(owner)), {})
        ordered = sorted((name_key(self._policies[k].record.name), k) for k in arn_keys)
        return [self._policy_out(k) for _, k in ordered]

    async def list_entities_for_policy(self, policy_arn: str) -> Sequence[PolicyAttachment]:
        policy = self._require_policy(policy_arn)
        arn_key = policy_arn.lower()
        found: list[PolicyAttachment] = []
        kind: OwnerKind
        for kind, owners in (("role", self._roles), ("user", self._users)):
            for key in sorted(owners):
                if arn_key in self._attached.get((kind, key), {}):
                    found.append(PolicyAttachment(kind, owners[key].name, policy.record.arn))
        return found

    # -- access keys -----------------------------------------------------------------------------------

    async def create_access_key(self, key: AccessKey, *, max_keys: int | None = None) -> None:
        check_status(key.status)
        display = self._require_owner("user", key.user_name)
        if key.access_key_id in self._keys:
            raise AlreadyExists(f"access key {key.access_key_id} already exists")
        owner = name_key(key.user_name)
        if max_keys is not None and sum(1 for _, o in self._keys.values() if o == owner) >= max_keys:
            raise QuotaExceeded(f"user {key.user_name} has {max_keys} access keys")
        stored = dataclasses.replace(
            key, user_name=display, created=utc(key.created), sealed_secret=bytes(key.sealed_secret)
        )
        self._keys[key.access_key_id] = (stored, name_key(key.user_name))
        self._bump()

    async def get_access_key(self, access_key_id: str) -> AccessKey | None:
        found = self._keys.get(access_key_id)
        return None if found is None else found[0]

    async def list_access_keys(self, user_name: str) -> Sequence[AccessKey]:
        self._require_owner("user", user_name)
        key = name_key(user_name)
        mine = [k for k, user_key in self._keys.values() if user_key == key]
        return sorted(mine, key=lambda k: (k.created, k.access_key_id))

    async def update_access_key_status(
        self, access_key_id: str, status: Literal["Active", "Inactive"]
    ) -> None:
        check_status(status)
        found = self._keys.get(access_key_id)
        if found is None:
            raise NotFound(f"access key {access_key_id} does not exist")
        self._keys[access_key_id] = (dataclasses.replace(found[0], status=status), found[1])
        self._bump()

    async def delete_access_key(self, access_key_id: str) -> None:
        if self._keys.pop(access_key_id, None) is None:
            raise NotFound(f"access key {access_key_id} does not exist")
        self._bump()


_Named = TypeVar("_Named", Role, User)


def _page(
    listing: str, records: dict[str, _Named], path_prefix: str, marker: str | None, limit: int
) -> Page[_Named]:
    """One page of ``records`` (keyed by lower-cased name) in key order, as the SQL backends page."""
    check_limit(limit)
    keys = sorted(records)
    if marker is not None:
        (after,) = decode_marker(listing, marker, 1)
        keys = [k for k in keys if k > after]
    chosen = [k for k in keys if records[k].path.startswith(path_prefix)][: limit + 1]
    next_marker = encode_marker(listing, chosen[limit - 1]) if len(chosen) > limit else None
    return Page([records[k] for k in chosen[:limit]], next_marker)


class MemoryMetaRepository:
    def __init__(self) -> None:
        self._generation = 0

    def bump(self) -> int:
        self._generation += 1
        return self._generation

    async def get_generation(self) -> int:
        return self._generation

    async def bump_generation(self) -> int:
        return self.bump()


class MemoryStore:
    """A Store that keeps everything in this process; nothing survives ``close``."""

    def __init__(self) -> None:
        counter = MemoryMetaRepository()
        self.meta: MetaRepository = counter
        self.iam: IamRepository = MemoryIamRepository(counter)
        self.iot: IotRepository = MemoryIotRepository(counter)
        self.cognito_identity: CognitoIdentityRepository = MemoryCognitoIdentityRepository()
        self.cognito_idp: CognitoIdpRepository = MemoryCognitoIdpRepository()
        self.mqtt: MqttRepository = MemoryMqttRepository()

    async def migrate(self) -> None:
        """Nothing to migrate: the structures are created with the store."""

    async def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return "MemoryStore()"
