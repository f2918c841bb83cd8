"""IAM: roles, users, inline and managed policies, access keys.

Rules and limits follow AWS's IAM quotas. Every change that can alter an authorization decision bumps
the store's generation number, so cached decisions everywhere are rebuilt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bastion import ids
from bastion.clock import Clock
from bastion.sealing import Sealer
from bastion.services.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidInputError,
    LimitExceededError,
    NotFoundError,
    UnmodifiableError,
)
from bastion.services.iam.aws_managed import AWS_MANAGED_POLICIES, AWS_MANAGED_PREFIX, is_aws_managed
from bastion.services.identity import ACCESS_KEY_SECRET_PURPOSE
from bastion.services.policy_documents import PolicyKind, check_policy
from bastion.storage import interfaces as st

MAX_MANAGED_POLICY_VERSIONS = 5
MAX_ATTACHED_POLICIES = 10  # per role or user (AWS default quota)
MAX_ACCESS_KEYS_PER_USER = 2
MAX_ROLE_INLINE_BYTES = 10_240  # aggregate inline policy size for a role, whitespace excluded
MAX_USER_INLINE_BYTES = 2_048
MAX_MANAGED_POLICY_BYTES = 6_144


def _non_whitespace_length(text: str) -> int:
    return sum(1 for ch in text if not ch.isspace())


def _check_path(path: str) -> None:
    if not (path.startswith("/") and path.endswith("/")):
        raise InvalidInputError("The specified value for path is invalid. It must begin and end with / .")


@dataclass(frozen=True, slots=True)
class NewAccessKey:
    key: st.AccessKey
    secret_access_key: str


class IamService:
    def __init__(self, store: st.Store, *, account_id: str, sealer: Sealer, clock: Clock) -> None:
        # The repository bumps the authorization generation inside each mutation's transaction.
        self._repo = store.iam
        self._account = account_id
        self._sealer = sealer
        self._clock = clock

    # ---- ARNs -------------------------------------------------------------------------------------
    def role_arn(self, name: str, path: str = "/") -> str:
        return f"arn:aws:iam::{self._account}:role{path}{name}"

    def user_arn(self, name: str, path: str = "/") -> str:
        return f"arn:aws:iam::{self._account}:user{path}{name}"

    def policy_arn(self, name: str, path: str = "/") -> str:
        return f"arn:aws:iam::{self._account}:policy{path}{name}"

    # ---- roles ------------------------------------------------------------------------------------
    async def create_role(
        self,
        name: str,
        trust_policy: str,
        *,
        path: str = "/",
        description: str | None = None,
        max_session_duration: int = 3600,
        tags: Sequence[st.Tag] = (),
    ) -> st.Role:
        _check_path(path)
        check_policy(trust_policy, PolicyKind.TRUST)
        role = st.Role(
            role_id=ids.role_id(),
            name=name,
            path=path,
            arn=self.role_arn(name, path),
            trust_policy=trust_policy,
            created=self._clock.now(),
            description=description,
            max_session_duration=max_session_duration,
            tags=tuple(tags),
        )
        try:
            await self._repo.create_role(role)
        except st.AlreadyExists as exc:
            raise AlreadyExistsError(f"Role with name {name} already exists.") from exc
        return role

    async def get_role(self, name: str) -> st.Role:
        role = await self._repo.get_role(name)
        if role is None:
            raise NotFoundError(f"The role with name {name} cannot be found.")
        return role

    async def list_roles(self, path_prefix: str, marker: str | None, max_items: int) -> st.Page[st.Role]:
        return await self._repo.list_roles(path_prefix, marker, max_items)

    async def update_trust_policy(self, name: str, document: str) -> None:
        await self.get_role(name)
        check_policy(document, PolicyKind.TRUST)
        await self._repo.update_role_trust_policy(name, document)

    async def update_role(self, name: str, description: str | None, max_session_duration: int | None) -> None:
        await self.get_role(name)
        await self._repo.update_role(name, description, max_session_duration)

    async def delete_role(self, name: str) -> None:
        await self.get_role(name)
        if await self._repo.list_inline_policies("role", name) or await self._repo.list_attached_policies(
            "role", name
        ):
            raise ConflictError("Cannot delete entity, must delete policies first.")
        try:
            await self._repo.delete_role(name)
        except st.NotFound as exc:
            raise NotFoundError(f"The role with name {name} cannot be found.") from exc
        except st.DeleteConflict as exc:  # a policy was added since the check above
            raise ConflictError("Cannot delete entity, must delete policies first.") from exc

    # ---- users ------------------------------------------------------------------------------------
    async def create_user(self, name: str, *, path: str = "/", tags: Sequence[st.Tag] = ()) -> st.User:
        _check_path(path)
        user = st.User(
            user_id=ids.user_id(),
            name=name,
            path=path,
            arn=self.user_arn(name, path),
            created=self._clock.now(),
            tags=tuple(tags),
        )
        try:
            await self._repo.create_user(user)
        except st.AlreadyExists as exc:
            raise AlreadyExistsError(f"User with name {name} already exists.") from exc
        return user

    async def get_user(self, name: str) -> st.User:
        user = await self._repo.get_user(name)
        if user is None:
            raise NotFoundError(f"The user with name {name} cannot be found.")
        return user

    async def list_users(self, path_prefix: str, marker: str | None, max_items: int) -> st.Page[st.User]:
        return await self._repo.list_users(path_prefix, marker, max_items)

    async def delete_user(self, name: str) -> None:
        await self.get_user(name)
        if (
            await self._repo.list_inline_policies("user", name)
            or await self._repo.list_attached_policies("user", name)
            or await self._repo.list_access_keys(name)
        ):
            raise ConflictError("Cannot delete entity, must delete access keys and policies first.")
        try:
            await self._repo.delete_user(name)
        except st.DeleteConflict as exc:
            raise ConflictError("Cannot delete entity, must delete access keys and policies first.") from exc

    # ---- inline policies --------------------------------------------------------------------------
    async def _require_owner(self, kind: st.OwnerKind, owner: str) -> None:
        if kind == "role":
            await self.get_role(owner)
        else:
            await self.get_user(owner)

    async def put_inline_policy(
        self, kind: st.OwnerKind, owner: str, policy_name: str, document: str
    ) -> None:
        await self._require_owner(kind, owner)
        check_policy(document, PolicyKind.IDENTITY)
        existing = await self._repo.list_inline_policies(kind, owner)
        total = _non_whitespace_length(document) + sum(
            _non_whitespace_length(p.document) for p in existing if p.policy_name != policy_name
        )
        limit = MAX_ROLE_INLINE_BYTES if kind == "role" else MAX_USER_INLINE_BYTES
        if total > limit:
            raise LimitExceededError(f"Maximum policy size of {limit} bytes exceeded for {kind} {owner}")
        await self._repo.put_inline_policy(st.InlinePolicy(kind, owner, policy_name, document))

    async def get_inline_policy(self, kind: st.OwnerKind, owner: str, policy_name: str) -> st.InlinePolicy:
        await self._require_owner(kind, owner)
        policy = await self._repo.get_inline_policy(kind, owner, policy_name)
        if policy is None:
            raise NotFoundError(f"The {kind} policy with name {policy_name} cannot be found.")
        return policy

    async def list_inline_policies(self, kind: st.OwnerKind, owner: str) -> list[str]:
        await self._require_owner(kind, owner)
        return sorted(p.policy_name for p in await self._repo.list_inline_policies(kind, owner))

    async def delete_inline_policy(self, kind: st.OwnerKind, owner: str, policy_name: str) -> None:
        await self.get_inline_policy(kind, owner, policy_name)
        await self._repo.delete_inline_policy(kind, owner, policy_name)

    # ---- managed policies -------------------------------------------------------------------------
    async def create_managed_policy(
        self,
        name: str,
        document: str,
        *,
        path: str = "/",
        description: str | None = None,
        tags: Sequence[st.Tag] = (),
    ) -> st.ManagedPolicy:
        _check_path(path)
        self._check_managed_document(document)
        now = self._clock.now()
        arn = self.policy_arn(name, path)
        policy = st.ManagedPolicy(
            policy_id=ids.managed_policy_id(),
            name=name,
            path=path,
            arn=arn,
            default_version_id="v1",
            created=now,
            updated=now,
            description=description,
            tags=tuple(tags),
        )
        version = st.PolicyVersion(
            policy_arn=arn, version_id="v1", document=document, created=now, is_default=True
        )
        try:
            await self._repo.create_managed_policy(policy, version)
        except st.AlreadyExists as exc:
            raise AlreadyExistsError(
                f"A policy called {name} already exists. Duplicate names are not allowed."
            ) from exc
        return policy

    def _check_managed_document(self, document: str) -> None:
        check_policy(document, PolicyKind.IDENTITY)
        if _non_whitespace_length(document) > MAX_MANAGED_POLICY_BYTES:
            raise LimitExceededError(f"Cannot exceed quota for PolicySize: {MAX_MANAGED_POLICY_BYTES}")

    async def get_managed_policy(self, arn: str) -> st.ManagedPolicy:
        policy = await self._repo.get_managed_policy(arn)
        if policy is None:
            raise NotFoundError(f"Policy {arn} does not exist or is not attachable.")
        return policy

    async def list_managed_policies(
        self, path_prefix: str, marker: str | None, max_items: int
    ) -> st.Page[st.ManagedPolicy]:
        return await self._repo.list_managed_policies(path_prefix, marker, max_items)

    def _require_customer_managed(self, arn: str) -> None:
        if is_aws_managed(arn):
            raise UnmodifiableError(f"Cannot modify AWS managed policy {arn}.")

    async def ensure_aws_managed_policies(self) -> None:
        """Create the provided AWS managed policies that are missing (idempotent; run at start)."""
        for name, (description, document) in AWS_MANAGED_POLICIES.items():
            arn = AWS_MANAGED_PREFIX + name
            if await self._repo.get_managed_policy(arn) is not None:
                continue
            now = self._clock.now()
            policy = st.ManagedPolicy(
                policy_id=ids.managed_policy_id(),
                name=name,
                path="/",
                arn=arn,
                default_version_id="v1",
                created=now,
                updated=now,
                description=description,
            )
            version = st.PolicyVersion(arn, "v1", document, now, is_default=True)
            try:
                await self._repo.create_managed_policy(policy, version)
            except st.AlreadyExists:  # another node created it first
                continue

    async def delete_managed_policy(self, arn: str) -> None:
        self._require_customer_managed(arn)
        policy = await self.get_managed_policy(arn)
        if policy.attachment_count:
            raise ConflictError("Cannot delete a policy attached to entities.")
        versions = await self._repo.list_policy_versions(arn)
        if any(not v.is_default for v in versions):
            raise ConflictError(
                "This policy has more than one version. Before you delete a policy, you must delete the "
                "policy's versions. The default version is deleted with the policy."
            )
        try:
            await self._repo.delete_managed_policy(arn)
        except st.DeleteConflict as exc:
            raise ConflictError("Cannot delete a policy attached to entities.") from exc

    async def create_policy_version(self, arn: str, document: str, set_as_default: bool) -> st.PolicyVersion:
        self._require_customer_managed(arn)
        await self.get_managed_policy(arn)
        self._check_managed_document(document)
        versions = await self._repo.list_policy_versions(arn)
        if len(versions) >= MAX_MANAGED_POLICY_VERSIONS:
            raise _versions_exceeded()
        next_number = 1 + max((int(v.version_id[1:]) for v in versions), default=0)
        version = st.PolicyVersion(
            policy_arn=arn,
            version_id=f"v{next_number}",
            document=document,
            created=self._clock.now(),
            is_default=set_as_default,
        )
        try:
            # The store checks the quota again in the write's own transaction: concurrent calls
            # cannot both pass the read above.
            await self._repo.add_policy_version(
                version, set_as_default, max_versions=MAX_MANAGED_POLICY_VERSIONS
            )
        except st.QuotaExceeded as exc:
            raise _versions_exceeded() from exc
        return version

    async def get_policy_version(self, arn: str, version_id: str) -> st.PolicyVersion:
        await self.get_managed_policy(arn)
        version = await self._repo.get_policy_version(arn, version_id)
        if version is None:
            raise NotFoundError(f"Policy {arn} version {version_id} does not exist or is not attachable.")
        return version

    async def list_policy_versions(self, arn: str) -> Sequence[st.PolicyVersion]:
        await self.get_managed_policy(arn)
        return await self._repo.list_policy_versions(arn)

    async def delete_policy_version(self, arn: str, version_id: str) -> None:
        self._require_customer_managed(arn)
        version = await self.get_policy_version(arn, version_id)
        if version.is_default:
            raise ConflictError("Cannot delete the default version of a policy.")
        await self._repo.delete_policy_version(arn, version_id)

    async def set_default_policy_version(self, arn: str, version_id: str) -> None:
        self._require_customer_managed(arn)
        await self.get_policy_version(arn, version_id)
        await self._repo.set_default_policy_version(arn, version_id)

    # ---- attachments ------------------------------------------------------------------------------
    async def attach_policy(self, kind: st.OwnerKind, owner: str, arn: str) -> None:
        await self._require_owner(kind, owner)
        await self.get_managed_policy(arn)
        quota = "PoliciesPerRole" if kind == "role" else "PoliciesPerUser"
        try:
            await self._repo.attach_policy(kind, owner, arn, max_attached=MAX_ATTACHED_POLICIES)
        except st.QuotaExceeded as exc:
            raise LimitExceededError(f"Cannot exceed quota for {quota}: {MAX_ATTACHED_POLICIES}") from exc

    async def detach_policy(self, kind: st.OwnerKind, owner: str, arn: str) -> None:
        await self._require_owner(kind, owner)
        attached = await self._repo.list_attached_policies(kind, owner)
        if arn not in {p.arn for p in attached}:
            raise NotFoundError(f"Policy {arn} was not found.")
        await self._repo.detach_policy(kind, owner, arn)

    async def list_attached_policies(self, kind: st.OwnerKind, owner: str) -> Sequence[st.ManagedPolicy]:
        await self._require_owner(kind, owner)
        return await self._repo.list_attached_policies(kind, owner)

    # ---- access keys ------------------------------------------------------------------------------
    async def create_access_key(self, user_name: str) -> NewAccessKey:
        await self.get_user(user_name)
        exceeded = LimitExceededError(
            f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS_PER_USER}"
        )
        if len(await self._repo.list_access_keys(user_name)) >= MAX_ACCESS_KEYS_PER_USER:
            raise exceeded  # before minting and sealing a secret that would be thrown away
        secret = ids.secret_access_key()
        key = st.AccessKey(
            access_key_id=ids.long_term_access_key_id(),
            user_name=user_name,
            sealed_secret=self._sealer.seal(secret.encode(), purpose=ACCESS_KEY_SECRET_PURPOSE),
            status="Active",
            created=self._clock.now(),
        )
        try:
            await self._repo.create_access_key(key, max_keys=MAX_ACCESS_KEYS_PER_USER)
        except st.QuotaExceeded as exc:
            raise exceeded from exc
        return NewAccessKey(key, secret)

    async def list_access_keys(self, user_name: str) -> Sequence[st.AccessKey]:
        await self.get_user(user_name)
        return await self._repo.list_access_keys(user_name)

    async def _owned_key(self, user_name: str, access_key_id: str) -> st.AccessKey:
        key = await self._repo.get_access_key(access_key_id)
        if key is None or key.user_name.lower() != user_name.lower():
            raise NotFoundError(f"The Access Key with id {access_key_id} cannot be found.")
        return key

    async def update_access_key(
        self, user_name: str, access_key_id: str, status: Literal["Active", "Inactive"]
    ) -> None:
        await self._owned_key(user_name, access_key_id)
        await self._repo.update_access_key_status(access_key_id, status)

    async def delete_access_key(self, user_name: str, access_key_id: str) -> None:
        await self._owned_key(user_name, access_key_id)
        await self._repo.delete_access_key(access_key_id)

    # ---- for the authorizer -----------------------------------------------------------------------
    async def effective_documents(self, kind: st.OwnerKind, owner: str) -> list[tuple[str, str]]:
        """(label, document) of every identity policy of a role or user: inline, then attached defaults."""
        out = [
            (f"{kind}/{owner} inline policy {p.policy_name}", p.document)
            for p in await self._repo.list_inline_policies(kind, owner)
        ]
        for policy in await self._repo.list_attached_policies(kind, owner):
            version = await self._repo.get_policy_version(policy.arn, policy.default_version_id)
            if version is not None:
                out.append((f"{policy.arn} ({version.version_id})", version.document))
        return out


def _versions_exceeded() -> LimitExceededError:
    return LimitExceededError(
        "A managed policy can have up to 5 versions. Before you create a new version, you must "
        "delete an existing version."
    )
