"""How a refusal reaches the wire, by protocol version: AWS IoT's reactions in one table (aws-notes §7.3).

The broker decides in MQTT 5 reason codes; these functions say what each version of the protocol gets.

* CONNECT not authorized, bad credentials: MQTT 5 CONNACK 0x87 / 0x86; 3.1.1 close without CONNACK.
* CONNECT refused otherwise (client id, quota, ...): CONNACK with the code (3.1.1: its return code).
  A Will with QoS 2: MQTT 5 CONNACK 0x9B; 3.1.1 close.
* PUBLISH not authorized: MQTT 5 PUBACK 0x87 (QoS 1) or dropped (QoS 0); 3.1.1 close.
* SUBSCRIBE filter not authorized: MQTT 5 SUBACK 0x87 for that filter; 3.1.1 close.
* Protocol violation, keep-alive timeout, takeover, revoked iot:Connect: MQTT 5 DISCONNECT with the
  code, then close; 3.1.1 close.
* QoS 2: PUBLISH never acknowledged (MQTT 5: DISCONNECT 0x9B), SUBSCRIBE never answered.
"""

from __future__ import annotations

from bastion.mqtt import (
    NO_PROPERTIES,
    Connack,
    Disconnect,
    Properties,
    ProtocolVersion,
    ReasonCode,
    encode,
)

# MQTT 3.1.1 connections refused for these reasons are closed without a CONNACK, as AWS IoT does.
SILENT_V311_REFUSALS = frozenset({ReasonCode.NOT_AUTHORIZED, ReasonCode.BAD_USER_NAME_OR_PASSWORD})


def _reason(text: str | None) -> Properties:
    return Properties(reason_string=text) if text else NO_PROPERTIES


def connack_refusal(version: ProtocolVersion, code: ReasonCode, reason: str | None = None) -> bytes | None:
    """What to send before closing a refused CONNECT; None means close without a word."""
    if version == ProtocolVersion.MQTT_5:
        return encode(Connack(reason_code=code, properties=_reason(reason)), version)
    if code in SILENT_V311_REFUSALS:
        return None
    return encode(Connack(reason_code=code), version)


def disconnect(version: ProtocolVersion, code: ReasonCode, reason: str | None = None) -> bytes | None:
    """The server's DISCONNECT (MQTT 5 only; a 3.1.1 server just closes)."""
    if version != ProtocolVersion.MQTT_5:
        return None
    return encode(Disconnect(code, _reason(reason)), version)
