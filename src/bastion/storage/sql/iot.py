"""IotRepository over SQLAlchemy Core, shared by SQLite and PostgreSQL.

Each method is one transaction. Locks (PostgreSQL; SQLite serialises writers anyway): adding a version or
changing the default locks the policy row ``FOR UPDATE`` (so numbers are handed out once and the version
limit holds); attaching takes a transaction-scoped advisory lock on the target (so the per-target limit
holds under concurrent attaches), then the policy row ``FOR SHARE`` (so the policy cannot be deleted
under it); deleting a policy locks its row ``FOR UPDATE`` before counting what depends on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.storage.interfaces import DeleteConflict, InvalidMarker, NotFound, Page
from bastion.storage.iot import (
    EffectivePolicy,
    IotPolicy,
    IotPolicyVersion,
    TargetLimitReached,
    VersionLimitReached,
    decode_iot_marker,
    encode_iot_marker,
    version_number,
)
from bastion.storage.paging import check_limit
from bastion.storage.sql.engine import Database
from bastion.storage.sql.meta import bump_in
from bastion.storage.sql.rows import (
    AnyRow,
    Keyset,
    Lock,
    change_existing,
    existing_row,
    from_row,
    insert_new,
    locked,
    read_one,
    row_values,
    tags_from_json,
    tags_json,
)
from bastion.storage.sql.tables_iot import iot_policies, iot_policy_targets, iot_policy_versions
from bastion.storage.values import utc

_P, _V, _T = iot_policies, iot_policy_versions, iot_policy_targets
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def _policy(row: AnyRow) -> IotPolicy:
    return from_row(
        IotPolicy, row, default_version_id=str(row.default_version), tags=tags_from_json(row.tags)
    )


def _version(row: AnyRow, default_version: int) -> IotPolicyVersion:
    return from_row(
        IotPolicyVersion, row, version_id=str(row.version), is_default=row.version == default_version
    )


def _keyset(listing: str, *columns: ColumnElement[str]) -> Keyset:
    return Keyset(listing, columns, encode_iot_marker, decode_iot_marker)


def _policy_key(created: datetime, name: str) -> str:
    return f"{utc(created).strftime(_TIME_FORMAT)} {name}"


class SqlIotRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def _lock_policy(self, conn: AsyncConnection, name: str, lock: Lock) -> AnyRow:
        query = select(_P.c.name, _P.c.default_version, _P.c.last_version).where(_P.c.name == name)
        return await existing_row(conn, locked(query, lock), f"policy {name} does not exist")

    # -- policies --------------------------------------------------------------------------------------

    async def create_policy(self, policy: IotPolicy, document: str) -> IotPolicyVersion:
        if policy.default_version_id != "1":
            raise ValueError("a new policy's default version is 1")
        created = utc(policy.created)
        async with self._db.write() as conn:
            values = row_values(policy, _P, default_version=1, last_version=1, tags=tags_json(policy.tags))
            await insert_new(conn, _P, f"policy {policy.name}", values)
            await conn.execute(
                insert(_V).values(policy_name=policy.name, version=1, document=document, created=created)
            )
        return IotPolicyVersion(policy.name, "1", document, created, is_default=True)

    async def get_policy(self, name: str) -> IotPolicy | None:
        return await read_one(self._db, select(_P).where(_P.c.name == name), _policy)

    async def list_policies(self, marker: str | None, limit: int, ascending: bool) -> Page[IotPolicy]:
        check_limit(limit)
        listing = "iot-policies-asc" if ascending else "iot-policies-desc"
        order = (_P.c.created, _P.c.name) if ascending else (_P.c.created.desc(), _P.c.name.desc())
        query = select(_P).order_by(*order).limit(limit + 1)
        if marker is not None:
            (after,) = decode_iot_marker(listing, marker, 1)
            moment_text, _, name = after.partition(" ")
            try:
                moment = datetime.strptime(moment_text, _TIME_FORMAT).replace(tzinfo=UTC)
            except ValueError:
                raise InvalidMarker("the paging marker does not belong to this listing") from None
            created, same = _P.c.created, _P.c.created == moment
            if ascending:
                query = query.where(or_(created > moment, and_(same, _P.c.name > name)))
            else:
                query = query.where(or_(created < moment, and_(same, _P.c.name < name)))
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        next_marker = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_marker = encode_iot_marker(listing, _policy_key(last.created, last.name))
        return Page([_policy(r) for r in rows[:limit]], next_marker)

    async def delete_policy(self, name: str) -> None:
        async with self._db.write() as conn:
            await self._lock_policy(conn, name, "update")
            attached = await conn.scalar(select(func.count()).select_from(_T).where(_T.c.policy_name == name))
            if attached:
                raise DeleteConflict(f"policy {name} is attached to {attached} target(s)")
            versions = await conn.scalar(select(func.count()).select_from(_V).where(_V.c.policy_name == name))
            if versions and versions > 1:
                raise DeleteConflict(f"policy {name} has versions besides the default")
            await conn.execute(delete(_V).where(_V.c.policy_name == name))
            await conn.execute(delete(_P).where(_P.c.name == name))

    # -- versions --------------------------------------------------------------------------------------

    async def add_version(
        self, name: str, document: str, created: datetime, make_default: bool, max_versions: int
    ) -> IotPolicyVersion:
        created = utc(created)
        async with self._db.write() as conn:
            row = await self._lock_policy(conn, name, "update")
            count = await conn.scalar(select(func.count()).select_from(_V).where(_V.c.policy_name == name))
            if (count or 0) >= max_versions:
                raise VersionLimitReached(f"policy {name} has {count} versions")
            number = row.last_version + 1
            await conn.execute(
                insert(_V).values(policy_name=name, version=number, document=document, created=created)
            )
            values: dict[str, Any] = {"last_version": number, "updated": created}
            if make_default:
                values["default_version"] = number
            await conn.execute(update(_P).where(_P.c.name == name).values(**values))
            if make_default:
                await bump_in(conn)
        return IotPolicyVersion(name, str(number), document, created, is_default=make_default)

    async def get_version(self, name: str, version_id: str) -> IotPolicyVersion | None:
        number = version_number(version_id)
        if number is None:
            return None
        query = (
            select(_V, _P.c.default_version)
            .join(_P, _P.c.name == _V.c.policy_name)
            .where(_V.c.policy_name == name, _V.c.version == number)
        )
        return await read_one(self._db, query, lambda row: _version(row, row.default_version))

    async def list_versions(self, name: str) -> Sequence[IotPolicyVersion]:
        async with self._db.read() as conn:
            policy = select(_P.c.default_version).where(_P.c.name == name)
            default = (await existing_row(conn, policy, f"policy {name} does not exist")).default_version
            query = select(_V).where(_V.c.policy_name == name).order_by(_V.c.version.desc())
            rows = (await conn.execute(query)).all()
        return [_version(r, default) for r in rows]

    async def delete_version(self, name: str, version_id: str) -> None:
        number = version_number(version_id)
        async with self._db.write() as conn:
            row = await self._lock_policy(conn, name, "update")
            if number is not None and number == row.default_version:
                raise DeleteConflict("the default version cannot be deleted")
            where = and_(_V.c.policy_name == name, _V.c.version == (number if number is not None else -1))
            await change_existing(conn, delete(_V).where(where), f"policy {name} has no version {version_id}")

    async def set_default_version(self, name: str, version_id: str, when: datetime) -> None:
        number = version_number(version_id)
        async with self._db.write() as conn:
            row = await self._lock_policy(conn, name, "update")
            exists = number is not None and await conn.scalar(
                select(func.count()).select_from(_V).where(_V.c.policy_name == name, _V.c.version == number)
            )
            if not exists:
                raise NotFound(f"policy {name} has no version {version_id}")
            if number == row.default_version:
                return
            await conn.execute(
                update(_P).where(_P.c.name == name).values(default_version=number, updated=utc(when))
            )
            await bump_in(conn)

    # -- attachments -----------------------------------------------------------------------------------

    async def attach(self, name: str, target: str, max_per_target: int) -> bool:
        async with self._db.write() as conn:
            if self._db.dialect == "postgresql":
                # Serialise attaches to one target, so two of them cannot both pass the limit.
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(hashtextextended(:target, 0))"), {"target": target}
                )
            await self._lock_policy(conn, name, "share")
            names = set(await conn.scalars(select(_T.c.policy_name).where(_T.c.target == target)))
            if name in names:
                return False
            if len(names) >= max_per_target:
                raise TargetLimitReached(f"{target} already has {len(names)} policies")
            await conn.execute(insert(_T).values(target=target, policy_name=name))
            await bump_in(conn)
        return True

    async def detach(self, name: str, target: str) -> bool:
        where = and_(_T.c.target == target, _T.c.policy_name == name)
        async with self._db.write() as conn:
            if (await conn.execute(delete(_T).where(where))).rowcount == 0:
                return False
            await bump_in(conn)
        return True

    async def list_attached(self, target: str, marker: str | None, limit: int) -> Page[IotPolicy]:
        query = select(_P).join(_T, _T.c.policy_name == _P.c.name).where(_T.c.target == target)
        return await _keyset("iot-attached", _P.c.name).read(self._db, query, marker, limit, _policy)

    async def list_targets(self, name: str, marker: str | None, limit: int) -> Page[str]:
        keyset = _keyset("iot-targets", _T.c.target)
        query = keyset.select(select(_T.c.target).where(_T.c.policy_name == name), marker, limit)
        async with self._db.read() as conn:
            await existing_row(
                conn, select(_P.c.name).where(_P.c.name == name), f"policy {name} does not exist"
            )
            rows = (await conn.execute(query)).all()
        return keyset.page(rows, limit, lambda row: row.target)

    async def effective_policies(self, target: str) -> Sequence[EffectivePolicy]:
        query = (
            select(_P, _V.c.document, _V.c.created.label("version_created"))
            .join(_T, _T.c.policy_name == _P.c.name)
            .join(_V, and_(_V.c.policy_name == _P.c.name, _V.c.version == _P.c.default_version))
            .where(_T.c.target == target)
            .order_by(_P.c.name)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            EffectivePolicy(
                _policy(r),
                IotPolicyVersion(r.name, str(r.default_version), r.document, r.version_created, True),
            )
            for r in rows
        ]
