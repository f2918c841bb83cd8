"""Sessions: what the broker remembers for one client id, connected or not.

A clean session lives and dies with its connection and is never stored. A persistent session (MQTT
3.1.1 Clean Session 0; MQTT 5 Session Expiry Interval > 0) keeps its subscriptions and its QoS 1
messages in the store: while the client is connected the messages in flight are also in memory; while
it is away new messages go to the store only (the session keeps a count, to bound its queue) and are
read back when the client resumes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bastion.broker.message import Message
from bastion.mqtt import ProtocolVersion, RetainHandling, Subscription, parse_shared_filter
from bastion.storage.mqtt import StoredSubscription

if TYPE_CHECKING:
    from bastion.broker.connection import Connection


@dataclass(slots=True)
class SubscriptionEntry:
    """One subscription of a session, as the router and the deliveries need it."""

    topic_filter: str  # as the client sent it
    match_filter: str  # without the ``$share/<group>/`` prefix
    share_name: str | None
    qos: int
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0

    @classmethod
    def from_subscription(cls, sub: Subscription) -> SubscriptionEntry:
        shared = parse_shared_filter(sub.topic_filter)
        return cls(
            topic_filter=sub.topic_filter,
            match_filter=shared.topic_filter if shared else sub.topic_filter,
            share_name=shared.share_name if shared else None,
            qos=sub.qos,
            no_local=sub.no_local,
            retain_as_published=sub.retain_as_published,
            retain_handling=int(sub.retain_handling),
        )

    @classmethod
    def from_stored(cls, stored: StoredSubscription) -> SubscriptionEntry:
        return cls.from_subscription(
            Subscription(
                stored.topic_filter,
                stored.qos,
                stored.no_local,
                stored.retain_as_published,
                RetainHandling(stored.retain_handling),
            )
        )

    def to_stored(self) -> StoredSubscription:
        return StoredSubscription(
            self.topic_filter, self.qos, self.no_local, self.retain_as_published, self.retain_handling
        )


class Delivery:
    """A QoS 1 message on its way to one session."""

    __slots__ = ("message", "packet_id", "retain", "sent")

    def __init__(self, message: Message, retain: bool) -> None:
        self.message = message
        self.retain = retain
        self.packet_id: int | None = None
        self.sent = False


class Session:
    __slots__ = (
        "client_id",
        "connection",
        "dropped",
        "expires_at",
        "expiry_interval",
        "in_store",
        "inflight",
        "last_connect",
        "last_disconnect",
        "next_packet_id",
        "packet_ids",
        "pending",
        "stored_count",
        "subscriptions",
        "version",
        "will_handle",
    )

    def __init__(self, client_id: str, version: ProtocolVersion, expiry_interval: int) -> None:
        self.client_id = client_id
        self.version = version
        # 0: the session ends with its connection. Otherwise seconds it outlives it.
        self.expiry_interval = expiry_interval
        self.subscriptions: dict[str, SubscriptionEntry] = {}
        self.connection: Connection | None = None
        # Packet id -> delivery sent and not yet acknowledged.
        self.inflight: dict[int, Delivery] = {}
        # Deliveries waiting for room in the in-flight window.
        self.pending: deque[Delivery] = deque()
        # Messages queued in the store while the client is away (persistent sessions only).
        self.stored_count = 0
        # Wall-clock second an offline persistent session ends.
        self.expires_at: float | None = None
        # Message id -> packet id it was last sent with, so a resumed session re-sends with the same id.
        self.packet_ids: dict[int, int] = {}
        self.next_packet_id = 1
        self.last_connect = 0.0
        # (wall-clock second, AWS disconnectReason) of the connection that last left this session.
        self.last_disconnect: tuple[float, str] | None = None
        # QoS 1 messages dropped because the queue was full (for rate-limited logging).
        self.dropped = 0
        # Whether the store holds a record of this session (it must be deleted when the session ends).
        self.in_store = False
        # A delayed Will (MQTT 5 Will Delay Interval) waiting to be published.
        self.will_handle: object | None = None

    @property
    def persistent(self) -> bool:
        return self.expiry_interval > 0

    @property
    def queued(self) -> int:
        return len(self.inflight) + len(self.pending) + self.stored_count

    def allocate_packet_id(self) -> int:
        """The next free packet id (1..65535); the in-flight window is far smaller than the id space."""
        pid = self.next_packet_id
        while pid in self.inflight:
            pid = pid % 0xFFFF + 1
        self.next_packet_id = pid % 0xFFFF + 1
        return pid
