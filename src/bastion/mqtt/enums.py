"""Small enumerations shared by every module of the codec."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["PacketType", "ProtocolVersion", "RetainHandling", "Role"]


class ProtocolVersion(IntEnum):
    """The protocol level byte of CONNECT.

    Level 3 (MQTT 3.1, protocol name ``MQIsdp``) differs from 3.1.1 only in CONNECT; everything else
    is encoded and decoded exactly like 3.1.1.
    """

    MQTT_3_1 = 3
    MQTT_3_1_1 = 4
    MQTT_5 = 5


class PacketType(IntEnum):
    """The high nibble of the first byte of every packet."""

    CONNECT = 1
    CONNACK = 2
    PUBLISH = 3
    PUBACK = 4
    PUBREC = 5
    PUBREL = 6
    PUBCOMP = 7
    SUBSCRIBE = 8
    SUBACK = 9
    UNSUBSCRIBE = 10
    UNSUBACK = 11
    PINGREQ = 12
    PINGRESP = 13
    DISCONNECT = 14
    AUTH = 15


class RetainHandling(IntEnum):
    """MQTT 5 subscription option: when retained messages are sent on subscribe."""

    SEND_ON_SUBSCRIBE = 0
    SEND_IF_NEW_SUBSCRIPTION = 1
    DO_NOT_SEND = 2


class Role(IntEnum):
    """Which end of the connection a :class:`~bastion.mqtt.decoder.Decoder` works for."""

    SERVER = 0
    CLIENT = 1
