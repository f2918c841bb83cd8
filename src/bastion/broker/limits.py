"""AWS IoT Core's message-broker limits (aws-notes §7.5) and the broker's own resource bounds.

AWS's values are the defaults; the few an AWS account can raise are settings here too. Resource bounds
that AWS does not publish (buffers, connection counts) are chosen to keep memory per connection bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.mqtt import DEFAULT_MAX_PACKET_SIZE

# AWS: persistent sessions last one hour after disconnect by default, seven days at most.
DEFAULT_SESSION_EXPIRY = 3600
MAX_SESSION_EXPIRY = 7 * 24 * 3600
# AWS: clients may ask for 30..1200 s; 0 and larger values get 1200, smaller ones 30.
KEEPALIVE_MIN = 30
KEEPALIVE_MAX = 1200
KEEPALIVE_FACTOR = 1.5
# AWS: MQTT 5 Message Expiry Interval is kept within 1..604800 s.
MESSAGE_EXPIRY_MAX = 604800


@dataclass(frozen=True, slots=True)
class BrokerLimits:
    # Whole packet, fixed header included: what CONNACK advertises as Maximum Packet Size.
    max_packet_size: int = DEFAULT_MAX_PACKET_SIZE
    max_filters_per_subscribe: int = 8
    max_subscriptions_per_connection: int = 50
    topic_alias_maximum: int = 8
    # Unacknowledged QoS 1 PUBLISHes each way (AWS: 100 inbound, 100 outbound).
    receive_maximum: int = 100
    max_inflight_outbound: int = 100
    # Session expiry: the default for MQTT 3.1.1 persistent sessions and the cap for MQTT 5 requests.
    session_expiry: int = DEFAULT_SESSION_EXPIRY
    # QoS 1 messages waiting for one session (in memory while online, in the store while away).
    max_queued_messages: int = 1000
    max_retained_messages: int = 100_000
    max_connections: int = 100_000
    # A client must send CONNECT within this many seconds of connecting.
    connect_timeout: float = 10.0
    # Bytes waiting to be written to one client; past this QoS 0 deliveries are dropped (as AWS does).
    max_write_buffer: int = 1024 * 1024
    # AWS: at most one CONNECT per second per client id (0 turns the check off).
    min_connect_interval: float = 1.0
    # AWS: a WebSocket connection lasts at most 24 hours.
    websocket_max_duration: float = 24 * 3600.0

    def __post_init__(self) -> None:
        if not 0 < self.session_expiry <= MAX_SESSION_EXPIRY:
            raise ValueError(f"session expiry must be 1..{MAX_SESSION_EXPIRY} seconds")
        if self.max_packet_size < 1024:
            raise ValueError("maximum packet size must be at least 1024 bytes")


def clamp_keepalive(requested: int) -> int:
    """AWS's rule for the keep-alive a client asks for."""
    if requested == 0 or requested > KEEPALIVE_MAX:
        return KEEPALIVE_MAX
    return max(requested, KEEPALIVE_MIN)


def clamp_message_expiry(interval: int) -> int:
    """AWS: 0 becomes 1, anything above a week becomes a week."""
    return min(max(interval, 1), MESSAGE_EXPIRY_MAX)
