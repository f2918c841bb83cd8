"""MqttRepository over SQLite and PostgreSQL.

``apply`` runs a batch in one write transaction. Consecutive writes of the same kind are sent as one
``executemany``, so a batch of a thousand queued messages costs a handful of statements; the order of
the batch is kept, since a later write may depend on an earlier one (a message stored, then queued, then
acknowledged, all in one batch).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any

from sqlalchemy import Table, bindparam, delete, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.storage.mqtt import (
    DeleteRetained,
    DeleteSession,
    DeleteSubscription,
    Dequeue,
    Enqueue,
    MqttWrite,
    PutMessage,
    PutRetained,
    PutSession,
    PutSubscription,
    RetainedMessage,
    StoredMessage,
    StoredSession,
    StoredSubscription,
)
from bastion.storage.sql.engine import Database
from bastion.storage.sql.tables_mqtt import (
    mqtt_messages,
    mqtt_queue,
    mqtt_retained,
    mqtt_sessions,
    mqtt_subscriptions,
)
from bastion.storage.values import utc

_m = mqtt_messages
_q = mqtt_queue
_s = mqtt_sessions
_sub = mqtt_subscriptions
_r = mqtt_retained
_MESSAGE_COLUMNS = (
    _m.c.message_id,
    _m.c.topic,
    _m.c.payload,
    _m.c.qos,
    _m.c.properties,
    _m.c.created,
    _m.c.expires,
)


def _aware(value: Any) -> Any:
    return None if value is None else utc(value)


class SqlMqttRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def _insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        return (postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert)(table)

    # ---- writes ---------------------------------------------------------------------------------------
    async def apply(self, writes: Sequence[MqttWrite]) -> None:
        if not writes:
            return
        async with self._db.write() as conn:
            for kind, group in groupby(writes, key=type):
                await self._apply_group(conn, kind, list(group))

    async def _apply_group(self, conn: AsyncConnection, kind: type, group: list[Any]) -> None:
        if kind is PutSession:
            await self._put_sessions(conn, group)
        elif kind is DeleteSession:
            await self._delete_sessions(conn, [w.client_id for w in group])
        elif kind is PutSubscription:
            await self._put_subscriptions(conn, group)
        elif kind is DeleteSubscription:
            stmt = delete(_sub).where(
                _sub.c.client_id == bindparam("cid"), _sub.c.topic_filter == bindparam("tf")
            )
            await conn.execute(stmt, [{"cid": w.client_id, "tf": w.topic_filter} for w in group])
        elif kind is PutMessage:
            await self._put_messages(conn, [w.message for w in group])
        elif kind is Enqueue:
            await self._enqueue(conn, group)
        elif kind is Dequeue:
            stmt = delete(_q).where(_q.c.client_id == bindparam("cid"), _q.c.message_id == bindparam("mid"))
            await conn.execute(stmt, [{"cid": w.client_id, "mid": w.message_id} for w in group])
            await self._drop_unreferenced(conn, {w.message_id for w in group})
        elif kind is PutRetained:
            await self._put_retained(conn, [w.message for w in group])
        elif kind is DeleteRetained:
            stmt = delete(_r).where(_r.c.topic == bindparam("t"))
            await conn.execute(stmt, [{"t": w.topic} for w in group])
        else:  # pragma: no cover - the union is closed
            raise TypeError(f"unknown MQTT write {kind.__name__}")

    async def _put_sessions(self, conn: AsyncConnection, group: list[PutSession]) -> None:
        latest = {w.client_id: w for w in group}  # one upsert per key: executemany cannot repeat a key
        stmt = self._insert(_s)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_s.c.client_id],
            set_={
                "protocol_version": stmt.excluded.protocol_version,
                "expiry_interval": stmt.excluded.expiry_interval,
                "expires": stmt.excluded.expires,
            },
        )
        rows = [
            {
                "client_id": w.client_id,
                "protocol_version": w.protocol_version,
                "expiry_interval": w.expiry_interval,
                "expires": _aware(w.expires),
            }
            for w in latest.values()
        ]
        await conn.execute(stmt, rows)

    async def _existing_sessions(self, conn: AsyncConnection, client_ids: set[str]) -> set[str]:
        found = await conn.execute(select(_s.c.client_id).where(_s.c.client_id.in_(client_ids)))
        return {row[0] for row in found}

    async def _delete_sessions(self, conn: AsyncConnection, client_ids: list[str]) -> None:
        ids = set(client_ids)
        queued = await conn.execute(select(_q.c.message_id).where(_q.c.client_id.in_(ids)))
        message_ids = {row[0] for row in queued}
        # Children first: PostgreSQL cascades too, but SQLite only with foreign keys on; be explicit.
        await conn.execute(delete(_q).where(_q.c.client_id.in_(ids)))
        await conn.execute(delete(_sub).where(_sub.c.client_id.in_(ids)))
        await conn.execute(delete(_s).where(_s.c.client_id.in_(ids)))
        await self._drop_unreferenced(conn, message_ids)

    async def _put_subscriptions(self, conn: AsyncConnection, group: list[PutSubscription]) -> None:
        existing = await self._existing_sessions(conn, {w.client_id for w in group})
        latest = {(w.client_id, w.subscription.topic_filter): w for w in group if w.client_id in existing}
        if not latest:
            return
        stmt = self._insert(_sub)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_sub.c.client_id, _sub.c.topic_filter],
            set_={
                "qos": stmt.excluded.qos,
                "no_local": stmt.excluded.no_local,
                "retain_as_published": stmt.excluded.retain_as_published,
                "retain_handling": stmt.excluded.retain_handling,
            },
        )
        rows = [
            {
                "client_id": w.client_id,
                "topic_filter": w.subscription.topic_filter,
                "qos": w.subscription.qos,
                "no_local": int(w.subscription.no_local),
                "retain_as_published": int(w.subscription.retain_as_published),
                "retain_handling": w.subscription.retain_handling,
            }
            for w in latest.values()
        ]
        await conn.execute(stmt, rows)

    async def _put_messages(self, conn: AsyncConnection, messages: list[StoredMessage]) -> None:
        unique = {m.message_id: m for m in messages}
        stmt = self._insert(_m).on_conflict_do_nothing(index_elements=[_m.c.message_id])
        rows = [
            {
                "message_id": m.message_id,
                "topic": m.topic,
                "payload": m.payload,
                "qos": m.qos,
                "properties": m.properties,
                "created": utc(m.created),
                "expires": _aware(m.expires),
            }
            for m in unique.values()
        ]
        await conn.execute(stmt, rows)

    async def _enqueue(self, conn: AsyncConnection, group: list[Enqueue]) -> None:
        sessions = await self._existing_sessions(conn, {w.client_id for w in group})
        message_ids = {w.message_id for w in group}
        found = await conn.execute(select(_m.c.message_id).where(_m.c.message_id.in_(message_ids)))
        messages = {row[0] for row in found}
        pairs = {
            (w.client_id, w.message_id) for w in group if w.client_id in sessions and w.message_id in messages
        }
        if not pairs:
            return
        stmt = self._insert(_q).on_conflict_do_nothing(index_elements=[_q.c.client_id, _q.c.message_id])
        await conn.execute(stmt, [{"client_id": c, "message_id": m} for c, m in pairs])

    async def _drop_unreferenced(self, conn: AsyncConnection, message_ids: set[int]) -> None:
        if not message_ids:
            return
        still_queued = exists().where(_q.c.message_id == _m.c.message_id)
        await conn.execute(delete(_m).where(_m.c.message_id.in_(message_ids), ~still_queued))

    async def _put_retained(self, conn: AsyncConnection, messages: list[RetainedMessage]) -> None:
        latest = {m.topic: m for m in messages}
        stmt = self._insert(_r)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_r.c.topic],
            set_={
                "payload": stmt.excluded.payload,
                "qos": stmt.excluded.qos,
                "properties": stmt.excluded.properties,
                "updated": stmt.excluded.updated,
                "expires": stmt.excluded.expires,
            },
        )
        rows = [
            {
                "topic": m.topic,
                "payload": m.payload,
                "qos": m.qos,
                "properties": m.properties,
                "updated": utc(m.updated),
                "expires": _aware(m.expires),
            }
            for m in latest.values()
        ]
        await conn.execute(stmt, rows)

    # ---- reads ----------------------------------------------------------------------------------------
    async def list_retained(self) -> Sequence[RetainedMessage]:
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(
                    _r.c.topic, _r.c.payload, _r.c.qos, _r.c.properties, _r.c.updated, _r.c.expires
                ).order_by(_r.c.topic)
            )
            return [RetainedMessage(r[0], bytes(r[1]), r[2], bytes(r[3]), r[4], r[5]) for r in rows]

    async def list_sessions(self) -> Sequence[StoredSession]:
        async with self._db.read() as conn:
            sessions = (
                await conn.execute(
                    select(
                        _s.c.client_id, _s.c.protocol_version, _s.c.expiry_interval, _s.c.expires
                    ).order_by(_s.c.client_id)
                )
            ).all()
            subscriptions: dict[str, list[StoredSubscription]] = {}
            rows = await conn.execute(
                select(
                    _sub.c.client_id,
                    _sub.c.topic_filter,
                    _sub.c.qos,
                    _sub.c.no_local,
                    _sub.c.retain_as_published,
                    _sub.c.retain_handling,
                ).order_by(_sub.c.client_id, _sub.c.topic_filter)
            )
            for r in rows:
                subscriptions.setdefault(r[0], []).append(
                    StoredSubscription(r[1], r[2], bool(r[3]), bool(r[4]), r[5])
                )
            sizes = await conn.execute(select(_q.c.client_id, func.count()).group_by(_q.c.client_id))
            counts: dict[str, int] = {row[0]: int(row[1]) for row in sizes}
        return [
            StoredSession(
                client_id=s[0],
                protocol_version=s[1],
                expiry_interval=s[2],
                expires=s[3],
                subscriptions=tuple(subscriptions.get(s[0], ())),
                queued=counts.get(s[0], 0),
            )
            for s in sessions
        ]

    async def list_queue(self, client_id: str, limit: int) -> Sequence[StoredMessage]:
        query = (
            select(
                _m.c.message_id,
                _m.c.topic,
                _m.c.payload,
                _m.c.qos,
                _m.c.properties,
                _m.c.created,
                _m.c.expires,
            )
            .join(_q, _q.c.message_id == _m.c.message_id)
            .where(_q.c.client_id == client_id)
            .order_by(_m.c.message_id)
            .limit(limit)
        )
        async with self._db.read() as conn:
            rows = await conn.execute(query)
            return [StoredMessage(r[0], r[1], bytes(r[2]), r[3], bytes(r[4]), r[5], r[6]) for r in rows]
