"""The subscription index: which sessions a topic reaches, shared groups, one delivery per session."""

from __future__ import annotations

from bastion.broker.router import Router
from bastion.broker.sessions import Session, SubscriptionEntry
from bastion.mqtt import ProtocolVersion, Subscription


def session(name: str, expiry: int = 0) -> Session:
    return Session(name, ProtocolVersion.MQTT_5, expiry)


def subscribe(router: Router, who: Session, topic_filter: str, qos: int = 0) -> SubscriptionEntry:
    entry = SubscriptionEntry.from_subscription(Subscription(topic_filter, qos))
    who.subscriptions[topic_filter] = entry
    router.add(who, entry)
    return entry


def test_one_delivery_per_session_with_the_highest_qos() -> None:
    router = Router()
    alice, bob = session("alice"), session("bob")
    subscribe(router, alice, "a/+", 0)
    subscribe(router, alice, "a/b", 1)
    subscribe(router, bob, "a/#", 0)
    found = {s.client_id: e.qos for s, e in router.match("a/b")}
    assert found == {"alice": 1, "bob": 0}
    assert router.match("a") == []  # AWS: '#' does not match the parent


def test_shared_group_takes_turns_and_prefers_connected_members() -> None:
    router = Router()
    one, two = session("one"), session("two", expiry=60)
    subscribe(router, one, "$share/g/jobs/+")
    subscribe(router, two, "$share/g/jobs/+")
    one.connection = object()  # type: ignore[assignment]
    two.connection = object()  # type: ignore[assignment]
    picks = [router.match("jobs/x")[0][0].client_id for _ in range(4)]
    assert sorted(picks) == ["one", "one", "two", "two"]
    one.connection = None
    two.connection = None
    # Nobody connected: the persistent member keeps the message; a clean one would lose it.
    assert [s.client_id for s, _ in router.match("jobs/x")] == ["two"]
    entry = router.match("jobs/x")[0][1]
    assert entry.topic_filter == "$share/g/jobs/+" and entry.share_name == "g"


def test_remove_prunes_groups_and_filters() -> None:
    router = Router()
    alice = session("alice")
    alice.connection = object()  # type: ignore[assignment]
    direct = subscribe(router, alice, "x/y")
    shared = subscribe(router, alice, "$share/g/x/y")
    assert len(router.match("x/y")) == 2
    router.remove(alice, shared)
    router.remove(alice, direct)
    assert router.match("x/y") == []
    assert len(router) == 0
