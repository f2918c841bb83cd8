"""Will messages: authorized at CONNECT, published when a connection ends without a normal DISCONNECT.

AWS publishes the Will for every disconnect except a client's own DISCONNECT (MQTT 5: unless its reason
is 0x04 "disconnect with Will"). MQTT 5's Will Delay Interval postpones it (never beyond the session's
end); a client that reconnects to the session before then cancels it.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from bastion.broker.message import Message
from bastion.broker.sessions import Session
from bastion.mqtt import NO_PROPERTIES, Properties, ProtocolVersion, Will

if TYPE_CHECKING:
    from bastion.broker.core import Broker


def will_message(will: Will) -> Message:
    props = will.properties
    properties = NO_PROPERTIES
    if props is not NO_PROPERTIES:
        properties = Properties(
            payload_format_indicator=props.payload_format_indicator,
            message_expiry_interval=props.message_expiry_interval,
            content_type=props.content_type,
            response_topic=props.response_topic,
            correlation_data=props.correlation_data,
            user_properties=props.user_properties,
        )
    expires_at = None
    if properties.message_expiry_interval is not None:
        expires_at = time.time() + properties.message_expiry_interval
    return Message(will.topic, will.payload, will.qos, will.retain, properties, expires_at=expires_at)


def publish_or_schedule(broker: Broker, session: Session, will: Will, version: ProtocolVersion) -> None:
    delay = (will.properties.will_delay_interval or 0) if version == ProtocolVersion.MQTT_5 else 0
    # A session that ends now takes its Will with it; a persistent one sends it at its end at the latest.
    delay = min(delay, session.expiry_interval) if session.persistent else 0
    message = will_message(will)
    if delay <= 0 or broker.stopping:
        broker.publish(message)
        return
    loop = asyncio.get_running_loop()
    session.will_handle = (loop.call_later(delay, _fire, broker, session), message)


def _fire(broker: Broker, session: Session) -> None:
    publish_now(broker, session)


def publish_now(broker: Broker, session: Session) -> None:
    """Publish a delayed Will at once (its delay passed, or its session ended first)."""
    pending = session.will_handle
    session.will_handle = None
    if isinstance(pending, tuple):
        handle, message = pending
        handle.cancel()
        broker.publish(message)


def cancel(session: Session) -> None:
    """The client came back before the Will Delay Interval passed: no Will."""
    pending = session.will_handle
    session.will_handle = None
    if isinstance(pending, tuple):
        pending[0].cancel()
