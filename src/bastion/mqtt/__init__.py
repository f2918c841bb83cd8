"""Sans-I/O MQTT 3.1.1 and 5.0 codec: packets, decoding, encoding, topics.

Nothing here performs I/O: the broker feeds received bytes to a :class:`Decoder`, gets packets back, and
writes whatever :func:`encode` returns. See ``docs/mqtt-codec.md``.
"""

from bastion.mqtt.decode import decode_packet
from bastion.mqtt.decoder import DEFAULT_MAX_PACKET_SIZE, Decoder
from bastion.mqtt.encode import encode, encode_puback_success, encode_publish
from bastion.mqtt.enums import PacketType, ProtocolVersion, RetainHandling, Role
from bastion.mqtt.errors import (
    CodecError,
    DecodeError,
    EncodeError,
    MalformedPacket,
    PacketTooLarge,
    ProtocolError,
    UnsupportedProtocolVersion,
)
from bastion.mqtt.packets import (
    Auth,
    Connack,
    Connect,
    Disconnect,
    Packet,
    Pingreq,
    Pingresp,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Suback,
    Subscribe,
    Subscription,
    Unsuback,
    Unsubscribe,
    Will,
)
from bastion.mqtt.properties import NO_PROPERTIES, Properties, PropertyId
from bastion.mqtt.publish_frame import PublishFrame, restamp_publish
from bastion.mqtt.reason_codes import (
    ConnackReturnCode,
    ReasonCode,
    connack_return_code_v311,
    reason_code_from_connack_v311,
)
from bastion.mqtt.topics import (
    AwsLimitViolation,
    SharedFilter,
    aws_client_id_violation,
    aws_topic_violation,
    is_valid_topic_filter,
    is_valid_topic_name,
    parse_shared_filter,
    topic_matches,
)
from bastion.mqtt.trie import SubscriptionTrie

__all__ = [
    "DEFAULT_MAX_PACKET_SIZE",
    "NO_PROPERTIES",
    "Auth",
    "AwsLimitViolation",
    "CodecError",
    "Connack",
    "ConnackReturnCode",
    "Connect",
    "DecodeError",
    "Decoder",
    "Disconnect",
    "EncodeError",
    "MalformedPacket",
    "Packet",
    "PacketTooLarge",
    "PacketType",
    "Pingreq",
    "Pingresp",
    "Properties",
    "PropertyId",
    "ProtocolError",
    "ProtocolVersion",
    "Puback",
    "Pubcomp",
    "Publish",
    "PublishFrame",
    "Pubrec",
    "Pubrel",
    "ReasonCode",
    "RetainHandling",
    "Role",
    "SharedFilter",
    "Suback",
    "Subscribe",
    "Subscription",
    "SubscriptionTrie",
    "Unsuback",
    "Unsubscribe",
    "UnsupportedProtocolVersion",
    "Will",
    "aws_client_id_violation",
    "aws_topic_violation",
    "connack_return_code_v311",
    "decode_packet",
    "encode",
    "encode_puback_success",
    "encode_publish",
    "is_valid_topic_filter",
    "is_valid_topic_name",
    "parse_shared_filter",
    "reason_code_from_connack_v311",
    "restamp_publish",
    "topic_matches",
]
