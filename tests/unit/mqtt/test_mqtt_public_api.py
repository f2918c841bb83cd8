"""The names bastion.mqtt exports are deliberate: adding or removing one must show up in review."""

from __future__ import annotations

import bastion.mqtt

EXPECTED = {
    # Packets and their parts.
    "Auth", "Connack", "Connect", "Disconnect", "Packet", "Pingreq", "Pingresp", "Puback", "Pubcomp",
    "Publish", "Pubrec", "Pubrel", "Suback", "Subscribe", "Subscription", "Unsuback", "Unsubscribe", "Will",
    "Properties", "NO_PROPERTIES", "PropertyId",
    # Enumerations and reason codes.
    "PacketType", "ProtocolVersion", "RetainHandling", "Role", "ReasonCode", "ConnackReturnCode",
    "connack_return_code_v311", "reason_code_from_connack_v311",
    # Decoding, encoding, fan-out.
    "Decoder", "DEFAULT_MAX_PACKET_SIZE", "decode_packet", "encode", "encode_puback_success",
    "encode_publish", "PublishFrame", "restamp_publish",
    # Errors.
    "CodecError", "DecodeError", "EncodeError", "MalformedPacket", "PacketTooLarge", "ProtocolError",
    "UnsupportedProtocolVersion",
    # Topics.
    "AwsLimitViolation", "SharedFilter", "SubscriptionTrie", "aws_client_id_violation", "aws_topic_violation",
    "is_valid_topic_filter", "is_valid_topic_name", "parse_shared_filter", "topic_matches",
}  # fmt: skip


def test_exported_names() -> None:
    assert set(bastion.mqtt.__all__) == EXPECTED
    for name in EXPECTED:
        assert hasattr(bastion.mqtt, name), name
