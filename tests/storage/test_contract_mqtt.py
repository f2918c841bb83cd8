"""MqttRepository contract: every backend keeps retained messages and persistent sessions alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bastion.storage.interfaces import Store
from bastion.storage.mqtt import (
    DeleteRetained,
    DeleteSession,
    DeleteSubscription,
    Dequeue,
    Enqueue,
    PutMessage,
    PutRetained,
    PutSession,
    PutSubscription,
    RetainedMessage,
    StoredMessage,
    StoredSubscription,
)

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def message(message_id: int, topic: str = "a/b", payload: bytes = b"x") -> StoredMessage:
    return StoredMessage(message_id, topic, payload, 1, b"\x00", T0, T0 + timedelta(hours=1))


async def test_retained_messages_are_replaced_and_deleted_by_topic(store: Store) -> None:
    repo = store.mqtt
    first = RetainedMessage("t/1", b"one", 1, b"\x03\x02\x00\x00", T0)
    await repo.apply([PutRetained(first), PutRetained(RetainedMessage("t/0", b"zero", 0, b"\x00", T0))])
    replaced = RetainedMessage("t/1", b"two", 0, b"\x00", T0 + timedelta(seconds=5), T0 + timedelta(days=1))
    await repo.apply([PutRetained(replaced)])
    assert [m.topic for m in await repo.list_retained()] == ["t/0", "t/1"]
    assert (await repo.list_retained())[1] == replaced
    await repo.apply([DeleteRetained("t/0"), DeleteRetained("missing")])
    assert await repo.list_retained() == [replaced]


async def test_sessions_keep_subscriptions_and_queue_in_order(store: Store) -> None:
    repo = store.mqtt
    sub_b = StoredSubscription("b/#", 1, no_local=True, retain_as_published=True, retain_handling=2)
    await repo.apply(
        [
            PutSession("c1", 5, 3600, None),
            PutSubscription("c1", StoredSubscription("a/+", 0)),
            PutSubscription("c1", sub_b),
            PutMessage(message(20)),
            PutMessage(message(10, payload=b"\x00\xff")),
            Enqueue("c1", 20),
            Enqueue("c1", 10),
            Enqueue("c1", 10),  # already queued: ignored
        ]
    )
    (session,) = await repo.list_sessions()
    assert session.client_id == "c1"
    assert session.protocol_version == 5
    assert session.expiry_interval == 3600
    assert session.expires is None
    assert session.subscriptions == (StoredSubscription("a/+", 0), sub_b)
    assert session.queued == 2
    queue = await repo.list_queue("c1", 10)
    assert [m.message_id for m in queue] == [10, 20]
    assert queue[0] == message(10, payload=b"\x00\xff")
    assert [m.message_id for m in await repo.list_queue("c1", 1)] == [10]


async def test_one_session_is_read_by_client_id(store: Store) -> None:
    repo = store.mqtt
    await repo.apply(
        [
            PutSession("c1", 5, 3600, None),
            PutSession("c2", 4, 60, T0),
            PutSubscription("c1", StoredSubscription("a/+", 0)),
            PutSubscription("c2", StoredSubscription("b", 1)),
            PutMessage(message(10)),
            PutMessage(message(11)),
            Enqueue("c1", 10),
            Enqueue("c2", 10),
            Enqueue("c2", 11),
        ]
    )
    everyone = {s.client_id: s for s in await repo.list_sessions()}
    assert await repo.get_session("c1") == everyone["c1"]
    assert await repo.get_session("c2") == everyone["c2"]
    got = await repo.get_session("c2")
    assert got is not None and got.queued == 2 and got.subscriptions == (StoredSubscription("b", 1),)
    assert await repo.get_session("c3") is None


async def test_writes_for_missing_sessions_or_messages_are_ignored(store: Store) -> None:
    repo = store.mqtt
    await repo.apply(
        [
            PutSubscription("ghost", StoredSubscription("x", 1)),
            PutMessage(message(1)),
            Enqueue("ghost", 1),
            PutSession("real", 4, 60, T0),
            Enqueue("real", 999),
            Dequeue("real", 999),
            DeleteSubscription("real", "never"),
        ]
    )
    (session,) = await repo.list_sessions()
    assert session.client_id == "real"
    assert session.queued == 0
    assert session.expires == T0
    assert await repo.list_queue("ghost", 10) == []


async def test_a_message_queued_twice_lives_until_its_last_dequeue(store: Store) -> None:
    repo = store.mqtt
    await repo.apply(
        [
            PutSession("a", 5, 60, None),
            PutSession("b", 5, 60, None),
            PutMessage(message(7)),
            Enqueue("a", 7),
            Enqueue("b", 7),
        ]
    )
    await repo.apply([Dequeue("a", 7)])
    assert await repo.list_queue("a", 10) == []
    assert [m.message_id for m in await repo.list_queue("b", 10)] == [7]
    await repo.apply([DeleteSession("b")])
    # The message went with its last reference: queueing it again finds nothing.
    await repo.apply([Enqueue("a", 7)])
    assert await repo.list_queue("a", 10) == []


async def test_put_session_updates_and_delete_session_removes_everything(store: Store) -> None:
    repo = store.mqtt
    await repo.apply(
        [
            PutSession("c", 4, 60, None),
            PutSubscription("c", StoredSubscription("t", 1)),
            PutMessage(message(1)),
            Enqueue("c", 1),
            PutSession("c", 4, 120, T0),
        ]
    )
    (session,) = await repo.list_sessions()
    assert (session.expiry_interval, session.expires, session.queued) == (120, T0, 1)
    await repo.apply([DeleteSubscription("c", "t")])
    assert (await repo.list_sessions())[0].subscriptions == ()
    await repo.apply([DeleteSession("c"), DeleteSession("never-existed")])
    assert await repo.list_sessions() == []
    # A session made again under the same id starts empty.
    await repo.apply([PutSession("c", 5, 10, None)])
    assert (await repo.list_sessions())[0].queued == 0


async def test_store_ack_in_one_batch_leaves_nothing(store: Store) -> None:
    repo = store.mqtt
    await repo.apply([PutSession("c", 5, 60, None), PutMessage(message(3)), Enqueue("c", 3), Dequeue("c", 3)])
    assert (await repo.list_sessions())[0].queued == 0


async def test_a_failed_batch_changes_nothing(store: Store) -> None:
    repo = store.mqtt
    naive = datetime(2026, 1, 1)
    with pytest.raises(ValueError):
        await repo.apply(
            [PutSession("c", 5, 60, None), PutRetained(RetainedMessage("t", b"", 0, b"\x00", naive))]
        )
    assert await repo.list_sessions() == []
    assert await repo.list_retained() == []
