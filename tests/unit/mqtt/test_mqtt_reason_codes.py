"""Reason code tables and the MQTT 3.1.1 CONNACK translation."""

from __future__ import annotations

import pytest

from bastion.mqtt import (
    ConnackReturnCode,
    PacketType,
    ReasonCode,
    connack_return_code_v311,
    reason_code_from_connack_v311,
)
from bastion.mqtt.reason_codes import ALLOWED_REASON_CODES


def test_aliases_share_values() -> None:
    assert ReasonCode["NORMAL_DISCONNECTION"] is ReasonCode.SUCCESS
    assert ReasonCode["GRANTED_QOS_0"] is ReasonCode.SUCCESS
    assert ReasonCode(0x87) is ReasonCode.NOT_AUTHORIZED
    assert ReasonCode.NOT_AUTHORIZED.is_failure
    assert not ReasonCode.NO_MATCHING_SUBSCRIBERS.is_failure


def test_aws_codes_are_allowed_where_aws_sends_them() -> None:
    # aws-notes 7.3: the codes AWS IoT uses per packet type must all be legal there.
    aws = {
        PacketType.PUBACK: {0x00, 0x80, 0x87, 0x90, 0x91, 0x97},
        PacketType.SUBACK: {0x00, 0x01, 0x80, 0x87, 0x8F, 0x91, 0x97},
        PacketType.UNSUBACK: {0x00, 0x80, 0x8F, 0x91},
        PacketType.DISCONNECT: {
            0x81,
            0x82,
            0x87,
            0x8B,
            0x8D,
            0x8E,
            0x8F,
            0x90,
            0x93,
            0x94,
            0x97,
            0x98,
            0x9B,
            0xA1,
        },
        PacketType.CONNACK: {0x87, 0x86, 0x85, 0x97, 0x9B, 0x90},
    }
    for kind, codes in aws.items():
        assert codes <= {int(c) for c in ALLOWED_REASON_CODES[kind]}, kind


def test_every_code_is_allowed_somewhere() -> None:
    used = set().union(*ALLOWED_REASON_CODES.values())
    assert used == set(ReasonCode)


@pytest.mark.parametrize("return_code", list(ConnackReturnCode))
def test_v311_connack_round_trips(return_code: ConnackReturnCode) -> None:
    code = reason_code_from_connack_v311(return_code)
    assert code is not None
    assert connack_return_code_v311(code) is return_code


def test_v311_connack_translation_is_total() -> None:
    for code in ALLOWED_REASON_CODES[PacketType.CONNACK]:
        assert connack_return_code_v311(code) in set(ConnackReturnCode)
    assert connack_return_code_v311(ReasonCode.QUOTA_EXCEEDED) is ConnackReturnCode.SERVER_UNAVAILABLE
    assert reason_code_from_connack_v311(6) is None
    assert reason_code_from_connack_v311(-1) is None
