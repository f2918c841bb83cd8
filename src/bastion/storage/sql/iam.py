"""IamRepository over SQLAlchemy Core, shared by SQLite and PostgreSQL.

Each method is one transaction. Writes that depend on a parent row lock it first (``FOR SHARE`` to add
children, ``FOR UPDATE`` to change or delete the parent) so that, on PostgreSQL's READ COMMITTED, a
child can never be added to a parent that a concurrent transaction is deleting, and a delete sees every
child committed before it. Locks are always taken owner, then policy, then the generation row, so two
transactions cannot wait on each other. SQLite ignores the row locks: its writes are serialised anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from sqlalchemy import ColumnElement, Select, Table, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.storage.interfaces import (
    AccessKey,
    DeleteConflict,
    InlinePolicy,
    ManagedPolicy,
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
from bastion.storage.sql.engine import Database
from bastion.storage.sql.rows import (
    AnyRow,
    Keyset,
    Lock,
    change_existing,
    existing_row,
    from_row,
    insert_new,
    insert_on_conflict,
    locked,
    read_one,
    row_values,
    tags_from_json,
    tags_json,
    upsert,
    write_bumping,
)
from bastion.storage.sql.tables import (
    access_keys,
    managed_policies,
    policy_versions,
    role_inline_policies,
    role_policy_attachments,
    roles,
    user_inline_policies,
    user_policy_attachments,
    users,
)
from bastion.storage.values import arn_account, check_status, merge_tags, name_key, remove_tags, utc

_R = TypeVar("_R")


@dataclass(frozen=True, slots=True)
class _Owner:
    """Where a role's or a user's rows live."""

    kind: OwnerKind
    table: Table
    id_column: str
    inline: Table
    attachments: Table

    @property
    def id(self) -> ColumnElement[str]:
        return self.table.c[self.id_column]


_OWNERS: dict[OwnerKind, _Owner] = {
    "role": _Owner("role", roles, "role_id", role_inline_policies, role_policy_attachments),
    "user": _Owner("user", users, "user_id", user_inline_policies, user_policy_attachments),
}


def _role(row: AnyRow) -> Role:
    return from_row(Role, row, tags=tags_from_json(row.tags))


def _user(row: AnyRow) -> User:
    return from_row(User, row, tags=tags_from_json(row.tags))


def _policy(row: AnyRow) -> ManagedPolicy:
    """From a row of ``_policy_select``."""
    return from_row(ManagedPolicy, row, tags=tags_from_json(row.tags))


def _policy_select() -> Select[*tuple[Any, ...]]:
    """Managed policies with their attachment count, derived so it can never drift."""
    mp = managed_policies
    # correlate(mp) only: callers join an attachment table too, which must not leak into the counts.
    counts = [
        select(func.count())
        .select_from(t)
        .where(t.c.policy_id == mp.c.policy_id)
        .correlate(mp)
        .scalar_subquery()
        for t in (role_policy_attachments, user_policy_attachments)
    ]
    return select(mp, (counts[0] + counts[1]).label("attachment_count"))


def _path_filter(path_column: ColumnElement[str], prefix: str) -> ColumnElement[bool] | None:
    # substr rather than LIKE: LIKE ignores ASCII case on SQLite, and paths are case-sensitive.
    if not prefix:
        return None
    return func.substr(path_column, 1, len(prefix)) == prefix


class SqlIamRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- helpers ---------------------------------------------------------------------------------------

    async def _owner_id(self, conn: AsyncConnection, owner: _Owner, name: str, lock: Lock | None) -> str:
        query = locked(select(owner.id).where(owner.table.c.name_key == name_key(name)), lock)
        return str((await existing_row(conn, query, f"{owner.kind} {name} does not exist"))[0])

    async def _policy_row(self, conn: AsyncConnection, arn: str, lock: Lock | None) -> AnyRow:
        mp = managed_policies
        query = select(mp.c.policy_id, mp.c.arn, mp.c.default_version_id).where(mp.c.arn_key == arn.lower())
        return await existing_row(conn, locked(query, lock), f"policy {arn} does not exist")

    async def _update_one(self, table: Table, where: ColumnElement[bool], what: str, **values: Any) -> None:
        async with write_bumping(self._db) as conn:
            await change_existing(conn, update(table).where(where).values(**values), f"{what} does not exist")

    async def _list_named(
        self,
        table: Table,
        listing: str,
        to_record: Callable[[AnyRow], _R],
        path_prefix: str,
        marker: str | None,
        limit: int,
    ) -> Page[_R]:
        query = select(table)
        path_filter = _path_filter(table.c.path, path_prefix)
        if path_filter is not None:
            query = query.where(path_filter)
        return await Keyset(listing, (table.c.name_key,)).read(self._db, query, marker, limit, to_record)

    async def _retag(
        self,
        table: Table,
        id_column: str,
        where: ColumnElement[bool],
        what: str,
        change: Callable[[tuple[Tag, ...]], tuple[Tag, ...]],
    ) -> None:
        async with write_bumping(self._db) as conn:
            query = select(table.c[id_column], table.c.tags).where(where).with_for_update()
            row = await existing_row(conn, query, f"{what} does not exist")
            new_tags = tags_json(change(tags_from_json(row.tags)))
            await conn.execute(update(table).where(table.c[id_column] == row[0]).values(tags=new_tags))

    async def _retag_owner(
        self, owner: _Owner, name: str, change: Callable[[tuple[Tag, ...]], tuple[Tag, ...]]
    ) -> None:
        where = owner.table.c.name_key == name_key(name)
        await self._retag(owner.table, owner.id_column, where, f"{owner.kind} {name}", change)

    async def _delete_owner(self, owner: _Owner, name: str) -> None:
        async with write_bumping(self._db) as conn:
            owner_id = await self._owner_id(conn, owner, name, "update")
            dependents = [owner.inline, owner.attachments] + ([access_keys] if owner.kind == "user" else [])
            for table in dependents:
                held = await conn.scalar(
                    select(func.count()).select_from(table).where(table.c[owner.id_column] == owner_id)
                )
                if held:
                    raise DeleteConflict(f"{owner.kind} {name} still has {table.name.replace('_', ' ')}")
            await conn.execute(delete(owner.table).where(owner.id == owner_id))

    # -- roles -----------------------------------------------------------------------------------------

    async def create_role(self, role: Role) -> None:
        async with write_bumping(self._db) as conn:
            values = row_values(role, roles, name_key=name_key(role.name), tags=tags_json(role.tags))
            await insert_new(conn, roles, f"role {role.name}", values)

    async def get_role(self, name: str) -> Role | None:
        return await read_one(self._db, select(roles).where(roles.c.name_key == name_key(name)), _role)

    async def list_roles(self, path_prefix: str, marker: str | None, limit: int) -> Page[Role]:
        return await self._list_named(roles, "roles", _role, path_prefix, marker, limit)

    async def update_role_trust_policy(self, name: str, document: str) -> None:
        await self._update_one(
            roles, roles.c.name_key == name_key(name), f"role {name}", trust_policy=document
        )

    async def update_role(self, name: str, description: str | None, max_session_duration: int | None) -> None:
        values: dict[str, Any] = {}
        if description is not None:
            values["description"] = description
        if max_session_duration is not None:
            values["max_session_duration"] = max_session_duration
        # With nothing to change, rewrite the key: still one statement that proves the role exists.
        values = values or {"name_key": roles.c.name_key}
        await self._update_one(roles, roles.c.name_key == name_key(name), f"role {name}", **values)

    async def delete_role(self, name: str) -> None:
        await self._delete_owner(_OWNERS["role"], name)

    async def tag_role(self, name: str, tags: Sequence[Tag]) -> None:
        await self._retag_owner(_OWNERS["role"], name, lambda cur: merge_tags(cur, tags, ignore_case=True))

    async def untag_role(self, name: str, keys: Sequence[str]) -> None:
        await self._retag_owner(_OWNERS["role"], name, lambda cur: remove_tags(cur, keys, ignore_case=True))

    # -- users -----------------------------------------------------------------------------------------

    async def create_user(self, user: User) -> None:
        async with write_bumping(self._db) as conn:
            values = row_values(user, users, name_key=name_key(user.name), tags=tags_json(user.tags))
            await insert_new(conn, users, f"user {user.name}", values)

    async def get_user(self, name: str) -> User | None:
        return await read_one(self._db, select(users).where(users.c.name_key == name_key(name)), _user)

    async def list_users(self, path_prefix: str, marker: str | None, limit: int) -> Page[User]:
        return await self._list_named(users, "users", _user, path_prefix, marker, limit)

    async def delete_user(self, name: str) -> None:
        await self._delete_owner(_OWNERS["user"], name)

    async def tag_user(self, name: str, tags: Sequence[Tag]) -> None:
        await self._retag_owner(_OWNERS["user"], name, lambda cur: merge_tags(cur, tags, ignore_case=True))

    async def untag_user(self, name: str, keys: Sequence[str]) -> None:
        await self._retag_owner(_OWNERS["user"], name, lambda cur: remove_tags(cur, keys, ignore_case=True))

    # -- inline policies -------------------------------------------------------------------------------

    async def put_inline_policy(self, policy: InlinePolicy) -> None:
        owner = _OWNERS[policy.owner_kind]
        stmt = upsert(self._db.dialect, owner.inline, [owner.id_column, "name_key"], ["name", "document"])
        async with write_bumping(self._db) as conn:
            owner_id = await self._owner_id(conn, owner, policy.owner_name, "share")
            values = {
                owner.id_column: owner_id,
                "name_key": name_key(policy.policy_name),
                "name": policy.policy_name,
                "document": policy.document,
            }
            await conn.execute(stmt.values(values))

    async def get_inline_policy(self, owner_kind: OwnerKind, owner: str, name: str) -> InlinePolicy | None:
        o = _OWNERS[owner_kind]
        query = (
            select(o.table.c.name.label("owner_name"), o.inline.c.name, o.inline.c.document)
            .select_from(o.table.join(o.inline, o.inline.c[o.id_column] == o.id))
            .where(o.table.c.name_key == name_key(owner), o.inline.c.name_key == name_key(name))
        )
        return await read_one(
            self._db, query, lambda row: InlinePolicy(owner_kind, row.owner_name, row.name, row.document)
        )

    async def list_inline_policies(self, owner_kind: OwnerKind, owner: str) -> Sequence[InlinePolicy]:
        o = _OWNERS[owner_kind]
        # One outer join answers both "does the owner exist" and "what does it hold", in one snapshot.
        query = (
            select(o.table.c.name.label("owner_name"), o.inline.c.name, o.inline.c.document)
            .select_from(o.table.outerjoin(o.inline, o.inline.c[o.id_column] == o.id))
            .where(o.table.c.name_key == name_key(owner))
            .order_by(o.inline.c.name_key)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        if not rows:
            raise NotFound(f"{owner_kind} {owner} does not exist")
        return [
            InlinePolicy(owner_kind, r.owner_name, r.name, r.document) for r in rows if r.name is not None
        ]

    async def delete_inline_policy(self, owner_kind: OwnerKind, owner: str, name: str) -> None:
        o = _OWNERS[owner_kind]
        owner_id = select(o.id).where(o.table.c.name_key == name_key(owner)).scalar_subquery()
        where = (o.inline.c[o.id_column] == owner_id) & (o.inline.c.name_key == name_key(name))
        async with write_bumping(self._db) as conn:
            missing = f"{owner_kind} {owner} has no inline policy {name}"
            await change_existing(conn, delete(o.inline).where(where), missing)

    # -- managed policies ------------------------------------------------------------------------------

    async def create_managed_policy(self, policy: ManagedPolicy, first_version: PolicyVersion) -> None:
        if first_version.version_id != policy.default_version_id or first_version.policy_arn != policy.arn:
            raise ValueError("the first version must carry the policy's ARN and default version id")
        account = arn_account(policy.arn)
        async with write_bumping(self._db) as conn:
            values = row_values(
                policy,
                managed_policies,
                account=account,
                name_key=name_key(policy.name),
                arn_key=policy.arn.lower(),
                tags=tags_json(policy.tags),
            )
            await insert_new(conn, managed_policies, f"policy {policy.name}", values)
            version = row_values(first_version, policy_versions, policy_id=policy.policy_id, seq=1)
            await conn.execute(insert(policy_versions).values(version))

    async def get_managed_policy(self, arn: str) -> ManagedPolicy | None:
        return await read_one(
            self._db, _policy_select().where(managed_policies.c.arn_key == arn.lower()), _policy
        )

    async def list_managed_policies(
        self, path_prefix: str, marker: str | None, limit: int
    ) -> Page[ManagedPolicy]:
        mp = managed_policies
        query = _policy_select()
        path_filter = _path_filter(mp.c.path, path_prefix)
        if path_filter is not None:
            query = query.where(path_filter)
        # Names are unique per account only, so the ARN breaks ties and keeps the order total.
        keyset = Keyset("policies", (mp.c.name_key, mp.c.arn_key))
        return await keyset.read(self._db, query, marker, limit, _policy)

    async def delete_managed_policy(self, arn: str) -> None:
        async with write_bumping(self._db) as conn:
            policy_id = (await self._policy_row(conn, arn, "update")).policy_id
            for table in (role_policy_attachments, user_policy_attachments):
                if await conn.scalar(
                    select(func.count()).select_from(table).where(table.c.policy_id == policy_id)
                ):
                    raise DeleteConflict(f"policy {arn} is still attached")
            await conn.execute(delete(policy_versions).where(policy_versions.c.policy_id == policy_id))
            await conn.execute(delete(managed_policies).where(managed_policies.c.policy_id == policy_id))

    async def add_policy_version(
        self, version: PolicyVersion, make_default: bool, *, max_versions: int | None = None
    ) -> None:
        pv = policy_versions
        async with write_bumping(self._db) as conn:
            policy_id = (await self._policy_row(conn, version.policy_arn, "update")).policy_id
            if max_versions is not None:
                held = select(func.count()).select_from(pv).where(pv.c.policy_id == policy_id)
                if (await conn.scalar(held) or 0) >= max_versions:
                    raise QuotaExceeded(f"policy {version.policy_arn} has {max_versions} versions")
            seq = await conn.scalar(
                select(func.coalesce(func.max(pv.c.seq), 0) + 1).where(pv.c.policy_id == policy_id)
            )
            what = f"version {version.version_id} of {version.policy_arn}"
            await insert_new(conn, pv, what, row_values(version, pv, policy_id=policy_id, seq=seq))
            changes: dict[str, Any] = {"updated": utc(version.created)}
            if make_default:
                changes["default_version_id"] = version.version_id
            await conn.execute(
                update(managed_policies).where(managed_policies.c.policy_id == policy_id).values(changes)
            )

    async def get_policy_version(self, arn: str, version_id: str) -> PolicyVersion | None:
        mp, pv = managed_policies, policy_versions
        query = (
            select(mp.c.arn, mp.c.default_version_id, pv.c.version_id, pv.c.document, pv.c.created)
            .select_from(mp.join(pv, pv.c.policy_id == mp.c.policy_id))
            .where(mp.c.arn_key == arn.lower(), pv.c.version_id == version_id)
        )
        return await read_one(self._db, query, _version)

    async def list_policy_versions(self, arn: str) -> Sequence[PolicyVersion]:
        mp, pv = managed_policies, policy_versions
        query = (
            select(mp.c.arn, mp.c.default_version_id, pv.c.version_id, pv.c.document, pv.c.created)
            .select_from(mp.outerjoin(pv, pv.c.policy_id == mp.c.policy_id))
            .where(mp.c.arn_key == arn.lower())
            .order_by(pv.c.seq)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        if not rows:
            raise NotFound(f"policy {arn} does not exist")
        return [_version(r) for r in rows if r.version_id is not None]

    async def delete_policy_version(self, arn: str, version_id: str) -> None:
        pv = policy_versions
        async with write_bumping(self._db) as conn:
            policy = await self._policy_row(conn, arn, "update")
            if version_id == policy.default_version_id:
                raise DeleteConflict(f"version {version_id} is the default version of {arn}")
            await change_existing(
                conn,
                delete(pv).where(pv.c.policy_id == policy.policy_id, pv.c.version_id == version_id),
                f"policy {arn} has no version {version_id}",
            )

    async def set_default_policy_version(self, arn: str, version_id: str) -> None:
        pv, mp = policy_versions, managed_policies
        async with write_bumping(self._db) as conn:
            policy_id = (await self._policy_row(conn, arn, "update")).policy_id
            await existing_row(
                conn,
                select(pv.c.seq).where(pv.c.policy_id == policy_id, pv.c.version_id == version_id),
                f"policy {arn} has no version {version_id}",
            )
            await conn.execute(
                update(mp).where(mp.c.policy_id == policy_id).values(default_version_id=version_id)
            )

    async def tag_managed_policy(self, arn: str, tags: Sequence[Tag]) -> None:
        await self._retag_policy(arn, lambda cur: merge_tags(cur, tags, ignore_case=False))

    async def untag_managed_policy(self, arn: str, keys: Sequence[str]) -> None:
        await self._retag_policy(arn, lambda cur: remove_tags(cur, keys, ignore_case=False))

    async def _retag_policy(self, arn: str, change: Callable[[tuple[Tag, ...]], tuple[Tag, ...]]) -> None:
        mp = managed_policies
        await self._retag(mp, "policy_id", mp.c.arn_key == arn.lower(), f"policy {arn}", change)

    # -- attachments -----------------------------------------------------------------------------------

    async def attach_policy(
        self, owner_kind: OwnerKind, owner: str, policy_arn: str, *, max_attached: int | None = None
    ) -> None:
        o = _OWNERS[owner_kind]
        async with write_bumping(self._db) as conn:
            # Counting against a quota needs the owner to itself (FOR UPDATE), not just kept alive.
            owner_id = await self._owner_id(conn, o, owner, "share" if max_attached is None else "update")
            policy_id = (await self._policy_row(conn, policy_arn, "share")).policy_id
            if max_attached is not None:
                mine = o.attachments.c[o.id_column] == owner_id
                ids = (await conn.execute(select(o.attachments.c.policy_id).where(mine))).scalars().all()
                if policy_id not in ids and len(ids) >= max_attached:
                    raise QuotaExceeded(f"{owner_kind} {owner} has {max_attached} attached policies")
            stmt = insert_on_conflict(self._db.dialect, o.attachments)
            stmt = stmt.values({o.id_column: owner_id, "policy_id": policy_id})
            await conn.execute(stmt.on_conflict_do_nothing(index_elements=[o.id_column, "policy_id"]))

    async def detach_policy(self, owner_kind: OwnerKind, owner: str, policy_arn: str) -> None:
        o, mp = _OWNERS[owner_kind], managed_policies
        owner_id = select(o.id).where(o.table.c.name_key == name_key(owner)).scalar_subquery()
        policy_id = select(mp.c.policy_id).where(mp.c.arn_key == policy_arn.lower()).scalar_subquery()
        where = (o.attachments.c[o.id_column] == owner_id) & (o.attachments.c.policy_id == policy_id)
        async with write_bumping(self._db) as conn:
            missing = f"policy {policy_arn} is not attached to {owner_kind} {owner}"
            await change_existing(conn, delete(o.attachments).where(where), missing)

    async def list_attached_policies(self, owner_kind: OwnerKind, owner: str) -> Sequence[ManagedPolicy]:
        o, mp = _OWNERS[owner_kind], managed_policies
        async with self._db.read() as conn:
            owner_id = await self._owner_id(conn, o, owner, None)
            query = (
                _policy_select()
                .join(o.attachments, o.attachments.c.policy_id == mp.c.policy_id)
                .where(o.attachments.c[o.id_column] == owner_id)
                .order_by(mp.c.name_key, mp.c.arn_key)
            )
            rows = (await conn.execute(query)).all()
        return [_policy(r) for r in rows]

    async def list_entities_for_policy(self, policy_arn: str) -> Sequence[PolicyAttachment]:
        found: list[PolicyAttachment] = []
        async with self._db.read() as conn:
            policy = await self._policy_row(conn, policy_arn, None)
            for o in _OWNERS.values():
                query = (
                    select(o.table.c.name)
                    .join(o.attachments, o.attachments.c[o.id_column] == o.id)
                    .where(o.attachments.c.policy_id == policy.policy_id)
                    .order_by(o.table.c.name_key)
                )
                found += [PolicyAttachment(o.kind, name, policy.arn) for name in (await conn.scalars(query))]
        return found

    # -- access keys -----------------------------------------------------------------------------------

    async def create_access_key(self, key: AccessKey, *, max_keys: int | None = None) -> None:
        check_status(key.status)
        async with write_bumping(self._db) as conn:
            lock: Lock = "share" if max_keys is None else "update"
            user_id = await self._owner_id(conn, _OWNERS["user"], key.user_name, lock)
            if max_keys is not None:
                held = select(func.count()).select_from(access_keys).where(access_keys.c.user_id == user_id)
                if (await conn.scalar(held) or 0) >= max_keys:
                    raise QuotaExceeded(f"user {key.user_name} has {max_keys} access keys")
            values = row_values(key, access_keys, user_id=user_id, sealed_secret=bytes(key.sealed_secret))
            await insert_new(conn, access_keys, f"access key {key.access_key_id}", values)

    async def get_access_key(self, access_key_id: str) -> AccessKey | None:
        query = _access_key_select().where(access_keys.c.access_key_id == access_key_id)
        return await read_one(self._db, query, _access_key)

    async def list_access_keys(self, user_name: str) -> Sequence[AccessKey]:
        async with self._db.read() as conn:
            user_id = await self._owner_id(conn, _OWNERS["user"], user_name, None)
            query = (
                _access_key_select()
                .where(access_keys.c.user_id == user_id)
                .order_by(access_keys.c.created, access_keys.c.access_key_id)
            )
            rows = (await conn.execute(query)).all()
        return [_access_key(r) for r in rows]

    async def update_access_key_status(
        self, access_key_id: str, status: Literal["Active", "Inactive"]
    ) -> None:
        check_status(status)
        where = access_keys.c.access_key_id == access_key_id
        await self._update_one(access_keys, where, f"access key {access_key_id}", status=status)

    async def delete_access_key(self, access_key_id: str) -> None:
        stmt = delete(access_keys).where(access_keys.c.access_key_id == access_key_id)
        async with write_bumping(self._db) as conn:
            await change_existing(conn, stmt, f"access key {access_key_id} does not exist")


def _version(row: AnyRow) -> PolicyVersion:
    """From a row joining a version to its policy."""
    return from_row(
        PolicyVersion, row, policy_arn=row.arn, is_default=row.version_id == row.default_version_id
    )


def _access_key_select() -> Select[*tuple[Any, ...]]:
    return select(access_keys, users.c.name.label("user_name")).join(
        users, users.c.user_id == access_keys.c.user_id
    )


def _access_key(row: AnyRow) -> AccessKey:
    return from_row(AccessKey, row, sealed_secret=bytes(row.sealed_secret))
