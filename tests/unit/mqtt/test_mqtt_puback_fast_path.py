"""The broker's successful-PUBACK fast path is byte for byte the general encoder's answer."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.mqtt import EncodeError, ProtocolVersion, Puback, encode, encode_puback_success


@given(st.integers(min_value=1, max_value=0xFFFF), st.sampled_from(list(ProtocolVersion)))
def test_fast_path_matches_the_encoder(packet_id: int, version: ProtocolVersion) -> None:
    assert encode_puback_success(packet_id) == encode(Puback(packet_id), version)


@pytest.mark.parametrize("packet_id", [0, -1, 0x10000])
def test_fast_path_refuses_what_the_encoder_refuses(packet_id: int) -> None:
    with pytest.raises(EncodeError):
        encode_puback_success(packet_id)
    with pytest.raises(EncodeError):
        encode(Puback(packet_id), ProtocolVersion.MQTT_5)
