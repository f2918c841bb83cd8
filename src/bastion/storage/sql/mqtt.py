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

from sqlalchemy import bindparam, delete, exists, func, select
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
from bastion.storage.sql.rows import from_row, insert_on_conflict, row_values, upsert
from bastion.storage.sql.tables_mqtt import (
    mqtt_messages,
    mqtt_queue,
    mqtt_retained,
    mqtt_sessions,
    mqtt_subscriptions,
)

_m = mqtt_messages
_q = mqtt_queue
_s = mqtt_sessions
_sub = mqtt_subscriptions
_r = mqtt_retained


class SqlMqttRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

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
        stmt = upsert(self._db.dialect, _s, ["client_id"], ["protocol_version", "expiry_interval", "expires"])
        await conn.execute(stmt, [row_values(w, _s) for w in latest.values()])

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
        stmt = upsert(
            self._db.dialect,
            _sub,
            ["client_id", "topic_filter"],
            ["qos", "no_local", "retain_as_published", "retain_handling"],
        )
        rows = [
            row_values(
                w.subscription,
                _sub,
                client_id=w.client_id,
                no_local=int(w.subscription.no_local),
                retain_as_published=int(w.subscription.retain_as_published),
            )
            for w in latest.values()
        ]
        await conn.execute(stmt, rows)

    async def _put_messages(self, conn: AsyncConnection, messages: list[StoredMessage]) -> None:
        unique = {m.message_id: m for m in messages}
        stmt = insert_on_conflict(self._db.dialect, _m).on_conflict_do_nothing(index_elements=["message_id"])
        await conn.execute(stmt, [row_values(m, _m) for m in unique.values()])

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
        stmt = insert_on_conflict(self._db.dialect, _q)
        stmt = stmt.on_conflict_do_nothing(index_elements=["client_id", "message_id"])
        await conn.execute(stmt, [{"client_id": c, "message_id": m} for c, m in pairs])

    async def _drop_unreferenced(self, conn: AsyncConnection, message_ids: set[int]) -> None:
        if not message_ids:
            return
        still_queued = exists().where(_q.c.message_id == _m.c.message_id)
        await conn.execute(delete(_m).where(_m.c.message_id.in_(message_ids), ~still_queued))

    async def _put_retained(self, conn: AsyncConnection, messages: list[RetainedMessage]) -> None:
        latest = {m.topic: m for m in messages}
        stmt = upsert(self._db.dialect, _r, ["topic"], ["payload", "qos", "properties", "updated", "expires"])
        await conn.execute(stmt, [row_values(m, _r) for m in latest.values()])

    # ---- reads ----------------------------------------------------------------------------------------
    async def list_retained(self) -> Sequence[RetainedMessage]:
        async with self._db.read() as conn:
            rows = await conn.execute(select(_r).order_by(_r.c.topic))
            return [
                from_row(RetainedMessage, r, payload=bytes(r.payload), properties=bytes(r.properties))
                for r in rows
            ]

    async def list_sessions(self) -> Sequence[StoredSession]:
        return await self._sessions(None)

    async def get_session(self, client_id: str) -> StoredSession | None:
        found = await self._sessions(client_id)
        return found[0] if found else None

    async def _sessions(self, client_id: str | None) -> list[StoredSession]:
        """Every session, or the one of ``client_id``, read in one snapshot."""
        sessions_q = select(_s).order_by(_s.c.client_id)
        subs_q = select(_sub).order_by(_sub.c.client_id, _sub.c.topic_filter)
        sizes_q = select(_q.c.client_id, func.count()).group_by(_q.c.client_id)
        if client_id is not None:
            sessions_q = sessions_q.where(_s.c.client_id == client_id)
            subs_q = subs_q.where(_sub.c.client_id == client_id)
            sizes_q = sizes_q.where(_q.c.client_id == client_id)
        async with self._db.read() as conn:
            sessions = (await conn.execute(sessions_q)).all()
            subscriptions: dict[str, list[StoredSubscription]] = {}
            rows = await conn.execute(subs_q)
            for r in rows:
                subscriptions.setdefault(r.client_id, []).append(
                    from_row(
                        StoredSubscription,
                        r,
                        no_local=bool(r.no_local),
                        retain_as_published=bool(r.retain_as_published),
                    )
                )
            sizes = await conn.execute(sizes_q)
            counts: dict[str, int] = {row[0]: int(row[1]) for row in sizes}
        return [
            from_row(
                StoredSession,
                s,
                subscriptions=tuple(subscriptions.get(s.client_id, ())),
                queued=counts.get(s.client_id, 0),
            )
            for s in sessions
        ]

    async def list_queue(self, client_id: str, limit: int) -> Sequence[StoredMessage]:
        query = (
            select(_m)
            .join(_q, _q.c.message_id == _m.c.message_id)
            .where(_q.c.client_id == client_id)
            .order_by(_m.c.message_id)
            .limit(limit)
        )
        async with self._db.read() as conn:
            rows = await conn.execute(query)
            return [
                from_row(StoredMessage, r, payload=bytes(r.payload), properties=bytes(r.properties))
                for r in rows
            ]
